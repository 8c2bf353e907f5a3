/**
 * Pop3Client: the async face of the client engine, over any {@link Transport}.
 *
 * How it drives the engine
 * ------------------------
 * Each call queues a command on the engine and registers a reply (resolve, reject, and for bodies a data
 * sink) under the handle the engine returned; the bytes to send are flushed once per microtask, or as soon
 * as 2 KiB are ready, so commands queued together (a batch) leave in few writes, the first ones early. One
 * read loop pulls chunks from the transport, feeds them to the engine and routes the events it produces to
 * the replies. The engine decides what may be in flight (pipelining, barriers) and knows which replies are
 * multi-line; the client adds time, cancellation and I/O.
 *
 * Memory: the loop reads with the transport's readTransient() when it has one, chunks in memory the
 * transport reuses, valid until the next read, so a download allocates nothing per chunk. Nothing keeps a
 * view into a chunk: retr(), top() and the batches copy each piece of a body into memory sized from the
 * server's octet count (body-collector.ts), and a retrStream() copies each into the view of the read waiting
 * for it (body-stream.ts). Backpressure: a retrStream() consumer that falls behind pauses the read loop, so
 * the transport is not read, so the socket is not read.
 *
 * The session ends in exactly one of these ways, and every pending call then settles:
 *   - QUIT answered: the engine closes; nothing is pending any more.
 *   - the engine fails (protocol error, end of stream, -ERR greeting, STARTTLS injection): its error;
 *   - the transport fails (read, write or TLS upgrade): ConnectionError, or the transport's Pop3Error;
 *   - a timeout: TimeoutError; an AbortSignal: AbortError; close(): SessionClosed.
 * Every pending call rejects with that error, and so does every later call.
 */
import type { Capabilities } from '../capabilities.js';
import {
  type CommandHandle,
  type CommandResult,
  type Greeting,
  type LanguageEntry,
  type ListEntry,
  Pop3ClientEngine,
  type ResultOf,
  type SessionState,
  type UidlEntry,
} from '../client-engine.js';
import type { Verb } from '../commands.js';
import { ErrorCode, LocalProtocolError, type Pop3Error, ServerError } from '../errors.js';
import type { Limits } from '../limits.js';
import type { SaslCredentials } from '../sasl/index.js';
import {
  type BatchOptions,
  checkWindow,
  deleteMany,
  listing,
  type MessageInfo,
  type MessageRef,
  type MessageSink,
  type RetrievedMessage,
  retrieveMany,
  retrieveManyTo,
} from './batch.js';
import { downloadAndDelete, type DownloadAndDeleteOptions, type DownloadResult } from './download-and-delete.js';
import { BodyCollector } from './body-collector.js';
import { BodyStream } from './body-stream.js';
import { AbortError, TimeoutError, toPop3Error } from './errors.js';
import { fetchNew, type FetchNewOptions, type FetchNewResult } from './keep-on-server.js';
import { chooseLogin, type LoginMechanism } from './login.js';
import { ReplyQueue } from './reply-queue.js';
import type { Transport } from './transport.js';
import type { UidStore } from './uid-store.js';
import { Watchdog } from './watchdog.js';

/** Options for {@link Pop3Client}. */
export interface Pop3ClientOptions {
  /** Milliseconds connect() may take to get the greeting and the CAPA answer. Default 30 000; 0 for none. */
  connectTimeout?: number;
  /**
   * Milliseconds the server may stay silent while a reply (or a TLS handshake) is awaited; the session then
   * fails with POP3_ERR_TIMEOUT. Time spent paused for a slow retrStream() consumer does not count. To keep
   * a fast download cheap, silence that follows data is noticed after up to twice this (see watchdog.ts).
   * Default 60 000; 0 for none.
   */
  idleTimeout?: number;
  /**
   * Most commands a batch operation keeps in flight. Default 4,096; the byte window (`windowBytes`) is what
   * usually bounds a RETR batch, and this bounds one of tiny messages (each costs the client ~0.5 KiB while
   * in flight). A cap of 1,000 held 2,000 x 1 KiB to half the raw socket's speed across a 10 ms round trip.
   */
  window?: number;
  /**
   * Most expected body octets a RETR batch keeps in flight, counted from the LIST sizes given with the
   * messages (see BatchOptions.windowBytes for a message without a size). Default 8 MiB.
   */
  windowBytes?: number;
  /** Engine limits (see core/limits.ts). */
  limits?: Partial<Limits>;
  /** Pipelining: by default when CAPA advertises PIPELINING; `false` never, `true` always. */
  pipelining?: boolean;
  /**
   * Every line sent and received, secrets redacted (bodies are not traced). Must not throw: an exception
   * aborts the session.
   */
  onTrace?: (from: 'client' | 'server', line: string) => void;
}

/** The options every call takes. */
export interface CallOptions {
  /** Aborting ends the session (a reply cannot be skipped), unless the call has not started yet. */
  signal?: AbortSignal;
}

