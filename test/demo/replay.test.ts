/**
 * Replay links (demo/page/replay.ts): the encoding round-trips and never holds a password, decoding is
 * strict (every malformed link is a ReplayLinkError with a code, nothing else), and replaying is
 * deterministic: the same link gives the same transcript, text and wire bytes, APOP's seeded timestamp
 * included, and equals the session it was made from.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { App } from '../../demo/page/app.js';
import { OfflineServer, type SampleMailbox } from '../../demo/page/offline-server.js';
import {
  decodeReplay,
  encodeReplay,
  FALLBACK_SEED,
  type Replay,
  REPLAY_LIMITS,
  ReplayLinkError,
  replayInto,
  replayOf,
  replayUrl,
  replayValueOf,
  runReplay,
} from '../../demo/page/replay.js';
import { type DemoCommand, DemoSession, type TranscriptEntry } from '../../demo/page/session.js';

const sample = readSampleMailbox() as SampleMailbox;

/** What must be identical between two replays: every entry's text and wire bytes. */
const fingerprint = (entries: readonly TranscriptEntry[]) =>
  entries.map((e) => ({ from: e.from, kind: e.kind, text: e.text, wire: e.wire === undefined ? undefined : Buffer.from(e.wire).toString('latin1') }));

const ALL_KINDS: DemoCommand[] = [
  { verb: 'CAPA' },
  { verb: 'USER', name: 'demo' },
  { verb: 'PASS', password: '*' },
  { verb: 'APOP', name: 'demo', password: '*' },
  { verb: 'AUTH', mechanism: 'SCRAM-SHA-256', name: 'Jürgen Ä', password: '*' },
  { verb: 'STAT' },
  { verb: 'NOOP' },
  { verb: 'RSET' },
  { verb: 'UTF8' },
  { verb: 'LIST' },
  { verb: 'LIST', message: 3 },
  { verb: 'UIDL' },
  { verb: 'UIDL', message: 1_000_000 },
  { verb: 'RETR', message: 1 },
  { verb: 'DELE', message: 200 },
  { verb: 'TOP', message: 2, lines: 0 },
  { verb: 'LANG' },
  { verb: 'LANG', tag: 'de' },
  { verb: 'RAW', line: 'XTND XLST' },
  { verb: 'RAW', line: 'CAPA', multiline: true },
  { verb: 'QUIT' },
];

/** The bytes of a link value (to make malformed ones). */
const bytesOf = (value: string) => Buffer.from(value.slice(2), 'base64url');
const valueOf = (bytes: number[] | Uint8Array) => `1.${Buffer.from(bytes).toString('base64url')}`;

function codeOf(value: string): string {
  try {
    decodeReplay(value);
  } catch (error) {
    if (error instanceof ReplayLinkError) return error.code;
    throw error;
  }
  return 'accepted';
}

