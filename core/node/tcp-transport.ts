/**
 * The Node transport: plain TCP, implicit TLS (port 995, RFC 8314), and the STLS upgrade (RFC 2595) of a
 * plain connection, with certificate verification on unless explicitly turned off.
 *
 * Reading is pulled: chunks wait in a queue until read() takes them, and when the queue holds more than
 * `highWaterMark` bytes the socket is paused, so the kernel's buffers fill and TCP slows the server down.
 *
 * A socket reads through the `onread` option of net and tls into memory chosen per read (read-buffers.ts),
 * which gives readTransient(): reads into reused memory. A transient chunk is released by the reader's next
 * call; while one is queued unread the socket is paused, so reused memory is never read into before it is
 * released, and read() copies a queued transient chunk rather than hand out reused memory. A TLS socket made
 * by STLS (tls.connect over the plain socket, which ignores `onread`) delivers its own fresh chunks
 * (`'data'` events), which readTransient() hands out as read() does.
 *
 * STARTTLS injection: at startTls() the plaintext socket is paused and checked; any byte that arrived after
 * the +OK to STLS (queued here, or buffered in the socket) fails the upgrade with POP3_ERR_TLS_INJECTION.
 * Such bytes are never dropped silently and never handed to the TLS layer as if they were TLS records.
 */
import net from 'node:net';
import tls from 'node:tls';
import { ErrorCode, LocalProtocolError, type Pop3Error, RemoteProtocolError } from '../errors.js';
import { ChunkQueue } from '../client/chunk-queue.js';
import { AbortError, ConnectionError, TimeoutError } from '../client/errors.js';
import type { Transport } from '../client/transport.js';
import { ReadBuffers } from './read-buffers.js';

/** Options for {@link openTcpTransport}. */
export interface TcpTransportOptions {
  host: string;
  port: number;
  /** TLS from the first byte (implicit TLS, port 995). Otherwise plain TCP, which startTls() can upgrade. */
  tls?: boolean;
  /** The name sent in SNI and checked against the certificate. Default: `host` (when it is not an IP address). */
  servername?: string;
  /** Trusted CA certificates (PEM), replacing Node's default list: for private CAs and tests. */
  ca?: string | Buffer | readonly (string | Buffer)[];
  /**
   * Verify the server's certificate and name. Default true. `false` accepts any certificate, which lets an
   * active attacker read everything, passwords included: only for servers you reach over a trusted path.
   */
  rejectUnauthorized?: boolean;
  /** Anything else for tls.connect (client certificates, minVersion, ...); the options above win. */
  tlsOptions?: tls.ConnectionOptions;
  /** Milliseconds to establish the connection (TCP and, for implicit TLS, the handshake). Default 30 000; 0 for none. */
  connectTimeout?: number;
  /** Bytes queued unread before the socket is paused. Default 256 KiB. */
  highWaterMark?: number;
  /** Aborting while connecting destroys the socket and rejects with POP3_ERR_ABORTED. */
  signal?: AbortSignal;
}

const DEFAULT_CONNECT_TIMEOUT = 30_000;
const DEFAULT_HIGH_WATER_MARK = 256 * 1024;

/** A connected TCP (or TLS) socket as a Transport. Make one with {@link openTcpTransport}. */
export class TcpTransport implements Transport {
  readonly local: boolean;
  readonly #options: TcpTransportOptions;
  readonly #where: string;
  readonly #highWaterMark: number;
  #socket: net.Socket;
  #secure: boolean;
  readonly #queue = new ChunkQueue<Buffer>();
  /** The chunk readTransient() last handed out, when it lies in reused memory: released by the next call. */
  #lent: Buffer | undefined;
  /** The memory the socket reads into through `onread` (after STLS, the TLS socket hands out chunks of its own). */
  readonly #buffers: ReadBuffers;
  #paused = false;
  #closed = false;

  /** @internal Use {@link openTcpTransport}; `buffers` is the `onread` memory of the socket. */
  constructor(socket: net.Socket, options: TcpTransportOptions, buffers: ReadBuffers) {
    this.#socket = socket;
    this.#options = options;
    this.#where = `${options.host}:${options.port}`;
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#secure = socket instanceof tls.TLSSocket;
    this.local = isLoopback(socket.remoteAddress);
    this.#buffers = buffers;
    buffers.attach(this.#onData);
    this.#attach(socket, false);
  }

  get secure(): boolean {
    return this.#secure;
  }

  read(): Promise<Uint8Array | undefined> {
    return this.#read(false);
  }

  /** See Transport.readTransient: the chunk may lie in reused memory, valid until the next read call. */
  readTransient(): Promise<Uint8Array | undefined> {
    return this.#read(true);
  }

  #read(transient: boolean): Promise<Uint8Array | undefined> {
    // A chunk lent by the previous call is released: at most one read is pending, so none is waiting now.
    if (this.#lent !== undefined) {
      this.#buffers.release(this.#lent);
      this.#lent = undefined;
    }
    this.#buffers.transient = transient;
    const chunk = this.#queue.read(transient ? this.#lend : this.#give);
    this.#updateFlow();
    return chunk;
  }

