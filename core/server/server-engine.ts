/**
 * The server side of POP3 as a pure state machine (sans-IO): command bytes in, requests and events out;
 * answers in, reply bytes out. The mirror image of Pop3ClientEngine.
 *
 * Theory of operation
 * -------------------
 * The engine never touches a socket, a timer, a clock, a random source of its own or a mailbox. Its driver
 * (Pop3ServerSession in session.ts is the ready-made one) does this in a loop:
 *
 *   1. write whatever `takeOutgoing()` returns to the client (the greeting is there from the start);
 *   2. drain `nextEvent()` and act on each event; the ones with a `request` number need an answer:
 *        password  → resolvePassword(request, the user's password, or undefined for an unknown user)
 *        open      → resolveOpen(request, the mailbox's messages | 'in-use' | 'login-delay')
 *        retrieve  → messageData(request, chunk) for each piece of the message (stop when it returns false),
 *                    then messageEnd(request)
 *        update    → delete the listed messages for good, then resolveUpdate(request)
 *      and any request the store cannot answer → requestFailed(request). `starttls` asks the driver to
 *      switch the connection to TLS (the +OK is already in the output) and call tlsStarted(); `closed` says
 *      the session is over: write the last bytes, close the connection, release the mailbox;
 *   3. while `wantsInput` is true, read from the client and give every chunk to `receive()`, in any slicing;
 *      at the end of the stream call `receiveEnd()`. While `idle` is true the engine waits on the client
 *      alone: that is when the driver's idle timer runs, and when it fires the driver calls
 *      `terminate('idle-timeout')` (RFC 1939 section 3: the session closes without a reply and without UPDATE).
 *
 * Commands are handled strictly one at a time, in the order they arrived, so replies are in order for any
 * number of pipelined commands (RFC 2449 PIPELINING). Input that arrives while a command is in progress (a
 * login being checked, a body being streamed) waits, unparsed, until the engine gets to it; a line is read
 * only when the state it will be read in is known (a SASL answer is not a command; nothing after STLS is read
 * as plaintext; nothing after QUIT is read at all).
 *
 * Memory is bounded everywhere: a command line longer than 255 octets is refused and skipped as it streams
 * past; when more than `maxBufferedInput` client bytes wait, `wantsInput` turns false (stop reading); when
 * more than `maxBufferedOutput` reply bytes are not yet taken, the engine starts no new command until
 * `takeOutgoing()` takes them (so a burst of cheap commands cannot make it build unbounded output: keep
 * calling takeOutgoing() until it returns undefined). Bodies stream: each chunk the driver gives is
 * normalised to CRLF line ends, cut for TOP and dot-stuffed on its way out, and never held.
 *
 * In the AUTHORIZATION state `wantsInput` is false while a login is being checked: the engine reads no
 * further ahead there, so that a STLS pipelined behind a login can never leave a read outstanding on the
 * plaintext connection when the TLS handshake starts.
 *
 * Deletions happen only in the UPDATE state, which only QUIT in the TRANSACTION state enters (RFC 1939
 * section 6): however else a session ends, it deletes nothing. Replies never echo client input; passwords
 * and SASL payloads never appear in events, traces or errors.
 *
 * API
 * ---
 *   new Pop3ServerEngine(options: ServerEngineOptions)
 *   inputs:   receive(chunk) · receiveEnd() · tlsStarted() · terminate(reason)
 *   answers:  resolvePassword(request, password) · resolveOpen(request, result) · messageData(request, chunk)
 *             · messageEnd(request) · resolveUpdate(request) · requestFailed(request)
 *   outputs:  nextEvent(): ServerEvent | undefined · takeOutgoing(): Uint8Array | undefined
 *   getters:  state · wantsInput · idle · tls · utf8Enabled · user · closeReason
 *
 * Answers for a request that is no longer pending (the session closed meanwhile, or TOP already had its
 * lines) are ignored; an answer for a request that was never issued, or of the wrong kind, throws
 * LocalProtocolError.
 */
import { apopTimestamp } from '../apop.js';
import { fromBase64, fromUtf8, toBase64, toHex, utf8 } from '../bytes.js';
import { ErrorCode, LocalProtocolError } from '../errors.js';
import { Fifo } from '../fifo.js';
import { OutgoingBuffer } from '../outgoing-buffer.js';
import { LineAssembler } from '../framer.js';
import { REDACTED, revealText, Secret, type SecretText } from '../secret.js';
import { DotStuffer } from '../stuffing.js';
import { apopAuthenticator } from './auth/apop.js';
import type { Authenticator, AuthStep } from './auth/authenticator.js';
import { cramMd5Authenticator } from './auth/cram-md5.js';
import { loginAuthenticator } from './auth/login.js';
import { plainAuthenticator } from './auth/plain.js';
import { scramSha256Authenticator } from './auth/scram-sha-256.js';
import { userPassAuthenticator } from './auth/user-pass.js';
import { capabilityLines } from './capa.js';
import { parseCommandLine } from './command-line.js';
import { type ServerLimits, resolveServerLimits } from './limits.js';
import { CrlfNormalizer } from './line-ends.js';
import type { MailboxMessage } from './mailbox.js';
import type { RandomSource } from './randomness.js';
import { challengeLine, END_OF_LISTING, listingLine, plural, statusLine } from './reply.js';
import { COMMANDS, type ServerState, type ServerVerb, serverVerb } from './server-state.js';
import { TopFilter } from './top-filter.js';

export type { ServerState } from './server-state.js';

