/**
 * The client engine against exact transcripts of four real POP3 servers (test/fixtures/real-servers/).
 *
 * Every fixture is replayed at every split point, byte by byte and in random slicings, in lockstep and
 * upfront mode (test/support/transcript.ts). The client bytes must equal the captured client's bytes
 * exactly: that proves the engine, its SASL mechanisms (PLAIN, CRAM-MD5, SCRAM-SHA-256 with the fixed
 * nonce) and APOP produce what the real clients sent. Then each exchange is checked for what it means,
 * with the expected values read from the fixture's S: lines by this file's own small parsers.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Capabilities } from '../core/capabilities.js';
import { ErrorCode } from '../core/errors.js';
import {
  FIXTURE_PASSWORD,
  findTranscripts,
  type NormalizedEvent,
  type NormalizedHandle,
  parseTranscript,
  replay,
  replayEverySplit,
  type ReplayOptions,
  type ReplayResult,
  splitEvenly,
  type Transcript,
} from './support/transcript.js';

const ROOT = new URL('./fixtures/real-servers/', import.meta.url);

interface Fixture {
  readonly server: string;
  /** The exchange, from the file name: `stat`, `capa-after-stls`, ... */
  readonly exchange: string;
  readonly path: string;
  readonly transcript: Transcript;
}

// Discovered, so that new capture files are replayed without touching this file.
const FIXTURES: Fixture[] = findTranscripts(ROOT).map((file) => ({
  server: file.group,
  exchange: file.name,
  path: file.path,
  transcript: file.transcript,
}));
const SERVERS = [...new Set(FIXTURES.map((f) => f.server))];

const MODES = ['lockstep', 'upfront'] as const;
const whole: ReplayOptions['chunks'] = (epoch) => [epoch];

function fixture(server: string, exchange: string): Fixture {
  const found = FIXTURES.find((f) => f.server === server && f.exchange === exchange);
  if (found === undefined) throw new Error(`no fixture ${server}/${exchange}.txt`);
  return found;
}

// ─── Reading expectations from the fixture, independently of the engine ─────────────────────────────────

/** The server's lines (byte strings with their line ends) answering the `occurrence`-th command `text`. */
function replyLines(transcript: Transcript, text: string, occurrence = 0): string[] {
  const steps = transcript.steps;
  let index = -1;
  for (let seen = -1, i = 0; i < steps.length && seen < occurrence; i++) {
    const step = steps[i]!;
    if (step.kind === 'client' && !step.sasl && step.text === text) {
      seen++;
      index = i;
    }
  }
  if (index === -1) throw new Error(`no command ${text} (#${occurrence}) in the transcript`);
  const lines: string[] = [];
  for (let i = index + 1; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.kind === 'client' && !step.sasl) {
      if (lines.length > 0) break; // the next command (a burst's later lines precede all replies)
      continue;
    }
    if (step.kind === 'server') lines.push(Buffer.from(step.bytes).toString('latin1'));
  }
  return lines;
}

/** Split a sequence of replies: one status line, plus the dot-terminated lines after it when multi-line. */
function splitReplies(lines: readonly string[], multiline: readonly boolean[]): { status: string; lines: string[] }[] {
  const replies: { status: string; lines: string[] }[] = [];
  let i = 0;
  for (const isMulti of multiline) {
    const status = lines[i++]!;
    const body: string[] = [];
    if (isMulti && status.startsWith('+OK')) {
      while (lines[i] !== '.\r\n') body.push(lines[i++]!);
      i++;
    }
    replies.push({ status, lines: body });
  }
  return replies;
}

/** A multi-line reply's content: the stuffed dot removed from each line, line ends kept. */
function unstuffed(lines: readonly string[]): string {
  return lines.map((line) => (line.startsWith('.') ? line.slice(1) : line)).join('');
}

/** A listing's entries as text: unstuffed, without line ends. */
function listingLines(lines: readonly string[]): string[] {
  return unstuffed(lines).split('\r\n').slice(0, -1);
}

function statusText(status: string): string {
  return status.replace(/\r\n$/, '');
}

