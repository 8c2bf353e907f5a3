/**
 * The body of a retrStream() as a byte stream (`new ReadableStream({ type: 'bytes' })`).
 *
 * A BYOB reader (`getReader({ mode: 'byob' })`, `read(view)`) brings its own memory: the body's pieces
 * (views into the transport's chunks) are copied into its view as they are routed. A default reader gets
 * chunks it owns: each piece copied, so its chunks are cut where the engine cut them, as before this was a
 * byte stream. (Many small chunks also keep the garbage collector running often, which keeps the peak
 * memory of a long download low: 4 MiB for 56 MB in test/interop, against 19-21 MiB with one copy per
 * transport chunk.) Either way nothing here keeps a view into a transport chunk once it has been routed,
 * which lets the client read the transport into memory it reuses (Transport.readTransient): a BYOB reader
 * with a view it reuses downloads any size of message without allocating per chunk. (A byte stream cannot
 * hand out the pieces themselves: enqueue() transfers, i.e. detaches, the whole buffer under a view, and the
 * transport's chunk is still being read.)
 *
 * The client reads for the stream only while a read waits for bytes, plus `readAhead` bytes (the option
 * `highWaterMark`): held in one reused buffer for a BYOB reader, in the stream's queue for a default one.
 * Bytes that arrive when no BYOB read waits, or that do not fit its view, go to that buffer; the next read
 * takes them first. A BYOB read is answered when its view is full, when the transport chunk that brought
 * it bytes has been routed (so one read gets about one chunk), or at the end of the body.
 */
import type { Pop3Error } from '../errors.js';

/** The smallest read-ahead buffer made: bytes that do not fit a view are often a few lines. */
const MIN_AHEAD = 16 * 1024;

/** What the stream asks of the client that feeds it. */
export interface Feeder {
  /** Stop reading from the transport: the stream has what it can take. */
  pause(): void;
  /** Read from the transport again. */
  resume(): void;
}

export class BodyStream {
  readonly stream: ReadableStream<Uint8Array>;
  readonly #feeder: Feeder;
  readonly #readAhead: number;
  readonly #onStatus: () => void;
  readonly #onRefused: (error: Pop3Error) => void;
  readonly #onEnd: () => void;
  #controller!: ReadableByteStreamController;
  /** The latest read was a default reader's: pieces are enqueued as copies (see above). */
  #defaultReader = false;
  /** The BYOB read being filled, its view (fetched once: the getter allocates), and how much of that is filled. */
  #request: ReadableStreamBYOBRequest | undefined;
  #view: Uint8Array | undefined;
  #filled = 0;
  /** Bytes that arrived with no room in a read: ahead[aheadStart, aheadEnd). */
  #ahead: Uint8Array | undefined;
  #aheadStart = 0;
  #aheadEnd = 0;
  #flowing = false;
  #cancelled = false;

  /**
   * `onStatus`: the server accepted (+OK); `onRefused`: the command failed before the body started;
   * `onEnd`: the body ended, completely or not.
   */
  constructor(feeder: Feeder, readAhead: number, onStatus: () => void, onRefused: (error: Pop3Error) => void, onEnd: () => void) {
    this.#feeder = feeder;
    this.#readAhead = readAhead;
    this.#onStatus = onStatus;
    this.#onRefused = onRefused;
    this.#onEnd = onEnd;
    this.stream = new ReadableStream({
      type: 'bytes',
      start: (controller) => {
        this.#controller = controller;
      },
      // With highWaterMark 0 only a read calls pull: a BYOB one has a request, a default one has none
      // (unless a BYOB reader was released with a read pending: that read's view comes first, see data()).
      pull: (controller) => this.#pull(controller.byobRequest ?? undefined),
      cancel: () => {
        this.#cancelled = true;
        this.#drop();
        this.#feeder.resume(); // the rest of the body is read and dropped
      },
    }, { highWaterMark: 0 });
  }

  // ─── The reply (Pop3Client routes the command's events here) ───────────────────────────────────────

  status(): void {
    this.#flowing = true;
    this.#onStatus();
  }

