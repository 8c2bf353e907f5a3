/**
 * What each line of a CAPA answer means (RFC 2449 section 5 and the RFCs that added tags), free of the DOM
 * so it can be tested. Each line becomes an item naming the strings that explain it (keys of the
 * `capabilities` strings, with their parameters) and the RFC section that defines the tag. Values are
 * read with the engine's own parser (core/capabilities.ts), so the page says what the client understood.
 */
import { type Capabilities, parseCapabilities } from '../../core/capabilities.js';
import type { TranscriptEntry } from './session.js';
import { PAGE_SASL_MECHANISMS } from './session.js';

export interface RfcRef {
  readonly rfc: number;
  readonly section: string;
}

export type Params = Readonly<Record<string, string | number>>;

export interface CapabilityItem {
  /** The line as the server sent it. */
  readonly line: string;
  /** The tag, upper case (EXPIRENEVER counts as EXPIRE). */
  readonly tag: string;
  readonly args: readonly string[];
  /** The tag is one the page explains; false for unknown tags and known ones with values it cannot read. */
  readonly known: boolean;
  /** Key of the short title, e.g. `capabilities.tags.PIPELINING.title`; absent for unknown tags (show the tag). */
  readonly titleKey: string | undefined;
  /** Key of the explanation and its parameters. */
  readonly textKey: string;
  readonly params: Params;
  /** Further sentences (keys), e.g. "the value may differ per user". */
  readonly notes: readonly { readonly key: string; readonly params?: Params }[];
  readonly rfc: RfcRef | undefined;
}

/** The tags the page explains and where each is defined. */
export const CAPABILITY_RFCS: Readonly<Record<string, RfcRef>> = {
  TOP: { rfc: 2449, section: '6.1' },
  USER: { rfc: 2449, section: '6.2' },
  SASL: { rfc: 2449, section: '6.3' },
  'RESP-CODES': { rfc: 2449, section: '6.4' },
  'LOGIN-DELAY': { rfc: 2449, section: '6.5' },
  PIPELINING: { rfc: 2449, section: '6.6' },
  EXPIRE: { rfc: 2449, section: '6.7' },
  UIDL: { rfc: 2449, section: '6.8' },
  IMPLEMENTATION: { rfc: 2449, section: '6.9' },
  STLS: { rfc: 2595, section: '4' },
  UTF8: { rfc: 6856, section: '2' },
  LANG: { rfc: 6856, section: '3' },
  'AUTH-RESP-CODE': { rfc: 3206, section: '6' },
};

/** The tags with a plain explanation (no values). */
const SIMPLE = new Set(['TOP', 'USER', 'RESP-CODES', 'PIPELINING', 'UIDL', 'STLS', 'LANG', 'AUTH-RESP-CODE']);

/**
 * The lines of the latest CAPA answer: from the transcript (the listing lines of the last CAPA command, the
 * terminating `.` left out and dot-stuffing undone), else those the engine kept.
 */
export function capaLines(entries: readonly TranscriptEntry[], capabilities: Capabilities | undefined): string[] {
  let handle: number | undefined;
  for (let i = entries.length - 1; i >= 0; i--) {
    const entry = entries[i]!;
    if (entry.from === 'server' && entry.verb === 'CAPA' && entry.kind === 'listing' && entry.handle !== undefined) {
      handle = entry.handle;
      break;
    }
  }
  if (handle !== undefined) {
    const lines = entries
      .filter((entry) => entry.from === 'server' && entry.kind === 'listing' && entry.handle === handle && entry.text !== '.')
      .map((entry) => (entry.text.startsWith('.') ? entry.text.slice(1) : entry.text));
    if (lines.length > 0 || capabilities === undefined) return lines;
  }
  return capabilities ? [...capabilities.lines] : [];
}

/** Explain every non-empty line of a CAPA answer, in order. */
export function describeCapabilities(lines: readonly string[], state: Capabilities['state'] = 'authorization'): CapabilityItem[] {
  return lines.filter((line) => line.trim() !== '').map((line) => describeCapability(line, state));
}