  // What #read hands a chunk out with: made once, not a closure per read.
  readonly #lend = (chunk: Buffer): Buffer => this.#handOut(chunk, true);
  readonly #give = (chunk: Buffer): Buffer => this.#handOut(chunk, false);

  /** `chunk` as the reader may have it: lent when it lies in reused memory and the read is transient, else owned. */
  #handOut(chunk: Buffer, transient: boolean): Buffer {
    if (!this.#buffers.isShared(chunk)) return chunk;
    if (transient) {
      this.#lent = chunk;
      return chunk;
    }
    const copy = Buffer.from(chunk);
    this.#buffers.release(chunk);
    return copy;
  }

  /** Pause the socket while the queue is full or holds a chunk in reused memory; resume it otherwise. */
  #updateFlow(): void {
    const buffers = this.#buffers;
    const queued = this.#queue.chunks;
    const pause = this.#queue.bytes >= this.#highWaterMark || (queued.length > 0 && queued.some((chunk) => buffers.isShared(chunk)));
    if (pause === this.#paused || this.#closed) return;
    this.#paused = pause;
    if (pause) this.#socket.pause();
    else this.#socket.resume();
  }

  write(bytes: Uint8Array): Promise<void> {
    const error = this.#queue.error;
    if (error !== undefined) return Promise.reject(error);
    if (this.#closed || this.#socket.destroyed) return Promise.reject(new ConnectionError(`the connection to ${this.#where} is closed`));
    return new Promise((resolve, reject) => {
      // The callback runs once the bytes are handed to the kernel: that is when more can be taken.
      this.#socket.write(bytes, (error) => (error ? reject(this.#connectionError(error)) : resolve()));
    });
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.close();
    this.#socket.destroy();
    // Nothing is read into them any more, and reads now return undefined: no chunk of them is handed out again.
    this.#buffers.retire();
  }

  /** Upgrade to TLS over the same socket, after the server's +OK to STLS. */
  async startTls(): Promise<void> {
    if (this.#secure) throw new LocalProtocolError(ErrorCode.WrongState, 'the connection is already TLS');
    if (this.#queue.error !== undefined) throw this.#queue.error;
    if (this.#queue.ended) throw new ConnectionError(`the connection to ${this.#where} ended before STLS`);
    const plain = this.#socket;
    // Hold whatever arrives from now on inside the socket, where the check below sees it.
    plain.pause();
    const unread = this.#queue.bytes + plain.readableLength;
    if (unread > 0) {
      const error = new RemoteProtocolError(
        ErrorCode.TlsInjection,
        `${unread} bytes arrived from ${this.#where} after the +OK to STLS, before the TLS handshake (possible STARTTLS injection)`,
      );
      this.#queue.fail(error);
      this.close();
      throw error;
    }
    this.#detach(plain);
    // From now on the TLS socket owns the connection and reports its failures; an error event the plain
    // socket may still emit must not crash the process as an unhandled 'error'.
    plain.on('error', () => {});
    const secure = tls.connect({ ...tlsOptions(this.#options), socket: plain });
    // Listeners first: a handshake failure is an 'error' event, and data may follow the handshake at once.
    this.#socket = secure;
    this.#attach(secure, true);
    this.#secure = true;
    await handshake(secure, () => this.#queue.error, this.#where);
  }

  /** Listen to `socket`; `data`: its chunks come as 'data' events (not through `onread`). */
  #attach(socket: net.Socket, data: boolean): void {
    if (data) socket.on('data', this.#onData);
    socket.on('end', this.#onEnd);
    socket.on('error', this.#onError);
    socket.on('close', this.#onClose);
  }

  /** Stop listening to the socket read through `onread` (the plain one, at STLS). */
  #detach(socket: net.Socket): void {
    socket.off('end', this.#onEnd);
    socket.off('error', this.#onError);
    socket.off('close', this.#onClose);
  }

  readonly #onData = (chunk: Buffer): void => {
    this.#queue.push(chunk);
    this.#updateFlow();
  };

  readonly #onEnd = (): void => {
    this.#queue.end();
  };

  readonly #onError = (error: Error): void => {
    this.#queue.fail(this.#connectionError(error));
  };

  readonly #onClose = (): void => {
    // A close without 'end' or 'error' (e.g. destroyed elsewhere) still ends the stream.
    this.#onEnd();
  };

  #connectionError(error: Error): ConnectionError {
    const code = (error as NodeJS.ErrnoException).code;
    const tlsFailure = this.#secure && isTlsError(error);
    const what = tlsFailure ? `TLS with ${this.#where} failed` : `the connection to ${this.#where} failed`;
    return new ConnectionError(`${what}: ${error.message}${code !== undefined && !error.message.includes(code) ? ` (${code})` : ''}`, {
      tls: tlsFailure,
      cause: error,
    });
  }
}

/**
 * Open a connection: TCP, then the TLS handshake when `tls` is set. Rejects with ConnectionError
 * (POP3_ERR_CONNECTION, or POP3_ERR_TLS when the handshake or the certificate check fails), TimeoutError or
 * AbortError; the socket is destroyed in every case.
 */
export function openTcpTransport(options: TcpTransportOptions): Promise<TcpTransport> {
  const { host, port, signal } = options;
  const where = `${host}:${port}`;
  if (signal?.aborted === true) return Promise.reject(new AbortError(`connecting to ${where} aborted`, signal.reason));
  return new Promise((resolve, reject) => {
    const buffers = new ReadBuffers();
    const { onread } = buffers;
    const socket = options.tls === true ? tls.connect(withOnread({ ...tlsOptions(options), host, port }, onread)) : net.connect({ host, port, onread });
    let tcpUp = false;
    const fail = (error: Pop3Error) => {
      cleanup();
      socket.destroy();
      reject(error);
    };
    const onError = (error: Error) => {
      const tlsFailure = tcpUp && options.tls === true;
      const what = tlsFailure ? `TLS with ${where} failed` : `cannot connect to ${where}`;
      fail(new ConnectionError(`${what}: ${error.message}`, { tls: tlsFailure, cause: error }));
    };
    const onAbort = () => fail(new AbortError(`connecting to ${where} aborted`, signal?.reason));
    const ms = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    const timer = ms > 0 ? setTimeout(() => fail(new TimeoutError(`connecting to ${where} took longer than ${ms} ms`)), ms) : undefined;
    const onTcp = () => {
      tcpUp = true;
    };
    const onReady = () => {
      cleanup();
      socket.setNoDelay(true);
      resolve(new TcpTransport(socket, options, buffers));
    };
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('error', onError);
      socket.off('connect', onTcp);
      socket.off(options.tls === true ? 'secureConnect' : 'connect', onReady);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', onError);
    socket.once('connect', onTcp);
    socket.once(options.tls === true ? 'secureConnect' : 'connect', onReady);
  });
}

/** tls.connect takes `onread` as net.connect does (Node 14.5 and later), though @types/node omits it. */
function withOnread(options: tls.ConnectionOptions, onread: net.OnReadOpts): tls.ConnectionOptions {
  const withIt: tls.ConnectionOptions & Pick<net.TcpSocketConnectOpts, 'onread'> = { ...options, onread };
  return withIt;
}

/** The tls.connect options both TLS paths share; certificate verification stays on unless turned off. */
function tlsOptions(options: TcpTransportOptions): tls.ConnectionOptions {
  const { host, servername, ca, rejectUnauthorized } = options;
  return {
    ...options.tlsOptions,
    // `host` also names the peer for the certificate check when an existing socket is upgraded (STLS).
    host,
    servername: servername ?? (net.isIP(host) === 0 ? host : undefined),
    ...(ca === undefined ? {} : { ca: ca as string | Buffer | (string | Buffer)[] }),
    rejectUnauthorized: rejectUnauthorized ?? options.tlsOptions?.rejectUnauthorized ?? true,
  };
}

/** Resolves when the TLS handshake on `socket` is done; rejects with what ended it otherwise. */
function handshake(socket: tls.TLSSocket, failure: () => Pop3Error | undefined, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      socket.off('secureConnect', onSecure);
      socket.off('close', onClose);
    };
    const onSecure = () => {
      done();
      resolve();
    };
    const onClose = () => {
      done();
      reject(failure() ?? new ConnectionError(`the connection to ${where} closed during the TLS handshake`, { tls: true }));
    };
    socket.once('secureConnect', onSecure);
    socket.once('close', onClose);
  });
}

/** OpenSSL and Node's TLS layer name their errors so: certificate problems, alerts, protocol mismatches. */
function isTlsError(error: Error): boolean {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return /^(ERR_SSL_|ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_)/.test(code) || /SSL|TLS|certificate/i.test(error.message);
}

/** A loopback address (127.0.0.0/8, ::1, or IPv4-mapped loopback): the peer is this machine. */
function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith('::ffff:') ? address.slice(7) : address;
  return address === '::1' || (net.isIPv4(v4) && v4.startsWith('127.'));
}
