/**
 * The command palette's logic, free of the DOM so it can be tested: which commands it offers, the fields
 * each takes, which can be sent now (and why not), and turning what was typed into a DemoCommand.
 *
 * Whether a command may be sent comes from the engine (`refusalOf`, the state table of
 * core/session-state.ts); the palette adds what only the page knows (AUTH needs a mechanism that CAPA
 * advertised and the page implements; APOP needs a timestamp in the greeting). In pipeline mode the commands
 * collected but not yet sent count too: after a collected USER, PASS is possible.
 */
import type { Capabilities } from '../../core/capabilities.js';
import type { SessionState } from '../../core/client-engine.js';
import type { Verb } from '../../core/commands.js';
import { afterSuccess, isBarrier, type Projection, refusal } from '../../core/session-state.js';
import { type DemoCommand, PAGE_SASL_MECHANISMS, type PageSaslMechanism } from './session.js';

/** The verbs the palette offers (STLS is not one: a page cannot do TLS, see the connect panel). */
export type PaletteVerb = Exclude<Verb, 'STLS'>;

export type FieldName = 'name' | 'password' | 'mechanism' | 'message' | 'lines' | 'tag' | 'line' | 'multiline';

export interface FieldSpec {
  readonly name: FieldName;
  readonly kind: 'text' | 'password' | 'number' | 'select' | 'checkbox';
  readonly required: boolean;
  /** Smallest number allowed (number fields). */
  readonly min?: number;
}

/** Where a command is explained in the RFCs. */
export interface RfcRef {
  readonly rfc: number;
  readonly section: string;
}

export interface CommandSpec {
  readonly verb: PaletteVerb;
  readonly group: 'login' | 'mailbox' | 'session' | 'experiment';
  readonly rfc: RfcRef;
  readonly fields: readonly FieldSpec[];
}

const name: FieldSpec = { name: 'name', kind: 'text', required: true };
const password: FieldSpec = { name: 'password', kind: 'password', required: true };
const message: FieldSpec = { name: 'message', kind: 'number', required: true, min: 1 };
const optionalMessage: FieldSpec = { name: 'message', kind: 'number', required: false, min: 1 };

/** Every command of the palette, in the order shown. */
export const PALETTE: readonly CommandSpec[] = [
  { verb: 'CAPA', group: 'session', rfc: { rfc: 2449, section: '5' }, fields: [] },
  { verb: 'USER', group: 'login', rfc: { rfc: 1939, section: '7' }, fields: [name] },
  { verb: 'PASS', group: 'login', rfc: { rfc: 1939, section: '7' }, fields: [password] },
  { verb: 'APOP', group: 'login', rfc: { rfc: 1939, section: '7' }, fields: [name, password] },
  { verb: 'AUTH', group: 'login', rfc: { rfc: 5034, section: '4' }, fields: [{ name: 'mechanism', kind: 'select', required: true }, name, password] },
  { verb: 'UTF8', group: 'login', rfc: { rfc: 6856, section: '2' }, fields: [] },
  { verb: 'STAT', group: 'mailbox', rfc: { rfc: 1939, section: '5' }, fields: [] },
  { verb: 'LIST', group: 'mailbox', rfc: { rfc: 1939, section: '5' }, fields: [optionalMessage] },
  { verb: 'UIDL', group: 'mailbox', rfc: { rfc: 1939, section: '7' }, fields: [optionalMessage] },
  { verb: 'RETR', group: 'mailbox', rfc: { rfc: 1939, section: '5' }, fields: [message] },
  { verb: 'TOP', group: 'mailbox', rfc: { rfc: 1939, section: '7' }, fields: [message, { name: 'lines', kind: 'number', required: true, min: 0 }] },
  { verb: 'DELE', group: 'mailbox', rfc: { rfc: 1939, section: '5' }, fields: [message] },
  { verb: 'RSET', group: 'mailbox', rfc: { rfc: 1939, section: '5' }, fields: [] },
  { verb: 'NOOP', group: 'mailbox', rfc: { rfc: 1939, section: '5' }, fields: [] },
  { verb: 'LANG', group: 'session', rfc: { rfc: 6856, section: '3' }, fields: [{ name: 'tag', kind: 'text', required: false }] },
  { verb: 'QUIT', group: 'session', rfc: { rfc: 1939, section: '6' }, fields: [] },
  { verb: 'RAW', group: 'experiment', rfc: { rfc: 1939, section: '3' }, fields: [{ name: 'line', kind: 'text', required: true }, { name: 'multiline', kind: 'checkbox', required: false }] },
];

