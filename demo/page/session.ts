/**
 * One POP3 session as the page shows it: the client engine of core/ driven over a transport (a WebSocket
 * through the proxy, or the page's own offline server), with everything a learner should see recorded as it
 * happens: each line on the wire in order (secrets redacted), which command each reply belongs to, how many
 * commands are in flight, the session state, download progress, and each command's outcome.
 *
 * The page never reads the transport itself: this class is the only driver of the engine, so what the
 * transcript shows is exactly what the engine sent and received.
 */
import { dotStuff } from '../../core/stuffing.js';
import { utf8, concat } from '../../core/bytes.js';
import { type CommandHandle, type CommandResult, Pop3ClientEngine, type SessionState } from '../../core/client-engine.js';
import type { Verb } from '../../core/commands.js';
import type { Pop3Error } from '../../core/errors.js';
import { AbortError, ConnectionError, TimeoutError, toPop3Error } from '../../core/client/errors.js';
import type { Transport } from '../../core/client/transport.js';
import { openWebSocketTransport } from '../../core/client/websocket-transport.js';
import { cramMd5 } from '../../core/sasl/cram-md5.js';
import { login } from '../../core/sasl/login.js';
import type { SaslMechanism } from '../../core/sasl/mechanism.js';
import { plain } from '../../core/sasl/plain.js';
import { scramSha256 } from '../../core/sasl/scram-sha-256.js';
import { Secret } from '../../core/secret.js';
import type { OfflineServer } from './offline-server.js';

/** Where a session goes. */
export type Endpoint =
  | {
      readonly kind: 'proxy';
      /** The proxy's WebSocket URL, e.g. `ws://127.0.0.1:8081/`. */
      readonly proxyUrl: string;
      /** `HOST:PORT` as the proxy's allowlist names it. */
      readonly target: string;
      /** The proxy originates TLS to the target (the page cannot do TLS itself). */
      readonly tls: boolean;
      /** The target is the embedded server on the same machine. */
      readonly local: boolean;
    }
  | {
      readonly kind: 'offline';
      readonly server: OfflineServer;
      /** Makes the server's random choices repeatable (replays). */
      readonly seed?: number;
    };

/** The SASL mechanisms the page offers for AUTH. */
export const PAGE_SASL_MECHANISMS = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256'] as const;
/** One of {@link PAGE_SASL_MECHANISMS}. */
export type PageSaslMechanism = (typeof PAGE_SASL_MECHANISMS)[number];

/** A command as the page asks for it. Passwords are plain strings here and wrapped in Secret at once. */
export type DemoCommand =
  | { readonly verb: 'USER'; readonly name: string }
  | { readonly verb: 'PASS'; readonly password: string }
  | { readonly verb: 'APOP'; readonly name: string; readonly password: string }
  | { readonly verb: 'AUTH'; readonly mechanism: PageSaslMechanism; readonly name: string; readonly password: string }
  | { readonly verb: 'STAT' | 'NOOP' | 'RSET' | 'QUIT' | 'CAPA' | 'UTF8' }
  | { readonly verb: 'LIST' | 'UIDL'; readonly message?: number }
  | { readonly verb: 'RETR' | 'DELE'; readonly message: number }
  | { readonly verb: 'TOP'; readonly message: number; readonly lines: number }
  | { readonly verb: 'LANG'; readonly tag?: string }
  | { readonly verb: 'RAW'; readonly line: string; readonly multiline?: boolean };

/** One line of the transcript (a whole body counts as one entry). */
export interface TranscriptEntry {
  /** Position in the transcript, from 0. */
  readonly index: number;
  /** `local` entries are the page's own notes: connected, connection lost, refused locally. */
  readonly from: 'client' | 'server' | 'local';
  readonly kind: 'greeting' | 'command' | 'sasl-response' | 'status' | 'challenge' | 'listing' | 'body' | 'note';
  /** The line as shown: secrets redacted; for a body, a one-line summary. */
  readonly text: string;
  /** The command this line sends or answers. */
  readonly verb?: Verb;
  /** The handle id of that command. */
  readonly handle?: number;
  /** Status lines: +OK or -ERR. */
  readonly ok?: boolean;
  /** The response code in brackets (RFC 2449/3206), e.g. `IN-USE`. */
  readonly code?: string;
  /**
   * The exact bytes on the wire, CRLF included; a body dot-stuffed and with its terminating `.` line.
   * Absent for lines with a secret in them.
   */
  readonly wire?: Uint8Array;
  /** Bodies: the message (unstuffed) and its size. */
  readonly body?: Uint8Array;
  /** Client lines: commands in flight once this one was sent (more than 1 means pipelining). */
  readonly inFlight?: number;
  /** Local notes: a key of the `session` strings and its parameters. */
  readonly note?: { readonly key: string; readonly params?: Readonly<Record<string, string | number>> };
}

