/**
 * The memory a socket reads into, chosen read by read (the `onread` option of net and tls, whose `buffer`
 * function Node calls after every read for the memory of the next one).
 *
 * Ordinary reads go into fresh memory, and the chunk is the reader's (Transport.read). A read that fills it
 * is handed out in it; any shorter one is copied into memory of its size and the fresh memory kept for the
 * next read, as Node's own reads do: a reader that keeps a view into a chunk must not pin 64 KiB for a
 * 30-byte reply.
 *
 * Transient reads (Transport.readTransient) go into a few buffers that are reused. A Node socket reader
 * that receives fresh memory for every chunk leaves ~100 MiB of garbage behind a 100 MiB download, which the
 * collector frees later than the download produces it (peak RSS ~35 MiB above an empty process even with
 * 16 KiB chunks); reused buffers keep it at a few MiB. Three are enough: one handed out (valid until the
 * reader's next call), one holding a chunk that arrived before the reader asked (the transport then pauses
 * the socket, so there is never a second), and one registered for the socket's next read. They are slots of
 * the dot-line search's memory while it has some to give (takeReadSlot), so that bodies are searched where
 * they were read rather than copied there first.
 */
import { inReadSlot, releaseReadSlot, takeReadSlot } from '../simd-dot-line-search.js';

const READ_SIZE = 64 * 1024;
const SHARED_BUFFERS = 3;

/**
 * Reused buffers of closed connections, for the next ones. A connection's buffers outlive it until a full
 * garbage collection, which external memory triggers only after tens of MiB: without this, a process that
 * checks a mailbox every minute would grow by 256 KiB a session until then. (Like Node's Buffer pool, a
 * buffer may hold an earlier session's bytes beyond the chunk read into it.)
 */
const spare: Buffer[] = [];
const MAX_SPARE = 2 * (SHARED_BUFFERS + 1);

function keepSpare(buffer: Buffer): void {
  if (spare.length < MAX_SPARE) spare.push(buffer);
}

/** A buffer for transient reads: a slot of the search's memory if one is free, else memory of its own. */
function sharedBuffer(): Buffer {
  const slot = takeReadSlot();
  if (slot !== undefined) return Buffer.from(slot.buffer, slot.byteOffset, slot.length);
  return spare.pop() ?? Buffer.allocUnsafeSlow(READ_SIZE);
}

/** What sharedBuffer() gave, once the connection is done with it. */
function giveBack(buffer: Buffer): void {
  if (inReadSlot(buffer)) releaseReadSlot(buffer);
  else keepSpare(buffer);
}

export class ReadBuffers {
  /** Whether the socket's next read may go into reused memory: the reader's latest call was readTransient(). */
  transient = false;
  /** Every reused buffer made so far, and those not holding a chunk (nor registered for the next read). */
  readonly #shared: Buffer[] = [];
  readonly #free: Buffer[] = [];
  /** Fresh memory registered for a read and not handed out yet. */
  #fresh: Buffer | undefined;
  #deliver: ((chunk: Buffer) => void) | undefined;

  /** The `onread` option for net.connect. */
  readonly onread = {
    buffer: (): Buffer => this.#next(),
    callback: (length: number, buffer: Buffer): boolean => {
      this.#deliver!(this.#chunk(buffer, length));
      return true; // the transport pauses the socket itself (socket.pause()) when it must
    },
  };

  /** Where chunks go as they are read (the transport, once it exists). */
  attach(deliver: (chunk: Buffer) => void): void {
    this.#deliver = deliver;
  }

  /** The chunk lies in reused memory: it must be released (or copied out) before that memory is read into again. */
  isShared(chunk: Buffer): boolean {
    return this.#bufferOf(chunk) !== undefined;
  }

  /** The reader is done with `chunk`, which lies in reused memory: it may be read into again. */
  release(chunk: Buffer): void {
    const buffer = this.#bufferOf(chunk);
    if (buffer !== undefined) this.#free.push(buffer); // else retired, with the connection
  }

  /**
   * The connection is closed and its reader done: its reused buffers go to the next connection, and so does
   * the fresh memory registered for a read that never came (chunks of it were handed out as copies).
   */
  retire(): void {
    for (const buffer of this.#shared) giveBack(buffer);
    if (this.#fresh !== undefined) keepSpare(this.#fresh);
    this.#shared.length = 0;
    this.#free.length = 0;
    this.#fresh = undefined;
  }

  #next(): Buffer {
    if (this.transient) {
      const free = this.#free.pop();
      if (free !== undefined) return free;
      if (this.#shared.length < SHARED_BUFFERS) {
        const made = sharedBuffer();
        this.#shared.push(made);
        return made;
      }
    }
    return (this.#fresh ??= spare.pop() ?? Buffer.allocUnsafeSlow(READ_SIZE));
  }

  #chunk(buffer: Buffer, length: number): Buffer {
    if (buffer !== this.#fresh) return buffer.subarray(0, length); // reused memory, released by the reader
    // A copy of exactly `length` bytes (under 4 KiB, a slice of Node's shared Buffer pool).
    if (length < buffer.length) return Buffer.from(buffer.subarray(0, length));
    this.#fresh = undefined;
    return buffer;
  }

  #bufferOf(chunk: Buffer): Buffer | undefined {
    // A loop rather than find(): this runs two or three times for every chunk read. Read slots share their
    // memory, so a chunk (which begins where its buffer begins) is told by its offset too.
    for (const buffer of this.#shared) if (buffer.buffer === chunk.buffer && buffer.byteOffset === chunk.byteOffset) return buffer;
    return undefined;
  }
}