/** The SASL mechanisms the server implements (RFC 5034 AUTH). */
export type ServerSaslMechanism = 'PLAIN' | 'LOGIN' | 'CRAM-MD5' | 'SCRAM-SHA-256';

/** Every mechanism, in the order CAPA lists them by default. */
export const SERVER_SASL_MECHANISMS: readonly ServerSaslMechanism[] = Object.freeze(['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256']);

/** How a server engine behaves; `random` is the only required option. */
export interface ServerEngineOptions {
  /** Random bytes for CRAM-MD5 challenges and SCRAM nonces and salts (drivers pass `secureRandom`). */
  readonly random: RandomSource;
  /** The APOP timestamp for the greeting (`<...@...>`, unique per greeting). Without it APOP is refused. */
  readonly apopTimestamp?: string;
  /** The greeting text after `+OK`. Default `POP3 server ready`. */
  readonly greeting?: string;
  /** The host name in CRAM-MD5 challenges. Default `localhost`. */
  readonly hostname?: string;
  /** The SASL mechanisms to offer, in CAPA order. Default all of SERVER_SASL_MECHANISMS. */
  readonly sasl?: readonly ServerSaslMechanism[];
  /** The driver can upgrade the connection to TLS: STLS is offered until TLS is active. */
  readonly starttls?: boolean;
  /** The connection is already TLS (implicit TLS, RFC 8314): STLS is never offered. */
  readonly tls?: boolean;
  /** Seconds between logins to announce (RFC 2449 LOGIN-DELAY); enforce it with resolveOpen('login-delay'). */
  readonly loginDelay?: number;
  /** Days messages are kept after retrieval, or `never`, to announce (RFC 2449 EXPIRE). */
  readonly expire?: number | 'never';
  /** The IMPLEMENTATION capability text, announced after login (RFC 2449). */
  readonly implementation?: string;
  /** PBKDF2 iterations for SCRAM-SHA-256. Default 4096 (the RFC 7677 minimum recommendation). */
  readonly scramIterations?: number;
  /** Override any of the limits (see limits.ts for the defaults). */
  readonly limits?: Partial<ServerLimits>;
  /** Emit `trace` events for every command and status line (secrets redacted; bodies are not traced). */
  readonly trace?: boolean;
}

/** Why a session ended. */
export type CloseReason =
  /** QUIT (in the TRANSACTION state after the UPDATE). */
  | 'quit'
  /** The client ended its stream (every command that arrived before was still answered). */
  | 'end-of-input'
  | 'too-many-bad-commands'
  | 'too-many-auth-failures'
  /** The store failed in the middle of a body: the reply cannot be finished honestly. */
  | 'storage-error'
  | TerminateReason;

/** Why the driver ends a session with terminate(). */
export type TerminateReason =
  /** The driver's idle timer fired while the engine was idle (no reply is sent, RFC 1939 section 3). */
  | 'idle-timeout'
  /** Reading or writing failed: nothing more can be sent (pending output is dropped). */
  | 'connection-lost'
  /** The TLS handshake after STLS failed (pending output is dropped). */
  | 'tls-failed'
  /** The server is shutting down. */
  | 'shutdown';

/** The answer to an `open` request when the mailbox could not be opened for a reason the client may act on. */
export type OpenRefusal =
  /** Another session holds the mailbox: `-ERR [IN-USE]` (RFC 2449). */
  | 'in-use'
  /** The user logged in too recently: `-ERR [LOGIN-DELAY]` (RFC 2449). */
  | 'login-delay';

/**
 * What the engine tells its driver, pulled with nextEvent(). The events with a `request` number wait for an
 * answer (see the theory of operation); the others are for acting on (`starttls`, `closed`) or logging.
 */
export type ServerEvent =
  /** Look up the user's password: answer resolvePassword(). `mechanism` is USER, APOP or the SASL name. */
  | { readonly type: 'password'; readonly request: number; readonly user: string; readonly mechanism: string }
  /** The user proved who they are: open and lock their mailbox, answer resolveOpen(). */
  | { readonly type: 'open'; readonly request: number; readonly user: string }
  /**
   * Stream the message: messageData() for each chunk, then messageEnd(). `lines` is set for TOP (the engine
   * cuts the message itself and says when it has enough by messageData() returning false).
   */
  | {
      readonly type: 'retrieve';
      readonly request: number;
      readonly message: number;
      readonly uid: string;
      readonly size: number;
      readonly lines: number | undefined;
    }
  /** QUIT in the TRANSACTION state: delete these messages for good, then resolveUpdate(). */
  | { readonly type: 'update'; readonly request: number; readonly user: string; readonly deleted: readonly string[] }
  /** Write the pending output (the +OK to STLS), switch the connection to TLS, then call tlsStarted(). */
  | { readonly type: 'starttls' }
  /** For logs: a user logged in (the mailbox is open). */
  | { readonly type: 'login'; readonly user: string; readonly mechanism: string }
  /** For logs: a login failed. `user` when the client named one; `reason` never holds a secret. */
  | { readonly type: 'login-failed'; readonly user: string | undefined; readonly mechanism: string; readonly reason: string }
  /** The session is over: write the pending output, close the connection, release the mailbox. Last event. */
  | { readonly type: 'closed'; readonly reason: CloseReason }
  /** With the `trace` option: one line of the conversation, secrets redacted, control characters never. */
  | { readonly type: 'trace'; readonly from: 'client' | 'server'; readonly line: string };

