/**
 * TOP msg n (RFC 1939 section 7): the server sends the message's header, the blank line that ends it, and
 * then the first n lines of the body. `TopFilter` finds that cut in a message streamed in any slicing,
 * without holding any of it.
 */

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);

/** Passes through what TOP sends of a message, chunk by chunk, and says when nothing more is needed. */
export class TopFilter {
  #inHeader = true;
  #bodyLinesLeft: number;
  #done = false;
  /** Bytes of the current line so far, its line end excluded. */
  #lineLength = 0;
  /** The current line began with CR: with one byte it is an empty line ended by CRLF. */
  #lineStartsWithCr = false;

  /** `lines`: how many body lines to send after the header. */
  constructor(lines: number) {
    this.#bodyLinesLeft = lines;
  }

  /** True once the cut has been reached: later chunks are dropped. */
  get done(): boolean {
    return this.#done;
  }

  /** The part of `chunk` TOP sends: all of it, a prefix (a view), or nothing once done. */
  push(chunk: Uint8Array): Uint8Array {
    if (this.#done) return EMPTY;
    let pos = 0;
    while (pos < chunk.length) {
      const lf = chunk.indexOf(LF, pos);
      const end = lf === -1 ? chunk.length : lf;
      if (this.#lineLength === 0 && end > pos) this.#lineStartsWithCr = chunk[pos] === CR;
      this.#lineLength += end - pos;
      if (lf === -1) break;
      pos = lf + 1;
      if (this.#endLine()) {
        this.#done = true;
        return chunk.subarray(0, pos);
      }
    }
    return chunk;
  }

  /** A line just ended; true when it is the last one TOP sends. */
  #endLine(): boolean {
    const empty = this.#lineLength === 0 || (this.#lineLength === 1 && this.#lineStartsWithCr);
    this.#lineLength = 0;
    if (this.#inHeader) {
      if (!empty) return false;
      this.#inHeader = false;
      return this.#bodyLinesLeft === 0;
    }
    return --this.#bodyLinesLeft === 0;
  }
}
