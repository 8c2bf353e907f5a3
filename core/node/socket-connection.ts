/**
 * One accepted Node socket as the ServerConnection a Pop3ServerSession drives (core/server/session.ts).
 *
 * Reading is pulled: the socket stays in paused mode and read() takes what it has buffered. While the session
 * does not ask (the engine's `wantsInput` is false: output backed up, too much input queued, a login being
 * checked), nothing is taken, Node stops reading at the stream's high-water mark, and TCP flow control slows
 * the client down.
 *
 * Writing resolves once the socket takes more (at once, or at 'drain'), so the session never runs ahead of a
 * slow reader. A client that stops reading altogether would hold the session (and its mailbox lock) forever,
 * as the engine is not idle while output waits: a write that has not drained within `stallTimeout` destroys
 * the socket, which the session sees as a lost connection.
 *
 * STLS: startTls() wraps the socket in a server-side tls.TLSSocket. The session calls it with no read
 * outstanding, right after the +OK. Bytes the client sent after STLS and before its handshake are either still
 * unread in the engine (which discards them) or in the socket's buffer, where Node hands them to TLS as
 * handshake data: an injected plaintext command then fails the handshake, it is never read as a command.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { ServerConnection } from '../server/session.js';

/** Timeouts of a SocketConnection. */
export interface SocketConnectionOptions {
  /** TLS settings for STLS; without them the connection cannot upgrade and STLS is not offered. */
  readonly secureContext?: tls.SecureContext;
  /** Milliseconds a TLS handshake may take. */
  readonly handshakeTimeout: number;
  /** Milliseconds a write may wait for the client to read before the connection is dropped. */
  readonly stallTimeout: number;
  /** Milliseconds close() waits for the client to close its side before destroying the socket. */
  readonly lingerTimeout: number;
}

type Pending = { resolve: (chunk: Uint8Array | undefined) => void; reject: (error: Error) => void };

export class SocketConnection implements ServerConnection {
  readonly startTls: (() => Promise<void>) | undefined;
  readonly #options: SocketConnectionOptions;
  #socket: net.Socket;
  #reader: Pending | undefined;
  #ended = false;
  #error: Error | undefined;
  #bytesIn = 0;
  #bytesOut = 0;

  /** `socket` must be connected; for implicit TLS, a TLSSocket whose handshake is done. */
  constructor(socket: net.Socket, options: SocketConnectionOptions) {
    this.#options = options;
    this.#socket = socket;
    this.#attach(socket);
    const context = options.secureContext;
    this.startTls = context === undefined || socket instanceof tls.TLSSocket ? undefined : () => this.#upgrade(context);
  }

  /** Bytes read from the client so far (after TLS decryption). */
  get bytesIn(): number {
    return this.#bytesIn;
  }

  /** Bytes written to the client so far (before TLS encryption). */
  get bytesOut(): number {
    return this.#bytesOut;
  }

  read(): Promise<Uint8Array | undefined> {
    if (this.#reader !== undefined) return Promise.reject(new Error('bug: two reads outstanding'));
    const chunk = this.#take();
    if (chunk !== undefined || this.#ended) return Promise.resolve(chunk);
    if (this.#error !== undefined) return Promise.reject(this.#error);
    return new Promise((resolve, reject) => (this.#reader = { resolve, reject }));
  }

  write(bytes: Uint8Array): Promise<void> {
    const socket = this.#socket;
    if (this.#error !== undefined) return Promise.reject(this.#error);
    if (socket.destroyed || socket.writableEnded) return Promise.reject(new Error('the connection is closed'));
    this.#bytesOut += bytes.length;
    if (socket.write(bytes)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        socket.off('drain', onDrain).off('close', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onDrain = () => done();
      const onClose = () => done(this.#error ?? new Error('the connection closed'));
      const timer = setTimeout(() => socket.destroy(new Error('the client stopped reading')), this.#options.stallTimeout);
      socket.on('drain', onDrain).on('close', onClose);
    });
  }

  /** Ends the connection after what was written, and resolves once it is closed (destroyed after the linger time). */
  close(): Promise<void> {
    const socket = this.#socket;
    this.#finishRead();
    if (socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => socket.destroy(), this.#options.lingerTimeout);
      socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      socket.end();
    });
  }

  /** Drops the connection at once (server shutdown after its grace period). */
  destroy(): void {
    this.#socket.destroy();
  }

  #attach(socket: net.Socket): void {
    socket.on('readable', this.#onReadable);
    socket.on('end', this.#onEnd);
    socket.on('close', this.#onEnd);
    socket.on('error', this.#onError);
  }

  #detach(socket: net.Socket): void {
    socket.off('readable', this.#onReadable);
    socket.off('end', this.#onEnd);
    socket.off('close', this.#onEnd);
    // The 'error' listener stays: an error event without one would crash the process.
  }

  readonly #onReadable = (): void => {
    if (this.#reader === undefined) return;
    const chunk = this.#take();
    if (chunk === undefined) return;
    const reader = this.#reader;
    this.#reader = undefined;
    reader.resolve(chunk);
  };

  readonly #onEnd = (): void => {
    this.#finishRead();
  };

  readonly #onError = (error: Error): void => {
    this.#error ??= error;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(error);
  };

  #take(): Uint8Array | undefined {
    const chunk = this.#socket.read() as Buffer | null;
    if (chunk === null) return undefined;
    this.#bytesIn += chunk.length;
    return chunk;
  }

  /** No more input: an outstanding read settles with the end of the stream. */
  #finishRead(): void {
    this.#ended = true;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(undefined);
  }

  async #upgrade(secureContext: tls.SecureContext): Promise<void> {
    const plain = this.#socket;
    this.#detach(plain);
    const secure = new tls.TLSSocket(plain, { isServer: true, secureContext });
    this.#socket = secure;
    this.#attach(secure);
    await handshake(secure, this.#options.handshakeTimeout);
  }
}

/**
 * Resolves when a server-side TLSSocket's handshake is done; rejects (and destroys the socket) when it fails,
 * the socket closes, or it takes longer than `timeout` milliseconds.
 */
export function handshake(socket: tls.TLSSocket, timeout: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (error?: Error) => {
      clearTimeout(timer);
      socket.off('secure', onSecure).off('error', settle).off('close', onClose);
      if (error === undefined) return resolve();
      socket.destroy();
      reject(error);
    };
    const onSecure = () => settle();
    const onClose = () => settle(new Error('the connection closed during the TLS handshake'));
    const timer = setTimeout(() => settle(new Error('the TLS handshake timed out')), timeout);
    socket.on('secure', onSecure).on('error', settle).on('close', onClose);
  });
}