/** What the engine is doing between commands: waiting on its driver, or on a SASL answer from the client. */
type Work =
  | { readonly kind: 'none' }
  | { readonly kind: 'challenge'; readonly auth: Authenticator; readonly user: string | undefined }
  | { readonly kind: 'password'; readonly request: number; readonly auth: Authenticator; readonly user: string }
  | { readonly kind: 'open'; readonly request: number; readonly user: string; readonly mechanism: string }
  | {
      readonly kind: 'retrieve';
      readonly request: number;
      readonly size: number;
      /** The +OK has been written: from then on a failure can only end the session. */
      started: boolean;
      readonly normalizer: CrlfNormalizer;
      readonly top: TopFilter | undefined;
      readonly stuffer: DotStuffer;
    }
  | { readonly kind: 'update'; readonly request: number; readonly remaining: number };

const NO_WORK: Work = { kind: 'none' };
const LF = 0x0a;
const TOO_LONG = Symbol('too long');
const STAR = 0x2a;
const MESSAGE_NUMBER = /^[0-9]{1,10}$/;
const DIGEST = /^[0-9a-fA-F]{32}$/;
/** Printable ASCII and spaces, for texts the server sends (greeting, IMPLEMENTATION). */
const PRINTABLE = /^[\x20-\x7e]*$/;

/** One POP3 server session as a sans-IO state machine; see the theory of operation above. */
export class Pop3ServerEngine {
  readonly #limits: ServerLimits;
  readonly #random: RandomSource;
  readonly #apopTimestamp: string | undefined;
  readonly #hostname: string;
  readonly #sasl: readonly ServerSaslMechanism[];
  readonly #starttls: boolean;
  readonly #loginDelay: number | undefined;
  readonly #expire: number | 'never' | undefined;
  readonly #implementation: string | undefined;
  readonly #scramIterations: number;
  readonly #trace: boolean;

  #state: ServerState = 'authorization';
  #closeReason: CloseReason | undefined;
  #tls: boolean;
  #utf8 = false;
  /** The name given with USER, waiting for PASS. */
  #userName: string | undefined;
  /** The logged-in user. */
  #user: string | undefined;
  #messages: readonly MailboxMessage[] = [];
  #deleted: boolean[] = [];
  #badCommands = 0;
  #authFailures = 0;
  #nextRequest = 1;
  #work: Work = NO_WORK;

  readonly #events = new Fifo<ServerEvent>();
  readonly #outgoing = new OutgoingBuffer();

  /** Client bytes not yet read, oldest first; `#inputOffset` bytes of the first are already read. */
  #input: Uint8Array[] = [];
  #inputOffset = 0;
  #inputBytes = 0;
  #inputEnded = false;
  #line = new LineAssembler();
  /** Inside a line that was too long: skip to its end. */
  #discarding = false;

  constructor(options: ServerEngineOptions) {
    this.#limits = resolveServerLimits(options.limits);
    this.#random = options.random;
    this.#apopTimestamp = options.apopTimestamp;
    this.#hostname = options.hostname ?? 'localhost';
    this.#sasl = options.sasl ?? SERVER_SASL_MECHANISMS;
    this.#tls = options.tls === true;
    this.#starttls = options.starttls === true;
    this.#loginDelay = options.loginDelay;
    this.#expire = options.expire;
    this.#implementation = options.implementation;
    this.#scramIterations = options.scramIterations ?? 4096;
    this.#trace = options.trace === true;
    const greeting = options.greeting ?? 'POP3 server ready';
    checkOptions(options, greeting, this.#hostname, this.#sasl, this.#scramIterations);
    const timestamp = this.#apopTimestamp === undefined ? '' : ` ${this.#apopTimestamp}`;
    this.#writeLine(statusLine(true, `${greeting}${timestamp}`));
  }

  // ─── Inputs ────────────────────────────────────────────────────────────────────────────────────────────

  /**
   * Bytes from the client, in any slicing. The engine keeps a copy of what it cannot handle yet, so the
   * caller may reuse the chunk. Never throws for anything the client sends.
   */
  receive(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.#inputEnded || !this.#readsCommands()) {
      // After STLS and before the handshake, bytes are plaintext the client had no business sending: they are
      // dropped (the STARTTLS injection defence). After QUIT and in the closed state, input means nothing.
      return;
    }
    this.#input.push(chunk);
    this.#inputBytes += chunk.length;
    this.#advance();
    this.#keepUnread(chunk);
  }