/** Options for {@link Pop3Client.retr} and {@link Pop3Client.top}. */
export interface RetrOptions extends CallOptions {
  /** Called as the body arrives, with the octets received so far. Must not throw (it would abort the session). */
  onProgress?: (receivedOctets: number) => void;
}

/** Options for {@link Pop3Client.retrStream}. */
export interface RetrStreamOptions extends CallOptions {
  /**
   * Bytes of the body the client reads ahead of the stream's consumer (in one reused buffer for a BYOB
   * reader, in the stream's queue for a default one) before it stops reading from the server. Default 0: it
   * reads while a read of the stream waits for bytes, and the transport and the kernel buffer the rest.
   */
  highWaterMark?: number;
}

/** Options for {@link Pop3Client.login}: the credentials and how to use them. */
export interface Pop3LoginOptions extends SaslCredentials, CallOptions {
  /** How to log in; `'auto'` (the default) picks the strongest method offered (see chooseLogin). */
  mechanism?: LoginMechanism;
  /**
   * Never send credentials without TLS: upgrade with STLS first when the connection is not secure, and fail
   * with POP3_ERR_TLS_REQUIRED when that is impossible (no STLS in CAPA, or a transport without TLS). There
   * is no fallback to plaintext. Default: true, except on a `local` transport (loopback, in-process).
   */
  requireTls?: boolean;
  /** SASL: `false` always waits for the server's first challenge before sending the initial response. */
  initialResponse?: boolean;
}

/** What {@link Pop3Client.login} did. */
export interface LoginResult {
  /** The method used: `USER`, `APOP`, or the SASL mechanism name. */
  readonly mechanism: string;
}

/** The STAT answer. */
export interface MailboxStat {
  readonly count: number;
  /** Total size in octets. */
  readonly size: number;
}

/** The reply of the RETRs of a batch (Pop3Client.queueRetrInto): a body's pieces, then its end or its -ERR. */
export interface BatchReply {
  data(piece: Uint8Array): void;
  resolve(result: CommandResult): void;
  reject(error: Pop3Error): void;
}

/** A reply the client waits for; the read loop routes the command's events here. */
interface Reply {
  readonly resolve: (result: CommandResult) => void;
  readonly reject: (error: Pop3Error) => void;
  /** +OK to a RETR or TOP: the body follows, of `octets` octets if the server said so. */
  readonly status?: (octets: number | undefined) => void;
  /** A piece of the body, valid only during the call (it may lie in the transport's reused memory). */
  readonly data?: (piece: Uint8Array) => void;
  /** The chunk just read has been routed, and its last piece of a body was this reply's. */
  readonly routed?: () => void;
}

const DEFAULT_CONNECT_TIMEOUT = 30_000;
const DEFAULT_IDLE_TIMEOUT = 60_000;
const DEFAULT_WINDOW = 4_096;
const DEFAULT_WINDOW_BYTES = 8 * 1024 * 1024;
/** Queued command bytes that are written at once rather than at the end of the microtask (see #register). */
const FLUSH_BYTES = 2048;

/** A POP3 session over a transport. Call connect() first; every method returns a promise that always settles. */
export class Pop3Client {
  readonly #transport: Transport;
  readonly #engine: Pop3ClientEngine;
  readonly #window: number;
  readonly #windowBytes: number;
  #meanSize: number | undefined;
  readonly #onTrace: Pop3ClientOptions['onTrace'];
  readonly #idleTimeout: number;
  readonly #connectTimeout: number;
  readonly #idle: Watchdog;
  readonly #connectTimer: Watchdog;

  readonly #replies = new ReplyQueue<Reply>();
  /** Where every body of retr(), top() and the batches is collected, one at a time. */
  readonly #bodies = new BodyCollector();
  #greetingWaiter: { resolve: (greeting: Greeting) => void; reject: (error: Pop3Error) => void } | undefined;
  /** The STLS reply, held from the server's +OK until the TLS handshake is done. */
  #upgrade: Reply | undefined;
  #upgrading = false;
  #started = false;
  #ended = false;
  #error: Pop3Error | undefined;
  #flushScheduled = false;
  /** A slow stream consumer asked the read loop to wait. */
  #paused = false;
  #wakeReadLoop: (() => void) | undefined;

