/**
 * What a transcript line means, as data: which strings explain it (keys of the `explain`, `codes` and
 * `session` strings, with their parameters), which RFC sections specify it, and how its wire bytes are framed.
 * Pure: no DOM, no current language. The explain panel (explain-view.ts) turns an Explanation into text with
 * `t()`, so this file can be tested on its own, and a test checks that every key it can return exists in both
 * languages.
 *
 * How a line is explained:
 * - client lines by their verb (the command's own section), with what its arguments ask for;
 * - server status lines by the verb they answer (+OK and -ERR differ), with the response code explained;
 * - listing lines by their command: LIST and UIDL entries, each CAPA tag, LANG entries, the terminating `.`;
 * - SASL challenges and responses by the mechanism of the AUTH they belong to;
 * - bodies by their size, dot-stuffing and terminator;
 * - the page's own notes (connected, refused locally, dropped, closed, lost) by their key.
 */
import { apopTimestamp } from '../../core/apop.js';
import type { Verb } from '../../core/commands.js';
import type { TranscriptEntry } from './session.js';

/** A string to show: a key of the page's strings and its parameters. */
export interface Message {
  readonly key: string;
  readonly params?: Readonly<Record<string, string | number>>;
}

/** An RFC, and the section that says it (e.g. `{ rfc: 1939, section: '7' }`). */
export interface RfcRef {
  readonly rfc: number;
  readonly section?: string;
}

/** A word of the line explained on its own: a CAPA tag's argument, a SASL mechanism. */
export interface Term {
  readonly term: string;
  readonly text: Message;
  readonly rfc?: RfcRef;
}

/** How the wire bytes are to be read (see wire-bytes.ts). */
export type Framing = 'line' | 'listing' | 'body';

export interface Explanation {
  /** What the line is, e.g. "The RETR command". */
  readonly title: Message;
  /** What it means, in order. */
  readonly paragraphs: readonly Message[];
  /** Words of the line explained one by one (may be empty). */
  readonly terms: readonly Term[];
  /** Where it is specified, most specific first, without duplicates. */
  readonly rfcs: readonly RfcRef[];
  /** Why the wire bytes are not shown (the line carries a secret, or is a note of the page); else undefined. */
  readonly noWire: Message | undefined;
  readonly framing: Framing;
  /** For replies: the index of the command line they answer, when it is in the transcript. */
  readonly answers: number | undefined;
}

/** What else explaining a line may look at: the transcript it is part of (for the command a reply answers). */
export interface ExplainContext {
  readonly entries?: readonly TranscriptEntry[];
}

/** The link to an RFC section at the RFC Editor. */
export function rfcUrl(ref: RfcRef): string {
  return `https://www.rfc-editor.org/rfc/rfc${ref.rfc}${ref.section === undefined ? '' : `#section-${ref.section}`}`;
}

/** The label of an RFC link, e.g. "RFC 1939, section 7". */
export function rfcLabel(ref: RfcRef): Message {
  return ref.section === undefined
    ? { key: 'explain.rfc.whole', params: { rfc: ref.rfc } }
    : { key: 'explain.rfc.section', params: { rfc: ref.rfc, section: ref.section } };
}

// ─── Reference tables ────────────────────────────────────────────────────────────────────────────────────

const rfc = (number: number, section?: string): RfcRef => (section === undefined ? { rfc: number } : { rfc: number, section });

/** RFC 1939 section 3: commands, status indicators, multi-line responses and byte-stuffing. */
const BASICS = rfc(1939, '3');
const PIPELINING = rfc(2449, '6.6');

