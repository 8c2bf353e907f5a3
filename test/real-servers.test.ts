/**
 * The client engine against exact transcripts of four real POP3 servers (test/fixtures/real-servers/).
 *
 * Every fixture is replayed at every split point, byte by byte and in random slicings, in lockstep and
 * upfront mode (test/support/transcript.ts). The client bytes must equal the captured client's bytes
 * exactly: that proves the engine, its SASL mechanisms (PLAIN, CRAM-MD5, SCRAM-SHA-256 with the fixed
 * nonce) and APOP produce what the real clients sent. Then each exchange is checked for what it means,
 * with the expected values read from the fixture's S: lines by this file's own small parsers.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/errors.js';
import {
  FIXTURE_PASSWORD,
  loadTranscript,
  type NormalizedEvent,
  type NormalizedHandle,
  parseTranscript,
  replay,
  replayEverySplit,
  type ReplayOptions,
  type ReplayResult,
  type Transcript,
} from './support/transcript.js';

const ROOT = new URL('./fixtures/real-servers/', import.meta.url);
const SERVERS = readdirSync(ROOT, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

interface Fixture {
  readonly server: string;
  /** The exchange, from the file name: `stat`, `capa-after-stls`, ... */
  readonly exchange: string;
  readonly path: string;
  readonly transcript: Transcript;
}

const FIXTURES: Fixture[] = SERVERS.flatMap((server) =>
  readdirSync(new URL(`${server}/`, ROOT))
    .filter((file) => file.endsWith('.txt'))
    .sort()
    .map((file) => ({
      server,
      exchange: file.slice(0, -'.txt'.length),
      path: `${server}/${file}`,
      transcript: loadTranscript(new URL(`${server}/${file}`, ROOT)),
    })),
);

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
const CAPABILITIES: Record<string, (caps: CapabilitiesLike, where: 'authorization' | 'transaction') => void> = {
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

type CapabilitiesLike = {
  state: string;
  lines: readonly string[];
  stls: boolean;
  top: boolean;
  uidl: boolean;
  user: boolean;
  pipelining: boolean;
  respCodes: boolean;
  sasl: readonly string[];
  expire: unknown;
  loginDelay: unknown;
  implementation: string | undefined;
  utf8: unknown;
  other: readonly { tag: string }[];
};

/** Check the `occurrence`-th CAPA: its typed set against its lines and the server's known announcements. */
function checkCapa(f: Fixture, result: ReplayResult, where: 'authorization' | 'transaction', occurrence = 0): CapabilitiesLike {
  const event = done(result, 'CAPA', occurrence);
  const caps = (event.result as { capabilities: CapabilitiesLike }).capabilities;
  const lines = listingLines(splitReplies(replyLines(f.transcript, 'CAPA', occurrence), [true])[0]!.lines);
  expect(caps.lines).toEqual(lines);
  expect(caps.state).toBe(where);
  expect(caps.stls).toBe(lines.includes('STLS'));
  expect(caps).toMatchObject({ top: true, uidl: true, pipelining: true, respCodes: true });
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
    const result = replay(f.transcript, { chunks: whole, mode: 'upfront', engine: { pipelining: false } });
    expect(result.writes.filter((write) => write.split('\r\n').length > 2)).toEqual([]);
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
    let forgedText = text.replace(serverFinal, wrong).replace(/^C: \r\n/m, 'C: *\r\n');
    if (final !== undefined) forgedText = forgedText.replace(/(^S: \+ .*\r\n)(S: \+OK[^\r]*\r\n)/m, `$1S: ${final}\r\n`);
    return parseTranscript(forgedText);
  }

  // The negative controls for "done means verified": the same sessions with the server's proof altered.
  it.each(['dovecot', 'cyrus'])('%s: a wrong server signature makes the client cancel, and AUTH fails with a SaslError', (server) => {
    const transcript = forged(server, '-ERR [AUTH] Authentication cancelled');
    for (const mode of MODES) {
      const result = replay(transcript, { chunks: whole, mode });
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
      const result = replay(transcript, { chunks: whole, mode });
      expect(result.clientBytes).toBe(transcript.clientBytes.slice(0, transcript.clientBytes.indexOf('*\r\n') + 3));
      expect(result.error).toMatchObject({ name: 'RemoteProtocolError', code: ErrorCode.Protocol });
      // mechanism.ts: "the engine then cancels with `*` and the AUTH command fails with that error".
      const auth = outcome(result, transcript.groups[0]!.commands[0]!.text);
      expect(auth).toMatchObject({ type: 'failed', error: { name: 'SaslError', code: ErrorCode.Sasl } });
    }
  });
});