/** How a command ended. */
export type Outcome =
  | {
      readonly ok: true;
      readonly handle: CommandHandle;
      readonly result: CommandResult;
      readonly text: string;
      readonly code: string | undefined;
      /** RETR and TOP: the message (or its head), unstuffed. */
      readonly body?: Uint8Array;
    }
  /** The server said -ERR (a ServerError with its code), the client refused, or the connection failed. */
  | { readonly ok: false; readonly handle: CommandHandle | undefined; readonly error: Pop3Error };

/** What a DemoSession tells its listeners; after `closed` it says nothing more. */
export type DemoSessionEvent =
  | { readonly type: 'entry'; readonly entry: TranscriptEntry }
  | { readonly type: 'state'; readonly state: SessionState }
  | { readonly type: 'in-flight'; readonly inFlight: number; readonly pending: number }
  | { readonly type: 'progress'; readonly handle: CommandHandle; readonly received: number; readonly expected: number | undefined }
  /** A command's outcome; the command as `recorded` has it (passwords `*`). */
  | { readonly type: 'outcome'; readonly command: DemoCommand; readonly outcome: Outcome }
  | { readonly type: 'closed'; readonly error: Pop3Error | undefined };

interface Waiting {
  /** The command without its password (see withoutSecret). */
  readonly command: DemoCommand;
  readonly handle: CommandHandle;
  readonly resolve: (outcome: Outcome) => void;
  body: Uint8Array[];
  received: number;
  expected: number | undefined;
}

/** Options for {@link DemoSession.open}. */
export interface OpenOptions {
  /** Aborting before the greeting closes the connection; open() then rejects with POP3_ERR_ABORTED. */
  readonly signal?: AbortSignal;
  /** Milliseconds to wait for the greeting once connected (the WebSocket handshake has its own). Default 15 000. */
  readonly greetingTimeout?: number;
}

/** A live session of the page: see the module comment. Made by {@link DemoSession.open}. */
export class DemoSession {
  readonly endpoint: Endpoint;
  readonly engine: Pop3ClientEngine;
  readonly #transport: Transport;
  readonly #listeners = new Set<(event: DemoSessionEvent, session: DemoSession) => void>();
  readonly #entries: TranscriptEntry[] = [];
  /** Commands queued and not yet sent, in order (client trace lines take them off). */
  readonly #queued: Waiting[] = [];
  /** Commands sent and not yet answered, in order: server lines belong to the first. */
  readonly #sent: Waiting[] = [];
  readonly #byHandle = new Map<number, Waiting>();
  readonly #recorded: DemoCommand[] = [];
  #state: SessionState;
  #lastServerWasChallenge = false;
  #closed = false;
  /** The page ended the connection itself (drop, or close before QUIT's answer). */
  #endedHere = false;
  /** The `closed` event was sent: the session says nothing more. */
  #silent = false;
  #closeError: Pop3Error | undefined;
  /** What ended the connection from our side (a write or read that failed, an abort, a timeout), if anything. */
  #failure: Pop3Error | undefined;
  readonly #greeted: Promise<void>;
  #greetedSettle!: { resolve: () => void; reject: (error: Pop3Error) => void };

  private constructor(endpoint: Endpoint, transport: Transport, listener?: (event: DemoSessionEvent, session: DemoSession) => void) {
    this.endpoint = endpoint;
    this.#transport = transport;
    const tls = endpoint.kind === 'proxy' && endpoint.tls;
    this.engine = new Pop3ClientEngine({ trace: true, tls });
    this.#state = this.engine.state;
    if (listener) this.#listeners.add(listener);
    this.#greeted = new Promise((resolve, reject) => (this.#greetedSettle = { resolve, reject }));
    this.#greeted.catch(() => undefined);
  }