  /**
   * The client ended its stream. Commands that arrived before are still answered (a client may close its
   * sending side and go on reading); then the session closes without UPDATE, unless one of them was QUIT.
   */
  receiveEnd(): void {
    if (this.#state === 'closed' || this.#inputEnded) return;
    this.#inputEnded = true;
    if (this.#state === 'starttls') return this.#close('end-of-input');
    this.#advance();
  }

  /** The TLS handshake the `starttls` event asked for is complete. */
  tlsStarted(): void {
    if (this.#state !== 'starttls') {
      throw new LocalProtocolError(ErrorCode.WrongState, 'tlsStarted() without a pending STLS');
    }
    // RFC 2595 section 4: forget what the client said before TLS.
    this.#state = 'authorization';
    this.#tls = true;
    this.#utf8 = false;
    this.#userName = undefined;
  }

  /** End the session now, without a reply and without UPDATE. Pending output is dropped if the connection is gone. */
  terminate(reason: TerminateReason): void {
    if (this.#state === 'closed') return;
    if (reason === 'connection-lost' || reason === 'tls-failed') {
      this.#outgoing.clear();
    }
    this.#close(reason);
  }

  // ─── Answers ───────────────────────────────────────────────────────────────────────────────────────────

  /** The password of the user a `password` event named, or undefined when there is no such user. */
  resolvePassword(request: number, password: SecretText | undefined): void {
    const work = this.#pending(request, 'password');
    if (work === undefined) return;
    this.#work = NO_WORK;
    this.#step(work.auth, work.auth.password(password === undefined ? undefined : revealText(password)), work.user);
    this.#advance();
  }

  /**
   * The mailbox an `open` event asked for: its messages (message n is `messages[n - 1]`, fixed for the
   * session), or why it cannot be opened.
   */
  resolveOpen(request: number, result: readonly MailboxMessage[] | OpenRefusal): void {
    const work = this.#pending(request, 'open');
    if (work === undefined) return;
    if (typeof result !== 'string') checkMessages(result);
    this.#work = NO_WORK;
    if (result === 'in-use') {
      this.#writeLine(statusLine(false, 'the mailbox is locked by another session', 'IN-USE'));
    } else if (result === 'login-delay') {
      this.#writeLine(statusLine(false, 'logged in too recently, try again later', 'LOGIN-DELAY'));
    } else {
      this.#state = 'transaction';
      this.#user = work.user;
      this.#messages = result;
      this.#deleted = result.map(() => false);
      this.#emit({ type: 'login', user: work.user, mechanism: work.mechanism });
      this.#writeLine(statusLine(true, this.#maildropSummary()));
    }
    this.#advance();
  }

  /**
   * A piece of the message a `retrieve` event asked for, in any slicing. Returns false when the engine needs
   * no more (TOP has its lines, or the session closed): the reply is then complete, so stop reading the
   * message and do not call messageEnd(). The chunk is passed on without a copy when nothing in it needs
   * changing: do not modify it until takeOutgoing() has returned it.
   */
  messageData(request: number, chunk: Uint8Array): boolean {
    const work = this.#pending(request, 'retrieve');
    if (work === undefined) return false;
    this.#startBody(work);
    this.#sendBody(work, work.normalizer.push(chunk));
    if (work.top?.done !== true) return true;
    this.#finishBody(work);
    return false;
  }

  /** The message a `retrieve` event asked for has no more bytes. */
  messageEnd(request: number): void {
    const work = this.#pending(request, 'retrieve');
    if (work === undefined) return;
    this.#startBody(work);
    this.#sendBody(work, work.normalizer.end());
    this.#finishBody(work);
  }

  /** The deletions an `update` event asked for are done: QUIT succeeds and the session closes. */
  resolveUpdate(request: number): void {
    const work = this.#pending(request, 'update');
    if (work === undefined) return;
    this.#writeLine(statusLine(true, `bye (${plural(work.remaining, 'message')} left)`));
    this.#close('quit');
  }

  /**
   * The store could not answer a request (it threw). The client gets `-ERR [SYS/TEMP]`, except in the middle
   * of a body, where no honest reply is left and the session closes (`storage-error`).
   */
  requestFailed(request: number): void {
    const work = this.#pending<Work['kind']>(request, undefined);
    if (work === undefined) return;
    this.#work = NO_WORK;
    switch (work.kind) {
      case 'password':
        this.#writeLine(statusLine(false, 'authentication is unavailable, try again later', 'SYS/TEMP'));
        break;
      case 'open':
        this.#writeLine(statusLine(false, 'the mailbox cannot be opened, try again later', 'SYS/TEMP'));
        break;
      case 'retrieve':
        if (work.started) return this.#close('storage-error');
        this.#writeLine(statusLine(false, 'the message cannot be read, try again later', 'SYS/TEMP'));
        break;
      case 'update':
        // RFC 1939 section 6: "-ERR some deleted messages not removed"; the session ends all the same.
        this.#writeLine(statusLine(false, 'some deleted messages not removed', 'SYS/TEMP'));
        return this.#close('quit');
    }
    this.#advance();
  }

  // ─── Outputs ───────────────────────────────────────────────────────────────────────────────────────────

  /** The next event, or undefined when there is none until an input or an answer arrives. */
  nextEvent(): ServerEvent | undefined {
    return this.#events.shift();
  }

  /**
   * Bytes to write to the client, or undefined. Taking them lets the engine go on with pipelined commands it
   * had paused for (see `maxBufferedOutput`), which may produce more bytes and events: call it until it
   * returns undefined.
   */
  takeOutgoing(): Uint8Array | undefined {
    const out = this.#outgoing.take();
    if (out === undefined) return undefined;
    this.#advance();
    return out;
  }

  // ─── Getters ───────────────────────────────────────────────────────────────────────────────────────────

  get state(): ServerState {
    return this.#state;
  }

  /**
   * Whether the driver should read from the client now. False once the buffered input or output is over its
   * limit, while a login is being checked (see the theory of operation), while waiting for TLS, and after
   * QUIT or the end of the session.
   */
  get wantsInput(): boolean {
    const reading =
      this.#state === 'transaction' || (this.#state === 'authorization' && (this.#work.kind === 'none' || this.#work.kind === 'challenge'));
    return (
      reading &&
      !this.#inputEnded &&
      this.#inputBytes < this.#limits.maxBufferedInput &&
      this.#outgoing.length < this.#limits.maxBufferedOutput
    );
  }

  /**
   * True when nothing is in progress and nothing waits to be sent: only the client can move the session on.
   * This is when the driver's idle timer runs.
   */
  get idle(): boolean {
    return (
      this.#readsCommands() &&
      !this.#inputEnded &&
      (this.#work.kind === 'none' || this.#work.kind === 'challenge') &&
      this.#outgoing.length === 0
    );
  }

  /** The connection is TLS (implicit, or upgraded with STLS). */
  get tls(): boolean {
    return this.#tls;
  }

  /** The client enabled UTF8 (RFC 6856). */
  get utf8Enabled(): boolean {
    return this.#utf8;
  }

  /** The logged-in user, once the mailbox is open. */
  get user(): string | undefined {
    return this.#user;
  }

  /** Why the session ended, once it has. */
  get closeReason(): CloseReason | undefined {
    return this.#closeReason;
  }

  // ─── Reading commands ──────────────────────────────────────────────────────────────────────────────────

  #readsCommands(): boolean {
    return this.#state === 'authorization' || this.#state === 'transaction';
  }

  /** Handle buffered lines while nothing else is in progress and the output has room. */
  #advance(): void {
    while (this.#readsCommands() && (this.#work.kind === 'none' || this.#work.kind === 'challenge')) {
      if (this.#outgoing.length >= this.#limits.maxBufferedOutput) return;
      const line = this.#nextLine();
      if (line === undefined) {
        // Everything the client sent has been handled: an ended stream ends the session (no UPDATE).
        if (this.#inputEnded) this.#close('end-of-input');
        return;
      }
      if (line === TOO_LONG) this.#onTooLong();
      else if (this.#work.kind === 'challenge') this.#onSaslAnswer(this.#work, line);
      else this.#onCommand(line);
    }
  }

  /**
   * The next complete line (without its line end), TOO_LONG when a line exceeds the limit (its bytes are
   * then skipped up to its end, never held), or undefined when no complete line is buffered.
   */
  #nextLine(): Uint8Array | typeof TOO_LONG | undefined {
    const max = this.#work.kind === 'challenge' ? this.#limits.maxSaslLine : this.#limits.maxCommandLine;
    while (this.#input.length > 0) {
      const chunk = this.#input[0]!;
      const pos = this.#inputOffset;
      const lf = chunk.indexOf(LF, pos);
      if (this.#discarding) {
        this.#consume(lf === -1 ? chunk.length : lf + 1);
        if (lf !== -1) this.#discarding = false;
        continue;
      }
      if (lf === -1) {
        if (this.#line.pending + chunk.length - pos >= max) {
          // Even the shortest line end would take it over the limit: refuse it now, skip the rest as it comes.
          this.#line = new LineAssembler();
          this.#consume(chunk.length);
          this.#discarding = true;
          return TOO_LONG;
        }
        this.#line.append(chunk.subarray(pos), max, 'a command line');
        this.#consume(chunk.length);
        continue;
      }
      const octets = this.#line.pending + lf + 1 - pos;
      this.#consume(lf + 1);
      if (octets > max) {
        this.#line = new LineAssembler();
        return TOO_LONG;
      }
      return this.#line.finish(chunk, pos, lf, max, 'a command line');
    }
    return undefined;
  }

  /** Mark the first buffered chunk as read up to `end`. */
  #consume(end: number): void {
    const chunk = this.#input[0]!;
    this.#inputBytes -= end - this.#inputOffset;
    if (end === chunk.length) {
      this.#input.shift();
      this.#inputOffset = 0;
    } else {
      this.#inputOffset = end;
    }
  }

  /** If the caller's chunk is still partly unread, keep a copy of that part instead (the caller may reuse it). */
  #keepUnread(chunk: Uint8Array): void {
    const last = this.#input.length - 1;
    if (this.#input[last] !== chunk) return;
    const from = last === 0 ? this.#inputOffset : 0;
    this.#input[last] = chunk.slice(from);
    if (last === 0) this.#inputOffset = 0;
  }

  /** Drop all buffered input (after STLS and QUIT nothing more is read from this stream). */
  #dropInput(): void {
    this.#input = [];
    this.#inputOffset = 0;
    this.#inputBytes = 0;
    this.#discarding = false;
    this.#line = new LineAssembler();
  }

  #onTooLong(): void {
    const limit = this.#work.kind === 'challenge' ? this.#limits.maxSaslLine : this.#limits.maxCommandLine;
    this.#traceLine('client', `[a line longer than ${limit} octets, discarded]`);
    if (this.#work.kind === 'challenge') this.#work = NO_WORK; // the exchange cannot go on without that answer
    this.#badCommand(`line too long (the limit is ${limit} octets)`);
  }

  #onCommand(bytes: Uint8Array): void {
    const line = parseCommandLine(bytes);
    if (!line.ok) {
      this.#traceLine('client', `[a line with ${line.problem}, ${bytes.length} octets]`);
      return this.#badCommand(line.problem === 'empty' ? 'empty command' : `invalid command line (${line.problem})`);
    }
    const verb = serverVerb(line.keyword);
    this.#traceLine('client', shownCommand(line.keyword, verb, line.args, line.rest));
    if (verb === undefined) return this.#badCommand('unknown command');
    const spec = COMMANDS[verb];
    if (!(spec.validIn as readonly string[]).includes(this.#state)) {
      return this.#badCommand(`${verb} is not valid in the ${this.#state.toUpperCase()} state`);
    }
    const argCount = verb === 'PASS' ? (line.rest === '' ? 0 : 1) : line.args.length;
    if (argCount < spec.args[0] || argCount > spec.args[1]) return this.#badCommand(`wrong number of arguments for ${verb}`);
    if (line.nonAscii) {
      if (verb !== 'USER' && verb !== 'PASS' && verb !== 'APOP') return this.#badCommand(`invalid characters in ${verb}`);
      // RFC 6856 section 2: UTF-8 user names and passwords only once the client enabled UTF8.
      if (!this.#utf8) return this.#writeLine(statusLine(false, 'UTF-8 user names and passwords need the UTF8 command first', 'UTF8'));
    }
    this.#dispatch(verb, line.args, line.rest);
  }

  #dispatch(verb: ServerVerb, args: readonly string[], rest: string): void {
    switch (verb) {
      case 'USER':
        this.#userName = args[0]!;
        return this.#ok('send PASS');
      case 'PASS': {
        const user = this.#userName;
        if (user === undefined) return this.#badCommand('PASS must follow USER');
        this.#userName = undefined;
        return this.#startLogin(userPassAuthenticator(user, new Secret(rest)), undefined, user);
      }
      case 'APOP':
        if (this.#apopTimestamp === undefined) return this.#badCommand('APOP is not available');
        if (!DIGEST.test(args[1]!)) return this.#badCommand('the APOP digest must be 32 hexadecimal digits');
        this.#userName = undefined;
        return this.#startLogin(apopAuthenticator(this.#apopTimestamp, args[0]!, args[1]!), undefined, args[0]);
      case 'AUTH':
        return this.#auth(args[0]!, args[1]);
      case 'STLS':
        if (!this.#starttls || this.#tls) return this.#badCommand(this.#tls ? 'TLS is already active' : 'STLS is not available');
        this.#ok('begin TLS negotiation');
        this.#dropInput();
        this.#state = 'starttls';
        this.#userName = undefined;
        this.#emit({ type: 'starttls' });
        return;
      case 'UTF8':
        this.#utf8 = true;
        return this.#ok('UTF8 enabled');
      case 'CAPA':
        return this.#listing('capability list follows', this.#capabilities());
      case 'QUIT':
        return this.#quit();
      case 'STAT':
        return this.#ok(`${this.#liveCount()} ${this.#liveSize()}`);
      case 'LIST':
      case 'UIDL':
        return this.#list(verb, args[0]);
      case 'RETR':
      case 'TOP':
        return this.#retrieve(args[0]!, args[1]);
      case 'DELE':
        return this.#dele(args[0]!);
      case 'NOOP':
        return this.#ok('');
      case 'RSET':
        this.#deleted.fill(false);
        return this.#ok(this.#maildropSummary());
    }
  }

  // ─── Logging in ────────────────────────────────────────────────────────────────────────────────────────

  #auth(name: string, initial: string | undefined): void {
    const mechanism = this.#sasl.find((offered) => offered === name.toUpperCase());
    if (mechanism === undefined) return this.#badCommand('unsupported SASL mechanism');
    this.#userName = undefined;
    const auth = this.#authenticator(mechanism);
    if (initial === undefined) return this.#startLogin(auth, undefined, undefined);
    // RFC 5034 section 4: `=` is an empty initial response.
    const response = initial === '=' ? new Uint8Array(0) : fromBase64(initial);
    if (response === undefined) return this.#loginFailed(mechanism, undefined, 'the initial response is not valid base64');
    this.#startLogin(auth, response, undefined);
  }

  #authenticator(mechanism: ServerSaslMechanism): Authenticator {
    switch (mechanism) {
      case 'PLAIN':
        return plainAuthenticator();
      case 'LOGIN':
        return loginAuthenticator();
      case 'CRAM-MD5':
        return cramMd5Authenticator(`<${toHex(this.#random(12))}@${this.#hostname}>`);
      case 'SCRAM-SHA-256':
        return scramSha256Authenticator({
          // Base64 has no `,`, so it is a valid nonce.
          nonce: toBase64(this.#random(18)),
          salt: this.#random(16),
          iterations: this.#scramIterations,
        });
    }
  }

  #startLogin(auth: Authenticator, initial: Uint8Array | undefined, user: string | undefined): void {
    this.#step(auth, auth.start(initial), user);
  }

  /** Carry out what the authenticator asks for next. `user` is the name the client gave so far, for logs. */
  #step(auth: Authenticator, step: AuthStep, user: string | undefined): void {
    switch (step.kind) {
      case 'challenge':
        this.#work = { kind: 'challenge', auth, user };
        this.#write(utf8(challengeLine(step.challenge)));
        this.#traceLine('server', `+ ${REDACTED}`);
        return;
      case 'lookup': {
        const request = this.#nextRequest++;
        this.#work = { kind: 'password', request, auth, user: step.user };
        this.#emit({ type: 'password', request, user: step.user, mechanism: auth.mechanism });
        return;
      }
      case 'success': {
        const request = this.#nextRequest++;
        this.#work = { kind: 'open', request, user: step.user, mechanism: auth.mechanism };
        this.#emit({ type: 'open', request, user: step.user });
        return;
      }
      case 'failure':
        return this.#loginFailed(auth.mechanism, user, step.reason);
    }
  }

  #onSaslAnswer(work: Extract<Work, { kind: 'challenge' }>, line: Uint8Array): void {
    const cancelled = line.length === 1 && line[0] === STAR;
    this.#traceLine('client', cancelled ? '*' : REDACTED);
    this.#work = NO_WORK;
    if (cancelled) return this.#writeLine(statusLine(false, 'AUTH cancelled')); // RFC 5034 section 4
    const response = line.length === 0 ? new Uint8Array(0) : fromBase64(fromUtf8(line));
    if (response === undefined) return this.#loginFailed(work.auth.mechanism, work.user, 'the answer is not valid base64');
    this.#step(work.auth, work.auth.respond(response), work.user);
  }

