/**
 * The browser's transport: POP3 bytes in binary WebSocket messages to pop3kit's proxy (proxy/), which relays
 * them to one TCP connection. Works with the browser's WebSocket (pages, extensions, workers), Node 22's
 * global one, or the `ws` package's class passed in on Node 20.
 *
 * Backpressure. A browser WebSocket cannot stop reading: every message is delivered, wanted or not. So
 * chunks wait in a queue until read() takes them, and the queue is bounded: when more than `maxUnread` bytes
 * are waiting the session fails with a ConnectionError rather than growing without limit. Pop3Client reads
 * continuously, so only a consumer that stalls for a long time (a retrStream() nobody reads) reaches the
 * bound. With the `ws` package, which can stop reading, the socket is paused instead at `highWaterMark`, and
 * the bound is never reached.
 *
 * Writes: POP3 commands are small and every client WebSocket copies what send() is given (to mask it), so
 * write() resolves at once.
 *
 * No startTls(): a page cannot run TLS itself. For an encrypted path to the server, have the operator make
 * the proxy originate TLS to the target (`--allow-tls`) and connect with wss:, then say `secure: true`.
 */
import { ErrorCode, LocalProtocolError, type Pop3Error } from '../errors.js';
import { ChunkQueue } from './chunk-queue.js';
import { AbortError, ConnectionError, TimeoutError } from './errors.js';
import type { Transport } from './transport.js';
import { Watchdog } from './watchdog.js';

/** What the transport needs of a WebSocket: the part of the web platform's API that `ws` also has. */
export interface WebSocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void;
  addEventListener(type: 'close', listener: (event: { code: number; reason: string }) => void): void;
  addEventListener(type: 'open' | 'error', listener: () => void): void;
  /** Only in `ws`: stop and restart reading the socket. */
  pause?(): void;
  resume?(): void;
}

/** A WebSocket class: the browser's, Node 22's global, or `ws`'s. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** Options for {@link openWebSocketTransport}. */
export interface WebSocketTransportOptions {
  /** The WebSocket class. Default `globalThis.WebSocket`; on Node 20 pass `WebSocket` from `ws`. */
  WebSocket?: WebSocketConstructor;
  /** WebSocket subprotocols to offer. */
  protocols?: string | string[];
  /** Milliseconds the WebSocket handshake may take. Default 30 000; 0 for none. */
  connectTimeout?: number;
  /** Aborting while connecting closes the WebSocket and rejects with POP3_ERR_ABORTED. */
  signal?: AbortSignal;
  /**
   * Bytes received and not yet read above which the session fails (POP3_ERR_CONNECTION), for WebSockets
   * that cannot stop reading (browsers). Default 16 MiB.
   */
  maxUnread?: number;
  /** For WebSockets that can stop reading (`ws`): unread bytes at which reading pauses. Default 256 KiB. */
  highWaterMark?: number;
  /**
   * The whole path to the server is encrypted: a wss: URL to a proxy that originates TLS to the target.
   * Your declaration (the page cannot see past the proxy); with it, Pop3Client logs in without STLS.
   */
  secure?: boolean;
  /** The proxy and the POP3 server run on this machine, so nothing crosses a network. Your declaration. */
  local?: boolean;
}

/** The WebSocket was closed other than normally, or could not be opened: `closeCode` and `reason` say why. */
export class WebSocketCloseError extends ConnectionError {
  /** The close code (RFC 6455 7.4), e.g. 1006 for a connection lost (or refused) without a close frame. */
  readonly closeCode: number;
  /** The close reason; from pop3kit's proxy a stable refusal code such as `token-expired`. */
  readonly reason: string;
  constructor(message: string, closeCode: number, reason: string) {
    super(reason === '' ? `${message} (${closeCode})` : `${message} (${closeCode} ${reason})`);
    this.closeCode = closeCode;
    this.reason = reason;
  }
}

const DEFAULT_CONNECT_TIMEOUT = 30_000;
const DEFAULT_MAX_UNREAD = 16 * 1024 * 1024;
const DEFAULT_HIGH_WATER_MARK = 256 * 1024;
/** readyState of an open WebSocket (the constant is not on every implementation's instances). */
const OPEN = 1;

/** An open WebSocket as a Transport. Make one with {@link openWebSocketTransport}. */
export class WebSocketTransport implements Transport {
  readonly secure: boolean;
  readonly local: boolean;
  readonly #ws: WebSocketLike;
  readonly #where: string;
  readonly #maxUnread: number;
  readonly #highWaterMark: number;
  /** Only for WebSockets that can pause. */
  readonly #canPause: boolean;
  readonly #queue = new ChunkQueue();
  #paused = false;
  #closed = false;