describe('replay links: encoding', () => {
  it('round-trips every kind of command, the seed and the flags', () => {
    const replay: Replay = { seed: 0xffffffff, ownSeed: true, fromProxy: true, commands: ALL_KINDS };
    const value = encodeReplay(replay);
    expect(value).toMatch(/^1\.[A-Za-z0-9_-]+$/);
    expect(decodeReplay(value)).toEqual(replay);
    const empty: Replay = { seed: 0, ownSeed: false, fromProxy: false, commands: [] };
    expect(decodeReplay(encodeReplay(empty))).toEqual(empty);
  });

  it('is compact: a typical session is a short link', () => {
    const commands: DemoCommand[] = [
      { verb: 'CAPA' },
      { verb: 'USER', name: 'demo' },
      { verb: 'PASS', password: '*' },
      { verb: 'STAT' },
      { verb: 'LIST' },
      { verb: 'UIDL' },
      { verb: 'TOP', message: 1, lines: 5 },
      { verb: 'RETR', message: 1 },
      { verb: 'DELE', message: 1 },
      { verb: 'QUIT' },
    ];
    const value = encodeReplay({ seed: 123456789, ownSeed: true, fromProxy: false, commands });
    expect(value.length).toBeLessThan(40);
  });

  it('never puts a password in the link, even one in a raw line', () => {
    const secret = 'hunter2-Geheimnis';
    const value = encodeReplay({
      seed: 7,
      ownSeed: true,
      fromProxy: false,
      commands: [
        { verb: 'USER', name: 'demo' },
        { verb: 'PASS', password: secret },
        { verb: 'APOP', name: 'demo', password: secret },
        { verb: 'AUTH', mechanism: 'PLAIN', name: 'demo', password: secret },
        { verb: 'RAW', line: `pass ${secret}` },
        { verb: 'RAW', line: `APOP demo ${secret}` },
        { verb: 'RAW', line: `AUTH plain ${Buffer.from(`\0demo\0${secret}`).toString('base64')}` },
      ],
    });
    const bytes = bytesOf(value).toString('latin1');
    expect(bytes).not.toContain(secret);
    expect(bytes).not.toContain(Buffer.from(`\0demo\0${secret}`).toString('base64'));
    const decoded = decodeReplay(value).commands;
    expect(decoded.slice(1, 4).map((c) => ('password' in c ? c.password : undefined))).toEqual(['*', '*', '*']);
    expect(decoded.slice(4).map((c) => (c.verb === 'RAW' ? c.line : ''))).toEqual(['PASS *', 'APOP demo *', 'AUTH PLAIN *']);
  });

  it('makes links from sessions: the offline seed, or the fallback seed; through the proxy, flagged', () => {
    const recorded: DemoCommand[] = [{ verb: 'STAT' }];
    const server = new OfflineServer(sample);
    expect(replayOf({ endpoint: { kind: 'offline', server, seed: 99 }, recorded })).toEqual({ seed: 99, ownSeed: true, fromProxy: false, commands: recorded });
    expect(replayOf({ endpoint: { kind: 'offline', server }, recorded })).toMatchObject({ seed: FALLBACK_SEED, ownSeed: false });
    const proxy = { kind: 'proxy', proxyUrl: 'ws://127.0.0.1:8081/', target: '127.0.0.1:11110', tls: false, local: true } as const;
    expect(replayOf({ endpoint: proxy, recorded })).toMatchObject({ seed: FALLBACK_SEED, ownSeed: false, fromProxy: true });
  });

  it('puts the link in the fragment of the page address, replacing any fragment there', () => {
    const replay: Replay = { seed: 5, ownSeed: true, fromProxy: false, commands: [{ verb: 'NOOP' }] };
    const url = replayUrl(replay, 'http://127.0.0.1:8080/demo/?x=1#transcript');
    expect(url).toBe(`http://127.0.0.1:8080/demo/?x=1#replay=${encodeReplay(replay)}`);
    expect(replayValueOf(new URL(url).hash)).toBe(encodeReplay(replay));
    expect(replayValueOf('#transcript')).toBeUndefined();
    expect(replayValueOf('')).toBeUndefined();
  });

  it('refuses to make a link that would be too long or carry unsendable text', () => {
    const many = Array.from({ length: REPLAY_LIMITS.maxCommands + 1 }, (): DemoCommand => ({ verb: 'NOOP' }));
    expect(() => encodeReplay({ seed: 1, ownSeed: true, fromProxy: false, commands: many })).toThrow(ReplayLinkError);
    const long = Array.from({ length: 60 }, (): DemoCommand => ({ verb: 'RAW', line: 'X'.repeat(200) }));
    expect(() => encodeReplay({ seed: 1, ownSeed: true, fromProxy: false, commands: long })).toThrow(/characters/);
    expect(() => encodeReplay({ seed: 1, ownSeed: true, fromProxy: false, commands: [{ verb: 'USER', name: 'a\tb' }] })).toThrow(ReplayLinkError);
  });
});