// ─── Reading the replay result ────────────────────────────────────────────────────────────────────────────

function handleOf(result: ReplayResult, text: string, occurrence = 0): NormalizedHandle {
  const handle = result.commands.filter((command) => command.text === text)[occurrence]?.handle;
  if (handle === undefined) throw new Error(`command ${text} (#${occurrence}) was never enqueued`);
  return handle;
}

function eventsOf(result: ReplayResult, handle: NormalizedHandle): NormalizedEvent[] {
  return result.events.filter((event) => 'handle' in event && event.handle.id === handle.id);
}

/** The event that ended a command: done, rejected or failed. */
function outcome(result: ReplayResult, text: string, occurrence = 0): NormalizedEvent {
  const ends = eventsOf(result, handleOf(result, text, occurrence)).filter((e) => e.type === 'done' || e.type === 'rejected' || e.type === 'failed');
  expect(ends, `exactly one outcome for ${text}`).toHaveLength(1);
  return ends[0]!;
}

function done(result: ReplayResult, text: string, occurrence = 0): Extract<NormalizedEvent, { type: 'done' }> {
  const event = outcome(result, text, occurrence);
  expect(event.type, `${text} should succeed`).toBe('done');
  return event as Extract<NormalizedEvent, { type: 'done' }>;
}

function rejected(result: ReplayResult, text: string, occurrence = 0): Extract<NormalizedEvent, { type: 'rejected' }> {
  const event = outcome(result, text, occurrence);
  expect(event.type, `${text} should be rejected`).toBe('rejected');
  return event as Extract<NormalizedEvent, { type: 'rejected' }>;
}

/** The body a command received: its data events joined ('' when there were none). */
function dataOf(result: ReplayResult, text: string, occurrence = 0): string {
  return eventsOf(result, handleOf(result, text, occurrence))
    .map((event) => (event.type === 'data' ? event.data : ''))
    .join('');
}

/** Every command's own outcome must match what the server answered; nothing failed, the session ended cleanly. */
function expectCleanSession(result: ReplayResult, transcript: Transcript): void {
  expect(result.clientBytes).toBe(transcript.clientBytes);
  expect(result.refused).toEqual([]);
  expect(result.events.filter((event) => event.type === 'failed')).toEqual([]);
  expect(result.events[0]?.type).toBe('greeting');
  expect(result.events.filter((event) => event.type === 'closed')).toEqual([{ type: 'closed', error: undefined }]);
  expect(result.events[result.events.length - 1]).toEqual({ type: 'closed', error: undefined });
  expect(result.state).toBe('closed');
  expect(result.error).toBeUndefined();
  for (const command of result.commands) {
    expect(command.handle, `${command.text} was enqueued`).toBeDefined();
    const ends = eventsOf(result, command.handle!).filter((e) => e.type === 'done' || e.type === 'rejected');
    expect(ends, `${command.text} has one reply`).toHaveLength(1);
  }
}

// ─── What each exchange means ─────────────────────────────────────────────────────────────────────────────