  /**
   * Connect and wait for the greeting. Rejects with a typed error when the connection cannot be made (the
   * proxy refused, the server is down, no greeting in time, `signal` aborted) or the server greets with -ERR;
   * the events so far have been sent, and the connection is closed.
   */
  static async open(
    endpoint: Endpoint,
    listener?: (event: DemoSessionEvent, session: DemoSession) => void,
    options: OpenOptions = {},
  ): Promise<DemoSession> {
    const { signal } = options;
    const aborted = () => new AbortError('connecting aborted', signal?.reason);
    if (signal?.aborted === true) throw aborted();
    const transport =
      endpoint.kind === 'offline'
        ? endpoint.server.connect(endpoint.seed === undefined ? {} : { seed: endpoint.seed })
        : await openWebSocketTransport(withTarget(endpoint.proxyUrl, endpoint.target), {
            // Not `secure`: even when the proxy speaks TLS to the server, the page's own hop may be ws:.
            local: endpoint.local,
            connectTimeout: 10_000,
            ...(signal === undefined ? {} : { signal }),
          });
    const session = new DemoSession(endpoint, transport, listener);
    session.#note('connected', { where: endpoint.kind === 'offline' ? 'offline' : endpoint.target });
    const onAbort = () => session.#fail(aborted());
    signal?.addEventListener('abort', onAbort, { once: true });
    // Aborted while the WebSocket opened (`aborted` is re-read: the await above may have taken a while).
    if ((signal as AbortSignal | undefined)?.aborted === true) onAbort();
    const ms = options.greetingTimeout ?? 15_000;
    const timer = setTimeout(() => session.#fail(new TimeoutError(`no greeting within ${ms} ms`)), ms);
    void session.#readLoop();
    try {
      await session.#greeted;
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    return session;
  }

  /** Listen to everything that happens; returns the unsubscribe function. */
  subscribe(listener: (event: DemoSessionEvent, session: DemoSession) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The transcript so far, in order. */
  get entries(): readonly TranscriptEntry[] {
    return this.#entries;
  }

  /** The engine's state as last reported in a `state` event. */
  get state(): SessionState {
    return this.#state;
  }

  /** The connection has ended (QUIT, lost, dropped or closed); send() now only says so. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The commands sent so far, passwords included only as the placeholder `*` (for replay links). */
  get recorded(): readonly DemoCommand[] {
    return this.#recorded;
  }

  /**
   * Queue a command and resolve when it has its answer. Never rejects: a refusal by the engine (wrong state,
   * bad argument), an -ERR and a lost connection are all outcomes with `ok: false`.
   */
  send(command: DemoCommand): Promise<Outcome> {
    if (this.#closed) {
      // Nothing is sent and nothing recorded: the session has said its last word (`closed`).
      return Promise.resolve({ ok: false, handle: undefined, error: this.#closeError ?? new ConnectionError('the session is closed') });
    }
    // The password goes to the engine (as a Secret) and nowhere else: events and records carry `*`.
    const shown = withoutSecret(command);
    let handle: CommandHandle;
    try {
      handle = this.#enqueue(command);
    } catch (error) {
      const outcome: Outcome = { ok: false, handle: undefined, error: toPop3Error(error) };
      this.#note('refused-locally', { command: describe(command), reason: outcome.error.message });
      this.#emit({ type: 'outcome', command: shown, outcome });
      return Promise.resolve(outcome);
    }
    this.#recorded.push(shown);
    const outcome = new Promise<Outcome>((resolve) => {
      const waiting: Waiting = { command: shown, handle, resolve, body: [], received: 0, expected: undefined };
      this.#queued.push(waiting);
      this.#byHandle.set(handle.id, waiting);
    });
    this.#flush();
    this.#process();
    return outcome;
  }

  /** Queue several commands at once, so that with PIPELINING they travel together. */
  sendAll(commands: readonly DemoCommand[]): Promise<Outcome[]> {
    const outcomes = commands.map((command) => this.send(command));
    return Promise.all(outcomes);
  }

  /** Cut the connection without QUIT (the server must then delete nothing). */
  drop(): void {
    if (this.#closed) return;
    this.#endedHere = true;
    this.#note('dropped');
    this.#transport.close();
  }

  /** Close the connection: after QUIT's answer this only releases it; before, it is a drop. Idempotent. */
  close(): void {
    if (!this.#closed && this.engine.state !== 'closed') this.drop();
    else this.#transport.close();
  }

  #enqueue(command: DemoCommand): CommandHandle {
    const engine = this.engine;
    switch (command.verb) {
      case 'USER':
        return engine.user(command.name);
      case 'PASS':
        return engine.pass(new Secret(command.password));
      case 'APOP':
        return engine.apop(command.name, new Secret(command.password));
      case 'AUTH':
        return engine.auth(mechanism(command.mechanism, command.name, command.password));
      case 'STAT':
        return engine.stat();
      case 'NOOP':
        return engine.noop();
      case 'RSET':
        return engine.rset();
      case 'QUIT':
        return engine.quit();
      case 'CAPA':
        return engine.capa();
      case 'UTF8':
        return engine.utf8();
      case 'LIST':
        return engine.list(command.message);
      case 'UIDL':
        return engine.uidl(command.message);
      case 'RETR':
        return engine.retr(command.message);
      case 'DELE':
        return engine.dele(command.message);
      case 'TOP':
        return engine.top(command.message, command.lines);
      case 'LANG':
        return engine.lang(command.tag);
      case 'RAW':
        // A raw line with credentials in it is a secret as a whole: the engine then traces it as [redacted].
        return engine.raw(rawCredential(command.line) ? new Secret(command.line) : command.line, { multiline: command.multiline ?? false });
    }
  }

  async #readLoop(): Promise<void> {
    try {
      for (;;) {
        const chunk = await this.#transport.read();
        if (chunk === undefined) {
          this.engine.receiveEnd();
          break;
        }
        this.engine.receive(chunk);
        this.#process();
        this.#flush();
      }
    } catch (caught) {
      this.#failure ??= toPop3Error(caught);
      this.#transport.close();
      this.engine.receiveEnd();
    }
    this.#process();
    this.#finish(this.#failure);
  }

  /**
   * End the connection because of `error` (a failed write, an abort, a timeout): the read loop then sees the
   * end, the engine fails what is pending, and the session closes with `error` as its reason.
   */
  #fail(error: Pop3Error): void {
    if (this.#closed) return;
    this.#failure ??= error;
    this.#transport.close();
  }

  /** Write what the engine has to send. A failed write ends the session with the write's error. */
  #flush(): void {
    for (let bytes = this.engine.takeOutgoing(); bytes !== undefined; bytes = this.engine.takeOutgoing()) {
      try {
        this.#transport.write(bytes).catch((error: unknown) => this.#fail(toPop3Error(error)));
      } catch (error) {
        // A transport that throws instead of rejecting: the same failure (send() must never throw).
        this.#fail(toPop3Error(error));
      }
    }
  }

  /** Drain the engine's events into entries, outcomes and state changes. */
  #process(): void {
    for (let event = this.engine.nextEvent(); event !== undefined; event = this.engine.nextEvent()) {
      switch (event.type) {
        case 'trace':
          if (event.from === 'client') this.#onClientLine(event.line);
          else this.#onServerLine(event.line);
          break;
        case 'greeting':
          if (event.greeting.ok) this.#greetedSettle.resolve();
          break;
        case 'status': {
          const waiting = this.#byHandle.get(event.handle.id);
          if (waiting) waiting.expected = event.octets ?? waiting.expected;
          break;
        }
        case 'data': {
          const waiting = this.#byHandle.get(event.handle.id);
          if (waiting) {
            waiting.body.push(event.chunk.slice());
            waiting.received += event.chunk.length;
            this.#emit({ type: 'progress', handle: event.handle, received: waiting.received, expected: waiting.expected });
          }
          break;
        }
        case 'done':
          this.#settle(event.handle, (waiting) => {
            // RETR, TOP and multi-line raw commands: bodies are not traced line by line, so one entry shows each.
            const body = hasBody(waiting.command) ? concat(waiting.body) : undefined;
            if (body !== undefined) this.#addBody(waiting, body);
            return { ok: true, handle: event.handle, result: event.result, text: event.text, code: event.code, ...(body ? { body } : {}) };
          });
          break;
        case 'rejected':
          this.#settle(event.handle, () => ({ ok: false, handle: event.handle, error: event.error }));
          break;
        case 'failed':
          // Once the connection failed on our side, that failure is why every pending command failed.
          this.#settle(event.handle, () => ({ ok: false, handle: event.handle, error: this.#failure ?? event.error }));
          break;
        case 'closed':
          // The engine's error says where the stream was cut; our own failure says why it was.
          this.#finish(this.#failure ?? event.error);
          break;
        case 'challenge':
        case 'starttls':
          // Challenges are answered by the engine; STLS is never offered in the page (no TLS in JavaScript).
          break;
      }
    }
    if (this.engine.state !== this.#state) {
      this.#state = this.engine.state;
      this.#emit({ type: 'state', state: this.#state });
    }
    this.#emit({ type: 'in-flight', inFlight: this.engine.inFlight, pending: this.engine.pending });
  }

  #onClientLine(line: string): void {
    const head = this.#sent[0];
    // During an AUTH exchange the client's lines answer challenges; they are not new commands.
    if (head?.handle.verb === 'AUTH' && this.#lastServerWasChallenge) {
      this.#lastServerWasChallenge = false;
      this.#add({ from: 'client', kind: 'sasl-response', text: line, verb: 'AUTH', handle: head.handle.id });
      return;
    }
    const waiting = this.#queued.shift();
    if (waiting) this.#sent.push(waiting);
    const redacted = waiting === undefined || line !== lineOf(waiting.command) || waiting.command.verb === 'AUTH';
    const credential = waiting?.command.verb === 'RAW' ? rawCredential(waiting.command.line) : undefined;
    this.#add({
      from: 'client',
      kind: 'command',
      text: credential?.shown ?? line,
      ...(waiting ? { verb: waiting.handle.verb, handle: waiting.handle.id } : {}),
      ...(redacted ? {} : { wire: utf8(`${line}\r\n`) }),
      inFlight: this.engine.inFlight,
    });
  }

  #onServerLine(line: string): void {
    const head = this.#sent[0];
    const status = /^(\+OK|-ERR)(?: \[([^\]]*)\])?/i.exec(line);
    const challenge = line === '+' || line.startsWith('+ ');
    this.#lastServerWasChallenge = challenge;
    const kind: TranscriptEntry['kind'] =
      head === undefined && this.#entries.every((entry) => entry.from !== 'server') ? 'greeting' : challenge ? 'challenge' : status ? 'status' : 'listing';
    this.#add({
      from: 'server',
      kind,
      text: line,
      ...(head ? { verb: head.handle.verb, handle: head.handle.id } : {}),
      ...(status ? { ok: status[1]!.toUpperCase() === '+OK' } : {}),
      ...(status?.[2] ? { code: status[2] } : {}),
      // Challenges are redacted by the engine: their bytes are not shown either.
      ...(challenge ? {} : { wire: utf8(`${line}\r\n`) }),
    });
  }

  #addBody(waiting: Waiting, body: Uint8Array): void {
    const lines = countLines(body);
    this.#add({
      from: 'server',
      kind: 'body',
      text: `[${waiting.handle.verb}: ${lines} lines, ${body.length} octets]`,
      verb: waiting.handle.verb,
      handle: waiting.handle.id,
      // dotStuff adds the terminating line.
      wire: dotStuff(body),
      body,
    });
  }

  #settle(handle: CommandHandle, make: (waiting: Waiting) => Outcome): void {
    const waiting = this.#byHandle.get(handle.id);
    if (waiting === undefined) return;
    this.#byHandle.delete(handle.id);
    remove(this.#sent, waiting);
    remove(this.#queued, waiting);
    const outcome = make(waiting);
    waiting.resolve(outcome);
    this.#emit({ type: 'outcome', command: waiting.command, outcome });
  }

  #finish(error: Pop3Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#closeError = error;
    this.#transport.close();
    const lost = error ?? (this.engine.state === 'closed' ? undefined : new ConnectionError('the connection ended'));
    this.#greetedSettle.reject(lost ?? new ConnectionError('the connection ended before a greeting'));
    for (const waiting of [...this.#byHandle.values()]) {
      this.#settle(waiting.handle, () => ({ ok: false, handle: waiting.handle, error: lost ?? new ConnectionError('the session closed') }));
    }
    // A drop by the page has its own note already: the connection was not lost.
    if (!this.#endedHere) this.#note(lost === undefined ? 'closed' : 'lost', lost === undefined ? {} : { reason: lost.message });
    if (this.#state !== this.engine.state) {
      this.#state = this.engine.state;
      this.#emit({ type: 'state', state: this.#state });
    }
    this.#emit({ type: 'closed', error: lost });
  }

  /** Why the session ended, when it ended badly. */
  get closeError(): Pop3Error | undefined {
    return this.#closeError;
  }

  #note(key: string, params: Readonly<Record<string, string | number>> = {}): void {
    this.#add({ from: 'local', kind: 'note', text: key, note: { key, params } });
  }

  #add(entry: Omit<TranscriptEntry, 'index'>): void {
    const full: TranscriptEntry = { index: this.#entries.length, ...entry };
    this.#entries.push(full);
    this.#emit({ type: 'entry', entry: full });
  }

  #emit(event: DemoSessionEvent): void {
    if (this.#silent) return;
    if (event.type === 'closed') this.#silent = true;
    for (const listener of this.#listeners) {
      try {
        listener(event, this);
      } catch (error) {
        // A view's bug must not stop the session.
        console.error(error);
      }
    }
  }
}

