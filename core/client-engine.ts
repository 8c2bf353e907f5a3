/**
 * The client side of POP3 as a pure state machine (sans-IO).
 *
 * Theory of operation
 * -------------------
 * The engine never touches a socket, a timer or a clock. Its driver does four things in a loop:
 *
 *   1. queue commands by calling a command method (`user`, `retr`, ...); each returns a handle at once,
 *      or throws LocalProtocolError (bad argument, wrong state) having changed nothing;
 *   2. write whatever `takeOutgoing()` returns to the server;
 *   3. give every chunk the server sends to `receive()`, in any slicing, and call `receiveEnd()` when the
 *      stream ends;
 *   4. drain `nextEvent()` until it returns undefined, and act on the events: they say which handle each
 *      reply belongs to.
 *
 * Replies are matched to commands in order. Without PIPELINING (RFC 2449) the engine keeps one command in
 * flight and holds the rest; with it, it sends every queued command at once, except that a command which
 * changes the session (PASS, APOP, AUTH, STLS, QUIT, UTF8, raw lines) is never followed by another until its
 * reply is in. The engine knows which replies are multi-line from the command, its arguments and the state.
 *
 * Bodies (RETR, TOP) leave as `data` events: dot-unstuffed views into the chunks given to `receive()`, so a
 * message of any size costs no more memory than a chunk. Everything else that is buffered is bounded by
 * `Limits`.
 *
 * A server that breaks the protocol moves the engine to the sticky `failed` state: every pending command gets
 * a `failed` event, a `closed` event carries the RemoteProtocolError, every later command throws it, and
 * bytes not yet taken with takeOutgoing() are dropped (there is no session left to send them to).
 * An -ERR is not a protocol error: it is a `rejected` event with a ServerError and its response code.
 *
 * After +OK to STLS the engine emits `starttls` and waits for `tlsStarted()`; any byte that arrives before
 * then is a STARTTLS injection and fails the session. The capabilities learnt before TLS are forgotten.
 */
import { apopDigest, apopTimestamp } from './apop.js';
import { fromBase64, fromUtf8, indexOfLf } from './bytes.js';
import { type Capabilities, parseCapabilities } from './capabilities.js';
import { type Argument, type Command, CommandBuilder, encodeSaslResponse, type Verb } from './commands.js';
import {
  ErrorCode,
  LocalProtocolError,
  type OAuthError,
  Pop3Error,
  RemoteProtocolError,
  SaslError,
  ServerError,
} from './errors.js';
import { Fifo } from './fifo.js';
import { OutgoingText } from './outgoing-text.js';
import { type BodyChunk, bodyChunk, DotUnstuffer, LineAssembler, plainView } from './framer.js';
import { type Limits, resolveLimits } from './limits.js';
import { announcedOctets, octetsStatusLine, parseStatusLine } from './response.js';
import type { SaslMechanism } from './sasl/mechanism.js';
import { REDACTED, revealText, Secret } from './secret.js';
import { afterSuccess, isBarrier, type Projection, refusal, type SessionState } from './session-state.js';

export type { SessionState } from './session-state.js';

/** Identifies one queued command; every event about it carries the same object. */
export interface CommandHandle<V extends Verb = Verb> {
  /** Sequence number, unique within the engine, starting at 1. */
  readonly id: number;
  readonly verb: V;
  /** The command as it may be shown (secrets redacted), e.g. `PASS [redacted]`. */
  readonly command: string;
}

/** The server's greeting. */
export interface Greeting {
  readonly ok: boolean;
  readonly text: string;
  readonly code: string | undefined;
  /** The APOP timestamp (`<...@...>`), when the greeting has one. */
  readonly timestamp: string | undefined;
}

export interface ListEntry {
  readonly message: number;
  readonly size: number;
}

export interface UidlEntry {
  readonly message: number;
  readonly uid: string;
}

export interface LanguageEntry {
  readonly tag: string;
  readonly description: string;
}

/** What a successful command produced, discriminated by its verb. */
export type CommandResult =
  | { readonly verb: 'STAT'; readonly count: number; readonly size: number }
  | { readonly verb: 'LIST'; readonly entries: readonly ListEntry[] }
  | { readonly verb: 'UIDL'; readonly entries: readonly UidlEntry[] }
  | { readonly verb: 'RETR' | 'TOP'; readonly message: number; readonly octets: number }
  | { readonly verb: 'CAPA'; readonly capabilities: Capabilities }
  | { readonly verb: 'LANG'; readonly languages: readonly LanguageEntry[] }
  | { readonly verb: 'RAW'; readonly octets: number | undefined }
  | { readonly verb: 'USER' | 'PASS' | 'APOP' | 'AUTH' | 'DELE' | 'NOOP' | 'RSET' | 'QUIT' | 'STLS' | 'UTF8' };