  #loginFailed(mechanism: string, user: string | undefined, reason: string): void {
    this.#work = NO_WORK;
    this.#authFailures++;
    this.#emit({ type: 'login-failed', user, mechanism, reason });
    if (this.#authFailures >= this.#limits.maxAuthFailures) {
      this.#writeLine(statusLine(false, 'authentication failed; too many failures, closing the connection', 'AUTH'));
      return this.#close('too-many-auth-failures');
    }
    this.#writeLine(statusLine(false, 'authentication failed', 'AUTH'));
  }

  // ─── The mailbox ───────────────────────────────────────────────────────────────────────────────────────

  #list(verb: 'LIST' | 'UIDL', arg: string | undefined): void {
    const entry = (n: number): string => (verb === 'LIST' ? `${n} ${this.#messages[n - 1]!.size}` : `${n} ${this.#messages[n - 1]!.uid}`);
    if (arg !== undefined) {
      const n = this.#message(arg);
      if (n !== undefined) this.#ok(entry(n));
      return;
    }
    const lines: string[] = [];
    for (let n = 1; n <= this.#messages.length; n++) if (!this.#deleted[n - 1]) lines.push(entry(n));
    this.#listing(verb === 'LIST' ? this.#maildropSummary() : 'unique-id listing follows', lines);
  }

  #retrieve(arg: string, linesArg: string | undefined): void {
    if (linesArg !== undefined && !MESSAGE_NUMBER.test(linesArg)) return this.#badCommand('the line count must be a number');
    const n = this.#message(arg);
    if (n === undefined) return;
    const { uid, size } = this.#messages[n - 1]!;
    const lines = linesArg === undefined ? undefined : Number(linesArg);
    const request = this.#nextRequest++;
    this.#work = {
      kind: 'retrieve',
      request,
      size,
      started: false,
      normalizer: new CrlfNormalizer(),
      top: lines === undefined ? undefined : new TopFilter(lines),
      stuffer: new DotStuffer(),
    };
    this.#emit({ type: 'retrieve', request, message: n, uid, size, lines });
  }

  /** The +OK is written with the first piece (or the end), so a store that fails at once still gets -ERR. */
  #startBody(work: Extract<Work, { kind: 'retrieve' }>): void {
    if (work.started) return;
    work.started = true;
    this.#writeLine(work.top === undefined ? statusLine(true, `${work.size} octets`) : statusLine(true, 'top of message follows'));
  }

  #sendBody(work: Extract<Work, { kind: 'retrieve' }>, piece: Uint8Array): void {
    const wanted = work.top === undefined ? piece : work.top.push(piece);
    const stuffed = work.stuffer.push(wanted);
    if (stuffed.length > 0) this.#write(stuffed);
  }

  #finishBody(work: Extract<Work, { kind: 'retrieve' }>): void {
    this.#write(work.stuffer.end());
    this.#traceLine('server', '.');
    this.#work = NO_WORK;
    this.#advance();
  }

  #dele(arg: string): void {
    const n = this.#message(arg);
    if (n === undefined) return;
    this.#deleted[n - 1] = true;
    this.#ok(`message ${n} deleted`);
  }

  /**
   * The message number `arg` names, or undefined having answered -ERR: not a number (a bad command), no
   * such message, or one marked as deleted (RFC 1939: such a number may not be used until RSET).
   */
  #message(arg: string): number | undefined {
    if (!MESSAGE_NUMBER.test(arg)) {
      this.#badCommand('the message number must be a number');
      return undefined;
    }
    const n = Number(arg);
    if (n < 1 || n > this.#messages.length) {
      this.#writeLine(statusLine(false, 'no such message'));
      return undefined;
    }
    if (this.#deleted[n - 1]) {
      this.#writeLine(statusLine(false, `message ${n} is deleted`));
      return undefined;
    }
    return n;
  }

  #quit(): void {
    this.#dropInput();
    if (this.#state === 'authorization') {
      this.#ok('bye');
      return this.#close('quit');
    }
    const deleted = this.#messages.filter((_, i) => this.#deleted[i]).map((message) => message.uid);
    const remaining = this.#liveCount();
    if (deleted.length === 0) {
      this.#ok(`bye (${plural(remaining, 'message')} left)`);
      return this.#close('quit');
    }
    // RFC 1939 section 6: the UPDATE state; the driver removes the messages, then QUIT is answered.
    this.#state = 'update';
    const request = this.#nextRequest++;
    this.#work = { kind: 'update', request, remaining };
    this.#emit({ type: 'update', request, user: this.#user!, deleted });
  }

  #liveCount(): number {
    return this.#deleted.filter((deleted) => !deleted).length;
  }

  #liveSize(): number {
    return this.#messages.reduce((sum, message, i) => (this.#deleted[i] ? sum : sum + message.size), 0);
  }

  /** `maildrop has 2 messages (320 octets)`, counting only messages not marked as deleted. */
  #maildropSummary(): string {
    return `maildrop has ${plural(this.#liveCount(), 'message')} (${this.#liveSize()} octets)`;
  }

  #capabilities(): string[] {
    return capabilityLines({
      state: this.#state === 'transaction' ? 'transaction' : 'authorization',
      sasl: this.#sasl,
      stls: this.#starttls && !this.#tls,
      loginDelay: this.#loginDelay,
      expire: this.#expire,
      implementation: this.#implementation,
    });
  }

  // ─── Writing ───────────────────────────────────────────────────────────────────────────────────────────

  #ok(text: string): void {
    this.#writeLine(statusLine(true, text));
  }

  /** -ERR for a command the client should not have sent; the one that reaches the limit ends the session. */
  #badCommand(text: string): void {
    this.#badCommands++;
    if (this.#badCommands >= this.#limits.maxBadCommands) {
      this.#writeLine(statusLine(false, 'too many bad commands, closing the connection'));
      return this.#close('too-many-bad-commands');
    }
    this.#writeLine(statusLine(false, text));
  }

  #listing(status: string, lines: readonly string[]): void {
    this.#writeLine(statusLine(true, status));
    for (const line of lines) this.#writeLine(listingLine(line));
    this.#writeLine(END_OF_LISTING);
  }

  /** Queue a reply line (CRLF included) and trace it. */
  #writeLine(line: string): void {
    this.#write(utf8(line));
    this.#traceLine('server', line.slice(0, -2));
  }

  #write(bytes: Uint8Array): void {
    this.#outgoing.push(bytes);
  }

  #traceLine(from: 'client' | 'server', line: string): void {
    if (this.#trace) this.#emit({ type: 'trace', from, line });
  }

  #emit(event: ServerEvent): void {
    this.#events.push(event);
  }

  /**
   * The work for `request` if it is pending (of `kind`, when given); undefined for a request that is over
   * (answered, or dropped because the session closed); LocalProtocolError for one never issued or of
   * another kind.
   */
  #pending<K extends Work['kind']>(request: number, kind: K | undefined): Extract<Work, { kind: K; request: number }> | undefined {
    const work = this.#work;
    if ('request' in work && work.request === request) {
      if (kind !== undefined && work.kind !== kind) {
        throw new LocalProtocolError(ErrorCode.WrongState, `request ${request} is a ${work.kind} request, not ${kind}`);
      }
      return work as Extract<Work, { kind: K; request: number }>;
    }
    if (Number.isSafeInteger(request) && request > 0 && request < this.#nextRequest) return undefined;
    throw new LocalProtocolError(ErrorCode.WrongState, `no request ${request} was issued`);
  }

  #close(reason: CloseReason): void {
    this.#state = 'closed';
    this.#closeReason = reason;
    this.#work = NO_WORK;
    this.#dropInput();
    this.#emit({ type: 'closed', reason });
  }
}