/** The proxy URL with the target in its query. */
export function withTarget(proxyUrl: string, target: string): string {
  const url = new URL(proxyUrl);
  url.searchParams.set('target', target);
  return url.href;
}

function mechanism(name: PageSaslMechanism, username: string, password: string): SaslMechanism {
  const options = { username, password: new Secret(password) };
  switch (name) {
    case 'PLAIN':
      return plain(options);
    case 'LOGIN':
      return login(options);
    case 'CRAM-MD5':
      return cramMd5(options);
    case 'SCRAM-SHA-256':
      return scramSha256(options);
  }
}

/** The command line as typed, for commands without secrets (to tell redacted lines from plain ones). */
function lineOf(command: DemoCommand): string | undefined {
  switch (command.verb) {
    case 'PASS':
    case 'APOP':
    case 'AUTH':
      return undefined;
    default:
      return describe(command);
  }
}

/** A command as text, secrets as `*`. */
export function describe(command: DemoCommand): string {
  switch (command.verb) {
    case 'USER':
      return `USER ${command.name}`;
    case 'PASS':
      return 'PASS *';
    case 'APOP':
      return `APOP ${command.name} *`;
    case 'AUTH':
      return `AUTH ${command.mechanism}`;
    case 'LIST':
    case 'UIDL':
      return command.message === undefined ? command.verb : `${command.verb} ${command.message}`;
    case 'RETR':
    case 'DELE':
      return `${command.verb} ${command.message}`;
    case 'TOP':
      return `TOP ${command.message} ${command.lines}`;
    case 'LANG':
      return command.tag === undefined ? 'LANG' : `LANG ${command.tag}`;
    case 'RAW':
      return rawCredential(command.line)?.placeholder ?? command.line;
    default:
      return command.verb;
  }
}