/** Every verb the engine sends, and where it is specified. QUIT depends on the state (see below). */
export const VERB_RFC: Readonly<Record<Verb, RfcRef>> = {
  USER: rfc(1939, '7'),
  PASS: rfc(1939, '7'),
  APOP: rfc(1939, '7'),
  AUTH: rfc(5034, '4'),
  STAT: rfc(1939, '5'),
  LIST: rfc(1939, '5'),
  RETR: rfc(1939, '5'),
  DELE: rfc(1939, '5'),
  NOOP: rfc(1939, '5'),
  RSET: rfc(1939, '5'),
  QUIT: rfc(1939, '6'),
  TOP: rfc(1939, '7'),
  UIDL: rfc(1939, '7'),
  CAPA: rfc(2449, '5'),
  STLS: rfc(2595, '4'),
  UTF8: rfc(6856, '2'),
  LANG: rfc(6856, '3'),
  RAW: rfc(2449, '3'),
};

export const VERBS = Object.keys(VERB_RFC) as readonly Verb[];

/** The capability tags of RFC 2449 and its successors, and where each is defined. */
export const CAPA_TAGS: Readonly<Record<string, RfcRef>> = {
  TOP: rfc(2449, '6.1'),
  USER: rfc(2449, '6.2'),
  SASL: rfc(2449, '6.3'),
  'RESP-CODES': rfc(2449, '6.4'),
  'LOGIN-DELAY': rfc(2449, '6.5'),
  PIPELINING: rfc(2449, '6.6'),
  EXPIRE: rfc(2449, '6.7'),
  UIDL: rfc(2449, '6.8'),
  IMPLEMENTATION: rfc(2449, '6.9'),
  STLS: rfc(2595, '4'),
  'AUTH-RESP-CODE': rfc(3206, '5'),
  UTF8: rfc(6856, '2'),
  LANG: rfc(6856, '3'),
};

/** SASL mechanisms the page can explain; LOGIN and XOAUTH2 were never RFCs. */
export const MECHANISMS: Readonly<Record<string, RfcRef | undefined>> = {
  PLAIN: rfc(4616, '2'),
  LOGIN: undefined,
  'CRAM-MD5': rfc(2195),
  'SCRAM-SHA-1': rfc(5802),
  'SCRAM-SHA-256': rfc(7677),
  OAUTHBEARER: rfc(7628),
  XOAUTH2: undefined,
  EXTERNAL: rfc(4422, 'A'),
  GSSAPI: rfc(4752),
  'DIGEST-MD5': rfc(6331),
  ANONYMOUS: rfc(4505),
  NTLM: undefined,
};

/** Key-safe names of the response codes the page knows, most specific first. */
const RESPONSE_CODES: readonly { readonly code: string; readonly id: string; readonly rfc: RfcRef }[] = [
  { code: 'SYS/TEMP', id: 'sysTemp', rfc: rfc(3206, '4') },
  { code: 'SYS/PERM', id: 'sysPerm', rfc: rfc(3206, '4') },
  { code: 'SYS', id: 'sys', rfc: rfc(3206, '4') },
  { code: 'IN-USE', id: 'inUse', rfc: rfc(2449, '8.1.2') },
  { code: 'LOGIN-DELAY', id: 'loginDelay', rfc: rfc(2449, '8.1.1') },
  { code: 'AUTH', id: 'auth', rfc: rfc(3206, '5') },
  { code: 'UTF8', id: 'utf8', rfc: rfc(6856, '5') },
];

/** The ids of the `codes` strings: one per known code, and `unknown`. */
export const RESPONSE_CODE_IDS = [...RESPONSE_CODES.map((known) => known.id), 'unknown'] as const;

/** What the page knows of a response code (RFC 2449 section 8: hierarchical, levels separated by `/`). */
export interface ResponseCodeInfo {
  /** The code as the server sent it, upper case. */
  readonly code: string;
  /** Key of the `codes` strings: `sysTemp`, `inUse`, ... or `unknown`. */
  readonly id: string;
  /** The longest known prefix (`SYS/TEMP` of `SYS/TEMP/DISK`); undefined when unknown. */
  readonly known: string | undefined;
  /** What follows the known prefix (`DISK`), or '' when the whole code is known. */
  readonly rest: string;
  readonly rfc: RfcRef;
}