// ─── Helpers ─────────────────────────────────────────────────────────────────────────────────────────────

/** How a command may appear in a trace: PASS and AUTH payloads redacted, an unknown command's arguments hidden. */
function shownCommand(keyword: string, verb: ServerVerb | undefined, args: readonly string[], rest: string): string {
  if (verb === undefined) return args.length === 0 ? keyword : `${keyword} [arguments not shown]`;
  if (verb === 'PASS') return rest === '' ? 'PASS' : `PASS ${REDACTED}`;
  if (verb === 'AUTH' && args.length > 1) return `AUTH ${args[0]} ${REDACTED}`;
  return [verb, ...args].join(' ');
}

/** UIDL: 1 to 70 characters from 0x21 to 0x7E (RFC 1939 section 7). */
const UID = /^[\x21-\x7e]{1,70}$/;

/** A mailbox whose data would break the protocol (a UID with a space or CR, a negative size) is a driver bug. */
function checkMessages(messages: readonly MailboxMessage[]): void {
  const seen = new Set<string>();
  messages.forEach(({ uid, size }, i) => {
    if (typeof uid !== 'string' || !UID.test(uid) || seen.has(uid)) {
      throw new LocalProtocolError(ErrorCode.BadArgument, `message ${i + 1}: the UID must be unique, 1 to 70 printable ASCII characters: ${JSON.stringify(uid)}`);
    }
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new LocalProtocolError(ErrorCode.BadArgument, `message ${i + 1}: the size must be a non-negative integer, not ${String(size)}`);
    }
    seen.add(uid);
  });
}