/**
 * A raw line that carries credentials: `PASS x`, `APOP name digest`, `AUTH MECHANISM initial-response`
 * (any case). `placeholder` is the line as a link holds it, `shown` as an export shows it.
 */
export function rawCredential(
  line: string,
): { readonly kind: 'PASS' | 'APOP' | 'AUTH'; readonly prefix: string; readonly placeholder: string; readonly shown: string } | undefined {
  const words = line.trim().split(/[ \t]+/);
  const verb = (words[0] ?? '').toUpperCase();
  let prefix: string;
  if (verb === 'PASS' && words.length >= 2) prefix = 'PASS';
  else if (verb === 'APOP' && words.length >= 3) prefix = `APOP ${words[1]}`;
  else if (verb === 'AUTH' && words.length >= 3) prefix = `AUTH ${words[1]!.toUpperCase()}`;
  else return undefined;
  return { kind: verb as 'PASS' | 'APOP' | 'AUTH', prefix, placeholder: `${prefix} *`, shown: `${prefix} [redacted]` };
}

/** Whether the +OK to `command` starts a dot-terminated body (rather than a listing or nothing). */
function hasBody(command: DemoCommand): boolean {
  return command.verb === 'RETR' || command.verb === 'TOP' || (command.verb === 'RAW' && command.multiline === true);
}

/**
 * The command without any password: `*` in its place (PASS, APOP, AUTH), and a raw line that carries
 * credentials reduced to its placeholder (`PASS *`). What `recorded`, replay links and exports hold.
 */
export function withoutSecret(command: DemoCommand): DemoCommand {
  switch (command.verb) {
    case 'PASS':
    case 'APOP':
    case 'AUTH':
      return command.password === '*' ? command : { ...command, password: '*' };
    case 'RAW': {
      const credential = rawCredential(command.line);
      return credential === undefined ? command : { ...command, line: credential.placeholder };
    }
    default:
      return command;
  }
}

function countLines(body: Uint8Array): number {
  let lines = 0;
  for (const byte of body) if (byte === 0x0a) lines++;
  return lines;
}

function remove<T>(list: T[], item: T): void {
  const at = list.indexOf(item);
  if (at >= 0) list.splice(at, 1);
}