export function responseCodeInfo(code: string): ResponseCodeInfo {
  const upper = code.trim().toUpperCase();
  const levels = upper.split('/');
  for (let length = levels.length; length > 0; length--) {
    const prefix = levels.slice(0, length).join('/');
    const known = RESPONSE_CODES.find((entry) => entry.code === prefix);
    if (known) return { code: upper, id: known.id, known: known.code, rest: levels.slice(length).join('/'), rfc: known.rfc };
  }
  return { code: upper, id: 'unknown', known: undefined, rest: '', rfc: rfc(2449, '8') };
}

/** The paragraphs explaining a response code: what it means, and for a refined code which part is known. */
export function responseCodeMessages(code: string): Message[] {
  const info = responseCodeInfo(code);
  const messages: Message[] = [{ key: `codes.${info.id}.text`, params: { code: info.code } }];
  if (info.rest !== '') messages.push({ key: 'codes.refined', params: { code: info.code, known: info.known!, rest: info.rest } });
  return messages;
}

// ─── Explaining a line ───────────────────────────────────────────────────────────────────────────────────

/** Explain one transcript entry. */
export function explainEntry(entry: TranscriptEntry, context: ExplainContext = {}): Explanation {
  switch (entry.from) {
    case 'local':
      return explainNote(entry);
    case 'client':
      return entry.kind === 'sasl-response' ? explainSaslResponse(entry, context) : explainCommand(entry, context);
    case 'server':
      switch (entry.kind) {
        case 'greeting':
          return explainGreeting(entry);
        case 'challenge':
          return explainChallenge(entry, context);
        case 'body':
          return explainBody(entry, context);
        case 'listing':
          return explainListing(entry, context);
        default:
          return explainStatus(entry, context);
      }
  }
}

/** A builder for one explanation, so each kind of line reads as a list of what it says. */
class Builder {
  readonly paragraphs: Message[] = [];
  readonly terms: Term[] = [];
  readonly rfcs: RfcRef[] = [];
  noWire: Message | undefined;
  answers: number | undefined;

  constructor(
    public title: Message,
    readonly framing: Framing = 'line',
  ) {}

  say(key: string, params?: Readonly<Record<string, string | number>>): this {
    this.paragraphs.push(params === undefined ? { key } : { key, params });
    return this;
  }

  cite(...refs: (RfcRef | undefined)[]): this {
    for (const ref of refs) {
      if (ref !== undefined && !this.rfcs.some((known) => known.rfc === ref.rfc && known.section === ref.section)) this.rfcs.push(ref);
    }
    return this;
  }

  build(): Explanation {
    return {
      title: this.title,
      paragraphs: this.paragraphs,
      terms: this.terms,
      rfcs: this.rfcs,
      noWire: this.noWire,
      framing: this.framing,
      answers: this.answers,
    };
  }
}

/** The page's notes: connected, refused locally, dropped, closed, lost. */
export const NOTE_KEYS = ['connected', 'refused-locally', 'dropped', 'closed', 'lost'] as const;

function explainNote(entry: TranscriptEntry): Explanation {
  const note = entry.note ?? { key: entry.text };
  const known = (NOTE_KEYS as readonly string[]).includes(note.key);
  const title: Message = known ? { key: `session.${note.key}`, params: note.params ?? {} } : { key: 'explain.notes.unknownTitle' };
  const builder = new Builder(title);
  builder.noWire = { key: 'explain.noWire.note' };
  if (!known) return builder.say('explain.notes.unknown').build();
  const where = note.params?.where;
  switch (note.key) {
    case 'connected':
      builder.say(where === 'offline' ? 'explain.notes.connected.offline' : 'explain.notes.connected.proxy', where === undefined ? {} : { where });
      builder.say('explain.notes.connected.next').cite(BASICS);
      break;
    case 'refused-locally':
      builder.say('explain.notes.refused-locally', note.params ?? {});
      break;
    case 'dropped':
      builder.say('explain.notes.dropped').cite(rfc(1939, '6'));
      break;
    case 'closed':
      builder.say('explain.notes.closed').cite(rfc(1939, '6'));
      break;
    case 'lost':
      builder.say('explain.notes.lost', note.params ?? {}).cite(rfc(1939, '6'));
      break;
  }
  return builder.build();
}

