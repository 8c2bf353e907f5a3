/**
 * Replay links: the commands of a session and the offline server's seed, packed into the URL fragment
 * (`#replay=1.<base64url>`), and the replay of such a link in offline mode.
 *
 * What a link holds: the version, the seed, two flags (the session went through the proxy; the seed is the
 * session's own), and the commands in order as `session.recorded` has them: user names, message numbers and
 * raw lines, but never a password (PASS, APOP and AUTH carry none in the link; raw lines that carry one are
 * kept as `PASS *`, `APOP name *`, `AUTH MECHANISM *`). Replaying logs in with the offline sample account's
 * password instead. The fragment never reaches a server.
 *
 * Format, version 1: the bytes below in base64url without padding.
 *
 *     varint seed (0 to 2^32-1) | varint flags (bit 0 proxy, bit 1 own seed) | varint count |
 *     count x (opcode byte, arguments)
 *
 * A varint is LEB128, minimal, at most 5 bytes; a string is a varint length and UTF-8 (1 to 255 octets, no
 * CR, LF or NUL); an optional number or string is 0 for none, else the number + 1 / the length + 1. Opcodes
 * and arguments: see OPCODES. Decoding is strict: anything else (another version, an unknown opcode, a
 * number out of range, a non-minimal varint, bytes left over, a link too long) throws ReplayLinkError, whose
 * `code` names a `share.errors.*` string, so a bad link is explained to the user and never crashes the page.
 * Same link, same transcript: the seed fixes everything the offline server draws at random (the APOP
 * timestamp, SCRAM nonces), and commands are sent one at a time, each after the previous one's outcome.
 */
import type { App } from './app.js';
import { t } from './i18n.js';
import { PAGE_SASL_MECHANISMS, type DemoCommand, type DemoSession, type Endpoint, rawCredential, withoutSecret } from './session.js';
import { announce } from './status.js';

/** The fragment's key: `#replay=...`. */
export const REPLAY_KEY = 'replay';
/** The format version written before the `.` of a link (see the module comment). */
export const REPLAY_VERSION = 1;
/** The seed of a link made from a session that had none (its greeting timestamp will differ). */
export const FALLBACK_SEED = 1_939;
/** What a link may hold. */
export const REPLAY_LIMITS = {
  /** Characters after `#replay=`. */
  maxLength: 6_000,
  maxCommands: 500,
  /** Message numbers and TOP line counts. */
  maxNumber: 1_000_000,
  /** UTF-8 octets of a user name, tag or raw line (a command line is at most 255 octets with CRLF). */
  maxText: 255,
} as const;

/** What went wrong with a link; each code is a string `share.errors.<code>`. */
export type ReplayErrorCode =
  | 'version'
  | 'encoding'
  | 'too-long'
  | 'truncated'
  | 'flags'
  | 'count'
  | 'verb'
  | 'number'
  | 'text'
  | 'secret'
  | 'trailing'
  | 'busy';

/** A replay link that cannot be used (or made), with the reason as a stable code. */
export class ReplayLinkError extends Error {
  readonly code: ReplayErrorCode;
  readonly params: Readonly<Record<string, string | number>>;
  constructor(code: ReplayErrorCode, message: string, params: Readonly<Record<string, string | number>> = {}) {
    super(message);
    this.name = 'ReplayLinkError';
    this.code = code;
    this.params = params;
  }
}

/** A decoded link (or one about to be encoded). Passwords are the placeholder `*`. */
export interface Replay {
  readonly seed: number;
  /** The seed is the recorded session's own: the replay's greeting is the session's greeting. */
  readonly ownSeed: boolean;
  /** The session went through the proxy to a server; the replay runs offline against the sample. */
  readonly fromProxy: boolean;
  readonly commands: readonly DemoCommand[];
}

