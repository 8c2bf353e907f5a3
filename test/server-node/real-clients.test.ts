// The Node server (core/node/server.ts over core/node/maildir.ts) against real POP3 clients on 127.0.0.1:
// curl and Python's poplib, over plain TCP, STLS and implicit TLS. Every message a client retrieves must
// equal the sample mailbox's message byte for byte, in its CRLF form.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { curl, poplib, type PoplibPlan } from '../support/real-pop3-clients.js';
import { sampleFileNames, sampleMessages } from '../support/sample-maildir.js';
import { type SampleServer, startSampleServer } from '../support/sample-server.js';

const expected = sampleMessages();
const uids = sampleFileNames().map((name) => name.split(':')[0]!);
/** The header of a message and the blank line after it: what `TOP n 0` sends. */
const header = (message: Buffer) => message.subarray(0, message.indexOf('\r\n\r\n') + 4);
const numbers = expected.map((_, i) => i + 1);

let s: SampleServer;
beforeAll(async () => {
  // One user per test that deletes, so the others always see the whole sample mailbox.
  s = await startSampleServer({ users: { demo: 'demo', poplib: 'p:o p', dropper: 'drop', deleter: 'delete' } });
});
afterAll(() => s.remove());

it('the sample messages respect poplib\'s 2048-octet line limit', () => {
  for (const message of expected) for (const line of message.toString('latin1').split('\r\n')) expect(line.length).toBeLessThan(2048);
});

describe('curl', () => {
  const url = (path = '', user = 'demo:demo') => `pop3://${user}@127.0.0.1:${s.port}/${path}`;

  it('lists the messages with their sizes as sent', async () => {
    const run = await curl(url());
    expect(run.code).toBe(0);
    expect(run.stdout.toString()).toBe(expected.map((m, i) => `${i + 1} ${m.length}\r\n`).join(''));
  });

  it('retrieves every message byte for byte', async () => {
    for (const n of numbers) {
      const run = await curl(url(String(n)));
      expect(run.code).toBe(0);
      expect(run.stdout.equals(expected[n - 1]!), `message ${n}`).toBe(true);
    }
  });

  it('gets the header with TOP n 0', async () => {
    for (const n of [1, 4, 7]) {
      const run = await curl('-X', `TOP ${n} 0`, url());
      expect(run.code).toBe(0);
      expect(run.stdout.toString('latin1')).toBe(header(expected[n - 1]!).toString('latin1'));
    }
  });

  it('lists UIDs with UIDL', async () => {
    const run = await curl('-X', 'UIDL', url());
    expect(run.stdout.toString()).toBe(uids.map((uid, i) => `${i + 1} ${uid}\r\n`).join(''));
  });

  it('works over implicit TLS (pop3s://) trusting the test CA', async () => {
    const list = await curl('--cacert', s.certificates.caFile, `pop3s://demo:demo@127.0.0.1:${s.tlsPort}/`);
    expect(list.code).toBe(0);
    expect(list.stdout.toString().split('\r\n')).toHaveLength(expected.length + 1);
    const large = await curl('--cacert', s.certificates.caFile, `pop3s://demo:demo@127.0.0.1:${s.tlsPort}/14`);
    expect(large.stdout.length).toBeGreaterThan(1_000_000);
    expect(large.stdout.equals(expected[13]!)).toBe(true);
  });

  it('refuses a certificate it does not trust', async () => {
    const run = await curl(`pop3s://demo:demo@127.0.0.1:${s.tlsPort}/`);
    expect(run.code).toBe(60); // CURLE_PEER_FAILED_VERIFICATION
  });

  it('upgrades with STLS when told --ssl-reqd', async () => {
    const run = await curl('--ssl-reqd', '--cacert', s.certificates.caFile, url('3'));
    expect(run.code).toBe(0);
    expect(run.stdout.equals(expected[2]!)).toBe(true);
    expect(s.log).toContainEqual(expect.objectContaining({ type: 'login', user: 'demo' }));
  });

  it('is refused with a wrong password, which the log never shows', async () => {
    const run = await curl(url('', 'demo:not-the-password'));
    expect(run.code).toBe(67); // CURLE_LOGIN_DENIED
    expect(JSON.stringify(s.log)).not.toContain('not-the-password');
    expect(s.log).toContainEqual(expect.objectContaining({ type: 'login-failed', user: 'demo' }));
  });
});