/** The words of a line. */
function words(text: string): string[] {
  return text.trim().split(/[ \t]+/).filter((word) => word !== '');
}

/** The command line a reply belongs to (same handle), when the transcript has it. */
function commandOf(entry: TranscriptEntry, context: ExplainContext): TranscriptEntry | undefined {
  if (entry.handle === undefined) return undefined;
  return context.entries?.find((other) => other.from === 'client' && other.kind === 'command' && other.handle === entry.handle);
}

/** The verb as the learner knows it: for a raw line, its first word. */
function shownVerb(entry: TranscriptEntry, command: TranscriptEntry | undefined): string {
  if (entry.verb === 'RAW') return (words((command ?? entry).text)[0] ?? 'RAW').toUpperCase();
  return entry.verb ?? '?';
}

/** Whether the session had logged in before this entry (QUIT then enters UPDATE). */
function loggedInBefore(entry: TranscriptEntry, context: ExplainContext): boolean {
  const entries = context.entries ?? [];
  return entries.some(
    (other) =>
      other.index < entry.index &&
      other.from === 'server' &&
      other.kind === 'status' &&
      other.ok === true &&
      (other.verb === 'PASS' || other.verb === 'APOP' || other.verb === 'AUTH'),
  );
}

const isMessageNumber = (word: string | undefined): word is string => word !== undefined && /^\d+$/.test(word);

function explainCommand(entry: TranscriptEntry, context: ExplainContext): Explanation {
  const verb: Verb = entry.verb ?? 'RAW';
  const args = words(entry.text).slice(1);
  const shown = shownVerb(entry, entry);
  const builder = new Builder({ key: 'explain.titles.command', params: { verb: shown } });
  builder.say(`explain.commands.${verb}.text`);
  switch (verb) {
    case 'USER':
      if (args[0] !== undefined) builder.say('explain.commands.USER.detail', { name: args.join(' ') });
      break;
    case 'APOP':
      if (args[0] !== undefined) builder.say('explain.commands.APOP.detail', { name: args[0] });
      break;
    case 'AUTH': {
      const mechanism = (args[0] ?? '').toUpperCase();
      if (mechanism !== '') {
        builder.say('explain.commands.AUTH.detail', { mechanism });
        explainMechanism(builder, mechanism);
      }
      if (args.length > 1) builder.say('explain.commands.AUTH.initial');
      break;
    }
    case 'LIST':
    case 'UIDL':
      builder.say(isMessageNumber(args[0]) ? `explain.commands.${verb}.one` : `explain.commands.${verb}.all`, { message: args[0] ?? '' });
      break;
    case 'RETR':
    case 'DELE':
      if (isMessageNumber(args[0])) builder.say(`explain.commands.${verb}.detail`, { message: args[0] });
      break;
    case 'TOP':
      if (isMessageNumber(args[0]) && isMessageNumber(args[1])) builder.say('explain.commands.TOP.detail', { message: args[0], lines: args[1] });
      break;
    case 'LANG':
      builder.say(args[0] === undefined ? 'explain.commands.LANG.list' : args[0] === '*' ? 'explain.commands.LANG.default' : 'explain.commands.LANG.select', {
        tag: args[0] ?? '',
      });
      break;
    case 'QUIT':
      builder.say(loggedInBefore(entry, context) ? 'explain.commands.QUIT.update' : 'explain.commands.QUIT.authorization');
      break;
    case 'RAW': {
      builder.say('explain.commands.RAW.detail', { line: entry.text });
      const known = VERBS.find((candidate) => candidate === shown && candidate !== 'RAW');
      if (known) builder.say('explain.commands.RAW.known', { verb: known }).say(`explain.commands.${known}.text`).cite(VERB_RFC[known]);
      else builder.say('explain.commands.RAW.unknown', { verb: shown });
      break;
    }
  }
  builder.cite(verb === 'QUIT' && !loggedInBefore(entry, context) ? rfc(1939, '4') : VERB_RFC[verb], BASICS);
  if (verb === 'AUTH') builder.cite(MECHANISMS[(args[0] ?? '').toUpperCase()]);
  if (entry.inFlight !== undefined && entry.inFlight > 1) {
    builder.say('explain.pipelined', { n: entry.inFlight, before: entry.inFlight - 1 }).cite(PIPELINING);
  }
  if (entry.wire === undefined) {
    builder.noWire = {
      key: verb === 'PASS' ? 'explain.noWire.password' : verb === 'APOP' ? 'explain.noWire.apop' : verb === 'AUTH' ? 'explain.noWire.sasl' : 'explain.noWire.redacted',
    };
  }
  return builder.build();
}