/** The opcodes of version 1, in order (the index is the byte). */
const OPCODES = [
  'USER', // string name
  'PASS', // nothing
  'APOP', // string name
  'AUTH', // byte mechanism (index in PAGE_SASL_MECHANISMS), string name
  'STAT',
  'NOOP',
  'RSET',
  'QUIT',
  'CAPA',
  'UTF8',
  'LIST', // optional number
  'UIDL', // optional number
  'RETR', // number
  'DELE', // number
  'TOP', // number, number of lines (0 allowed)
  'LANG', // optional string
  'RAW', // byte 0 single-line / 1 multi-line, string line
] as const satisfies readonly DemoCommand['verb'][];

/** A user name or raw line: no control characters at all; an APOP name or language tag: no spaces either. */
const LINE = /^[^\0-\x1f\x7f]+$/;
const TOKEN = /^[^\0-\x20\x7f]+$/;

const FLAG_PROXY = 1;
const FLAG_OWN_SEED = 2;

// ─── Links from sessions ──────────────────────────────────────────────────────────────────────────────────

/**
 * What a link for this session holds: its recorded commands (passwords already `*`; raw lines with
 * credentials reduced to the placeholder), and the seed of an offline session, or FALLBACK_SEED.
 */
export function replayOf(session: { readonly endpoint: Endpoint; readonly recorded: readonly DemoCommand[] }): Replay {
  const { endpoint } = session;
  const seed = endpoint.kind === 'offline' ? endpoint.seed : undefined;
  return {
    seed: seed === undefined ? FALLBACK_SEED : seed >>> 0,
    ownSeed: seed !== undefined,
    fromProxy: endpoint.kind === 'proxy',
    commands: session.recorded.map(withoutSecret),
  };
}

// ─── Encoding ─────────────────────────────────────────────────────────────────────────────────────────────

/** The fragment value (after `#replay=`). Throws ReplayLinkError `too-long` when it would not fit a link. */
export function encodeReplay(replay: Replay): string {
  const out: number[] = [];
  const varint = (value: number) => {
    let rest = value >>> 0;
    while (rest >= 0x80) {
      out.push((rest & 0x7f) | 0x80);
      rest >>>= 7;
    }
    out.push(rest);
  };
  /** A number in range, written plus `offset` (1 for optional numbers, whose 0 means none). */
  const number = (value: number, min: number, offset = 0) => {
    if (!Number.isSafeInteger(value) || value < min || value > REPLAY_LIMITS.maxNumber) {
      throw new ReplayLinkError('number', `${value} cannot be put in a link`, { value: String(value) });
    }
    varint(value + offset);
  };
  const text = (value: string, pattern: RegExp, optional = false) => {
    const bytes = new TextEncoder().encode(value);
    if (bytes.length === 0 || bytes.length > REPLAY_LIMITS.maxText || !pattern.test(value)) {
      throw new ReplayLinkError('text', `${JSON.stringify(value)} cannot be put in a link`);
    }
    varint(bytes.length + (optional ? 1 : 0));
    for (const byte of bytes) out.push(byte);
  };

  if (!Number.isSafeInteger(replay.seed) || replay.seed < 0 || replay.seed > 0xffffffff) {
    throw new ReplayLinkError('number', `seed ${replay.seed} cannot be put in a link`, { value: String(replay.seed) });
  }
  if (replay.commands.length > REPLAY_LIMITS.maxCommands) {
    throw new ReplayLinkError('count', `${replay.commands.length} commands`, { max: REPLAY_LIMITS.maxCommands });
  }
  varint(replay.seed);
  varint((replay.fromProxy ? FLAG_PROXY : 0) | (replay.ownSeed ? FLAG_OWN_SEED : 0));
  varint(replay.commands.length);
  for (const original of replay.commands) {
    const command = withoutSecret(original);
    out.push(OPCODES.indexOf(command.verb));
    switch (command.verb) {
      case 'USER':
        text(command.name, LINE);
        break;
      case 'APOP':
        text(command.name, TOKEN);
        break;
      case 'AUTH':
        out.push(PAGE_SASL_MECHANISMS.indexOf(command.mechanism));
        text(command.name, LINE);
        break;
      case 'LIST':
      case 'UIDL':
        if (command.message === undefined) varint(0);
        else number(command.message, 1, 1);
        break;
      case 'RETR':
      case 'DELE':
        number(command.message, 1);
        break;
      case 'TOP':
        number(command.message, 1);
        number(command.lines, 0);
        break;
      case 'LANG':
        if (command.tag === undefined) varint(0);
        else text(command.tag, TOKEN, true);
        break;
      case 'RAW':
        out.push(command.multiline === true ? 1 : 0);
        text(command.line, LINE);
        break;
      default:
        break;
    }
  }
  const value = `${REPLAY_VERSION}.${toBase64Url(Uint8Array.from(out))}`;
  if (value.length > REPLAY_LIMITS.maxLength) {
    throw new ReplayLinkError('too-long', `${value.length} characters`, { max: REPLAY_LIMITS.maxLength });
  }
  return value;
}

