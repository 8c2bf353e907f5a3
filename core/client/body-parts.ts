/**
 * Joining the pieces of a body. The engine hands a body out as dot-unstuffed pieces: views into the
 * transport's chunks, cut wherever it dropped a stuffed dot (about once per hundred lines of ordinary mail)
 * and wherever a chunk ends.
 *
 * Pieces of one chunk are joined in place: the chunk is the client's (Transport.read), and the bytes
 * between two pieces of a body are only the dots the engine dropped, so moving each piece down over them
 * leaves one contiguous run, without allocating. A body that lies in one chunk (most small messages) thus
 * costs no copy at all; one spread over several chunks is copied once, when it is taken.
 *
 * Only the pieces are moved: the status line before a body and whatever follows it in the chunk (other
 * replies, and views already handed out for them) are never touched.
 */
import { concat } from '../bytes.js';

export class BodyParts {
  /** Finished runs, one per chunk (plus any piece the engine made outside a chunk). */
  #parts: Uint8Array[] = [];
  /** The chunk the current run lies in, and the run as [start, end) indexes into it. */
  #chunk: Uint8Array | undefined;
  #start = 0;
  #end = 0;

  /** Add the next piece; `chunk` is the transport chunk being read, which it is normally a view into. */
  push(piece: Uint8Array, chunk: Uint8Array): void {
    const at = piece.byteOffset - chunk.byteOffset;
    const inChunk = piece.buffer === chunk.buffer && at >= 0 && at + piece.length <= chunk.length;
    if (inChunk && chunk === this.#chunk && at >= this.#end) {
      if (at !== this.#end) chunk.copyWithin(this.#end, at, at + piece.length);
      this.#end += piece.length;
      return;
    }
    this.#close();
    if (!inChunk) {
      // A piece the engine made itself (a held-back CR); it is not part of any chunk.
      this.#parts.push(piece);
      return;
    }
    this.#chunk = chunk;
    this.#start = at;
    this.#end = at + piece.length;
  }

  /** Everything pushed so far as one array, which is then no longer held here. */
  take(): Uint8Array {
    this.#close();
    const parts = this.#parts;
    this.#parts = [];
    return parts.length === 1 ? plainView(parts[0]!) : concat(parts);
  }

  #close(): void {
    if (this.#chunk === undefined) return;
    if (this.#end > this.#start) this.#parts.push(this.#chunk.subarray(this.#start, this.#end));
    this.#chunk = undefined;
  }
}

/** The same bytes as a plain Uint8Array (not a subclass such as Node's Buffer), without copying. */
function plainView(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