  /** @internal Use {@link openWebSocketTransport}. */
  constructor(ws: WebSocketLike, where: string, options: WebSocketTransportOptions) {
    this.#ws = ws;
    this.#where = where;
    this.secure = options.secure === true;
    this.local = options.local === true;
    this.#maxUnread = options.maxUnread ?? DEFAULT_MAX_UNREAD;
    this.#highWaterMark = options.highWaterMark ?? DEFAULT_HIGH_WATER_MARK;
    this.#canPause = typeof ws.pause === 'function' && typeof ws.resume === 'function';
    ws.addEventListener('message', this.#onMessage);
    ws.addEventListener('close', this.#onClose);
  }

  /** Bytes received and not yet read. */
  get unread(): number {
    return this.#queue.bytes;
  }

  read(): Promise<Uint8Array | undefined> {
    const chunk = this.#queue.read();
    if (this.#paused && this.#queue.bytes < this.#highWaterMark) {
      this.#paused = false;
      this.#ws.resume!();
    }
    return chunk;
  }

  write(bytes: Uint8Array): Promise<void> {
    const error = this.#queue.error;
    if (error !== undefined) return Promise.reject(error);
    if (this.#queue.ended || this.#ws.readyState !== OPEN) {
      return Promise.reject(new ConnectionError(`the WebSocket to ${this.#where} is closed`));
    }
    if (bytes.length > 0) this.#ws.send(bytes);
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue.close();
    this.#ws.close(1000);
  }

  readonly #onMessage = (event: { data: unknown }): void => {
    if (this.#closed || this.#queue.error !== undefined) return;
    if (!(event.data instanceof ArrayBuffer)) {
      // The proxy sends binary messages only; text means this is not pop3kit's proxy.
      this.#failAndClose(new ConnectionError(`${this.#where} sent a text message: not a pop3kit proxy`), 1003);
      return;
    }
    this.#queue.push(new Uint8Array(event.data));
    const unread = this.#queue.bytes;
    if (this.#canPause) {
      if (!this.#paused && unread >= this.#highWaterMark) {
        this.#paused = true;
        this.#ws.pause!();
      }
    } else if (unread > this.#maxUnread) {
      this.#failAndClose(
        new ConnectionError(
          `more than ${this.#maxUnread} bytes from ${this.#where} arrived unread; a browser WebSocket cannot apply backpressure, so the session ends (maxUnread)`,
        ),
        1008,
      );
    }
  };

  readonly #onClose = (event: { code: number; reason: string }): void => {
    // 1000: the proxy closed normally (the server ended the connection); 1005: closed without a code.
    if (event.code !== 1000 && event.code !== 1005 && !this.#closed) {
      this.#queue.fail(new WebSocketCloseError(`the WebSocket to ${this.#where} closed`, event.code, event.reason));
    }
    this.#queue.end();
  };

  /** Fail at once, dropping what arrived unread, and close the WebSocket with `code`. */
  #failAndClose(error: Pop3Error, code: number): void {
    this.#queue.fail(error, true);
    this.#ws.close(code);
  }
}

/**
 * Opens a WebSocket to pop3kit's proxy, e.g. `wss://proxy.example.org/?target=pop.example.org:995&token=...`,
 * and resolves once it is open. Rejects with WebSocketCloseError when it could not be opened (a browser does
 * not say why: a refused handshake, an unreachable proxy, and a wrong origin all look alike, close code 1006),
 * TimeoutError or AbortError.
 */
export function openWebSocketTransport(url: string | URL, options: WebSocketTransportOptions = {}): Promise<WebSocketTransport> {
  const where = proxyName(url);
  const { signal } = options;
  if (signal?.aborted === true) return Promise.reject(new AbortError(`connecting to ${where} aborted`, signal.reason));
  const Ws = options.WebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (Ws === undefined) {
    return Promise.reject(new LocalProtocolError(ErrorCode.NotSupported, 'no WebSocket here: pass the WebSocket option (on Node 20, from the ws package)'));
  }
  const secureUrl = String(url).startsWith('wss:');
  if (options.secure === true && !secureUrl) {
    return Promise.reject(new LocalProtocolError(ErrorCode.BadArgument, 'secure: true needs a wss: URL'));
  }
  return new Promise((resolve, reject) => {
    const ws = new Ws(String(url), options.protocols);
    ws.binaryType = 'arraybuffer';
    // An error is always followed by a close event, which is where it is handled. The listener must exist
    // all the same: `ws` throws an error event that nobody listens to.
    ws.addEventListener('error', () => {});
    let settled = false;
    const settle = (error?: Pop3Error) => {
      if (settled) return;
      settled = true;
      watchdog.stop();
      signal?.removeEventListener('abort', onAbort);
      if (error === undefined) return resolve(new WebSocketTransport(ws, where, options));
      ws.close();
      reject(error);
    };
    const ms = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    const watchdog = new Watchdog(ms, () => settle(new TimeoutError(`connecting to ${where} took longer than ${ms} ms`)));
    const onAbort = () => settle(new AbortError(`connecting to ${where} aborted`, signal?.reason));
    ws.addEventListener('open', () => settle());
    ws.addEventListener('close', (event) =>
      settle(new WebSocketCloseError(`cannot open a WebSocket to ${where}`, event.code, event.reason)),
    );
    signal?.addEventListener('abort', onAbort, { once: true });
    watchdog.start();
  });
}

/** The proxy's address for messages: scheme, host and path, without the query (it may hold a token). */
function proxyName(url: string | URL): string {
  const parsed = new URL(String(url));
  return `${parsed.protocol}//${parsed.host}${parsed.pathname}`;
}