  constructor(transport: Transport, options: Pop3ClientOptions = {}) {
    this.#transport = transport;
    this.#onTrace = options.onTrace;
    this.#engine = new Pop3ClientEngine({
      limits: options.limits,
      trace: options.onTrace !== undefined,
      tls: transport.secure,
      pipelining: options.pipelining,
    });
    this.#window = checkWindow(options.window ?? DEFAULT_WINDOW);
    this.#windowBytes = checkWindow(options.windowBytes ?? DEFAULT_WINDOW_BYTES, 'windowBytes');
    this.#idleTimeout = options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT;
    this.#connectTimeout = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
    this.#idle = new Watchdog(this.#idleTimeout, () => this.#onIdleTimeout());
    this.#connectTimer = new Watchdog(this.#connectTimeout, () => this.#onConnectTimeout());
  }

  // ─── Getters ───────────────────────────────────────────────────────────────────────────────────────────

  /** The session state; `closed` after QUIT or close(), `failed` after any other ending. */
  get state(): SessionState {
    if (!this.#ended) return this.#engine.state;
    return this.#error === undefined || this.#error.code === ErrorCode.SessionClosed ? 'closed' : 'failed';
  }

  /** The server's greeting, once connect() has received it. */
  get greeting(): Greeting | undefined {
    return this.#engine.greeting;
  }

  /** The latest CAPA answer (fetched by connect(), and again after STLS and after login). */
  get capabilities(): Capabilities | undefined {
    return this.#engine.capabilities;
  }

  /** The connection is encrypted (implicit TLS, or after STLS). */
  get secure(): boolean {
    return this.#transport.secure;
  }

  /** Why the session ended, unless it ended with QUIT (or has not ended). */
  get error(): Pop3Error | undefined {
    return this.#error;
  }

  /** Most commands a batch keeps in flight. */
  get window(): number {
    return this.#window;
  }

  /** Most expected body octets a RETR batch keeps in flight. */
  get windowBytes(): number {
    return this.#windowBytes;
  }

  /**
   * @internal The mean message size of the latest STAT (undefined before one, or when it counted no octets):
   * what a RETR batch counts a message given without a size as, until its first body arrives.
   */
  get meanSize(): number | undefined {
    return this.#meanSize;
  }

  // ─── Session ───────────────────────────────────────────────────────────────────────────────────────────

  /** Start the session: wait for the greeting, then ask for the capabilities (CAPA). Call it once. */
  connect(options: CallOptions = {}): Promise<Greeting> {
    return this.guard(options.signal, 'connect', async () => {
      if (this.#started) throw new LocalProtocolError(ErrorCode.WrongState, 'connect() was already called');
      if (this.#error !== undefined) throw this.#error; // closed before it started
      this.#started = true;
      const greeting = new Promise<Greeting>((resolve, reject) => {
        this.#greetingWaiter = { resolve, reject };
      });
      this.#connectTimer.start();
      void this.#readLoop();
      try {
        const result = await greeting;
        await this.#refreshCapabilities();
        return result;
      } finally {
        this.#connectTimer.stop();
      }
    });
  }

  /** Ask for the capabilities again (CAPA); the answer also updates `capabilities`. */
  capa(options: CallOptions = {}): Promise<Capabilities> {
    return this.guard(options.signal, 'CAPA', async () => (await this.#call((engine) => engine.capa())).capabilities);
  }

  /**
   * Upgrade the connection with STLS (RFC 2595), then fetch the capabilities again. Fails with
   * POP3_ERR_NOT_SUPPORTED, sending nothing, when the server does not advertise STLS or the transport cannot
   * start TLS. login() does this by itself when TLS is required.
   */
  startTls(options: CallOptions = {}): Promise<void> {
    return this.guard(options.signal, 'STLS', () => this.#startTls());
  }

  /**
   * Log in (see Pop3LoginOptions), then fetch the capabilities again, which may change after login (RFC 2449).
   * A refusal rejects with the server's ServerError (`authFailed`, `inUse`, `loginDelay`, `temporary`, and for
   * a refused OAuth token `oauth`, the server's JSON error) and leaves the session in the AUTHORIZATION state,
   * so another attempt is possible.
   */
  login(options: Pop3LoginOptions): Promise<LoginResult> {
    return this.guard(options.signal, 'login', async () => {
      const requireTls = options.requireTls ?? this.#transport.local !== true;
      if (requireTls && !this.secure) {
        if (this.capabilities?.stls !== true) throw tlsRequired('the server does not offer STLS');
        if (this.#transport.startTls === undefined) throw tlsRequired('the transport cannot start TLS');
        await this.#startTls();
      }
      const server = { capabilities: this.capabilities, greeting: this.greeting, secure: this.secure };
      const plan = chooseLogin(options.mechanism ?? 'auto', options, server);
      const { username, password } = options;
      switch (plan.kind) {
        case 'USER':
          // Pipelined when the server allows; a refused USER cancels the PASS behind it, so its error comes first.
          await Promise.all([this.#call((engine) => engine.user(username)), this.#call((engine) => engine.pass(password!))]);
          break;
        case 'APOP':
          await this.#call((engine) => engine.apop(username, password!));
          break;
        case 'SASL':
          await this.#call((engine) => engine.auth(plan.mechanism, { initialResponse: options.initialResponse }));
          break;
      }
      await this.#refreshCapabilities();
      return { mechanism: plan.name };
    });
  }

  /** RFC 6856 UTF8: user names, passwords and messages may be UTF-8 from now on (AUTHORIZATION state). */
  utf8(options: CallOptions = {}): Promise<void> {
    return this.guard(options.signal, 'UTF8', async () => {
      await this.#call((engine) => engine.utf8());
    });
  }

  /** RFC 6856 LANG: the languages the server offers for its response texts. */
  lang(options?: CallOptions): Promise<readonly LanguageEntry[]>;
  /** RFC 6856 LANG: switch the server's response texts to language `tag` (or `*`, the client's default). */
  lang(tag: string, options?: CallOptions): Promise<void>;
  lang(tagOrOptions?: string | CallOptions, maybeOptions?: CallOptions): Promise<readonly LanguageEntry[] | void> {
    const tag = typeof tagOrOptions === 'string' ? tagOrOptions : undefined;
    const options = (typeof tagOrOptions === 'string' ? maybeOptions : tagOrOptions) ?? {};
    return this.guard(options.signal, 'LANG', async () => {
      const { languages } = await this.#call((engine) => engine.lang(tag));
      return tag === undefined ? languages : undefined;
    });
  }

  /**
   * End the session with QUIT. In the TRANSACTION state this commits the deletions (RFC 1939 UPDATE state);
   * a -ERR (some deletions failed) rejects with the ServerError. The transport is closed either way.
   */
  quit(options: CallOptions = {}): Promise<void> {
    return this.guard(options.signal, 'QUIT', async () => {
      await this.#call((engine) => engine.quit());
    });
  }

  /**
   * Close the connection at once, without QUIT: no deletion is committed. Pending and later calls reject
   * with POP3_ERR_SESSION_CLOSED. Safe to call at any time, any number of times.
   */
  close(): void {
    this.#terminate(new LocalProtocolError(ErrorCode.SessionClosed, 'the session was closed with close()'));
  }

  // ─── Mailbox ───────────────────────────────────────────────────────────────────────────────────────────

  /** STAT: how many messages, and their total size. */
  stat(options: CallOptions = {}): Promise<MailboxStat> {
    return this.guard(options.signal, 'STAT', async () => {
      const { count, size } = await this.#call((engine) => engine.stat());
      this.#meanSize = size > 0 ? size / count : undefined;
      return { count, size };
    });
  }

  /** LIST: every message's number and size. */
  list(options?: CallOptions): Promise<readonly ListEntry[]>;
  /** LIST n: one message's size. */
  list(message: number, options?: CallOptions): Promise<ListEntry>;
  list(messageOrOptions?: number | CallOptions, maybeOptions?: CallOptions): Promise<readonly ListEntry[] | ListEntry> {
    const message = typeof messageOrOptions === 'number' ? messageOrOptions : undefined;
    const options = (typeof messageOrOptions === 'number' ? maybeOptions : messageOrOptions) ?? {};
    return this.guard(options.signal, 'LIST', async () => {
      const { entries } = await this.#call((engine) => engine.list(message));
      return message === undefined ? entries : entries[0]!;
    });
  }

  /** UIDL: every message's number and unique id. */
  uidl(options?: CallOptions): Promise<readonly UidlEntry[]>;
  /** UIDL n: one message's unique id. */
  uidl(message: number, options?: CallOptions): Promise<UidlEntry>;
  uidl(messageOrOptions?: number | CallOptions, maybeOptions?: CallOptions): Promise<readonly UidlEntry[] | UidlEntry> {
    const message = typeof messageOrOptions === 'number' ? messageOrOptions : undefined;
    const options = (typeof messageOrOptions === 'number' ? maybeOptions : messageOrOptions) ?? {};
    return this.guard(options.signal, 'UIDL', async () => {
      const { entries } = await this.#call((engine) => engine.uidl(message));
      return message === undefined ? entries : entries[0]!;
    });
  }

  /**
   * RETR: the whole message, dot-unstuffed, as one array. For large messages prefer retrStream(). The array
   * may be a view into a larger buffer (mind byteOffset when using `.buffer`).
   */
  retr(message: number, options: RetrOptions = {}): Promise<Uint8Array> {
    return this.guard(options.signal, `RETR ${message}`, () => this.#body((engine) => engine.retr(message), options.onProgress));
  }

  /**
   * RETR with the body handed to `onData` as it arrives, piece by piece, dot-unstuffed, in order: the
   * lightest way to stream a message (no stream machinery, nothing allocated per piece). A piece is valid only
   * during the call (it may lie in memory the transport reads into next): copy what you keep, and use it for
   * nothing asynchronous. `onData` is synchronous and there is no backpressure (for an asynchronous consumer,
   * use retrStream). Resolves with the body's size in octets once it has ended. If `onData` throws, the rest
   * of the body is dropped and the call rejects with AbortError, the exception as its cause, once the body has
   * ended; the session goes on.
   */
  retrTo(message: number, onData: (piece: Uint8Array) => void, options: CallOptions = {}): Promise<number> {
    return this.guard(options.signal, `RETR ${message}`, () => new Promise((resolve, reject) => {
      const settle: Settle<number> = (error, octets) => (error === undefined ? resolve(octets!) : reject(error));
      this.#queueRetr(message, new SinkReply(message, onData, settle));
    }));
  }

  /**
   * RETR as a stream: resolves once the server has accepted (a -ERR rejects), then the body flows through
   * the stream as it arrives, with backpressure: the client reads from the server only while a read of the
   * stream waits (plus `highWaterMark` bytes ahead), so memory stays bounded whatever the message size. It
   * is a byte stream: `getReader({ mode: 'byob' })` reads into the caller's own memory, and then, over a
   * transport with readTransient() (Node TCP), the download allocates nothing per chunk (body-stream.ts);
   * a default reader gets chunks it owns. Nothing else on the session moves until the body has been read
   * (or the stream cancelled). Cancelling the stream discards the rest of the body and keeps the session;
   * aborting the signal ends the session and errors the stream.
   */
  retrStream(message: number, options: RetrStreamOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const readAhead = options.highWaterMark ?? 0;
    if (!(readAhead >= 0)) {
      return Promise.reject(new LocalProtocolError(ErrorCode.BadArgument, `highWaterMark must be at least 0, not ${String(readAhead)}`));
    }
    const { signal } = options;
    const what = `RETR ${message}`;
    if (signal?.aborted === true) return Promise.reject(new AbortError(`${what} aborted`, signal.reason));
    return new Promise((resolve, reject) => {
      // The signal stays armed until the body has ended, not just until the stream is handed out.
      const disarm = this.#armSignal(signal, what);
      const feeder = {
        pause: () => this.#pauseReading(),
        resume: () => this.#resumeReading(),
      };
      const body: BodyStream = new BodyStream(feeder, readAhead, () => resolve(body.stream), reject, () => {
        disarm();
        // The whole body is in the stream's hands: the rest of the session may move on.
        this.#resumeReading();
      });
      try {
        this.#send((engine) => engine.retr(message), body);
      } catch (error) {
        disarm();
        reject(error);
      }
    });
  }

  /** TOP: the headers and the first `lines` lines of the body. */
  top(message: number, lines: number, options: RetrOptions = {}): Promise<Uint8Array> {
    return this.guard(options.signal, `TOP ${message}`, () => this.#body((engine) => engine.top(message, lines), options.onProgress));
  }

  /** DELE: mark a message for deletion; deletions take effect only at QUIT. */
  dele(message: number, options: CallOptions = {}): Promise<void> {
    return this.guard(options.signal, `DELE ${message}`, async () => {
      await this.#call((engine) => engine.dele(message));
    });
  }

  /** RSET: unmark every message marked for deletion. */
  rset(options: CallOptions = {}): Promise<void> {
    return this.guard(options.signal, 'RSET', async () => {
      await this.#call((engine) => engine.rset());
    });
  }

  /** NOOP: keeps the session alive; the server just answers +OK. */
  noop(options: CallOptions = {}): Promise<void> {
    return this.guard(options.signal, 'NOOP', async () => {
      await this.#call((engine) => engine.noop());
    });
  }

  // ─── Batches and helpers (see batch.ts, download-and-delete.ts, keep-on-server.ts) ───────────────────────

  /** LIST and UIDL at once (pipelined when the server allows): number, size and uid of every message. */
  listing(options: CallOptions = {}): Promise<MessageInfo[]> {
    return listing(this, options);
  }

  /**
   * RETR many messages, pipelined with at most `window` commands and `windowBytes` of expected body octets
   * (from the sizes given, e.g. by listing()) in flight; `onMessage` is called in order, one at a time, and
   * awaited. Progress events count octets against the sizes given (from LIST).
   */
  retrieveMany(
    messages: readonly (number | MessageRef)[],
    onMessage: (message: RetrievedMessage) => void | Promise<void>,
    options: BatchOptions = {},
  ): Promise<void> {
    return retrieveMany(this, messages, onMessage, options);
  }

  /**
   * RETR many messages, pipelined as retrieveMany(), but each body goes to `sink` piece by piece as it
   * arrives (pieces valid only during the call), then `sink.onEnd`: nothing is collected, so this is the
   * fastest way to download a mailbox and holds no body in memory (the batch form of retrTo()). The first
   * error, or an exception of the sink, ends the batch; the session goes on.
   */
  retrieveManyTo(messages: readonly (number | MessageRef)[], sink: MessageSink, options: BatchOptions = {}): Promise<void> {
    return retrieveManyTo(this, messages, sink, options);
  }

  /** DELE many messages, pipelined with at most `window` in flight. They are deleted at QUIT. */
  deleteMany(messages: readonly (number | MessageRef)[], options: BatchOptions = {}): Promise<void> {
    return deleteMany(this, messages, options);
  }

  /**
   * Download every message and delete it from the server, losing nothing: a message is marked for deletion
   * only after `handler` resolves for it (it is stored), and deletions commit with the QUIT that ends the
   * session. If the connection dies, nothing is deleted. See download-and-delete.ts.
   */
  downloadAndDelete(
    handler: (message: RetrievedMessage) => void | Promise<void>,
    options: DownloadAndDeleteOptions = {},
  ): Promise<DownloadResult> {
    return downloadAndDelete(this, handler, options);
  }

  /**
   * Keep mail on the server and fetch only what is new: messages whose UIDL is not in `store` go to
   * `handler`, and are added to `store` once it resolves. After a complete batch the store forgets the UIDs
   * the server no longer lists (one store per mailbox; `forgetGone: false` turns it off). The session stays
   * open. See keep-on-server.ts.
   */
  fetchNew(store: UidStore, handler: (message: RetrievedMessage) => void | Promise<void>, options: FetchNewOptions = {}): Promise<FetchNewResult> {
    return fetchNew(this, store, handler, options);
  }

  /**
   * @internal The batch operations' RETR (batch.ts): the body, or the error, goes to `settle` rather than
   * through a promise per message, which a batch of thousands of small messages would mostly spend its
   * time on. Errors that retr() would reject with are passed to `settle` too, before this returns. A batch
   * watches its signal once for all its commands (guard), not once per command. `bodies`: where the body
   * is collected (a batch with `reuseBodies` has its own).
   */
  queueRetr(message: number, settle: Settle<Uint8Array>, onProgress?: (receivedOctets: number) => void, bodies = this.#bodies): void {
    this.#queueRetr(message, new BodyReply(bodies, settle, onProgress));
  }

  /**
   * @internal retrieveManyTo's RETR: the replies of a whole batch go to one `reply`, in the order queued (a
   * piece belongs to the oldest message not yet resolved or rejected). What retr() would reject with goes to
   * `reply.reject`, before this returns.
   */
  queueRetrInto(message: number, reply: BatchReply): void {
    this.#queueRetr(message, reply);
  }

  /**
   * A RETR with its reply, straight to #register (no #send closure: one allocation less for each of the
   * thousands of commands of a batch); what retr() would reject with goes to `reply.reject`.
   */
  #queueRetr(message: number, reply: Reply): void {
    try {
      this.#register(this.#open().retr(message), reply);
    } catch (error) {
      reply.reject(toPop3Error(error));
    }
  }

  // ─── Commands ──────────────────────────────────────────────────────────────────────────────────────────

  /** Queue a command and wait for its result. */
  #call<V extends Verb>(enqueue: (engine: Pop3ClientEngine) => CommandHandle<V>): Promise<ResultOf<V>> {
    return new Promise((resolve, reject) => {
      this.#send(enqueue, { resolve: resolve as (result: CommandResult) => void, reject });
    });
  }

  /** Queue a RETR or TOP and collect its body (body-collector.ts). */
  #body(enqueue: (engine: Pop3ClientEngine) => CommandHandle, onProgress?: (receivedOctets: number) => void): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#send(enqueue, new BodyReply(this.#bodies, (error, body) => (error === undefined ? resolve(body!) : reject(error)), onProgress));
    });
  }

  /** Queue a command with the engine (which validates it, or throws) and register its reply. */
  #send(enqueue: (engine: Pop3ClientEngine) => CommandHandle, reply: Reply): void {
    this.#register(enqueue(this.#open()), reply);
  }

  /** The engine to queue a command with, once the session can take one. */
  #open(): Pop3ClientEngine {
    if (this.#error !== undefined) throw this.#error;
    if (!this.#started) throw new LocalProtocolError(ErrorCode.WrongState, 'call connect() first');
    return this.#engine;
  }

  /** Register the reply to the command just queued, and see that it is written. */
  #register(handle: CommandHandle, reply: Reply): void {
    this.#replies.add(handle, reply);
    this.#updateIdle(false);
    // A batch queues its commands in one go: writing them only at the end would leave the server idle while
    // a thousand are queued. Write as soon as a packet's worth is ready, the rest at the end (a microtask).
    if (this.#engine.outgoingBytes >= FLUSH_BYTES) this.#flush();
    else if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => {
        this.#flushScheduled = false;
        this.#flush();
      });
    }
  }

  /** Write what the engine has to send. Writes are not awaited: commands are small, and batches windowed. */
  #flush(): void {
    const bytes = this.#engine.takeOutgoing();
    if (bytes === undefined || this.#ended) return;
    this.#transport.write(bytes).catch((error: unknown) => this.#terminate(toPop3Error(error)));
  }

  async #startTls(): Promise<void> {
    if (this.secure) throw new LocalProtocolError(ErrorCode.WrongState, 'the connection is already secure');
    if (this.#transport.startTls === undefined) throw new LocalProtocolError(ErrorCode.NotSupported, 'the transport cannot start TLS');
    if (this.capabilities?.stls !== true) throw new LocalProtocolError(ErrorCode.NotSupported, 'the server does not offer STLS');
    await this.#call((engine) => engine.stls()); // resolves once the handshake is done (see #handshake)
    await this.#refreshCapabilities();
  }

  /** CAPA, tolerating servers that do not know it (-ERR): their capabilities stay unknown. */
  async #refreshCapabilities(): Promise<void> {
    try {
      await this.#call((engine) => engine.capa());
    } catch (error) {
      if (!(error instanceof ServerError)) throw error;
    }
  }

  // ─── Cancellation ──────────────────────────────────────────────────────────────────────────────────────

  /**
   * @internal Run `run` under `signal`: every call with a signal, and the batches and helpers, which watch
   * theirs once for all their commands (one listener per command would be a thousand on one signal, and Node
   * warns of a leak from the eleventh on). Aborted before it starts: rejects, and nothing happens. Aborted
   * later: the session ends with AbortError, since a command already queued cannot be taken back.
   */
  guard<T>(signal: AbortSignal | undefined, what: string, run: () => Promise<T>): Promise<T> {
    // Without a signal, no wrapper: batches make thousands of calls, and every promise hop counts.
    if (signal === undefined) return run();
    if (signal.aborted) return Promise.reject(new AbortError(`${what} aborted`, signal.reason));
    const disarm = this.#armSignal(signal, what);
    return run().finally(disarm);
  }

  /** End the session when `signal` fires; returns the function that stops listening. */
  #armSignal(signal: AbortSignal | undefined, what: string): () => void {
    if (signal === undefined) return noop;
    const onAbort = () => this.#terminate(new AbortError(`${what} aborted`, signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  // ─── Reading ───────────────────────────────────────────────────────────────────────────────────────────

  async #readLoop(): Promise<void> {
    const engine = this.#engine;
    const transport = this.#transport;
    while (!this.#ended) {
      if (this.#paused) {
        await new Promise<void>((resolve) => {
          this.#wakeReadLoop = resolve;
        });
        continue;
      }
      let chunk: Uint8Array | undefined;
      try {
        // Every chunk is consumed before the next read (see #dispatch), so reused memory will do.
        chunk = await (transport.readTransient !== undefined ? transport.readTransient() : transport.read());
      } catch (error) {
        this.#terminate(toPop3Error(error));
        return;
      }
      if (this.#ended) return;
      if (chunk === undefined) engine.receiveEnd();
      else engine.receive(chunk);
      this.#dispatch();
      if (this.#upgrade !== undefined && !this.#ended) await this.#handshake();
      this.#flush();
      this.#updateIdle(true);
      // At the end of the stream the engine has closed: #dispatch ended the session.
    }
  }

  /**
   * Route every event the engine has ready after reading a chunk. The chunk may be the transport's again at
   * the next read: neither the engine (which copies a line split across chunks) nor a reply (which copies
   * each piece of a body) keeps anything of it.
   */
  #dispatch(): void {
    const engine = this.#engine;
    /** The reply the latest piece went to, told once the chunk is routed (bodies come one after the other). */
    let fed: Reply | undefined;
    try {
      for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
        switch (event.type) {
          case 'data':
            fed = this.#replies.get(event.handle);
            fed?.data?.(event.chunk);
            break;
          case 'status':
            this.#replies.get(event.handle)?.status?.(event.octets);
            break;
          case 'done': {
            const reply = this.#replies.take(event.handle);
            // STLS succeeds only once TLS is up: the engine's `starttls` event follows, see #handshake.
            if (event.handle.verb === 'STLS') this.#upgrade = reply;
            else reply?.resolve(event.result);
            break;
          }
          case 'rejected':
          case 'failed':
            this.#replies.take(event.handle)?.reject(event.error);
            break;
          case 'greeting':
            // A -ERR greeting is followed by `closed`, which rejects the waiter with its ServerError.
            if (event.greeting.ok) {
              this.#greetingWaiter?.resolve(event.greeting);
              this.#greetingWaiter = undefined;
            }
            break;
          case 'closed':
            if (event.error === undefined) this.#finish();
            else this.#terminate(event.error);
            break;
          case 'trace':
            this.#onTrace?.(event.from, event.line);
            break;
          case 'starttls':
          case 'challenge':
            break;
        }
      }
      fed?.routed?.();
    } catch (error) {
      // Only a callback of the caller's (onTrace, onProgress) can throw here. The events after it are lost
      // with the exception, so the session cannot go on.
      this.#terminate(new AbortError('the session was aborted because a callback threw', error));
    }
  }

  /** STLS was accepted: upgrade the transport, tell the engine, and only then let startTls() go on. */
  async #handshake(): Promise<void> {
    const reply = this.#upgrade!;
    this.#upgrading = true;
    this.#updateIdle(false);
    try {
      await this.#transport.startTls!();
    } catch (error) {
      this.#terminate(toPop3Error(error));
      return;
    } finally {
      this.#upgrading = false;
    }
    if (this.#ended) return;
    this.#upgrade = undefined;
    this.#engine.tlsStarted();
    reply.resolve({ verb: 'STLS' });
  }

  // The idle timer keeps running while reading is paused (a stream pauses and resumes it for every chunk, and
  // a timer stopped and started each time costs more than the rest of the pause): see #onIdleTimeout.
  #pauseReading(): void {
    this.#paused = true;
  }

  #resumeReading(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#wake();
    this.#updateIdle(true);
  }

  #wake(): void {
    const wake = this.#wakeReadLoop;
    this.#wakeReadLoop = undefined;
    wake?.();
  }

  // ─── Time ──────────────────────────────────────────────────────────────────────────────────────────────

  /** Run the idle timer while something is awaited from the server; `progress`: data just arrived, or reading resumed. */
  #updateIdle(progress: boolean): void {
    const waiting = !this.#ended && (this.#replies.size > 0 || this.#upgrading);
    if (!waiting) this.#idle.stop();
    else if (progress) this.#idle.touch();
    else this.#idle.start();
  }

  #onIdleTimeout(): void {
    // Silence while a slow stream consumer holds reading up is not the server's: count again.
    if (this.#paused) return this.#idle.start();
    // The oldest pending reply is the one the server owes first.
    const head = this.#replies.oldest();
    const what = head === undefined ? 'the TLS handshake' : `the reply to ${head.command}`;
    this.#terminate(new TimeoutError(`the server sent nothing for ${this.#idleTimeout} ms while ${what} was awaited`));
  }

  #onConnectTimeout(): void {
    const what = this.greeting === undefined ? 'no greeting' : 'no answer to CAPA';
    this.#terminate(new TimeoutError(`connecting took longer than ${this.#connectTimeout} ms: ${what} from the server`));
  }

  // ─── Ending ────────────────────────────────────────────────────────────────────────────────────────────

  /** The session ended with QUIT: the engine has already settled every command. */
  #finish(): void {
    this.#ended = true;
    this.#idle.stop();
    this.#transport.close();
    this.#wake();
  }

  /** End the session because of `error`: close the transport and reject everything pending with it. */
  #terminate(error: Pop3Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = error;
    this.#idle.stop();
    this.#connectTimer.stop();
    this.#transport.close();
    const replies = this.#replies.takeAll();
    for (const reply of replies) reply.reject(error);
    this.#upgrade?.reject(error);
    this.#upgrade = undefined;
    this.#greetingWaiter?.reject(error);
    this.#greetingWaiter = undefined;
    this.#wake();
  }
}