  /**
   * A piece of the body: copied into the waiting BYOB read's view, the rest enqueued as a copy when a default
   * reader reads, else kept in the read-ahead buffer.
   */
  data(piece: Uint8Array): void {
    if (this.#cancelled || piece.length === 0) return;
    let at = 0;
    while (at < piece.length && this.#request !== undefined) {
      const view = this.#view!;
      const n = Math.min(view.length - this.#filled, piece.length - at);
      // Per piece (one per stuffed line): no allocation unless the piece does not fit.
      view.set(n === piece.length ? piece : piece.subarray(at, at + n), this.#filled);
      this.#filled += n;
      at += n;
      // Full: answer now. The stream may call pull() at once with the reader's next view.
      if (this.#filled === view.length) this.#answer();
    }
    if (at < piece.length) {
      const rest = at === 0 ? piece : piece.subarray(at);
      // A default reader's read, also one that answering a BYOB read above let in: a BYOB reader released
      // with a read pending leaves that read's view to be filled, and a default reader may be waiting behind
      // it. Its bytes must reach the stream: kept here, they would wait for a pull that never comes.
      if (this.#defaultReader) return this.#enqueue(rest);
      this.#keep(rest);
    }
    // Enough is in hand once the waiting read has bytes (or none waits) and the read-ahead is full.
    if ((this.#request === undefined || this.#filled > 0) && this.#aheadEnd - this.#aheadStart >= this.#readAhead) this.#feeder.pause();
  }

  /** The chunk being read has been routed: the waiting read gets what it has been filled with so far. */
  routed(): void {
    if (this.#request !== undefined && this.#filled > 0) this.#answer();
  }

  /** The body ended: what is held goes out, then the end of the stream. */
  resolve(): void {
    this.#end();
    if (this.#cancelled) return;
    if (this.#filled > 0) this.#answer();
    // A read may be waiting again already (a reader may ask for several at once).
    while (this.#request !== undefined && this.#fillFromAhead()) this.#answer();
    this.#enqueueAhead();
    this.#controller.close();
    // A read still waiting gets the end of the stream.
    this.#request?.respond(0);
    this.#drop();
  }

  reject(error: Pop3Error): void {
    this.#end();
    if (!this.#flowing) return this.#onRefused(error);
    this.#drop();
    if (!this.#cancelled) this.#controller.error(error);
  }

  // ─── The stream ──────────────────────────────────────────────────────────────────────────────────────

  #pull(request: ReadableStreamBYOBRequest | undefined): void {
    // Bytes in hand are not held back waiting for the network.
    this.#defaultReader = request === undefined;
    if (request === undefined) {
      if (this.#enqueueAhead()) return;
    } else {
      this.#request = request;
      const view = request.view!;
      this.#view = new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
      this.#filled = 0;
      if (this.#fillFromAhead()) this.#answer();
    }
    const waiting = this.#request !== undefined || this.#defaultReader;
    if (waiting || this.#aheadEnd - this.#aheadStart < this.#readAhead) this.#feeder.resume();
  }

  /** Hand `bytes` to a default reader, as a copy it owns; stop reading once the stream's queue holds `readAhead`. */
  #enqueue(bytes: Uint8Array): void {
    this.#controller.enqueue(new Uint8Array(bytes));
    if (-this.#controller.desiredSize! >= this.#readAhead) this.#feeder.pause();
  }

  /** Hand what the read-ahead buffer holds (bytes from before the first read) to the stream; false when empty. */
  #enqueueAhead(): boolean {
    if (this.#aheadEnd === this.#aheadStart) return false;
    this.#controller.enqueue(this.#ahead!.slice(this.#aheadStart, this.#aheadEnd));
    this.#aheadStart = this.#aheadEnd = 0;
    return true;
  }

  /** Fill the waiting read's view from the read-ahead buffer; false when that holds nothing. */
  #fillFromAhead(): boolean {
    const held = this.#aheadEnd - this.#aheadStart;
    if (held === 0) return false;
    const n = Math.min(this.#view!.length, held);
    this.#view!.set(this.#ahead!.subarray(this.#aheadStart, this.#aheadStart + n));
    this.#aheadStart += n;
    this.#filled = n;
    return true;
  }

  /** Answer the waiting read with what its view holds. */
  #answer(): void {
    const request = this.#request!;
    const filled = this.#filled;
    this.#request = undefined;
    this.#view = undefined;
    this.#filled = 0;
    request.respond(filled);
  }

  /** Keep bytes that no read has room for, in the read-ahead buffer (which grows to what one chunk brings). */
  #keep(bytes: Uint8Array): void {
    let ahead = this.#ahead;
    const held = this.#aheadEnd - this.#aheadStart;
    if (ahead === undefined || held + bytes.length > ahead.length) {
      const grown = new Uint8Array(Math.max(held + bytes.length, 2 * (ahead?.length ?? 0), MIN_AHEAD));
      if (held > 0) grown.set(ahead!.subarray(this.#aheadStart, this.#aheadEnd));
      ahead = this.#ahead = grown;
      this.#aheadStart = 0;
      this.#aheadEnd = held;
    } else if (this.#aheadEnd + bytes.length > ahead.length) {
      ahead.copyWithin(0, this.#aheadStart, this.#aheadEnd);
      this.#aheadStart = 0;
      this.#aheadEnd = held;
    }
    ahead.set(bytes, this.#aheadEnd);
    this.#aheadEnd += bytes.length;
  }

  /** Let go of the reader's memory and of the read-ahead buffer. */
  #drop(): void {
    this.#request = undefined;
    this.#view = undefined;
    this.#ahead = undefined;
    this.#aheadStart = this.#aheadEnd = 0;
  }

  #end(): void {
    this.#onEnd();
  }
}