describe('replay links: strict decoding', () => {
  const good = encodeReplay({ seed: 42, ownSeed: true, fromProxy: false, commands: [{ verb: 'STAT' }, { verb: 'RETR', message: 2 }] });

  it.each([
    ['another version', '2.AAAA', 'version'],
    ['no version', 'KgIC', 'version'],
    ['an empty value', '', 'version'],
    ['a version with leading zero', `01.${good.slice(2)}`, 'version'],
    ['characters outside base64url', '1.Kg+C', 'encoding'],
    ['padding', `${good}=`, 'encoding'],
    ['an impossible base64 length', '1.KgICB', 'encoding'],
    ['non-canonical trailing bits', '1.Kh', 'encoding'],
    ['an empty payload', '1.', 'truncated'],
    ['a cut-off command list', valueOf([42, 2, 2, 4]), 'truncated'],
    ['a cut-off string', valueOf([0, 0, 1, 0, 9, 0x61]), 'truncated'],
    ['unknown flags', valueOf([0, 4, 0]), 'flags'],
    ['too many commands', valueOf([0, 0, 0xf5, 0x03]), 'count'],
    ['an unknown opcode', valueOf([0, 0, 1, 17]), 'verb'],
    ['opcode 255', valueOf([0, 0, 1, 255]), 'verb'],
    ['an unknown SASL mechanism', valueOf([0, 0, 1, 3, 9, 1, 0x61]), 'verb'],
    ['message number 0', valueOf([0, 0, 1, 12, 0]), 'number'],
    ['LIST 0', valueOf([0, 0, 1, 10, 1]), 'number'],
    ['an absurd message number', valueOf([0, 0, 1, 12, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'number'],
    ['a number above 2^32', valueOf([0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0]), 'number'],
    ['a varint of six bytes', valueOf([0x80, 0x80, 0x80, 0x80, 0x80, 0x00, 0, 0]), 'number'],
    ['a non-minimal varint', valueOf([0x81, 0x00, 0, 0]), 'number'],
    ['an absurd TOP line count', valueOf([0, 0, 1, 14, 1, 0x80, 0x80, 0x80, 0x04]), 'number'],
    ['an empty user name', valueOf([0, 0, 1, 0, 0]), 'text'],
    ['a user name with CR LF', valueOf([0, 0, 1, 0, 3, 0x61, 0x0d, 0x0a]), 'text'],
    ['a user name that is not UTF-8', valueOf([0, 0, 1, 0, 2, 0xc3, 0x28]), 'text'],
    ['a language tag with a space', valueOf([0, 0, 1, 15, 4, 0x61, 0x20, 0x62]), 'text'],
    ['a raw line with a password', valueOf([0, 0, 1, 16, 0, 6, ...Buffer.from('PASS x')]), 'secret'],
    ['an unknown raw flag', valueOf([0, 0, 1, 16, 2, 1, 0x61]), 'flags'],
    ['bytes after the last command', valueOf([0, 0, 1, 4, 4]), 'trailing'],
    ['a link too long', `1.${'A'.repeat(REPLAY_LIMITS.maxLength)}`, 'too-long'],
  ])('rejects %s', (_what, value, code) => {
    expect(codeOf(value)).toBe(code);
  });

  it('accepts the good link these were made from', () => {
    expect(codeOf(good)).toBe('accepted');
    expect(bytesOf(good)[0]).toBe(42);
  });

  it('throws nothing but ReplayLinkError on any input (property)', () => {
    const check = (value: string) => {
      try {
        decodeReplay(value);
      } catch (error) {
        if (!(error instanceof ReplayLinkError)) throw error;
      }
    };
    fc.assert(fc.property(fc.string({ maxLength: 200 }), check), { numRuns: 500 });
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => check(valueOf(bytes))), { numRuns: 3000 });
    // Mutations of a good link: each byte changed in turn.
    const base = bytesOf(encodeReplay({ seed: 3, ownSeed: true, fromProxy: true, commands: ALL_KINDS }));
    for (let i = 0; i < base.length; i++) {
      for (const value of [0, 1, 0x7f, 0x80, 0xff]) {
        const mutated = Uint8Array.from(base);
        mutated[i] = value;
        check(valueOf(mutated));
        check(valueOf(mutated.subarray(0, i)));
      }
    }
  });
});