function noop(): void {}

/** How a body (or other value) is handed over without a promise: an error, or undefined and the value. */
export type Settle<T> = (error: Pop3Error | undefined, value?: T) => void;

/** The reply to a RETR or TOP whose body is collected whole: retr(), top() and the batches. */
class BodyReply implements Reply {
  readonly #settle: Settle<Uint8Array>;
  readonly #onProgress: ((receivedOctets: number) => void) | undefined;
  readonly #collector: BodyCollector;
  #received = 0;

  constructor(collector: BodyCollector, settle: Settle<Uint8Array>, onProgress: ((receivedOctets: number) => void) | undefined) {
    this.#collector = collector;
    this.#settle = settle;
    this.#onProgress = onProgress;
  }

  status(octets: number | undefined): void {
    this.#collector.begin(octets);
  }

  data(piece: Uint8Array): void {
    this.#collector.add(piece);
    if (this.#onProgress === undefined) return;
    this.#received += piece.length;
    this.#onProgress(this.#received);
  }

  resolve(): void {
    this.#settle(undefined, this.#collector.take());
  }

  reject(error: Pop3Error): void {
    this.#settle(error);
  }
}

/** retrTo(): every piece to the caller's callback; its first exception fails the call once the body has ended. */
class SinkReply implements Reply {
  readonly #message: number;
  readonly #onData: (piece: Uint8Array) => void;
  readonly #settle: Settle<number>;
  #octets = 0;
  #failure: AbortError | undefined;

  constructor(message: number, onData: (piece: Uint8Array) => void, settle: Settle<number>) {
    this.#message = message;
    this.#onData = onData;
    this.#settle = settle;
  }

  data(piece: Uint8Array): void {
    this.#octets += piece.length;
    if (this.#failure !== undefined) return;
    try {
      this.#onData(piece);
    } catch (error) {
      this.#failure = new AbortError(`RETR ${this.#message} aborted: onData threw`, error);
    }
  }

  resolve(): void {
    if (this.#failure === undefined) this.#settle(undefined, this.#octets);
    else this.#settle(this.#failure);
  }

  reject(error: Pop3Error): void {
    this.#settle(error);
  }
}

function tlsRequired(why: string): LocalProtocolError {
  return new LocalProtocolError(ErrorCode.TlsRequired, `refusing to log in without TLS: ${why}`);
}