function explainMechanism(builder: Builder, mechanism: string): void {
  if (Object.hasOwn(MECHANISMS, mechanism)) {
    builder.terms.push({ term: mechanism, text: { key: `explain.mechanisms.${mechanism}.text` }, ...(MECHANISMS[mechanism] ? { rfc: MECHANISMS[mechanism] } : {}) });
  } else {
    builder.terms.push({ term: mechanism, text: { key: 'explain.mechanisms.unknown', params: { mechanism } } });
  }
}

/** The mechanism of the AUTH command an exchange line belongs to. */
function mechanismOf(entry: TranscriptEntry, context: ExplainContext): string | undefined {
  const command = commandOf(entry, context);
  const mechanism = command === undefined ? undefined : words(command.text)[1]?.toUpperCase();
  return mechanism;
}

/** Which challenge (or response) of its exchange a line is, from 1. */
function stepOf(entry: TranscriptEntry, context: ExplainContext): number {
  const entries = context.entries ?? [];
  return entries.filter((other) => other.handle === entry.handle && other.kind === entry.kind && other.index <= entry.index).length || 1;
}

function explainChallenge(entry: TranscriptEntry, context: ExplainContext): Explanation {
  const mechanism = mechanismOf(entry, context);
  const builder = new Builder({ key: 'explain.titles.challenge', params: { mechanism: mechanism ?? 'SASL' } });
  builder.say('explain.challenge.text', { n: stepOf(entry, context) });
  if (mechanism !== undefined && Object.hasOwn(MECHANISMS, mechanism)) builder.say(`explain.mechanisms.${mechanism}.challenge`);
  builder.cite(rfc(5034, '4'), mechanism === undefined ? undefined : MECHANISMS[mechanism]);
  builder.noWire = { key: 'explain.noWire.sasl' };
  builder.answers = commandOf(entry, context)?.index;
  return builder.build();
}

function explainSaslResponse(entry: TranscriptEntry, context: ExplainContext): Explanation {
  const mechanism = mechanismOf(entry, context);
  const builder = new Builder({ key: 'explain.titles.saslResponse', params: { mechanism: mechanism ?? 'SASL' } });
  builder.say('explain.saslResponse.text', { n: stepOf(entry, context) });
  if (mechanism !== undefined && Object.hasOwn(MECHANISMS, mechanism)) builder.say(`explain.mechanisms.${mechanism}.response`);
  builder.cite(rfc(5034, '4'), mechanism === undefined ? undefined : MECHANISMS[mechanism]);
  if (entry.wire === undefined) builder.noWire = { key: 'explain.noWire.sasl' };
  builder.answers = commandOf(entry, context)?.index;
  return builder.build();
}

function explainGreeting(entry: TranscriptEntry): Explanation {
  const ok = entry.ok !== false;
  const builder = new Builder({ key: ok ? 'explain.titles.greeting' : 'explain.titles.greetingErr' });
  builder.say(ok ? 'explain.greeting.ok' : 'explain.greeting.err').cite(rfc(1939, '4'), BASICS);
  if (ok) {
    const timestamp = apopTimestamp(entry.text);
    if (timestamp !== undefined) builder.say('explain.greeting.apop', { timestamp }).cite(rfc(1939, '7'));
    else builder.say('explain.greeting.noApop');
  }
  if (entry.code !== undefined) explainCode(builder, entry.code);
  return builder.build();
}