/** A text of the page: a key of the `palette` strings and its parameters, or a text from the engine as it is. */
export type Message = { readonly key: string; readonly params?: Readonly<Record<string, string | number>> } | { readonly text: string };

/** What the palette needs of the client engine (the real one, or a stand-in in tests). */
export interface EngineView {
  readonly state: SessionState;
  readonly tls: boolean;
  readonly capabilities: Capabilities | undefined;
  readonly greeting: { readonly timestamp: string | undefined } | undefined;
  refusalOf(verb: Verb): string | undefined;
}

export type Availability =
  | { readonly available: true; readonly verb: PaletteVerb; readonly notes: readonly Message[] }
  | { readonly available: false; readonly verb: PaletteVerb; readonly reason: Message };

/**
 * What the engine will assume once everything queued has succeeded, read back from its answers to
 * `refusalOf` (its projection is private). Undefined when nothing can be sent any more.
 */
export function projectionOf(engine: EngineView): Projection | undefined {
  if (engine.state === 'closed' || engine.state === 'failed' || engine.state === 'connecting') return undefined;
  if (engine.refusalOf('QUIT') !== undefined && engine.refusalOf('CAPA') !== undefined) return { state: 'closed', userGiven: false, tls: engine.tls };
  const transaction = engine.refusalOf('STAT') === undefined;
  return { state: transaction ? 'transaction' : 'authorization', userGiven: !transaction && engine.refusalOf('PASS') === undefined, tls: engine.tls };
}

/** The projection after the collected (not yet sent) commands, assuming each succeeds. */
export function projectAfter(projection: Projection, verbs: readonly Verb[]): Projection {
  return verbs.reduce((current, verb) => afterSuccess(verb, current), projection);
}

/** Why the state table refuses `verb` after `projection`, in the page's words; undefined when it does not. */
export function refusalMessage(verb: Verb, projection: Projection): Message | undefined {
  const why = refusal(verb, projection);
  if (why === undefined) return undefined;
  if (projection.state === 'closed') return { key: 'palette.reasons.afterQuit' };
  if (refusal(verb, { state: projection.state, userGiven: true, tls: false }) !== undefined) {
    return { key: projection.state === 'authorization' ? 'palette.reasons.needsTransaction' : 'palette.reasons.needsAuthorization' };
  }
  if (verb === 'PASS') return { key: 'palette.reasons.passNeedsUser' };
  return { text: why };
}

/** The SASL mechanisms AUTH may offer: those CAPA advertised that the page implements, in the server's order. */
export function saslChoices(capabilities: Capabilities | undefined): PageSaslMechanism[] {
  if (capabilities === undefined) return [];
  return capabilities.sasl.filter((mechanism): mechanism is PageSaslMechanism => (PAGE_SASL_MECHANISMS as readonly string[]).includes(mechanism));
}

/**
 * Which palette commands can be sent now. `engine` undefined means no session; `collected` are the verbs of
 * the commands waiting in pipeline mode (they will be queued before the next one).
 */
export function availability(engine: EngineView | undefined, collected: readonly Verb[] = []): Availability[] {
  return PALETTE.map((spec) => availabilityOf(spec.verb, engine, collected));
}

export function availabilityOf(verb: PaletteVerb, engine: EngineView | undefined, collected: readonly Verb[] = []): Availability {
  const refused = (reason: Message): Availability => ({ available: false, verb, reason });
  if (engine === undefined) return refused({ key: 'palette.reasons.noSession' });
  if (engine.state === 'connecting') return refused({ key: 'palette.reasons.connecting' });
  if (engine.state === 'closed' || engine.state === 'failed') return refused({ key: 'palette.reasons.closed' });
  const projection = projectionOf(engine);
  if (collected.length === 0) {
    const why = engine.refusalOf(verb);
    if (why !== undefined) return refused((projection && refusalMessage(verb, projection)) ?? { text: why });
  } else {
    if (projection === undefined) return refused({ key: 'palette.reasons.closed' });
    const why = refusalMessage(verb, projectAfter(projection, collected));
    if (why !== undefined) return refused(why);
  }
  const caps = engine.capabilities;
  if (verb === 'AUTH') {
    if (caps === undefined) return refused({ key: 'palette.reasons.authNeedsCapa' });
    if (saslChoices(caps).length === 0) return refused({ key: 'palette.reasons.authNoMechanism', params: { mechanisms: caps.sasl.join(' ') || '-' } });
  }
  if (verb === 'APOP' && engine.greeting?.timestamp === undefined) return refused({ key: 'palette.reasons.apopNoTimestamp' });
  return { available: true, verb, notes: notesFor(verb, caps) };
}