/** Explain one CAPA line. */
export function describeCapability(line: string, state: Capabilities['state'] = 'authorization'): CapabilityItem {
  const words = line.trim().split(/[ \t]+/);
  const sent = words[0]!.toUpperCase();
  const tag = sent === 'EXPIRENEVER' ? 'EXPIRE' : sent;
  const args = words.slice(1);
  const parsed = parseCapabilities([line], state);
  const base = { line, tag, args, rfc: CAPABILITY_RFCS[tag] };
  const known = (textKey: string, params: Params = {}, notes: CapabilityItem['notes'] = []): CapabilityItem => ({
    ...base,
    known: true,
    titleKey: `capabilities.tags.${tag}.title`,
    textKey,
    params,
    notes,
  });

  if (!(tag in CAPABILITY_RFCS)) {
    const experimental = tag.startsWith('X');
    return { ...base, known: false, titleKey: undefined, textKey: experimental ? 'capabilities.unknown.experimental' : 'capabilities.unknown.text', params: { tag }, notes: [] };
  }
  if (parsed.other.length > 0) {
    return { ...base, known: false, titleKey: `capabilities.tags.${tag}.title`, textKey: 'capabilities.unknown.malformed', params: { tag, value: args.join(' ') }, notes: [] };
  }
  const perUser = (value: { perUser: boolean } | undefined) => (value?.perUser ? [{ key: 'capabilities.notes.perUser' }] : []);
  const stateNote = state === 'authorization' ? [{ key: 'capabilities.notes.askAfterLogin' }] : [];

  switch (tag) {
    case 'SASL': {
      const usable = parsed.sasl.filter((mechanism) => (PAGE_SASL_MECHANISMS as readonly string[]).includes(mechanism));
      return known('capabilities.tags.SASL.text', { mechanisms: parsed.sasl.join(', ') }, [
        usable.length > 0 ? { key: 'capabilities.notes.saslUsable', params: { mechanisms: usable.join(', ') } } : { key: 'capabilities.notes.saslNoneUsable' },
      ]);
    }
    case 'LOGIN-DELAY': {
      const delay = parsed.loginDelay!;
      return known('capabilities.tags.LOGIN-DELAY.text', { seconds: delay.value }, delay.perUser ? [...perUser(delay), ...stateNote] : []);
    }
    case 'EXPIRE': {
      const expire = parsed.expire!;
      const notes = expire.perUser ? [...perUser(expire), ...stateNote] : [];
      if (expire.value === 'never') return known('capabilities.tags.EXPIRE.never', {}, notes);
      if (expire.value === 0) return known('capabilities.tags.EXPIRE.zero', {}, notes);
      return known('capabilities.tags.EXPIRE.text', { days: expire.value }, notes);
    }
    case 'IMPLEMENTATION':
      return known('capabilities.tags.IMPLEMENTATION.text', { text: parsed.implementation ?? '' });
    case 'UTF8':
      return known('capabilities.tags.UTF8.text', {}, parsed.utf8?.user ? [{ key: 'capabilities.notes.utf8User' }] : []);
    case 'STLS':
      return known('capabilities.tags.STLS.text', {}, [{ key: 'capabilities.notes.stlsPage' }]);
    default:
      if (SIMPLE.has(tag)) return known(`capabilities.tags.${tag}.text`);
      // Unreachable: every tag of CAPABILITY_RFCS is handled above.
      return known(`capabilities.tags.${tag}.text`);
  }
}

/** Every string key describeCapability can name (for the test that checks the locale files). */
export const CAPABILITY_KEYS: readonly string[] = [
  ...Object.keys(CAPABILITY_RFCS).map((tag) => `capabilities.tags.${tag}.title`),
  ...[...SIMPLE, 'SASL', 'LOGIN-DELAY', 'EXPIRE', 'IMPLEMENTATION', 'UTF8'].map((tag) => `capabilities.tags.${tag}.text`),
  'capabilities.tags.EXPIRE.never',
  'capabilities.tags.EXPIRE.zero',
  'capabilities.unknown.text',
  'capabilities.unknown.experimental',
  'capabilities.unknown.malformed',
  'capabilities.notes.perUser',
  'capabilities.notes.askAfterLogin',
  'capabilities.notes.saslUsable',
  'capabilities.notes.saslNoneUsable',
  'capabilities.notes.utf8User',
  'capabilities.notes.stlsPage',
];
