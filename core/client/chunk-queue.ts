/**
 * The receiving side every transport shares (Transport.read): chunks that arrived and were not read yet, the
 * one read that may be waiting for the next, and how the stream ended: by the peer (reads get what is queued,
 * then undefined), with an error (what is queued, then the error), or closed on this side (undefined at once).
 * What to do about a growing queue (pause a socket, block a writer) is the transport's: it looks at `bytes`
 * after each read and each arrival.
 */
import { ErrorCode, LocalProtocolError, type Pop3Error } from '../errors.js';

interface WaitingRead<T> {
  readonly resolve: (chunk: Uint8Array | undefined) => void;
  readonly reject: (error: Pop3Error) => void;
  readonly deliver: (chunk: T) => Uint8Array;
}

const asIs = <T extends Uint8Array>(chunk: T): Uint8Array => chunk;

export class ChunkQueue<T extends Uint8Array = Uint8Array> {
  #chunks: T[] = [];
  #bytes = 0;
  #waiting: WaitingRead<T> | undefined;
  #ended = false;
  #closed = false;
  #error: Pop3Error | undefined;

  /** Octets that arrived and were not read yet. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The chunks that arrived and were not read yet, oldest first. */
  get chunks(): readonly T[] {
    return this.#chunks;
  }

  /** The error the stream failed with, if it did. */
  get error(): Pop3Error | undefined {
    return this.#error;
  }

  /** Nothing more will arrive: the peer ended the stream, or it was closed on this side. */
  get ended(): boolean {
    return this.#ended || this.#closed;
  }

  /** The next chunk, as `deliver` hands it out (it may copy it, see TcpTransport). At most one read at a time. */
  read(deliver: (chunk: T) => Uint8Array = asIs): Promise<Uint8Array | undefined> {
    if (this.#waiting !== undefined) {
      return Promise.reject(new LocalProtocolError(ErrorCode.WrongState, 'read() while another read() is pending'));
    }
    const chunk = this.#chunks.shift();
    if (chunk !== undefined) {
      this.#bytes -= chunk.length;
      return Promise.resolve(deliver(chunk));
    }
    if (this.#closed) return Promise.resolve(undefined);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (this.#ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject, deliver };
    });
  }

  /** A chunk arrived: it goes to the waiting read, or else joins the queue. */
  push(chunk: T): void {
    if (this.#closed) return;
    const waiting = this.#waiting;
    if (waiting !== undefined) {
      this.#waiting = undefined;
      waiting.resolve(waiting.deliver(chunk));
      return;
    }
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
  }

  /** The peer ended the stream. */
  end(): void {
    this.#ended = true;
    if (this.#chunks.length === 0) this.#endWaitingRead();
  }

  /** The stream failed (the first error sticks); `dropQueued`: what arrived is not read either. */
  fail(error: Pop3Error, dropQueued = false): void {
    this.#error ??= error;
    if (dropQueued) this.#drop();
    const waiting = this.#waiting;
    if (waiting !== undefined && this.#chunks.length === 0) {
      this.#waiting = undefined;
      waiting.reject(this.#error);
    }
  }

  /** Closed on this side: what arrived is dropped, and reads get undefined from now on. */
  close(): void {
    this.#closed = true;
    this.#drop();
    this.#endWaitingRead();
  }

  #drop(): void {
    this.#chunks = [];
    this.#bytes = 0;
  }

  #endWaitingRead(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.resolve(undefined);
  }
}