/** `#replay=...` for a replay. */
export function replayFragment(replay: Replay): string {
  return `#${REPLAY_KEY}=${encodeReplay(replay)}`;
}

/** The page's address (without its fragment) with the replay's fragment. */
export function replayUrl(replay: Replay, page: string): string {
  const url = new URL(page);
  url.hash = '';
  return `${url.href.replace(/#$/, '')}${replayFragment(replay)}`;
}

/** The value of a `#replay=` fragment, or undefined when the fragment is something else (or empty). */
export function replayValueOf(hash: string): string | undefined {
  const prefix = `#${REPLAY_KEY}=`;
  return hash.startsWith(prefix) ? hash.slice(prefix.length) : undefined;
}

// ─── Decoding ─────────────────────────────────────────────────────────────────────────────────────────────

/** The replay in a fragment value. Throws ReplayLinkError for anything but a well-formed link. */
export function decodeReplay(value: string): Replay {
  if (value.length > REPLAY_LIMITS.maxLength) {
    throw new ReplayLinkError('too-long', `${value.length} characters`, { max: REPLAY_LIMITS.maxLength });
  }
  const dot = value.indexOf('.');
  const version = dot < 0 ? value : value.slice(0, dot);
  if (version !== String(REPLAY_VERSION)) {
    throw new ReplayLinkError('version', `version ${JSON.stringify(version.slice(0, 20))} is not known`, { version: version.slice(0, 20) || '?' });
  }
  const bytes = fromBase64Url(value.slice(dot + 1));
  let at = 0;
  const byte = (): number => {
    if (at >= bytes.length) throw new ReplayLinkError('truncated', 'the link ends too early');
    return bytes[at++]!;
  };
  const varint = (): number => {
    let value = 0;
    for (let i = 0; i < 5; i++) {
      const next = byte();
      if (i === 4 && next > 0x0f) throw new ReplayLinkError('number', 'a number above 2^32');
      value += (next & 0x7f) * 2 ** (7 * i);
      if ((next & 0x80) === 0) {
        if (i > 0 && next === 0) throw new ReplayLinkError('number', 'a number written with needless bytes');
        return value;
      }
    }
    throw new ReplayLinkError('number', 'a number above 2^32');
  };
  const number = (min: number, max: number = REPLAY_LIMITS.maxNumber): number => {
    const value = varint();
    if (value < min || value > max) throw new ReplayLinkError('number', `${value} is out of range`, { value: String(value) });
    return value;
  };
  const text = (length: number, what: string, pattern: RegExp): string => {
    if (length < 1 || length > REPLAY_LIMITS.maxText) throw new ReplayLinkError('text', `${what}: ${length} octets`);
    if (at + length > bytes.length) throw new ReplayLinkError('truncated', 'the link ends too early');
    let decoded: string;
    try {
      decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(at, at + length));
    } catch {
      throw new ReplayLinkError('text', `${what}: not UTF-8`);
    }
    at += length;
    if (!pattern.test(decoded)) throw new ReplayLinkError('text', `${what}: characters a command cannot carry`);
    return decoded;
  };

  const seed = varint();
  const flags = varint();
  if ((flags & ~(FLAG_PROXY | FLAG_OWN_SEED)) !== 0) throw new ReplayLinkError('flags', `unknown flags ${flags}`);
  const count = varint();
  if (count > REPLAY_LIMITS.maxCommands) throw new ReplayLinkError('count', `${count} commands`, { max: REPLAY_LIMITS.maxCommands });
  const commands: DemoCommand[] = [];
  for (let i = 0; i < count; i++) {
    const opcode = byte();
    const verb = OPCODES[opcode];
    if (verb === undefined) throw new ReplayLinkError('verb', `unknown command ${opcode}`, { value: opcode });
    switch (verb) {
      case 'USER':
        commands.push({ verb, name: text(varint(), 'user name', LINE) });
        break;
      case 'PASS':
        commands.push({ verb, password: '*' });
        break;
      case 'APOP':
        commands.push({ verb, name: text(varint(), 'user name', TOKEN), password: '*' });
        break;
      case 'AUTH': {
        const index = byte();
        const mechanism = PAGE_SASL_MECHANISMS[index];
        if (mechanism === undefined) throw new ReplayLinkError('verb', `unknown SASL mechanism ${index}`, { value: index });
        commands.push({ verb, mechanism, name: text(varint(), 'user name', LINE), password: '*' });
        break;
      }
      case 'LIST':
      case 'UIDL': {
        const value = number(0, REPLAY_LIMITS.maxNumber + 1);
        if (value === 1) throw new ReplayLinkError('number', 'message number 0', { value: 0 });
        commands.push(value === 0 ? { verb } : { verb, message: value - 1 });
        break;
      }
      case 'RETR':
      case 'DELE':
        commands.push({ verb, message: number(1) });
        break;
      case 'TOP': {
        const message = number(1);
        commands.push({ verb, message, lines: number(0) });
        break;
      }
      case 'LANG': {
        const length = varint();
        commands.push(length === 0 ? { verb } : { verb, tag: text(length - 1, 'language tag', TOKEN) });
        break;
      }
      case 'RAW': {
        const shape = byte();
        if (shape > 1) throw new ReplayLinkError('flags', `unknown raw line flag ${shape}`);
        const line = text(varint(), 'raw line', LINE);
        const credential = rawCredential(line);
        if (credential !== undefined && line !== credential.placeholder) {
          throw new ReplayLinkError('secret', 'a raw line with a password in it');
        }
        commands.push(shape === 1 ? { verb, line, multiline: true } : { verb, line });
        break;
      }
      default:
        commands.push({ verb });
    }
  }
  if (at !== bytes.length) throw new ReplayLinkError('trailing', `${bytes.length - at} bytes after the last command`);
  return { seed, ownSeed: (flags & FLAG_OWN_SEED) !== 0, fromProxy: (flags & FLAG_PROXY) !== 0, commands };
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function toBase64Url(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const a = bytes[i]!;
    const b = bytes[i + 1];
    const c = bytes[i + 2];
    out += BASE64URL[a >> 2]! + BASE64URL[((a & 3) << 4) | ((b ?? 0) >> 4)]!;
    if (b !== undefined) out += BASE64URL[((b & 15) << 2) | ((c ?? 0) >> 6)]!;
    if (c !== undefined) out += BASE64URL[c & 63]!;
  }
  return out;
}