/** The result type of one verb. */
export type ResultOf<V extends Verb> = Extract<CommandResult, { readonly verb: V }>;

export type Pop3Event =
  /** The server's first line. A -ERR greeting ends the session (a `closed` event follows). */
  | { readonly type: 'greeting'; readonly greeting: Greeting }
  /** +OK to a RETR, TOP or multi-line raw command: `data` events and then `done` follow. */
  | {
      readonly type: 'status';
      readonly handle: CommandHandle;
      readonly text: string;
      readonly code: string | undefined;
      /** The size the server announced (`+OK 1234 octets`), if it did. */
      readonly octets: number | undefined;
    }
  /**
   * A piece of a body, dot-unstuffed: a plain Uint8Array view of the memory of a chunk given to receive()
   * (whatever the chunk's class, a Node Buffer included); copy it to keep it.
   */
  | { readonly type: 'data'; readonly handle: CommandHandle; readonly chunk: Uint8Array }
  /** A SASL challenge from the server, decoded; the engine has already answered it. */
  | { readonly type: 'challenge'; readonly handle: CommandHandle; readonly challenge: Secret<Uint8Array> }
  /** The server accepted STLS: switch the transport to TLS now, then call tlsStarted(). */
  | { readonly type: 'starttls' }
  /** The command succeeded. */
  | {
      readonly type: 'done';
      readonly handle: CommandHandle;
      readonly text: string;
      readonly code: string | undefined;
      readonly result: CommandResult;
    }
  /** The server answered -ERR. */
  | { readonly type: 'rejected'; readonly handle: CommandHandle; readonly error: ServerError }
  /** The command ended without a reply of its own: never sent, cut off, or failed on the client side. */
  | { readonly type: 'failed'; readonly handle: CommandHandle; readonly error: Pop3Error }
  /** The session is over: after QUIT (no error), or because of `error`. No events follow. */
  | { readonly type: 'closed'; readonly error: Pop3Error | undefined }
  /** With the `trace` option: one line of the conversation, secrets redacted (bodies are not traced). */
  | { readonly type: 'trace'; readonly from: 'client' | 'server'; readonly line: string };

export interface ClientEngineOptions {
  /** Override any of the limits (see limits.ts for the defaults). */
  readonly limits?: Partial<Limits>;
  /** Emit `trace` events for every line sent and every status and listing line received. */
  readonly trace?: boolean;
  /** The connection is already TLS (implicit TLS, RFC 8314): STLS is then refused. */
  readonly tls?: boolean;
  /**
   * Whether to pipeline. By default the engine pipelines once the latest CAPA advertised PIPELINING;
   * `false` never does, `true` does even without CAPA (for servers known to cope).
   */
  readonly pipelining?: boolean;
}

interface Pending {
  readonly handle: CommandHandle;
  readonly command: Command;
}

/** How the reply at the head of the queue is being read. */
type Phase = 'status' | 'listing' | 'body';

export class Pop3ClientEngine {
  readonly #limits: Limits;
  readonly #builder: CommandBuilder;
  readonly #trace: boolean;
  readonly #pipeliningOption: boolean | undefined;

  #state: SessionState = 'connecting';
  #error: Pop3Error | undefined;
  #greeting: Greeting | undefined;
  #capabilities: Capabilities | undefined;
  #tls: boolean;
  #utf8 = false;
  #userGiven = false;
  /** USER commands sent and not yet answered (kept as a count so checks stay O(1) with thousands in flight). */
  #usersInFlight = 0;

  #nextId = 1;
  readonly #queue = new Fifo<Pending>();
  readonly #inFlight = new Fifo<Pending>();
  #projection: Projection;

  readonly #events = new Fifo<Pop3Event>();
  readonly #outgoing = new OutgoingText();

  // Reading the reply of the first command in flight.
  readonly #line = new LineAssembler();
  #phase: Phase = 'status';
  /** The +OK line that opened the listing or body being read; `done` repeats it. */
  #statusText = '';
  #statusCode: string | undefined;
  #listing: string[] = [];
  #listingOctets = 0;
  /** One for the session: a body ends only at its terminator (or with the session), which resets it. */
  readonly #unstuffer = new DotUnstuffer();
  #bodyOctets = 0;
  /** AUTH: the error that made us cancel with `*`; the server's -ERR then completes the command with it. */
  #saslCancel: SaslError | undefined;
  /** AUTH: an initial response too long for the command line, owed to the server's first challenge. */
  #deferredResponse: Uint8Array | undefined;