/** Warnings for a command the server did not advertise (it may still work: the server's answer will tell). */
function notesFor(verb: PaletteVerb, caps: Capabilities | undefined): Message[] {
  if (caps === undefined) return [];
  const missing =
    (verb === 'TOP' && !caps.top) ||
    (verb === 'UIDL' && !caps.uidl) ||
    (verb === 'UTF8' && caps.utf8 === undefined) ||
    (verb === 'LANG' && !caps.lang) ||
    // USER is only listed before login (RFC 2449 section 6.2): asked after it, its absence means nothing.
    (verb === 'USER' && caps.state === 'authorization' && !caps.user);
  return missing ? [{ key: 'palette.notes.notAdvertised', params: { tag: verb } }] : [];
}

/** What was typed into a command's fields. */
export type FieldValues = Partial<Readonly<Record<FieldName, string | boolean>>>;

export type Built = { readonly ok: true; readonly command: DemoCommand } | { readonly ok: false; readonly problem: Message };

/** Turn the fields of a command's form into the command, or say what is wrong with them. */
export function buildCommand(verb: PaletteVerb, values: FieldValues, mechanisms: readonly string[] = PAGE_SASL_MECHANISMS): Built {
  const text = (field: FieldName): string => {
    const value = values[field];
    return typeof value === 'string' ? value : '';
  };
  const problem = (key: string, params?: Record<string, string | number>): Built => ({ ok: false, problem: params ? { key, params } : { key } });
  const number = (field: 'message' | 'lines', required: boolean): number | undefined | Built => {
    const raw = text(field).trim();
    if (raw === '') return required ? problem(field === 'message' ? 'palette.problems.needMessage' : 'palette.problems.needLines') : undefined;
    const ok = field === 'message' ? /^[1-9]\d{0,8}$/.test(raw) : /^\d{1,9}$/.test(raw);
    if (!ok) return problem(field === 'message' ? 'palette.problems.badMessage' : 'palette.problems.badLines', { value: raw });
    return Number(raw);
  };
  const isProblem = (value: unknown): value is Built => typeof value === 'object' && value !== null && 'ok' in value;
  const done = (command: DemoCommand): Built => ({ ok: true, command });
  const userName = text('name').trim();
  const secret = text('password');

  switch (verb) {
    case 'USER':
      return userName === '' ? problem('palette.problems.needName') : done({ verb, name: userName });
    case 'PASS':
      return secret === '' ? problem('palette.problems.needPassword') : done({ verb, password: secret });
    case 'APOP':
      if (userName === '') return problem('palette.problems.needName');
      return secret === '' ? problem('palette.problems.needPassword') : done({ verb, name: userName, password: secret });
    case 'AUTH': {
      const mechanism = text('mechanism');
      if (!mechanisms.includes(mechanism) || !(PAGE_SASL_MECHANISMS as readonly string[]).includes(mechanism)) return problem('palette.problems.needMechanism');
      if (userName === '') return problem('palette.problems.needName');
      if (secret === '') return problem('palette.problems.needPassword');
      return done({ verb, mechanism: mechanism as PageSaslMechanism, name: userName, password: secret });
    }
    case 'LIST':
    case 'UIDL': {
      const n = number('message', false);
      if (isProblem(n)) return n;
      return done(n === undefined ? { verb } : { verb, message: n });
    }
    case 'RETR':
    case 'DELE': {
      const n = number('message', true);
      if (isProblem(n)) return n;
      return done({ verb, message: n! });
    }
    case 'TOP': {
      const n = number('message', true);
      if (isProblem(n)) return n;
      const lines = number('lines', true);
      if (isProblem(lines)) return lines;
      return done({ verb, message: n!, lines: lines! });
    }
    case 'LANG': {
      const tag = text('tag').trim();
      return done(tag === '' ? { verb } : { verb, tag });
    }
    case 'RAW': {
      const line = text('line');
      if (line.trim() === '') return problem('palette.problems.needLine');
      return done({ verb, line, multiline: values.multiline === true });
    }
    case 'STAT':
    case 'NOOP':
    case 'RSET':
    case 'QUIT':
    case 'CAPA':
    case 'UTF8':
      return done({ verb });
  }
}

/** Commands after which the engine sends nothing more until their reply is in (core/session-state.ts). */
export const BARRIER_VERBS: readonly PaletteVerb[] = PALETTE.map((spec) => spec.verb).filter(isBarrier);