describe('poplib', () => {
  const plan = (overrides: Partial<PoplibPlan>): PoplibPlan => ({
    host: '127.0.0.1',
    port: s.port,
    security: 'plain',
    login: 'user',
    user: 'poplib',
    password: 'p:o p', // a colon and a space: PASS takes the rest of the line
    steps: [],
    ...overrides,
  });
  const retrAll = numbers.map((n) => ['retr', n] as const);
  const decoded = (results: unknown[]) => (results as string[]).map((b64) => Buffer.from(b64, 'base64'));

  it('logs in with USER/PASS and sees CAPA, STAT, LIST, UIDL, TOP and RETR as sent', async () => {
    const [capa, stat, list, uidl, top0, top3, ...rest] = await poplib(
      plan({ steps: [['capa'], ['stat'], ['list'], ['uidl'], ['top', 7, 0], ['top', 7, 3], ...retrAll, ['quit']] }),
    );
    expect(Object.keys(capa as object)).toEqual(expect.arrayContaining(['TOP', 'UIDL', 'USER', 'PIPELINING', 'RESP-CODES', 'STLS', 'SASL']));
    expect(stat).toEqual([expected.length, expected.reduce((sum, m) => sum + m.length, 0)]);
    expect(list).toEqual(expected.map((m, i) => `${i + 1} ${m.length}`));
    expect(uidl).toEqual(uids.map((uid, i) => `${i + 1} ${uid}`));
    const message7 = expected[6]!.toString('latin1');
    const top = Buffer.from(top3 as string, 'base64').toString('latin1');
    expect(Buffer.from(top0 as string, 'base64').equals(header(expected[6]!))).toBe(true);
    expect(top).toBe(message7.slice(0, message7.indexOf('\r\n\r\n') + 4) + 'I can write the migration guide. A first outline:\r\n\r\n  - what changes in the config file\r\n');
    const bodies = decoded(rest.slice(0, -1));
    bodies.forEach((body, i) => expect(body.equals(expected[i]!), `message ${i + 1}`).toBe(true));
    expect(rest.at(-1)).toMatch(/^\+OK/);
  });

  it('logs in with APOP', async () => {
    const [stat] = await poplib(plan({ login: 'apop', steps: [['stat'], ['quit']] }));
    expect(stat).toEqual([expected.length, expect.any(Number)]);
    expect(s.log).toContainEqual(expect.objectContaining({ type: 'login', user: 'poplib', mechanism: 'APOP' }));
  });

  it('upgrades with STLS trusting the test CA, then downloads everything', async () => {
    const results = await poplib(plan({ security: 'stls', cafile: s.certificates.caFile, steps: [...retrAll, ['quit']] }));
    decoded(results.slice(0, -1)).forEach((body, i) => expect(body.equals(expected[i]!), `message ${i + 1}`).toBe(true));
  });

  it('downloads everything over implicit TLS', async () => {
    const results = await poplib(plan({ security: 'implicit', port: s.tlsPort, cafile: s.certificates.caFile, steps: [...retrAll, ['quit']] }));
    decoded(results.slice(0, -1)).forEach((body, i) => expect(body.equals(expected[i]!), `message ${i + 1}`).toBe(true));
  });

  it('enables UTF8 before logging in', async () => {
    const [utf8, stat] = await poplib(plan({ utf8: true, steps: [['stat'], ['quit']] }));
    expect(utf8).toMatch(/^\+OK/);
    expect(stat).toEqual([expected.length, expect.any(Number)]);
  });

  it('deletes nothing when the connection drops after DELE', async () => {
    const user = { user: 'dropper', password: 'drop' };
    const [dele] = await poplib(plan({ ...user, steps: [['dele', 1], ['dele', 2], ['drop']] }));
    expect(dele).toMatch(/^\+OK/);
    await waitForClose(s, 'dropper');
    const [stat, uidl] = await poplib(plan({ ...user, steps: [['stat'], ['uidl'], ['quit']] }));
    expect((stat as number[])[0]).toBe(expected.length);
    expect(uidl).toEqual(uids.map((uid, i) => `${i + 1} ${uid}`));
  });

  it('deletes at QUIT, and the next session sees the rest renumbered', async () => {
    const user = { user: 'deleter', password: 'delete' };
    const [, , list, quit] = await poplib(plan({ ...user, steps: [['dele', 1], ['dele', 3], ['list'], ['quit']] }));
    expect(list).toHaveLength(expected.length - 2); // LIST leaves out messages marked as deleted
    expect(quit).toMatch(/^\+OK/);
    const [stat, uidl, first] = await poplib(plan({ ...user, steps: [['stat'], ['uidl'], ['retr', 1], ['quit']] }));
    const kept = uids.filter((_, i) => i !== 0 && i !== 2);
    expect((stat as number[])[0]).toBe(expected.length - 2);
    expect(uidl).toEqual(kept.map((uid, i) => `${i + 1} ${uid}`));
    expect(Buffer.from(first as string, 'base64').equals(expected[1]!)).toBe(true);
  });
});

/** Waits until the server has logged the end of a session of `user`. */
async function waitForClose(server: SampleServer, user: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (server.log.some((event) => event.type === 'close' && event.user === user)) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`no session of ${user} ended`);
}