  constructor(options: ClientEngineOptions = {}) {
    this.#limits = resolveLimits(options.limits);
    this.#builder = new CommandBuilder(this.#limits.maxCommandLine);
    this.#trace = options.trace === true;
    this.#pipeliningOption = options.pipelining;
    this.#tls = options.tls === true;
    this.#projection = { state: 'authorization', userGiven: false, tls: this.#tls };
  }

  // ─── Inputs ────────────────────────────────────────────────────────────────────────────────────────────

  /** Bytes from the server, in any slicing. Never throws for anything the server sends. */
  receive(chunk: Uint8Array): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    try {
      this.#consume(chunk);
    } catch (error) {
      if (!(error instanceof Pop3Error)) throw error;
      this.#end(error);
    }
  }

  /** The server closed the stream. Anything still expected is reported as cut off. */
  receiveEnd(): void {
    if (this.#state === 'failed' || this.#state === 'closed') return;
    this.#end(new RemoteProtocolError(ErrorCode.UnexpectedEnd, `connection closed ${this.#whereCut()}`));
  }

  /** The driver finished the TLS handshake the `starttls` event asked for. */
  tlsStarted(): void {
    if (this.#error !== undefined) throw this.#error;
    if (this.#state !== 'starttls') {
      throw new LocalProtocolError(ErrorCode.WrongState, 'tlsStarted() without a pending STLS');
    }
    this.#state = 'authorization';
    this.#tls = true;
    this.#capabilities = undefined; // RFC 2595 section 4: forget what was learnt before TLS.
    this.#userGiven = false;
    this.#pump();
  }

  // ─── Commands ──────────────────────────────────────────────────────────────────────────────────────────

  user(name: string): CommandHandle<'USER'> {
    return this.#enqueue(this.#usable().user(name));
  }

  pass(password: Argument): CommandHandle<'PASS'> {
    return this.#enqueue(this.#usable().pass(password));
  }

  /** APOP (RFC 1939 section 7): needs the timestamp of a greeting that has already arrived. */
  apop(name: string, password: Argument): CommandHandle<'APOP'> {
    const builder = this.#usable();
    const timestamp = this.#greeting?.timestamp;
    if (timestamp === undefined) {
      const why = this.#greeting === undefined ? 'before the greeting' : 'the greeting has no timestamp';
      throw new LocalProtocolError(ErrorCode.NotSupported, `APOP is impossible: ${why}`);
    }
    return this.#enqueue(builder.apop(name, apopDigest(timestamp, revealText(password))));
  }

  /**
   * AUTH (RFC 5034) driven by a SASL mechanism; challenges are answered without the caller. The initial
   * response goes on the AUTH line when it fits; `initialResponse: false` always waits for the server's
   * empty challenge instead (the two-step form some servers, such as Office 365 for XOAUTH2, expect).
   */
  auth(mechanism: SaslMechanism, options: { initialResponse?: boolean } = {}): CommandHandle<'AUTH'> {
    return this.#enqueue(this.#usable().auth(mechanism, options.initialResponse !== false));
  }

  stat(): CommandHandle<'STAT'> {
    return this.#enqueue(this.#usable().stat());
  }

  /** LIST for every message (a listing), or for one (a single line). */
  list(message?: number): CommandHandle<'LIST'> {
    return this.#enqueue(this.#usable().list(message));
  }

  /** UIDL for every message (a listing), or for one (a single line). */
  uidl(message?: number): CommandHandle<'UIDL'> {
    return this.#enqueue(this.#usable().uidl(message));
  }

  retr(message: number): CommandHandle<'RETR'> {
    return this.#enqueue(this.#usable().retr(message));
  }

  top(message: number, lines: number): CommandHandle<'TOP'> {
    return this.#enqueue(this.#usable().top(message, lines));
  }

  dele(message: number): CommandHandle<'DELE'> {
    return this.#enqueue(this.#usable().dele(message));
  }

  noop(): CommandHandle<'NOOP'> {
    return this.#enqueue(this.#usable().noop());
  }

  rset(): CommandHandle<'RSET'> {
    return this.#enqueue(this.#usable().rset());
  }

  quit(): CommandHandle<'QUIT'> {
    return this.#enqueue(this.#usable().quit());
  }

  capa(): CommandHandle<'CAPA'> {
    return this.#enqueue(this.#usable().capa());
  }

  stls(): CommandHandle<'STLS'> {
    return this.#enqueue(this.#usable().stls());
  }

  utf8(): CommandHandle<'UTF8'> {
    return this.#enqueue(this.#usable().utf8());
  }

  lang(tag?: string): CommandHandle<'LANG'> {
    return this.#enqueue(this.#usable().lang(tag));
  }

  /**
   * Any command line, sent as given in any state after the greeting (CR, LF and NUL are still refused).
   * For extensions and experiments; `multiline` says whether +OK starts a dot-terminated body.
   */
  raw(line: Argument, options: { multiline?: boolean } = {}): CommandHandle<'RAW'> {
    return this.#enqueue(this.#usable().raw(line, options.multiline === true));
  }

  // ─── Outputs ───────────────────────────────────────────────────────────────────────────────────────────

  /** The next event, or undefined when there is none until more input arrives. */
  nextEvent(): Pop3Event | undefined {
    return this.#events.shift();
  }

  /** Bytes to write to the server (several pipelined commands come as one write), or undefined. */
  takeOutgoing(): Uint8Array | undefined {
    return this.#outgoing.take();
  }

  // ─── Getters ───────────────────────────────────────────────────────────────────────────────────────────

  /** How many bytes takeOutgoing() would return now: a driver may write early once there are enough. */
  get outgoingBytes(): number {
    return this.#outgoing.length;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** The error that ended the session, if one did. */
  get error(): Pop3Error | undefined {
    return this.#error;
  }

  get greeting(): Greeting | undefined {
    return this.#greeting;
  }

  /** The latest CAPA answer in this TLS epoch, or undefined before CAPA (and right after STLS). */
  get capabilities(): Capabilities | undefined {
    return this.#capabilities;
  }

  /** The connection is TLS (implicit, or upgraded with STLS). */
  get tls(): boolean {
    return this.#tls;
  }

  /** The server accepted UTF8 (RFC 6856). */
  get utf8Enabled(): boolean {
    return this.#utf8;
  }

  /** Commands queued or in flight. */
  get pending(): number {
    return this.#queue.length + this.#inFlight.length;
  }

  /** Commands sent and not yet answered. */
  get inFlight(): number {
    return this.#inFlight.length;
  }

  /**
   * Why a `verb` command queued now would be refused (wrong state, PASS without USER, after QUIT), or
   * undefined when it would be accepted. Arguments are not checked. For user interfaces that offer only the
   * commands that can be sent.
   */
  refusalOf(verb: Verb): string | undefined {
    if (this.#error !== undefined) return this.#error.message;
    if (this.#state === 'closed') return 'the session is closed';
    return refusal(verb, this.#projection);
  }

  // ─── Queueing and sending ──────────────────────────────────────────────────────────────────────────────

  /** The command builder, once the session is known to be usable: a dead session says why before any argument is checked. */
  #usable(): CommandBuilder {
    if (this.#error !== undefined) throw this.#error;
    if (this.#state === 'closed') throw new LocalProtocolError(ErrorCode.SessionClosed, 'the session is closed');
    return this.#builder;
  }

  /** Queue `command` (made by the builder #usable() gave). */
  #enqueue<V extends Verb>(command: Command): CommandHandle<V> {
    const why = refusal(command.verb, this.#projection);
    if (why !== undefined) throw new LocalProtocolError(ErrorCode.WrongState, why);
    this.#projection = afterSuccess(command.verb, this.#projection);
    const handle: CommandHandle<V> = { id: this.#nextId++, verb: command.verb as V, command: command.redacted };
    const pending = { handle, command };
    // Nothing queued ahead and nothing holding it back (every pipelined RETR of a batch): the check above
    // was against the projection, which is then exactly what is true now, so it goes out at once.
    if (this.#queue.length === 0 && this.#maySendNow()) {
      this.#send(pending);
    } else {
      this.#queue.push(pending);
      this.#pump();
    }
    return handle;
  }

  /** Send what may be sent now. */
  #pump(): void {
    while (this.#queue.length > 0 && this.#maySendNow()) {
      const next = this.#queue.shift()!;
      // An earlier command may have failed since this one was queued: check it against what is true now.
      const why = refusal(next.command.verb, this.#currentProjection());
      if (why !== undefined) {
        const error = new LocalProtocolError(ErrorCode.Cancelled, `${next.handle.command} not sent: ${why}`);
        this.#emit({ type: 'failed', handle: next.handle, error });
        continue;
      }
      this.#send(next);
    }
  }

  /** The session takes commands, and the last one sent is no barrier (nor, without pipelining, unanswered). */
  #maySendNow(): boolean {
    if (this.#state !== 'authorization' && this.#state !== 'transaction') return false;
    const last = this.#inFlight.last();
    if (last === undefined) return true;
    return !isBarrier(last.command.verb) && (this.#pipeliningOption ?? this.#capabilities?.pipelining ?? false);
  }

  #send(pending: Pending): void {
    const { command } = pending;
    this.#inFlight.push(pending);
    if (command.verb === 'USER') this.#usersInFlight++;
    this.#write(command.line, command.redacted, command.octets);
    // AUTH is a barrier, so at most one exchange is ever in flight.
    if (command.verb === 'AUTH') this.#deferredResponse = command.deferredInitialResponse;
    if (command.verb === 'QUIT' && this.#state === 'transaction') this.#state = 'update';
  }

  /** What is true once the commands in flight (never barriers but the last) have been answered. */
  #currentProjection(): Projection {
    return {
      state: this.#state === 'transaction' ? 'transaction' : this.#state === 'authorization' ? 'authorization' : 'closed',
      userGiven: this.#userGiven || this.#usersInFlight > 0,
      tls: this.#tls,
    };
  }

  /** Every command not yet answered, in flight then queued: the order the server will answer them in. */
  #unanswered(): Pending[] {
    return this.#inFlight.toArray().concat(this.#queue.toArray());
  }

  /** After a command did not do what the projection assumed, project again from the facts. */
  #reproject(): void {
    let projection = this.#currentProjection();
    for (const pending of this.#unanswered()) projection = afterSuccess(pending.command.verb, projection);
    this.#projection = projection;
  }

  /** Queue `line` to send (`octets` long in UTF-8, when known), shown in traces as `shown`. */
  #write(line: string, shown: string, octets?: number): void {
    this.#outgoing.push(line, octets);
    if (this.#trace) this.#emit({ type: 'trace', from: 'client', line: shown });
  }

  #emit(event: Pop3Event): void {
    this.#events.push(event);
  }

  // ─── Reading ───────────────────────────────────────────────────────────────────────────────────────────

  #consume(received: Uint8Array): void {
    const chunk = plainView(received);
    let body: BodyChunk | undefined;
    let pos = 0;
    while (pos < chunk.length) {
      if (this.#state === 'closed' || this.#state === 'failed') return;
      if (this.#state === 'starttls') {
        throw new RemoteProtocolError(
          ErrorCode.TlsInjection,
          'the server sent data after +OK to STLS and before the TLS handshake (possible STARTTLS injection)',
        );
      }
      if (this.#phase === 'body') {
        body ??= bodyChunk(received, pos);
        const end = this.#unstuffer.decodeBody(body, pos, this.#onBodyPiece);
        if (end === -1) return;
        pos = end;
        this.#finishBody();
        continue;
      }
      const listing = this.#phase === 'listing';
      const max = listing ? this.#limits.maxListingLine : this.#limits.maxStatusLine;
      const what = listing ? 'a listing line' : 'a status line';
      const lf = indexOfLf(chunk, pos);
      if (lf === -1) {
        this.#line.append(chunk.subarray(pos), max, what);
        return;
      }
      // The +OK of nearly every RETR, read from its bytes (octetsStatusLine) without decoding it; a traced
      // session shows the line as received, so it takes the general path.
      if (!listing && this.#line.pending === 0 && !this.#trace) {
        const head = this.#inFlight.first();
        const announced = head?.command.shape === 'body' && lf + 1 - pos <= max ? octetsStatusLine(chunk, pos, lf) : -1;
        if (announced !== -1) {
          pos = lf + 1;
          this.#beginBody(head!, `${announced} octets`, undefined, announced);
          continue;
        }
      }
      const octets = this.#line.pending + lf + 1 - pos; // the whole line, its end included
      const line = this.#line.finish(chunk, pos, lf, max, what);
      pos = lf + 1;
      if (listing) this.#onListingLine(fromUtf8(line), octets);
      else this.#onStatusLine(fromUtf8(line));
    }
  }

  #onStatusLine(line: string): void {
    const status = parseStatusLine(line);
    const head = this.#inFlight.first();
    const challenge = status?.kind === 'continue' && head?.command.verb === 'AUTH';
    if (this.#trace) this.#emit({ type: 'trace', from: 'server', line: challenge ? `+ ${REDACTED}` : line });
    if (status === undefined || (status.kind === 'continue' && !challenge)) {
      throw new RemoteProtocolError(ErrorCode.Protocol, `not a POP3 status line: ${quote(line)}`);
    }
    if (this.#state === 'connecting') return this.#onGreeting(status.kind === 'ok', status.text, status.code);
    if (head === undefined) {
      throw new RemoteProtocolError(ErrorCode.Protocol, `unsolicited line from the server: ${quote(line)}`);
    }
    if (challenge) return this.#onChallenge(head, status.text);
    if (status.kind === 'err') return this.#onRejected(head, status.text, status.code);
    this.#onAccepted(head, status.text, status.code);
  }

  #onGreeting(ok: boolean, text: string, code: string | undefined): void {
    this.#greeting = { ok, text, code, timestamp: apopTimestamp(text) };
    this.#emit({ type: 'greeting', greeting: this.#greeting });
    if (!ok) {
      this.#end(new ServerError('greeting', code, text));
      return;
    }
    this.#state = 'authorization';
    this.#pump();
  }

  #onAccepted(head: Pending, text: string, code: string | undefined): void {
    const { command } = head;
    switch (command.shape) {
      case 'listing':
        this.#phase = 'listing';
        this.#listing = [];
        this.#listingOctets = 0;
        this.#statusText = text;
        this.#statusCode = code;
        return;
      case 'body':
        return this.#beginBody(head, text, code, announcedOctets(text));
      case 'sasl':
        if (this.#saslCancel !== undefined) {
          // AUTH fails for the reason the client cancelled (e.g. a forged SCRAM signature); the session dies
          // because a server that accepts a cancelled exchange cannot be trusted.
          this.#answered(head);
          this.#emit({ type: 'failed', handle: head.handle, error: this.#saslCancel });
          throw new RemoteProtocolError(ErrorCode.Protocol, 'the server accepted an AUTH exchange the client cancelled');
        }
        // A server that cannot prove itself (SCRAM) must not be trusted with the session.
        command.mechanism!.complete();
        break;
    }
    this.#complete(head, text, code, singleLineResult(command, text));
  }

  #beginBody(head: Pending, text: string, code: string | undefined, octets: number | undefined): void {
    this.#phase = 'body';
    this.#bodyOctets = 0;
    this.#statusText = text;
    this.#statusCode = code;
    this.#emit({ type: 'status', handle: head.handle, text, code, octets });
  }

  #onRejected(head: Pending, text: string, code: string | undefined): void {
    this.#answered(head);
    const verb = head.command.verb;
    const cancel = this.#saslCancel;
    this.#saslCancel = undefined;
    this.#deferredResponse = undefined;
    if (cancel !== undefined) {
      this.#emit({ type: 'failed', handle: head.handle, error: cancel });
    } else {
      // A refused token: the JSON error the server sent first goes with the -ERR, which alone cannot say why.
      const oauth = verb === 'AUTH' ? oauthErrorOf(head.command.mechanism) : undefined;
      this.#emit({ type: 'rejected', handle: head.handle, error: new ServerError(head.command.redacted, code, text, oauth) });
    }
    // RFC 1939 section 6: the session ends after QUIT whatever the answer.
    if (verb === 'QUIT') return this.#close();
    // What was queued behind STLS counted on encryption: none of it may go out in plaintext.
    if (verb === 'STLS') {
      const error = new LocalProtocolError(ErrorCode.Cancelled, `not sent: the server refused STLS (${text})`);
      for (const pending of this.#queue.toArray()) this.#emit({ type: 'failed', handle: pending.handle, error });
      this.#queue.clear();
    }
    if (verb === 'PASS' || verb === 'USER') this.#userGiven = false;
    if (isBarrier(verb) || verb === 'USER') this.#reproject();
    this.#pump();
  }

  #complete(head: Pending, text: string, code: string | undefined, result: CommandResult): void {
    this.#answered(head);
    this.#phase = 'status';
    this.#deferredResponse = undefined;
    switch (head.command.verb) {
      case 'USER':
        this.#userGiven = true;
        break;
      case 'PASS':
      case 'APOP':
      case 'AUTH':
        this.#state = 'transaction';
        this.#userGiven = false;
        break;
      case 'UTF8':
        this.#utf8 = true;
        break;
      case 'CAPA':
        this.#capabilities = (result as ResultOf<'CAPA'>).capabilities;
        break;
    }
    this.#emit({ type: 'done', handle: head.handle, text, code, result });
    if (head.command.verb === 'QUIT') return this.#close();
    if (head.command.verb === 'STLS') {
      this.#state = 'starttls';
      this.#emit({ type: 'starttls' });
      return;
    }
    this.#pump();
  }

  #onListingLine(line: string, octets: number): void {
    const head = this.#inFlight.first()!;
    if (this.#trace) this.#emit({ type: 'trace', from: 'server', line });
    if (line === '.') {
      this.#complete(head, this.#statusText, this.#statusCode, listingResult(head.command, this.#listing, this.#state));
      return;
    }
    this.#listingOctets += octets;
    if (this.#listing.length === this.#limits.maxListingEntries || this.#listingOctets > this.#limits.maxListingOctets) {
      const { maxListingEntries, maxListingOctets } = this.#limits;
      throw new RemoteProtocolError(
        ErrorCode.ListingTooLarge,
        `${head.command.redacted} listing has more than ${maxListingEntries} entries or ${maxListingOctets} octets`,
      );
    }
    this.#listing.push(line.startsWith('.') ? line.slice(1) : line);
  }

  readonly #onBodyPiece = (piece: Uint8Array): void => {
    this.#bodyOctets += piece.length;
    this.#emit({ type: 'data', handle: this.#inFlight.first()!.handle, chunk: piece });
  };

  #finishBody(): void {
    const head = this.#inFlight.first()!;
    const octets = this.#bodyOctets;
    const verb = head.command.verb;
    const result: CommandResult =
      verb === 'RAW' ? { verb, octets } : { verb: verb as 'RETR' | 'TOP', message: head.command.message!, octets };
    this.#complete(head, this.#statusText, this.#statusCode, result);
  }

  #onChallenge(head: Pending, text: string): void {
    if (this.#saslCancel !== undefined) {
      throw new RemoteProtocolError(ErrorCode.Protocol, 'the server sent a challenge after the client cancelled AUTH');
    }
    const challenge = fromBase64(text);
    if (challenge === undefined) return this.#cancelAuth(new SaslError('the server challenge is not valid base64'));
    this.#emit({ type: 'challenge', handle: head.handle, challenge: new Secret(challenge) });
    let response: Uint8Array;
    if (this.#deferredResponse !== undefined) {
      // The first challenge after an AUTH sent without its (too long) initial response.
      response = this.#deferredResponse;
      this.#deferredResponse = undefined;
    } else {
      try {
        response = head.command.mechanism!.respond(challenge);
      } catch (error) {
        if (!(error instanceof SaslError)) throw error;
        return this.#cancelAuth(error);
      }
    }
    this.#write(`${response.length === 0 ? '' : encodeSaslResponse(response)}\r\n`, REDACTED);
  }

  /** Abandon the exchange with `*` (RFC 5034 section 4); the server's -ERR completes AUTH with `error`. */
  #cancelAuth(error: SaslError): void {
    this.#saslCancel = error;
    this.#write('*\r\n', '*');
  }

  // ─── Ending ────────────────────────────────────────────────────────────────────────────────────────────

  #close(): void {
    this.#state = 'closed';
    this.#failPending(new LocalProtocolError(ErrorCode.SessionClosed, 'the session ended with QUIT'));
    this.#emit({ type: 'closed', error: undefined });
  }

  /** End the session because of `error`: every pending command fails with it, and it sticks. */
  #end(error: Pop3Error): void {
    this.#state = 'failed';
    this.#error = error;
    this.#failPending(error);
    this.#outgoing.clear();
    this.#emit({ type: 'closed', error });
  }

  /** The head of the in-flight queue got its reply. */
  #answered(head: Pending): void {
    this.#inFlight.shift();
    if (head.command.verb === 'USER') this.#usersInFlight--;
  }

  #failPending(error: Pop3Error): void {
    for (const pending of this.#unanswered()) this.#emit({ type: 'failed', handle: pending.handle, error });
    this.#inFlight.clear();
    this.#usersInFlight = 0;
    this.#queue.clear();
  }

  /** Words for where an unexpected end of stream cut the conversation. */
  #whereCut(): string {
    const head = this.#inFlight.first();
    if (this.#state === 'connecting') return 'before the greeting';
    if (this.#state === 'starttls') return 'before the TLS handshake after STLS';
    if (head === undefined) return this.#queue.length > 0 ? 'with commands still queued' : 'by the server';
    const command = head.command.redacted;
    if (this.#phase === 'body') return `in the middle of the body of ${command} after ${this.#bodyOctets} octets`;
    if (this.#phase === 'listing') return `in the middle of the ${command} listing after ${this.#listing.length} lines`;
    if (this.#line.pending > 0) return `in the middle of the reply line to ${command}`;
    return `while waiting for the reply to ${command}`;
  }
}

/**
 * The JSON error an OAuth mechanism (OAuthMechanism: XOAUTH2, OAUTHBEARER, or the caller's own) kept from the
 * server's challenge, or undefined. SaslMechanism has no such member, so the shape is checked: another
 * mechanism may well have an `error` of its own that means something else.
 */
function oauthErrorOf(mechanism: SaslMechanism | undefined): OAuthError | undefined {
  const error = (mechanism as { readonly error?: unknown } | undefined)?.error;
  if (typeof error !== 'object' || error === null) return undefined;
  return typeof (error as { readonly raw?: unknown }).raw === 'string' ? (error as OAuthError) : undefined;
}

// ─── Reply parsing ───────────────────────────────────────────────────────────────────────────────────────

function quote(line: string): string {
  return JSON.stringify(line.length > 80 ? `${line.slice(0, 80)}…` : line);
}

/** The result of a +OK that ends the reply, checking the fields RFC 1939 requires. */
function singleLineResult(command: Command, text: string): CommandResult {
  switch (command.verb) {
    case 'STAT': {
      const [count, size] = numbers(text, command);
      return { verb: 'STAT', count, size };
    }
    case 'LIST': {
      const [message, size] = numbers(text, command);
      checkMessage(command, message);
      return { verb: 'LIST', entries: [{ message, size }] };
    }
    case 'UIDL': {
      const entry = uidlEntry(text, command);
      checkMessage(command, entry.message);
      return { verb: 'UIDL', entries: [entry] };
    }
    case 'LANG':
      return { verb: 'LANG', languages: [] };
    case 'RAW':
      return { verb: 'RAW', octets: undefined };
    case 'RETR':
    case 'TOP':
    case 'CAPA':
      throw new Error('unreachable: multi-line verbs are completed by their listing or body');
    default:
      return { verb: command.verb };
  }
}

function listingResult(command: Command, lines: readonly string[], state: SessionState): CommandResult {
  switch (command.verb) {
    case 'LIST':
      return {
        verb: 'LIST',
        entries: lines.map((line) => {
          const [message, size] = numbers(line, command);
          return { message, size };
        }),
      };
    case 'UIDL':
      return { verb: 'UIDL', entries: lines.map((line) => uidlEntry(line, command)) };
    case 'CAPA':
      return { verb: 'CAPA', capabilities: parseCapabilities(lines, state === 'transaction' || state === 'update' ? 'transaction' : 'authorization') };
    case 'LANG':
      return {
        verb: 'LANG',
        languages: lines.map((line) => {
          const [tag = '', ...rest] = line.trim().split(/[ \t]+/);
          return { tag, description: rest.join(' ') };
        }),
      };
    default:
      throw new Error(`unreachable: ${command.verb} has no listing`);
  }
}

/** Two leading decimal numbers (`n size`, `count size`); trailing text is tolerated. */
function numbers(text: string, command: Command): [number, number] {
  const match = /^\s*(\d{1,15})\s+(\d{1,15})(?:\s|$)/.exec(text);
  if (match === null) {
    throw new RemoteProtocolError(ErrorCode.Protocol, `malformed reply to ${command.redacted}: ${quote(text)}`);
  }
  return [Number(match[1]), Number(match[2])];
}

/** `n uid`, where uid is 1 to 70 printable characters (RFC 1939 section 7). Longer ones are tolerated. */
function uidlEntry(text: string, command: Command): UidlEntry {
  const match = /^\s*(\d{1,15})\s+([\x21-\x7e]+)\s*$/.exec(text);
  if (match === null) {
    throw new RemoteProtocolError(ErrorCode.Protocol, `malformed reply to ${command.redacted}: ${quote(text)}`);
  }
  return { message: Number(match[1]), uid: match[2]! };
}

function checkMessage(command: Command, message: number): void {
  if (message !== command.message) {
    throw new RemoteProtocolError(
      ErrorCode.Protocol,
      `${command.redacted} was answered for message ${message}`,
    );
  }
}