/** The capability sets each server announces, beyond the lines themselves. */
const CAPABILITIES: Record<string, (caps: Capabilities, where: 'authorization' | 'transaction') => void> = {
  dovecot: (caps, where) => {
    expect(caps.sasl).toEqual(where === 'authorization' ? ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256'] : []);
    expect(caps.other.map((other) => other.tag)).toEqual(['CAPA']);
  },
  mailutils: (caps, where) => {
    // "EXPIRENEVER", without the space.
    expect(caps.expire).toEqual({ value: 'never', perUser: false });
    expect(caps.sasl).toEqual([]);
    expect(caps.implementation).toBe(where === 'transaction' ? 'GNU Mailutils 3.15' : undefined);
  },
  cyrus: (caps, where) => {
    expect(caps.expire).toEqual({ value: 'never', perUser: false });
    expect(caps.loginDelay).toEqual({ value: 0, perUser: false });
    expect(caps.implementation).toBe('Cyrus POP3 3.6.1-Debian-3.6.1-4+deb12u5');
    expect(caps.user).toBe(where === 'authorization');
    if (where === 'authorization') expect(caps.sasl).toContain('SCRAM-SHA-256');
    else expect(caps.sasl).toEqual([]);
  },
  courier: (caps) => {
    expect(caps.loginDelay).toEqual({ value: 10, perUser: false });
    expect(caps.utf8).toEqual({ user: true });
    expect(caps.implementation).toBe('Courier Mail Server');
    expect(caps.sasl).toEqual(['PLAIN', 'LOGIN', 'CRAM-MD5', 'CRAM-SHA1', 'CRAM-SHA256']);
  },
};


/** Check the `occurrence`-th CAPA: its typed set against its lines and the server's known announcements. */
function checkCapa(f: Fixture, result: ReplayResult, where: 'authorization' | 'transaction', occurrence = 0): Capabilities {
  const event = done(result, 'CAPA', occurrence);
  const caps = (event.result as { capabilities: Capabilities }).capabilities;
  const lines = listingLines(splitReplies(replyLines(f.transcript, 'CAPA', occurrence), [true])[0]!.lines);
  expect(caps.lines).toEqual(lines);
  expect(caps.state).toBe(where);
  expect(caps.stls).toBe(lines.includes('STLS'));
  expect(caps).toMatchObject({ top: true, uidl: true, pipelining: true });
  // Courier alone sends no RESP-CODES (and no response codes, see user-pass-wrong).
  expect(caps.respCodes).toBe(f.server !== 'courier');
  CAPABILITIES[f.server]!(caps, where);
  return caps;
}

/** Which servers put RFC 3206 [AUTH] on a failed login. */
const AUTH_CODE: Record<string, string | undefined> = { dovecot: 'AUTH', cyrus: 'AUTH', mailutils: 'AUTH', courier: undefined };

/** Per exchange (file name): what the result must say. Fixtures with other names get the general checks only. */
const EXCHANGES: Record<string, (f: Fixture, result: ReplayResult) => void> = {
  greeting(f, result) {
    const greeting = result.events[0] as Extract<NormalizedEvent, { type: 'greeting' }>;
    const line = statusText(Buffer.from((f.transcript.steps[0] as { bytes: Uint8Array }).bytes).toString('latin1'));
    expect(greeting.greeting).toMatchObject({ ok: true, text: line.slice('+OK '.length) });
    // Courier's greeting has no APOP timestamp; the others end with one.
    expect(greeting.greeting.timestamp).toBe(f.server === 'courier' ? undefined : /<[^<>]*@[^<>]*>$/.exec(line)![0]);
  },

  stat(f, result) {
    const [, count, size] = /^\+OK (\d+) (\d+)\r\n$/.exec(replyLines(f.transcript, 'STAT')[0]!)!;
    expect(done(result, 'STAT').result).toEqual({ verb: 'STAT', count: Number(count), size: Number(size) });
  },

  list(f, result) {
    const lines = listingLines(splitReplies(replyLines(f.transcript, 'LIST'), [true])[0]!.lines);
    const entries = lines.map((line) => line.split(' ').map(Number)).map(([message, size]) => ({ message, size }));
    expect(entries).toHaveLength(6);
    expect(done(result, 'LIST').result).toEqual({ verb: 'LIST', entries });
  },

  'list-1'(f, result) {
    const [, size] = /^\+OK 1 (\d+)\r\n$/.exec(replyLines(f.transcript, 'LIST 1')[0]!)!;
    expect(done(result, 'LIST 1').result).toEqual({ verb: 'LIST', entries: [{ message: 1, size: Number(size) }] });
  },

  'list-99'(_f, result) {
    const event = rejected(result, 'LIST 99');
    expect(event.error).toMatchObject({ name: 'ServerError', code: ErrorCode.Server });
    done(result, 'QUIT');
  },

  uidl(f, result) {
    const lines = listingLines(splitReplies(replyLines(f.transcript, 'UIDL'), [true])[0]!.lines);
    const entries = lines.map((line) => line.split(' ')).map(([message, uid]) => ({ message: Number(message), uid }));
    expect(entries).toHaveLength(6);
    expect(done(result, 'UIDL').result).toEqual({ verb: 'UIDL', entries });
  },

  'retr-dots'(f, result) {
    const [reply] = splitReplies(replyLines(f.transcript, 'RETR 2'), [true]);
    const body = unstuffed(reply!.lines);
    expect(dataOf(result, 'RETR 2')).toBe(body);
    // The point of this message: lines that are, or start with, dots survive the stuffing both ways.
    const bodyLines = body.split('\r\n');
    for (const line of ['.', '..', '.leading dot text', '...three dots', '. dot space']) expect(bodyLines).toContain(line);
    expect(done(result, 'RETR 2').result).toEqual({ verb: 'RETR', message: 2, octets: body.length });
    const announced = /^\+OK (\d+) octets/.exec(reply!.status);
    const status = eventsOf(result, handleOf(result, 'RETR 2')).find((event) => event.type === 'status');
    expect(status).toMatchObject({ type: 'status', octets: announced === null ? undefined : Number(announced[1]) });
  },

  'top-1-0'(f, result) {
    const [reply] = splitReplies(replyLines(f.transcript, 'TOP 1 0'), [true]);
    const headers = unstuffed(reply!.lines);
    expect(dataOf(result, 'TOP 1 0')).toBe(headers);
    // The header and the blank line that ends it, and nothing of the body.
    expect(headers).toMatch(/\r\nSubject: Plain hello\r\n/);
    expect(headers.endsWith('\r\n\r\n')).toBe(true);
    expect(headers).not.toContain('Hello Alice');
    expect(done(result, 'TOP 1 0').result).toEqual({ verb: 'TOP', message: 1, octets: headers.length });
  },

  'user-pass-ok'(_f, result) {
    done(result, 'USER alice');
    expect(done(result, `PASS ${FIXTURE_PASSWORD}`).handle.command).toBe('PASS [redacted]');
  },

  'user-pass-wrong'(f, result) {
    const event = rejected(result, 'PASS wrong-password');
    const expected = AUTH_CODE[f.server];
    expect(event.error).toMatchObject({ name: 'ServerError', code: ErrorCode.Server, responseCode: expected });
    // The code is what the server's line carries (Courier's carries none).
    expect(replyLines(f.transcript, 'PASS wrong-password')[0]!.startsWith(`-ERR [${expected}]`)).toBe(expected !== undefined);
    expect(event.handle.command).toBe('PASS [redacted]');
    expect(event.error.message).not.toContain('wrong-password');
    done(result, 'QUIT');
  },

  'unknown-command'(_f, result) {
    for (const occurrence of [0, 1]) {
      const event = rejected(result, 'XYZZY', occurrence);
      expect(event.handle.verb).toBe('RAW');
      expect(event.error).toMatchObject({ name: 'ServerError', code: ErrorCode.Server });
    }
    done(result, `PASS ${FIXTURE_PASSWORD}`);
  },

  'capa-before-login'(f, result) {
    checkCapa(f, result, 'authorization');
  },

  'capa-after-login'(f, result) {
    checkCapa(f, result, 'transaction');
  },

  'capa-on-tls-port'(f, result) {
    checkCapa(f, result, 'authorization');
    expect(result.engine.tls).toBe(true);
  },

  'capa-after-stls'(f, result) {
    expect(checkCapa(f, result, 'authorization', 0).stls).toBe(true);
    done(result, 'STLS');
    expect(checkCapa(f, result, 'authorization', 1).stls).toBe(false);
    const types = result.events.map((event) => event.type);
    expect(types.filter((type) => type === 'starttls')).toHaveLength(1);
    expect(types.indexOf('starttls')).toBe(result.events.indexOf(done(result, 'STLS')) + 1);
    expect(result.engine.tls).toBe(true);
  },

  'dele-rset'(f, result) {
    done(result, 'DELE 1');
    done(result, 'RSET');
    const stat = (occurrence: number) => {
      const [, count, size] = /^\+OK (\d+) (\d+)/.exec(replyLines(f.transcript, 'STAT', occurrence)[0]!)!;
      expect(done(result, 'STAT', occurrence).result).toEqual({ verb: 'STAT', count: Number(count), size: Number(size) });
      return Number(count);
    };
    expect(stat(0)).toBe(stat(1) - 1);
  },

  pipelined(f, result) {
    checkPipelinedReplies(f, result);
  },

  quit(_f, result) {
    done(result, `PASS ${FIXTURE_PASSWORD}`);
    done(result, 'QUIT');
    expect(result.events.slice(-2).map((event) => event.type)).toEqual(['done', 'closed']);
  },

  apop(f, result) {
    const line = f.transcript.groups[0]!.commands[0]!.text;
    expect(line).toMatch(/^APOP alice [0-9a-f]{32}$/);
    expect(done(result, line).handle.verb).toBe('APOP');
  },

  'auth-plain'(_f, result) {
    const event = done(result, 'AUTH PLAIN AGFsaWNlAGFsaWNlLXB3');
    expect(event.handle.command).toBe('AUTH PLAIN [redacted]');
    expect(eventsOf(result, event.handle).filter((e) => e.type === 'challenge')).toHaveLength(0);
  },

  'auth-cram-md5'(_f, result) {
    const event = done(result, 'AUTH CRAM-MD5');
    const challenges = eventsOf(result, event.handle).filter((e) => e.type === 'challenge');
    expect(challenges).toHaveLength(1);
    expect((challenges[0] as { challenge: string }).challenge).toMatch(/^<.*>$/);
  },

  'auth-scram-sha-256'(f, result) {
    const line = f.transcript.groups[0]!.commands[0]!.text;
    // done (not failed) means the engine let the mechanism check the server's signature and it held.
    const event = done(result, line);
    const challenges = eventsOf(result, event.handle).filter((e) => e.type === 'challenge') as { challenge: string }[];
    expect(challenges.map((c) => c.challenge.slice(0, 2))).toEqual(['r=', 'v=']);
  },
};

/** pipelined.txt: LIST, UIDL, RETR 1, RETR 2, each result matching its own reply in the burst's answers. */
function checkPipelinedReplies(f: Fixture, result: ReplayResult): void {
  const burst = f.transcript.groups.find((group) => group.burst)!;
  expect(burst.commands.map((command) => command.text)).toEqual(['LIST', 'UIDL', 'RETR 1', 'RETR 2']);
  const [list, uidl, retr1, retr2] = splitReplies(replyLines(f.transcript, 'RETR 2'), [true, true, true, true]);
  expect(done(result, 'LIST').result).toMatchObject({ entries: listingLines(list!.lines).map((line) => ({ message: Number(line.split(' ')[0]) })) });
  expect(done(result, 'UIDL').result).toMatchObject({ entries: listingLines(uidl!.lines).map((line) => ({ uid: line.split(' ')[1] })) });
  expect(dataOf(result, 'RETR 1')).toBe(unstuffed(retr1!.lines));
  expect(dataOf(result, 'RETR 2')).toBe(unstuffed(retr2!.lines));
  expect(dataOf(result, 'RETR 2').split('\r\n')).toContain('.');
}

// ─── The tests ────────────────────────────────────────────────────────────────────────────────────────────

describe('the transcript format (test/support/transcript.ts)', () => {
  const text = [
    '# header one',
    '# header two',
    'S: +OK hi <1.2@x>',
    'C: USER a',
    'S: +OK',
    'C: PASS b',
    'S: +OK in',
    '# --- the next 2 C: lines are one write (pipelined burst) ---',
    'C: STAT',
    'C: AUTH PLAIN',
    'S: +OK 1 2',
    'S: + ',
    'C: AGEAYg==',
    'S: -ERR no',
    'C: STLS',
    'S: +OK go',
    '# TLS established (TLSv1.3)',
    'C: QUIT',
    'S: +OK bye',
    '#no-eol',
    '',
  ].join('\r\n');
  const t = parseTranscript(text);

  it('splits the server stream at TLS markers and honours #no-eol', () => {
    expect(t.header).toEqual(['header one', 'header two']);
    expect(t.implicitTls).toBe(false);
    expect(t.serverEpochs.map((epoch) => Buffer.from(epoch).toString('latin1'))).toEqual([
      '+OK hi <1.2@x>\r\n+OK\r\n+OK in\r\n+OK 1 2\r\n+ \r\n-ERR no\r\n+OK go\r\n',
      '+OK bye',
    ]);
    expect(t.clientBytes).toBe('USER a\r\nPASS b\r\nSTAT\r\nAUTH PLAIN\r\nAGEAYg==\r\nSTLS\r\nQUIT\r\n');
  });

  it('groups commands as written, and knows SASL answers are not commands', () => {
    expect(t.groups.map((group) => [group.commands.map((c) => c.text), group.burst, group.epoch, group.offset])).toEqual([
      [['USER a'], false, 0, 16],
      [['PASS b'], false, 0, 21],
      [['STAT', 'AUTH PLAIN'], true, 0, 29],
      [['STLS'], false, 0, 51],
      [['QUIT'], false, 1, 0],
    ]);
    expect(t.steps.filter((step) => step.kind === 'client' && step.sasl).map((step) => step.line)).toEqual([13]);
  });

  it('reads implicit TLS from a marker before any data', () => {
    const implicit = parseTranscript('# x\r\n# TLS established\r\nS: +OK\r\nC: QUIT\r\nS: +OK\r\n');
    expect(implicit.implicitTls).toBe(true);
    expect(implicit.serverEpochs).toHaveLength(1);
    expect(replay(implicit, { chunks: whole }).engine.tls).toBe(true);
  });

  it('rejects malformed transcripts, naming the line', () => {
    expect(() => parseTranscript('S: +OK\r\nX: what\r\n')).toThrow(/line 2/);
    expect(() => parseTranscript('#no-eol\r\n')).toThrow(/line 1.*#no-eol/);
    expect(() => parseTranscript('S: +OK\r\n# --- the next 2 C: lines are one write ---\r\nC: STAT\r\nS: +OK 1 2\r\n')).toThrow(/burst/);
  });

  it('replays a server line without its line end as a stream cut short', () => {
    const cut = parseTranscript('S: +OK hi\r\nC: QUIT\r\nS: +OK bye\r\n#no-eol\r\n');
    const result = replay(cut, { chunks: whole });
    expect(result.error).toMatchObject({ code: ErrorCode.UnexpectedEnd, message: expect.stringContaining('in the middle of the reply line to QUIT') });
  });
});

describe('real-server fixtures', () => {
  it('are discovered: four servers, every README exchange', () => {
    expect(SERVERS).toEqual(['courier', 'cyrus', 'dovecot', 'mailutils']);
    expect(FIXTURES.length).toBeGreaterThanOrEqual(83);
    // Guards the table above against typos: every exchange it knows exists somewhere.
    for (const exchange of Object.keys(EXCHANGES)) expect(FIXTURES.some((f) => f.exchange === exchange), exchange).toBe(true);
  });
});

describe.each(FIXTURES.map((f) => [f.path, f] as const))('%s', (_path, f) => {
  it.each(MODES)('replays at every split point in %s mode: exact client bytes, clean session, right results', (mode) => {
    const result = replayEverySplit(f.transcript, { mode });
    expectCleanSession(result, f.transcript);
    EXCHANGES[f.exchange]?.(f, result);
  });
});

describe('pipelining', () => {
  it.each(SERVERS)('%s: with pipelining on, the four commands of the burst leave in one write', (server) => {
    const f = fixture(server, 'pipelined');
    const result = replayEverySplit(f.transcript, { mode: 'lockstep', engine: { pipelining: true } });
    expectCleanSession(result, f.transcript);
    expect(result.writes).toContain('LIST\r\nUIDL\r\nRETR 1\r\nRETR 2\r\n');
    // Each group the real client wrote at once is one write, no more, no less.
    expect(result.writes).toEqual(f.transcript.groups.map((group) => group.commands.map((c) => `${c.text}\r\n`).join('')));
    checkPipelinedReplies(f, result);
  });

  it.each(SERVERS)('%s: without pipelining, the burst goes out one command per reply', (server) => {
    const f = fixture(server, 'pipelined');
    // Byte by byte, so that each write is taken as soon as the engine makes it.
    const result = replay(f.transcript, { chunks: (epoch) => splitEvenly(epoch, 1), mode: 'upfront', engine: { pipelining: false } });
    expect(result.writes).toEqual(f.transcript.clientBytes.split(/(?<=\r\n)/));
    expect(result.clientBytes).toBe(f.transcript.clientBytes);
  });
});

describe('STLS', () => {
  it.each(SERVERS)('%s: capabilities are forgotten at tlsStarted() and relearnt by CAPA over TLS', (server) => {
    const { transcript } = fixture(server, 'capa-after-stls');
    const plainLength = transcript.serverEpochs[0]!.length;
    for (const mode of MODES) {
      // Cut where STLS was accepted: the plaintext capabilities are still known.
      const beforeHandshake = replay(transcript, { chunks: whole, mode, cut: { epoch: 0, offset: plainLength } }).engine;
      expect(beforeHandshake.capabilities?.stls).toBe(true);
      expect(beforeHandshake.tls).toBe(false);
      // Cut right after the handshake, before anything arrived over TLS: nothing is known any more.
      const afterHandshake = replay(transcript, { chunks: whole, mode, cut: { epoch: 1, offset: 0 } }).engine;
      expect(afterHandshake.tls).toBe(true);
      expect(afterHandshake.capabilities).toBeUndefined();
      // The whole session: the set learnt over TLS.
      const end = replay(transcript, { chunks: whole, mode }).engine;
      expect(end.capabilities?.stls).toBe(false);
      expect(end.capabilities?.sasl).toEqual(CAPA_SASL_OVER_TLS[server]);
    }
  });
});

describe('bare LF', () => {
  /** Events with CR removed from every string and the octet counts dropped (a body is shorter without CRs). */
  const withoutCr = (result: ReplayResult): string =>
    JSON.stringify(result.events, (key, value: unknown) => (key === 'octets' ? undefined : typeof value === 'string' ? value.replaceAll('\r', '') : value));

  // DESIGN.md: be liberal where real servers are sloppy. The same sessions with every server line ended by LF.
  it.each(SERVERS)('%s: every session reads the same when the server ends its lines with LF alone', (server) => {
    for (const f of FIXTURES.filter((candidate) => candidate.server === server)) {
      const text = readFileSync(new URL(f.path, ROOT), 'latin1');
      const lf = parseTranscript(text.replace(/^(S: [^\r\n]*)\r\n/gm, '$1\n'));
      expect(byteStringOf(lf.serverEpochs).includes('\r'), f.path).toBe(false);
      const result = replayEverySplit(lf, { mode: 'lockstep' });
      expect(result.clientBytes, f.path).toBe(f.transcript.clientBytes);
      expect(withoutCr(result), f.path).toBe(withoutCr(replay(f.transcript, { chunks: whole })));
    }
  });
});

function byteStringOf(epochs: readonly Uint8Array[]): string {
  return epochs.map((epoch) => Buffer.from(epoch).toString('latin1')).join('');
}

describe('STARTTLS injection', () => {
  // The attack: plaintext bytes queued behind the +OK to STLS, hoping to be read as a reply over TLS.
  it.each(SERVERS)('%s: a line injected after the +OK to STLS fails the session, at every split point', (server) => {
    const text = readFileSync(new URL(fixture(server, 'capa-after-stls').path, ROOT), 'latin1');
    const injected = parseTranscript(text.replace(/^# TLS established/m, 'S: +OK injected\r\n$&'));
    for (const mode of MODES) {
      const result = replayEverySplit(injected, { mode });
      expect(result.error).toMatchObject({ name: 'RemoteProtocolError', code: ErrorCode.TlsInjection });
      // Nothing was sent after STLS, and nothing after it succeeded. (In upfront mode the engine may have
      // dropped even those bytes: it failed within the receive() call that made them; see replayEverySplit.)
      if (mode === 'lockstep') expect(result.clientBytes).toBe('CAPA\r\nSTLS\r\n');
      else expect('CAPA\r\nSTLS\r\n'.startsWith(result.clientBytes)).toBe(true);
      expect(result.events.filter((event) => event.type === 'done').map((event) => (event as { handle: NormalizedHandle }).handle.verb)).toEqual(['CAPA', 'STLS']);
      expect(result.events.filter((event) => event.type === 'closed')).toHaveLength(1);
    }
  });
});

const CAPA_SASL_OVER_TLS: Record<string, string[]> = {
  dovecot: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-1', 'SCRAM-SHA-256'],
  mailutils: [],
  cyrus: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'DIGEST-MD5', 'SCRAM-SHA-1-PLUS', 'SCRAM-SHA-1', 'SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'],
  courier: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'CRAM-SHA1', 'CRAM-SHA256'],
};

describe('SCRAM-SHA-256', () => {
  /** The fixture with the server's proof (the `v=` challenge) replaced by a wrong one, and its +OK by `final`. */
  function forged(server: string, final?: string): Transcript {
    const text = readFileSync(new URL(fixture(server, 'auth-scram-sha-256').path, ROOT), 'latin1');
    const serverFinal = /^S: \+ (dj1[A-Za-z0-9+/=]+)\r\n/m.exec(text)![1]!;
    const wrong = Buffer.from(`v=${Buffer.alloc(32, 7).toString('base64')}`).toString('base64');
    // The client answers the wrong proof with `*` (RFC 5034 cancel) instead of its empty line.
    let forgedText = text.replace(serverFinal, wrong).replace(/^C: \r\n/m, 'C: *\r\n');
    if (final !== undefined) forgedText = forgedText.replace(/(^C: \*\r\n)S: [^\r]*\r\n/m, `$1S: ${final}\r\n`);
    return parseTranscript(forgedText);
  }

  // The negative controls for "done means verified": the same sessions with the server's proof altered.
  it.each(['dovecot', 'cyrus'])('%s: a wrong server signature makes the client cancel, and AUTH fails with a SaslError', (server) => {
    const transcript = forged(server, '-ERR [AUTH] Authentication cancelled');
    for (const mode of MODES) {
      const result = replayEverySplit(transcript, { mode });
      // `*` instead of the empty answer: the client bytes still match the (edited) transcript.
      expect(result.clientBytes).toBe(transcript.clientBytes);
      const auth = outcome(result, transcript.groups[0]!.commands[0]!.text);
      expect(auth).toMatchObject({ type: 'failed', error: { name: 'SaslError', code: ErrorCode.Sasl } });
      expect(auth.type === 'failed' && auth.error.message).toMatch(/signature/);
      // Not a protocol error: the session goes on to QUIT.
      done(result, 'QUIT');
      expect(result.error).toBeUndefined();
    }
  });

  it.each(['dovecot', 'cyrus'])('%s: a server that says +OK anyway ends the session, and AUTH still reports the SaslError', (server) => {
    const transcript = forged(server);
    for (const mode of MODES) {
      // Byte by byte, so that the `*` is taken before the +OK kills the session (which drops unsent bytes).
      const result = replay(transcript, { chunks: (epoch) => splitEvenly(epoch, 1), mode });
      expect(result.clientBytes).toBe(transcript.clientBytes.slice(0, transcript.clientBytes.indexOf('*\r\n') + 3));
      expect(result.error).toMatchObject({ name: 'RemoteProtocolError', code: ErrorCode.Protocol });
      // mechanism.ts: "the engine then cancels with `*` and the AUTH command fails with that error".
      const auth = outcome(result, transcript.groups[0]!.commands[0]!.text);
      expect(auth).toMatchObject({ type: 'failed', error: { name: 'SaslError', code: ErrorCode.Sasl } });
    }
  });
});