/** Strict base64url: its alphabet only, no padding, and the one canonical spelling of the bytes. */
function fromBase64Url(text: string): Uint8Array {
  if (!/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) throw new ReplayLinkError('encoding', 'not base64url');
  const bytes = new Uint8Array(Math.floor((text.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const char of text) {
    value = (value << 6) | BASE64URL.indexOf(char);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      bytes[at++] = (value >> bits) & 0xff;
    }
  }
  if ((value & ((1 << bits) - 1)) !== 0) throw new ReplayLinkError('encoding', 'not canonical base64url');
  return bytes;
}

// ─── Replaying ────────────────────────────────────────────────────────────────────────────────────────────

/** How a replay went. */
export interface ReplayResult {
  /** Every command was sent and answered (or refused). */
  readonly complete: boolean;
  /** Commands sent. */
  readonly sent: number;
  /** Commands answered with +OK. */
  readonly ok: number;
  /** Why it stopped early: the session closed, or another session replaced it. */
  readonly stopped?: 'closed' | 'replaced';
}

/**
 * The command as the replay sends it: the placeholder password replaced by the sample account's. A raw line
 * that carried credentials becomes the real command (PASS, APOP, or AUTH as the sample user), so the
 * transcript redacts the password as it does for those commands, and APOP computes the digest for the
 * replay's greeting.
 */
export function withSamplePassword(command: DemoCommand, sample: { readonly user: string; readonly password: string }): DemoCommand {
  switch (command.verb) {
    case 'PASS':
    case 'APOP':
    case 'AUTH':
      return { ...command, password: sample.password };
    case 'RAW': {
      const credential = rawCredential(command.line);
      if (credential === undefined) return command;
      const name = credential.prefix.split(' ')[1] ?? '';
      if (credential.kind === 'PASS') return { verb: 'PASS', password: sample.password };
      if (credential.kind === 'APOP') return { verb: 'APOP', name, password: sample.password };
      const mechanism = PAGE_SASL_MECHANISMS.find((known) => known === name);
      return mechanism === undefined ? command : { verb: 'AUTH', mechanism, name: sample.user, password: sample.password };
    }
    default:
      return command;
  }
}

/**
 * The commands as the replay sends them (see withSamplePassword). A raw `USER name` right before a raw line
 * with a password becomes the USER command too: the engine lets PASS follow only a USER it sent itself.
 */
export function replayCommands(commands: readonly DemoCommand[], sample: { readonly user: string; readonly password: string }): DemoCommand[] {
  return commands.map((command, i) => {
    const next = commands[i + 1];
    if (command.verb === 'RAW' && next?.verb === 'RAW' && rawCredential(next.line)?.kind === 'PASS') {
      const user = /^USER[ \t]+(\S.*)$/i.exec(command.line.trim());
      if (user !== null) return { verb: 'USER', name: user[1]! };
    }
    return withSamplePassword(command, sample);
  });
}

/**
 * Replay into a session that `open` connects with the replay's seed: each command in order, each after the
 * previous one's outcome. `current` says whether the session is still the page's (a learner may connect
 * elsewhere meanwhile: the replay then stops).
 */
export async function replayInto(
  replay: Replay,
  open: (seed: number) => Promise<DemoSession>,
  sample: { readonly user: string; readonly password: string },
  current: (session: DemoSession) => boolean = () => true,
  onProgress?: (sent: number, total: number) => void,
): Promise<ReplayResult & { readonly session: DemoSession }> {
  const session = await open(replay.seed);
  let sent = 0;
  let ok = 0;
  for (const command of replayCommands(replay.commands, sample)) {
    if (!current(session)) return { complete: false, sent, ok, stopped: 'replaced', session };
    if (session.closed) return { complete: false, sent, ok, stopped: 'closed', session };
    const outcome = await session.send(command);
    sent++;
    if (outcome.ok) ok++;
    onProgress?.(sent, replay.commands.length);
  }
  return { complete: true, sent, ok, session };
}

/**
 * Replay in the page: drop the current session, put the offline mailbox back to the sample, connect offline
 * with the replay's seed and send the commands. Throws ReplayLinkError `busy` when the mailbox cannot be
 * reset, and the connection's error when the offline server cannot be reached (it always can).
 */
export async function runReplay(app: App, replay: Replay, onProgress?: (sent: number, total: number) => void): Promise<ReplayResult> {
  app.disconnect();
  // The offline server lets go of the mailbox once it has seen the connection close; resetMailbox waits
  // for that. Still held means another session (an experiment's second one) has it.
  if (!(await app.resetMailbox({ kind: 'offline' }))) throw new ReplayLinkError('busy', 'the offline mailbox is held by a session');
  const { session: _session, ...result } = await replayInto(
    replay,
    (seed) => app.connect({ kind: 'offline' }, { seed }),
    app.offline.sample,
    (session) => app.session === session,
    onProgress,
  );
  return result;
}

// ─── The page's replay of its own address ─────────────────────────────────────────────────────────────────

/** The last replay the page ran (for the share view's note), or the last link's error. */
export type ReplayState =
  | { readonly status: 'running'; readonly replay: Replay; readonly sent: number }
  | { readonly status: 'done'; readonly replay: Replay; readonly result: ReplayResult }
  | { readonly status: 'failed'; readonly error: ReplayLinkError | Error };

let state: ReplayState | undefined;
const stateListeners = new Set<(state: ReplayState) => void>();

/** The page's replay so far, if a link started one. */
export function replayState(): ReplayState | undefined {
  return state;
}

/** Hear about the page's replay (started, progress, finished, failed); returns the unsubscribe function. */
export function onReplayState(listener: (state: ReplayState) => void): () => void {
  stateListeners.add(listener);
  return () => stateListeners.delete(listener);
}

function setState(next: ReplayState): void {
  state = next;
  // For tests and styles: `body[data-replay]` is running, done or failed.
  if (typeof document !== 'undefined') document.body.dataset.replay = next.status;
  for (const listener of stateListeners) {
    try {
      listener(next);
    } catch (error) {
      console.error(error);
    }
  }
}

/** The message for a link's error, in the current language. */
export function describeReplayError(error: unknown): string {
  if (error instanceof ReplayLinkError && error.code === 'busy') return t('share.replay.failed', { reason: t('share.errors.busy') });
  if (error instanceof ReplayLinkError) return t('share.replay.invalid', { reason: t(`share.errors.${error.code}`, error.params) });
  return t('share.replay.failed', { reason: error instanceof Error ? error.message : String(error) });
}

let listening = false;

/**
 * If the page's address has a `#replay=` fragment, replay it (see runReplay) and say so in the status line;
 * a malformed link is explained there and nothing else changes. Resolves true when a replay ran. Also
 * replays a link pasted into the address bar later (a fragment change does not reload the page).
 */
export async function startReplayFromLocation(app: App): Promise<boolean> {
  if (!listening) {
    listening = true;
    // A link pasted later: replayed unless it is the one handled last (going back to it from #transcript
    // must not replace the session the learner has now).
    window.addEventListener('hashchange', () => {
      const value = replayValueOf(location.hash);
      if (value !== undefined && value !== lastHandled && state?.status !== 'running') void replayHash(app, location.hash);
    });
  }
  return replayHash(app, location.hash);
}

let lastHandled: string | undefined;

async function replayHash(app: App, hash: string): Promise<boolean> {
  const value = replayValueOf(hash);
  if (value === undefined) return false;
  lastHandled = value;
  let replay: Replay;
  try {
    replay = decodeReplay(value);
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    setState({ status: 'failed', error: failure });
    announce(describeReplayError(failure), 'error');
    return false;
  }
  setState({ status: 'running', replay, sent: 0 });
  announce(t('share.replay.started', { count: replay.commands.length }));
  try {
    const result = await runReplay(app, replay, (sent) => setState({ status: 'running', replay, sent }));
    setState({ status: 'done', replay, result });
    const params = { sent: result.sent, count: replay.commands.length, ok: result.ok };
    announce(result.complete ? t('share.replay.done', params) : t(`share.replay.stopped.${result.stopped ?? 'closed'}`, params));
    return true;
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    setState({ status: 'failed', error: failure });
    announce(describeReplayError(failure), 'error');
    return false;
  }
}
