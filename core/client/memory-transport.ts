/**
 * Two connected in-memory transports: what one end writes, the other reads. For tests, and for running the
 * client engine against the server engine in one page with no network. It behaves like a socket where it
 * matters: writes wait while the reader is behind (backpressure), closing one end is end of stream for the
 * other, and an optional simulated STLS upgrade refuses unread plaintext like a real transport must.
 */
import { ErrorCode, LocalProtocolError, RemoteProtocolError } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { ConnectionError } from './errors.js';
import type { Transport } from './transport.js';

/** Options for {@link memoryTransportPair}. */
export interface MemoryTransportOptions {
  /** Unread bytes one end may hold before the other end's write() waits. Default 64 KiB. */
  highWaterMark?: number;
  /** Both ends are `secure` from the start, standing in for implicit TLS. Nothing is encrypted. */
  secure?: boolean;
  /** The client end gets startTls(), a simulated STLS upgrade (nothing is encrypted). */
  startTls?: boolean;
}

/** One end of a {@link memoryTransportPair}. */
export class MemoryTransport implements Transport {
  /** The peer is in the same process: nothing crosses a network. */
  readonly local = true;
  /** Simulated STLS upgrade (only on the client end, with the `startTls` option). */
  readonly startTls?: () => Promise<void>;

  #peer!: MemoryTransport;
  readonly #highWaterMark: number;
  #secure: boolean;
  /** Chunks written by the peer and not yet read. */
  readonly #inbox = new ChunkQueue();
  /** The peer's writes waiting for this end's inbox to drain below the high-water mark. */
  #blockedWriters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  /** This end was closed. */
  #closed = false;

  /** @internal Use {@link memoryTransportPair}. The second end of a pair is made with the first as `peer`. */
  constructor(highWaterMark: number, secure: boolean, startTls: boolean, peer?: MemoryTransport) {
    this.#highWaterMark = highWaterMark;
    this.#secure = secure;
    if (startTls) this.startTls = () => this.#startTls();
    if (peer !== undefined) {
      this.#peer = peer;
      peer.#peer = this;
    }
  }

  get secure(): boolean {
    return this.#secure;
  }

  /** Bytes received and not yet read. */
  get unread(): number {
    return this.#inbox.bytes;
  }

  read(): Promise<Uint8Array | undefined> {
    const chunk = this.#inbox.read();
    if (this.#inbox.bytes < this.#highWaterMark) this.#releaseWriters();
    return chunk;
  }

  write(bytes: Uint8Array): Promise<void> {
    const peer = this.#peer;
    if (this.#closed || peer.#closed) return Promise.reject(new ConnectionError('the in-memory connection is closed'));
    if (bytes.length === 0) return Promise.resolve();
    // A copy: the writer may reuse its buffer once this resolves, and the reader owns what it reads (and may
    // change it, Transport.read). Not slice(): on a Node Buffer that is a view.
    peer.#inbox.push(new Uint8Array(bytes));
    if (peer.#inbox.bytes < peer.#highWaterMark) return Promise.resolve();
    return new Promise((resolve, reject) => peer.#blockedWriters.push({ resolve, reject }));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inbox.close();
    this.#failWriters();
    this.#peer.#onPeerClosed();
  }

  #onPeerClosed(): void {
    this.#inbox.end();
    // Writes of this end will never be read now.
    this.#failWriters();
  }

  #releaseWriters(): void {
    const writers = this.#blockedWriters;
    this.#blockedWriters = [];
    for (const writer of writers) writer.resolve();
  }

  /** The peer's blocked writes fail: this end will never read them. */
  #failWriters(): void {
    const writers = this.#blockedWriters;
    this.#blockedWriters = [];
    for (const writer of writers) writer.reject(new ConnectionError('the in-memory connection is closed'));
  }

  async #startTls(): Promise<void> {
    if (this.#secure) throw new LocalProtocolError(ErrorCode.WrongState, 'the connection is already secure');
    const unread = this.#inbox.bytes;
    if (unread > 0) {
      this.close();
      throw new RemoteProtocolError(
        ErrorCode.TlsInjection,
        `${unread} bytes arrived after the +OK to STLS, before the TLS handshake (possible STARTTLS injection)`,
      );
    }
    this.#secure = true;
    this.#peer.#secure = true;
  }
}

/** A connected pair: give `client` to Pop3Client and serve from `server`. */
export function memoryTransportPair(options: MemoryTransportOptions = {}): { client: MemoryTransport; server: MemoryTransport } {
  const highWaterMark = options.highWaterMark ?? 64 * 1024;
  if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1) {
    throw new LocalProtocolError(ErrorCode.BadArgument, 'highWaterMark must be a positive integer');
  }
  const secure = options.secure === true;
  const client = new MemoryTransport(highWaterMark, secure, options.startTls === true);
  const server = new MemoryTransport(highWaterMark, secure, false, client);
  return { client, server };
}