function checkOptions(
  options: ServerEngineOptions,
  greeting: string,
  hostname: string,
  sasl: readonly ServerSaslMechanism[],
  iterations: number,
): void {
  const bad = (why: string): never => {
    throw new LocalProtocolError(ErrorCode.BadArgument, why);
  };
  if (typeof options.random !== 'function') bad('random must be a function returning random bytes');
  if (!PRINTABLE.test(greeting)) bad('the greeting must be printable ASCII');
  if (!/^[\x21-\x3b\x3d\x3f-\x7e]+$/.test(hostname)) bad('the host name must be printable ASCII without spaces, < or >');
  const timestamp = options.apopTimestamp;
  if (timestamp !== undefined && apopTimestamp(timestamp) !== timestamp) bad('the APOP timestamp must be a msg-id, <...@...>');
  for (const name of sasl) if (!SERVER_SASL_MECHANISMS.includes(name)) bad(`unknown SASL mechanism ${JSON.stringify(name)}`);
  if (options.implementation !== undefined && !PRINTABLE.test(options.implementation)) bad('IMPLEMENTATION must be printable ASCII');
  for (const [name, value] of [['loginDelay', options.loginDelay], ['expire', options.expire === 'never' ? 0 : options.expire]] as const) {
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) bad(`${name} must be a non-negative integer`);
  }
  if (!Number.isSafeInteger(iterations) || iterations < 1) bad('scramIterations must be a positive integer');
}