describe('replaying', () => {
  const open = (server: OfflineServer) => (seed: number) => DemoSession.open({ kind: 'offline', server, seed });

  const SESSIONS: Record<string, DemoCommand[]> = {
    'USER/PASS with listings, bodies, deletion and QUIT': [
      { verb: 'CAPA' },
      { verb: 'USER', name: 'demo' },
      { verb: 'PASS', password: 'demo' },
      { verb: 'STAT' },
      { verb: 'LIST' },
      { verb: 'UIDL', message: 2 },
      { verb: 'TOP', message: 3, lines: 2 },
      { verb: 'RETR', message: 10 },
      { verb: 'RETR', message: 99 },
      { verb: 'DELE', message: 1 },
      { verb: 'QUIT' },
    ],
    'APOP, whose timestamp comes from the seed': [
      { verb: 'APOP', name: 'demo', password: 'demo' },
      { verb: 'LIST' },
      { verb: 'RSET' },
      { verb: 'QUIT' },
    ],
    'SASL SCRAM-SHA-256 and raw lines': [
      { verb: 'AUTH', mechanism: 'SCRAM-SHA-256', name: 'demo', password: 'demo' },
      { verb: 'RAW', line: 'NOOP' },
      { verb: 'RAW', line: 'UIDL', multiline: true },
      { verb: 'QUIT' },
    ],
    'a wrong password (the replay uses the sample password instead)': [
      { verb: 'USER', name: 'demo' },
      { verb: 'PASS', password: 'wrong' },
    ],
    'raw credential lines': [
      { verb: 'RAW', line: 'USER demo' },
      { verb: 'RAW', line: 'PASS demo' },
      { verb: 'STAT' },
    ],
  };

  for (const [name, commands] of Object.entries(SESSIONS)) {
    it(`gives the same transcript twice, byte for byte: ${name}`, async () => {
      const recordedSession = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 20251 });
      for (const command of commands) await recordedSession.send(command);
      const value = encodeReplay(replayOf(recordedSession));
      const replay = decodeReplay(value);

      const first = await replayInto(replay, open(new OfflineServer(sample)), sample);
      const second = await replayInto(decodeReplay(value), open(new OfflineServer(sample)), sample);
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(first.complete && second.complete).toBe(true);
      expect(fingerprint(second.session.entries)).toEqual(fingerprint(first.session.entries));
      const text = first.session.entries.map((e) => e.text).join('\n');
      expect(text).not.toMatch(/PASS demo\b|PASS wrong/);
      if (!name.startsWith('a wrong') && !name.startsWith('raw')) {
        // Sent one at a time like the original, the replay is the original session itself.
        expect(fingerprint(first.session.entries)).toEqual(fingerprint(recordedSession.entries));
      }
      if (name.startsWith('APOP')) {
        const greeting = first.session.entries.find((e) => e.kind === 'greeting')!;
        expect(greeting.text).toMatch(/<[^>]+@offline\.pop3kit\.invalid>/);
        expect(first.session.state === 'closed' || first.session.closed).toBe(true);
      }
      if (name.startsWith('a wrong') || name.startsWith('raw')) {
        // The sample password logs in where the original did not (or where the link could not carry it).
        expect(first.session.entries.some((e) => e.from === 'server' && e.verb === 'PASS' && e.ok === true)).toBe(true);
        expect(first.session.state).toBe('transaction');
      }
      recordedSession.close();
      first.session.close();
      second.session.close();
    });
  }

  it('a different seed gives a different APOP greeting', async () => {
    const commands: DemoCommand[] = [{ verb: 'APOP', name: 'demo', password: '*' }];
    const a = await replayInto({ seed: 1, ownSeed: true, fromProxy: false, commands }, open(new OfflineServer(sample)), sample);
    const b = await replayInto({ seed: 2, ownSeed: true, fromProxy: false, commands }, open(new OfflineServer(sample)), sample);
    expect(a.session.entries.find((e) => e.kind === 'greeting')!.text).not.toBe(b.session.entries.find((e) => e.kind === 'greeting')!.text);
    a.session.close();
    b.session.close();
  });

  it('in the App: drops the session, resets the offline mailbox and replays from the sample', async () => {
    const app = new App(undefined, sample);
    const before = await app.connect({ kind: 'offline' }, { seed: 8 });
    await before.send({ verb: 'USER', name: 'demo' });
    await before.send({ verb: 'PASS', password: 'demo' });
    await before.send({ verb: 'DELE', message: 1 });
    await before.send({ verb: 'QUIT' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(app.offline.messageCount).toBe(sample.messages.length - 1);

    // A session holding the mailbox (not quit): the replay must get it back.
    const holding = await app.connect({ kind: 'offline' });
    await holding.send({ verb: 'USER', name: 'demo' });
    await holding.send({ verb: 'PASS', password: 'demo' });

    const replay = decodeReplay(encodeReplay(replayOf(before)));
    const result = await runReplay(app, replay);
    expect(result).toEqual({ complete: true, sent: 4, ok: 4 });
    expect(app.session).not.toBe(holding);
    expect(fingerprint(app.session!.entries)).toEqual(fingerprint(before.entries));
    // The replay's QUIT committed its own DELE, from a fresh sample.
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(app.offline.messageCount).toBe(sample.messages.length - 1);

    const again = await runReplay(app, replay);
    expect(again.complete).toBe(true);
    expect(fingerprint(app.session!.entries)).toEqual(fingerprint(before.entries));
  });

  it('stops when the session closes early or is replaced', async () => {
    const app = new App(undefined, sample);
    const closed = await runReplay(app, {
      seed: 1,
      ownSeed: true,
      fromProxy: false,
      commands: [{ verb: 'QUIT' }, { verb: 'NOOP' }],
    });
    expect(closed).toMatchObject({ complete: false, sent: 1, stopped: 'closed' });

    let replaced = false;
    const result = await runReplay(app, { seed: 1, ownSeed: true, fromProxy: false, commands: [{ verb: 'NOOP' }, { verb: 'NOOP' }, { verb: 'NOOP' }] }, (sent) => {
      if (sent === 1 && !replaced) {
        replaced = true;
        app.disconnect();
      }
    });
    expect(result).toMatchObject({ complete: false, sent: 1, stopped: 'replaced' });
  });

  it('says at once that the mailbox is busy when another session holds it', async () => {
    const app = new App(undefined, sample);
    const other = await DemoSession.open(app.endpoint({ kind: 'offline' }));
    await other.send({ verb: 'USER', name: 'demo' });
    await other.send({ verb: 'PASS', password: 'demo' });
    const started = Date.now();
    await expect(runReplay(app, { seed: 1, ownSeed: true, fromProxy: false, commands: [{ verb: 'NOOP' }] })).rejects.toMatchObject({ code: 'busy' });
    expect(Date.now() - started).toBeLessThan(1_000);
    other.close();
  });

  it('replays offline even when the link came from a proxy session and the page has a proxy', async () => {
    const target = { target: '127.0.0.1:11110', label: 'embedded', embedded: true, tls: false };
    const app = new App({ proxyUrl: 'ws://127.0.0.1:1/', targets: [target] }, sample);
    expect(app.defaultPlace).toEqual({ kind: 'proxy', target });
    const result = await runReplay(app, { seed: 1, ownSeed: false, fromProxy: true, commands: [{ verb: 'USER', name: 'demo' }] });
    expect(result.complete).toBe(true);
    expect(app.place).toEqual({ kind: 'offline' });
    expect(app.session?.endpoint.kind).toBe('offline');
    app.disconnect();
  });
});