function explainCode(builder: Builder, code: string): void {
  builder.paragraphs.push(...responseCodeMessages(code));
  builder.cite(responseCodeInfo(code).rfc);
}

/** Which verbs (with or without an argument) are answered by a multi-line listing or body. */
function followedBy(verb: string, args: readonly string[]): 'listing' | 'body' | undefined {
  switch (verb) {
    case 'LIST':
    case 'UIDL':
    case 'LANG':
      return args.length === 0 ? 'listing' : undefined;
    case 'CAPA':
      return 'listing';
    case 'RETR':
    case 'TOP':
      return 'body';
    default:
      return undefined;
  }
}

function explainStatus(entry: TranscriptEntry, context: ExplainContext): Explanation {
  const command = commandOf(entry, context);
  const verb: Verb = entry.verb ?? 'RAW';
  const shown = shownVerb(entry, command);
  const ok = entry.ok !== false;
  const builder = new Builder({ key: ok ? 'explain.titles.ok' : 'explain.titles.err', params: { verb: shown } });
  builder.answers = command?.index;
  builder.say(ok ? 'explain.status.ok' : 'explain.status.err', { verb: shown });
  builder.say(`explain.status.${ok ? 'okBy' : 'errBy'}.${verb}`);
  const args = command === undefined ? [] : words(command.text).slice(1);
  const text = words(entry.text.replace(/^\S+\s*(\[[^\]]*\]\s*)?/, ''));
  if (ok) {
    if (verb === 'STAT' && isMessageNumber(text[0]) && isMessageNumber(text[1])) {
      builder.say('explain.status.detail.stat', { count: text[0], octets: text[1] });
    } else if (verb === 'LIST' && args.length > 0 && isMessageNumber(text[0]) && isMessageNumber(text[1])) {
      builder.say('explain.status.detail.scan', { message: text[0], octets: text[1] });
    } else if (verb === 'UIDL' && args.length > 0 && isMessageNumber(text[0]) && text[1] !== undefined) {
      builder.say('explain.status.detail.uid', { message: text[0], uid: text[1] });
    }
    const follows = entry.verb === 'RAW' ? undefined : followedBy(verb, args);
    if (follows === 'listing') builder.say('explain.status.followsListing');
    if (follows === 'body') builder.say('explain.status.followsBody');
  } else if (verb === 'QUIT') {
    builder.say('explain.status.quitErr').cite(rfc(1939, '6'));
  }
  if (entry.code !== undefined) explainCode(builder, entry.code);
  builder.cite(VERB_RFC[verb], BASICS);
  return builder.build();
}

function explainListing(entry: TranscriptEntry, context: ExplainContext): Explanation {
  const verb: Verb = entry.verb ?? 'RAW';
  const command = commandOf(entry, context);
  if (entry.text === '.') {
    const builder = new Builder({ key: 'explain.titles.terminator' }, 'listing');
    builder.answers = command?.index;
    return builder.say('explain.terminator.text', { verb: shownVerb(entry, command) }).cite(BASICS).build();
  }
  const stuffed = entry.text.startsWith('.');
  const line = stuffed ? entry.text.slice(1) : entry.text;
  const parts = words(line);
  const builder = new Builder({ key: 'explain.titles.listing', params: { verb: shownVerb(entry, command) } }, 'listing');
  builder.answers = command?.index;
  switch (verb) {
    case 'LIST':
      if (isMessageNumber(parts[0]) && isMessageNumber(parts[1])) builder.say('explain.listing.LIST', { message: parts[0], octets: parts[1] });
      else builder.say('explain.listing.other');
      builder.cite(VERB_RFC.LIST);
      break;
    case 'UIDL':
      if (isMessageNumber(parts[0]) && parts[1] !== undefined) builder.say('explain.listing.UIDL', { message: parts[0], uid: parts[1] });
      else builder.say('explain.listing.other');
      builder.cite(VERB_RFC.UIDL);
      break;
    case 'LANG':
      builder.say('explain.listing.LANG', { tag: parts[0] ?? '', description: parts.slice(1).join(' ') }).cite(VERB_RFC.LANG);
      break;
    case 'CAPA':
      explainCapability(builder, parts);
      break;
    default:
      builder.say('explain.listing.other');
  }
  if (stuffed) builder.say('explain.listing.stuffed');
  builder.cite(BASICS);
  return builder.build();
}

function explainCapability(builder: Builder, parts: readonly string[]): void {
  const tag = (parts[0] ?? '').toUpperCase();
  const args = parts.slice(1);
  const known = Object.hasOwn(CAPA_TAGS, tag);
  builder.title = { key: 'explain.titles.capability', params: { tag } };
  builder.say('explain.listing.CAPA').cite(rfc(2449, '5'));
  builder.say(known ? `explain.capa.${tag}` : 'explain.capa.unknown', { tag });
  builder.cite(known ? CAPA_TAGS[tag] : undefined);
  const arg = args[0]?.toUpperCase();
  switch (tag) {
    case 'SASL':
      for (const mechanism of args) explainMechanism(builder, mechanism.toUpperCase());
      builder.cite(rfc(5034, '3'));
      break;
    case 'LOGIN-DELAY':
      if (isMessageNumber(arg)) builder.say('explain.capa.args.loginDelay', { seconds: arg });
      if (args[1]?.toUpperCase() === 'USER') builder.say('explain.capa.args.perUser');
      break;
    case 'EXPIRE':
      if (arg === 'NEVER') builder.say('explain.capa.args.expireNever');
      else if (arg === '0') builder.say('explain.capa.args.expireZero');
      else if (isMessageNumber(arg)) builder.say('explain.capa.args.expireDays', { days: arg });
      if (args[1]?.toUpperCase() === 'USER') builder.say('explain.capa.args.perUser');
      break;
    case 'IMPLEMENTATION':
      if (args.length > 0) builder.say('explain.capa.args.implementation', { name: args.join(' ') });
      break;
    case 'UTF8':
      if (arg === 'USER') builder.say('explain.capa.args.utf8User');
      break;
  }
}

function explainBody(entry: TranscriptEntry, context: ExplainContext): Explanation {
  const command = commandOf(entry, context);
  const args = command === undefined ? [] : words(command.text).slice(1);
  const verb = entry.verb === 'TOP' ? 'TOP' : 'RETR';
  const body = entry.body ?? new Uint8Array(0);
  const facts = bodyFacts(body);
  const builder = new Builder({ key: 'explain.titles.body', params: { verb, message: args[0] ?? '?' } }, 'body');
  builder.answers = command?.index;
  builder.say('explain.body.text', { octets: body.length, lines: facts.lines });
  if (verb === 'TOP') builder.say('explain.body.TOP', { lines: args[1] ?? '?' });
  builder.say(facts.stuffed > 0 ? 'explain.body.stuffed' : 'explain.body.notStuffed', { stuffed: facts.stuffed });
  builder.say('explain.body.terminator');
  if (entry.wire !== undefined) builder.say('explain.body.wire', { wire: entry.wire.length, octets: body.length, stuffed: facts.stuffed });
  if (facts.eightBit > 0) builder.say('explain.body.eightBit', { count: facts.eightBit });
  builder.cite(BASICS, VERB_RFC[verb], rfc(1939, '10'));
  return builder.build();
}

/** Lines, lines that start with a dot (stuffed on the wire) and 8-bit bytes of a body. */
export function bodyFacts(body: Uint8Array): { lines: number; stuffed: number; eightBit: number } {
  let lines = 0;
  let stuffed = 0;
  let eightBit = 0;
  let lineStart = true;
  for (const byte of body) {
    if (lineStart && byte === 0x2e) stuffed++;
    if (byte >= 0x80) eightBit++;
    lineStart = byte === 0x0a;
    if (lineStart) lines++;
  }
  if (body.length > 0 && body[body.length - 1] !== 0x0a) lines++;
  return { lines, stuffed, eightBit };
}
