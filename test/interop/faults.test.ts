/**
 * Pop3Client against a real Dovecot through the fault proxy (test/support/fault-proxy.ts): connections cut
 * before, during and after RETR, DELE and QUIT; every write split into single bytes (plain and through STLS);
 * a server that stalls (idle and connect timeouts, abort, a slow stream consumer that must not time out);
 * latency that only pipelining can hide; and downloadAndDelete cut at twenty points of a session, after each
 * of which nothing may be lost and nothing handed over twice.
 *
 * Every await is bounded (`within`), so a promise the client never settles fails with its name.
 */
import net from 'node:net';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { AbortError, ConnectionError, ErrorCode, MemoryUidStore, Pop3Error, type Pop3Client, TimeoutError } from '../../core/index.js';
import { createUser, messagesOnDisk, type TestUser } from '../support/dovecot.js';
import { type FaultOptions, type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';
import { expectSameBytes, rejectionOf, Sessions, within } from '../support/interop.js';
import { edgeCaseMessages, expectedListSize, expectedWireBody, numberedMessages } from '../support/mail-generator.js';

const dovecot = inject('dovecot');
const sessions = new Sessions(dovecot);
const proxies: FaultProxy[] = [];
afterEach(async () => {
  sessions.closeAll();
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

/** A fault proxy in front of the test server's plain port (or `target`, e.g. the implicit TLS port). */
async function proxy(faults: Omit<FaultOptions, 'target'> = {}, target = dovecot.port): Promise<FaultProxy> {
  const started = await startFaultProxy({ target: { host: dovecot.host, port: target }, ...faults });
  proxies.push(started);
  return started;
}

/**
 * The idle timeout of the tests that trip it: short enough to keep them quick, long enough that a loaded
 * machine answers every other command well within it.
 */
const IDLE_MS = 800;
/** A stall that outlasts IDLE_MS by far. */
const LONG_STALL_MS = 4_000;

/** A trigger `bytes` octets into the body of the RETR reply for a message whose LIST size is `size`. */
function intoBody(size: number, bytes: number): { from: 'server'; pattern: string; offset: number } {
  const status = `+OK ${size} octets\r\n`;
  return { from: 'server', pattern: status, offset: status.length + bytes };
}

/** The outcome of a promise, bounded: a hang fails the test. */
async function settle<T>(promise: Promise<T>, what: string): Promise<PromiseSettledResult<T>> {
  return within(
    promise.then(
      (value): PromiseSettledResult<T> => ({ status: 'fulfilled', value }),
      (reason: unknown): PromiseSettledResult<T> => ({ status: 'rejected', reason }),
    ),
    what,
  );
}

describe('connections cut around RETR, DELE and QUIT', () => {
  const messages = numberedMessages(3, 110);
  const size = (n: number): number => expectedListSize(messages[n - 1]!.bytes);
  /** The octets of message n's body on the wire: its wire form plus one stuffed dot per line that starts with one. */
  const stuffedSize = (n: number): number => {
    const wire = Buffer.from(expectedWireBody(messages[n - 1]!.bytes));
    let dots = wire[0] === 0x2e ? 1 : 0;
    for (let at = wire.indexOf('\n.'); at !== -1; at = wire.indexOf('\n.', at + 1)) dots++;
    return wire.length + dots;
  };

  // Where the connection is cut. In the server's stream the replies are, in order: greeting, CAPA, USER,
  // PASS, CAPA, then those of the commands below (RETR 1, RETR 2, DELE 1, DELE 2, QUIT).
  const cuts: [where: string, cut: NonNullable<FaultOptions['cut']>][] = [
    ['before the greeting', { from: 'server', afterBytes: 0 }],
    ['in the middle of the greeting', { from: 'server', pattern: '+OK Dovecot', offset: 6 }],
    ['before RETR is sent', { from: 'client', pattern: 'RETR 1\r\n', offset: 0 }],
    ['right after RETR is sent', { from: 'client', pattern: 'RETR 1\r\n' }],
    ['before the RETR reply', { from: 'server', pattern: `+OK ${size(1)} octets`, offset: 0 }],
    ['inside the RETR status line', { from: 'server', pattern: `+OK ${size(1)} octets`, offset: 5 }],
    ['in the middle of the first RETR body', intoBody(size(1), 200)],
    ['in the middle of the second RETR body, with a reset', { ...intoBody(size(2), 100), mode: 'reset' }],
    // Just after the `.` of the terminator line, before its CRLF.
    ['inside the terminator of the first body', intoBody(size(1), stuffedSize(1) + 1)],
    ['right after the first body', { from: 'server', pattern: `+OK ${size(2)} octets`, offset: 0 }],
    ['before the DELE reply', { from: 'server', pattern: '+OK Marked to be deleted.', offset: 0 }],
    ['right after the DELE reply', { from: 'server', pattern: '+OK Marked to be deleted.\r\n' }],
    ['before QUIT is sent', { from: 'client', pattern: 'QUIT\r\n', offset: 0 }],
    ['right after QUIT is sent (the server commits, the reply is lost)', { from: 'client', pattern: 'QUIT\r\n' }],
    // After deletions Dovecot answers QUIT with `+OK Logging out, messages deleted.`
    ['before the QUIT reply', { from: 'server', pattern: '+OK Logging out', offset: 0 }],
    ['in the middle of the QUIT reply, with a reset', { from: 'server', pattern: '+OK Logging out', offset: 6, mode: 'reset' }],
  ];

  it.each(cuts)('%s: typed errors, every promise settles, the error sticks', async (_, cut) => {
    const user = await createUser(dovecot, 'cut', messages);
    const { port } = await proxy({ cut });
    // Connecting and logging in may be what the cut hits; the commands are queued together (pipelined).
    const outcomes: PromiseSettledResult<unknown>[] = [];
    let client: Pop3Client | undefined;
    const connected = await settle(sessions.open({ port }), 'connect()');
    outcomes.push(connected);
    if (connected.status === 'fulfilled') {
      client = connected.value;
      const login = await settle(client.login({ username: user.user, password: user.password, mechanism: 'USER' }), 'login');
      outcomes.push(login);
      if (login.status === 'fulfilled') {
        const calls: [string, Promise<unknown>][] = [
          ['RETR 1', client.retr(1)],
          ['RETR 2', client.retr(2)],
          ['DELE 1', client.dele(1)],
          ['DELE 2', client.dele(2)],
          ['QUIT', client.quit()],
        ];
        for (const [what, call] of calls) outcomes.push(await settle(call, what));
      }
    }

    // Replies complete before the cut resolve, and then everything rejects, with one and the same error.
    const firstFailure = outcomes.findIndex((outcome) => outcome.status === 'rejected');
    expect(firstFailure, 'some call must fail').not.toBe(-1);
    expect(outcomes.slice(firstFailure).map((outcome) => outcome.status)).toEqual(outcomes.slice(firstFailure).map(() => 'rejected'));
    const error = (outcomes[firstFailure] as PromiseRejectedResult).reason;
    for (const outcome of outcomes.slice(firstFailure)) expect((outcome as PromiseRejectedResult).reason).toBe(error);
    // An orderly FIN mid-reply is an unexpected end; a reset may also show as a failed connection.
    expect(error).toBeInstanceOf(Pop3Error);
    const allowed: string[] = cut.mode === 'reset' ? [ErrorCode.UnexpectedEnd, ErrorCode.Connection] : [ErrorCode.UnexpectedEnd];
    expect(allowed).toContain((error as Pop3Error).code);
    if (client !== undefined) {
      expect(client.state).toBe('failed');
      expect(client.error).toBe(error);
      expect(await rejectionOf(client.noop(), 'NOOP after the cut')).toBe(error);
    }
  });
});

describe('other faults', () => {
  it('works end to end when every write, both ways, arrives one byte at a time', async () => {
    const messages = edgeCaseMessages();
    const user = await createUser(dovecot, 'one-byte', messages);
    const faulty = await proxy({ oneByteWrites: 'both' });
    const client = await sessions.open({ port: faulty.port });
    expect(await within(client.login({ username: user.user, password: user.password }), 'login')).toEqual({ mechanism: 'SCRAM-SHA-256' });
    const listing = await within(client.listing(), 'LIST + UIDL');
    expect(listing.map((entry) => entry.uid)).toEqual(user.messages.map((m) => m.uidl));
    await within(
      client.retrieveMany(listing, (retrieved) => {
        expectSameBytes(retrieved.body, expectedWireBody(messages[retrieved.message - 1]!.bytes), messages[retrieved.message - 1]!.name);
      }),
      'retrieving every message',
      20_000,
    );
    await within(client.quit(), 'QUIT');
    const { fromServer, writes } = faulty.stats();
    expect(writes).toBeGreaterThan(fromServer); // one write per byte, both ways
  }, 30_000);

  it('upgrades with STLS and goes on over TLS when every write arrives one byte at a time', async () => {
    const messages = numberedMessages(2, 115);
    const user = await createUser(dovecot, 'one-byte-tls', messages);
    const { port } = await proxy({ oneByteWrites: 'both' });
    const client = await sessions.open({ port, tls: 'starttls', ca: dovecot.ca });
    expect(client.secure).toBe(true);
    await within(client.login({ username: user.user, password: user.password }), 'login over TLS');
    expectSameBytes(await within(client.retr(2), 'RETR 2'), expectedWireBody(messages[1]!.bytes), 'RETR 2 over TLS');
    await within(client.quit(), 'QUIT');
  });

  it('fails with POP3_ERR_TIMEOUT when the server stalls longer than the idle timeout', async () => {
    const messages = numberedMessages(2, 120);
    const user = await createUser(dovecot, 'stall', messages);
    const { port } = await proxy({ stall: { ...intoBody(expectedListSize(messages[0]!.bytes), 40), ms: LONG_STALL_MS } });
    const client = await sessions.loggedIn(user, { port, idleTimeout: IDLE_MS });
    const retr = client.retr(1);
    const stat = client.stat();
    const error = await rejectionOf(retr, 'RETR 1 while the server stalls', LONG_STALL_MS / 2);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe(ErrorCode.Timeout);
    expect(await rejectionOf(stat, 'STAT queued behind it')).toBe(error);
    expect(client.state).toBe('failed');
  });

  it('waits through a stall shorter than the idle timeout', async () => {
    const messages = numberedMessages(2, 130);
    const user = await createUser(dovecot, 'short-stall', messages);
    const { port } = await proxy({ stall: { ...intoBody(expectedListSize(messages[0]!.bytes), 40), ms: IDLE_MS / 2 } });
    const client = await sessions.loggedIn(user, { port, idleTimeout: IDLE_MS * 2 });
    expectSameBytes(await within(client.retr(1), 'RETR 1'), expectedWireBody(messages[0]!.bytes), 'RETR 1 after the stall');
    await within(client.quit(), 'QUIT');
  });

  it('hides latency by pipelining: 100 messages over a 100 ms round trip take far less than 100 round trips', async () => {
    const messages = numberedMessages(100, 140);
    const user = await createUser(dovecot, 'latency', messages);
    const { port } = await proxy({ latency: { server: 50, client: 50 } });
    const client = await sessions.loggedIn(user, { port });
    const started = Date.now();
    let count = 0;
    await within(
      client.retrieveMany(await within(client.listing(), 'listing'), (retrieved) => {
        expectSameBytes(retrieved.body, expectedWireBody(messages[retrieved.message - 1]!.bytes), `message ${retrieved.message}`);
        count++;
      }),
      'retrieving 100 messages',
      20_000,
    );
    const elapsed = Date.now() - started;
    expect(count).toBe(100);
    // One at a time would need 100 round trips (10 s); with 32 in flight it is a handful (about 1 s here).
    expect(elapsed).toBeLessThan(4_000);
    await within(client.quit(), 'QUIT');
  });

  it('errors a RETR stream cut mid-body with the typed error, after the bytes that did arrive', async () => {
    const messages = numberedMessages(1, 160);
    const user = await createUser(dovecot, 'stream-cut', messages);
    const { port } = await proxy({ cut: intoBody(expectedListSize(messages[0]!.bytes), 300) });
    const client = await sessions.loggedIn(user, { port });
    const reader = (await within(client.retrStream(1), 'RETR 1 as a stream')).getReader();
    const received: Uint8Array[] = [];
    let error: unknown;
    for (;;) {
      const read = await settle(reader.read(), 'reading the stream');
      if (read.status === 'rejected') {
        error = read.reason;
        break;
      }
      if (read.value.done) expect.fail('the stream ended normally although the body was cut');
      received.push(read.value.value!);
    }
    expect(error).toBeInstanceOf(Pop3Error);
    expect((error as Pop3Error).code).toBe(ErrorCode.UnexpectedEnd);
    expect(client.error).toBe(error);
    // What arrived is a prefix of the body: nothing was invented or reordered before the cut.
    const got = Buffer.concat(received);
    expectSameBytes(got, expectedWireBody(messages[0]!.bytes).subarray(0, got.length), 'the part before the cut');
    expect(got.length).toBeLessThanOrEqual(300);
  });

  it('ends the session with POP3_ERR_ABORTED when the signal fires while a reply is awaited', async () => {
    const messages = numberedMessages(2, 170);
    const user = await createUser(dovecot, 'abort', messages);
    const { port } = await proxy({ stall: { ...intoBody(expectedListSize(messages[0]!.bytes), 40), ms: LONG_STALL_MS } });
    const client = await sessions.loggedIn(user, { port });
    const controller = new AbortController();
    const retr = client.retr(1, { signal: controller.signal });
    const queued = client.retr(2);
    setTimeout(() => controller.abort(new Error('the user gave up')), 100);
    const error = await rejectionOf(retr, 'RETR 1, aborted');
    expect(error).toBeInstanceOf(AbortError);
    expect((error as AbortError).code).toBe(ErrorCode.Aborted);
    expect(await rejectionOf(queued, 'RETR 2 queued behind it')).toBe(error);
    expect(client.state).toBe('failed');
  });

  it('fails with POP3_ERR_TIMEOUT when the greeting does not come within the connect timeout', async () => {
    const { port } = await proxy({ stall: { from: 'server', afterBytes: 0, ms: LONG_STALL_MS } });
    const error = await rejectionOf(sessions.open({ port, connectTimeout: IDLE_MS }), 'connect to a silent server', LONG_STALL_MS / 2);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe(ErrorCode.Timeout);
  });

  it('does not count the time a slow stream consumer takes against the idle timeout', async () => {
    const messages = [edgeCaseMessages()[3]!]; // the 100 KB line
    const user = await createUser(dovecot, 'slow-consumer', messages);
    const client = await sessions.loggedIn(user, { idleTimeout: IDLE_MS });
    const reader = (await within(client.retrStream(1, { highWaterMark: 1024 }), 'RETR 1 as a stream')).getReader();
    const pieces: Uint8Array[] = [];
    for (let read = await within(reader.read(), 'a read'); !read.done; read = await within(reader.read(), 'a read')) {
      pieces.push(read.value);
      if (pieces.length === 1) await new Promise((resolve) => setTimeout(resolve, 2 * IDLE_MS)); // the consumer is busy
    }
    expectSameBytes(Buffer.concat(pieces), expectedWireBody(messages[0]!.bytes), 'the slowly read body');
    await within(client.quit(), 'QUIT');
  });

  it('fails with a typed error when the connection is cut during the STLS handshake', async () => {
    // The server's stream after `+OK Begin TLS negotiation now.` is the TLS handshake: cut into it.
    const { port } = await proxy({ cut: { from: 'server', pattern: 'negotiation now.\r\n', offset: 'negotiation now.\r\n'.length + 50 } });
    const error = await rejectionOf(sessions.open({ port, tls: 'starttls', ca: dovecot.ca }), 'connect with STLS');
    expect(error).toBeInstanceOf(ConnectionError);
    expect([ErrorCode.Tls, ErrorCode.Connection]).toContain((error as ConnectionError).code);
  });

  it('fails with POP3_ERR_TIMEOUT when the STLS handshake stalls longer than the idle timeout', async () => {
    const { port } = await proxy({ stall: { from: 'server', pattern: 'negotiation now.\r\n', ms: LONG_STALL_MS } });
    const client = await sessions.open({ port, idleTimeout: IDLE_MS, ca: dovecot.ca });
    const error = await rejectionOf(client.startTls(), 'STLS with a stalled handshake', LONG_STALL_MS / 2);
    expect(error).toBeInstanceOf(TimeoutError);
    expect(client.state).toBe('failed');
  });

  it('fails with POP3_ERR_TIMEOUT when the implicit TLS handshake stalls longer than the connect timeout', async () => {
    const { port } = await proxy({ stall: { from: 'server', afterBytes: 0, ms: LONG_STALL_MS } }, dovecot.tlsPort);
    const connecting = sessions.open({ port, tls: 'implicit', ca: dovecot.ca, connectTimeout: IDLE_MS });
    const error = await rejectionOf(connecting, 'connect with a stalled handshake', LONG_STALL_MS / 2);
    expect(error).toBeInstanceOf(TimeoutError);
  });

  it('fails with POP3_ERR_CONNECTION when nothing listens on the port', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as net.AddressInfo;
    await new Promise((resolve) => closed.close(resolve));
    const error = await rejectionOf(sessions.open({ port }), 'connect to a closed port');
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as ConnectionError).code).toBe(ErrorCode.Connection);
  });
});

describe('downloadAndDelete cut anywhere', () => {
  const messages = numberedMessages(6, 150);

  /** One downloadAndDelete session through `port`; resolves with its error (undefined if it succeeded). */
  async function downloadThrough(port: number, user: TestUser, handler: (uid: string, body: Uint8Array) => void, store: MemoryUidStore): Promise<unknown> {
    const outcome = await settle(
      (async () => {
        const client = await sessions.open({ port });
        await client.login({ username: user.user, password: user.password, mechanism: 'USER' });
        return client.downloadAndDelete((message) => handler(message.uid!, message.body), { store });
      })(),
      'a downloadAndDelete session',
    );
    return outcome.status === 'rejected' ? outcome.reason : undefined;
  }

  it('never loses a message and never hands one over twice, wherever the connection is cut', async () => {
    // A clean run through the proxy measures each direction of a whole session.
    const probe = await proxy();
    const probeUser = await createUser(dovecot, 'dd-probe', messages);
    expect(await downloadThrough(probe.port, probeUser, () => {}, new MemoryUidStore())).toBeUndefined();
    const { fromServer, fromClient } = probe.stats();

    const cuts: NonNullable<FaultOptions['cut']>[] = [
      // Evenly through the server's stream: greeting, CAPA, login, LIST, UIDL, bodies, DELE replies, QUIT.
      ...Array.from({ length: 14 }, (_, k) => ({ from: 'server' as const, afterBytes: Math.floor((fromServer * k) / 14) })),
      { from: 'client', afterBytes: Math.floor(fromClient / 2) },
      { ...intoBody(expectedListSize(messages[3]!.bytes), 100), mode: 'reset' }, // in the 4th body
      { from: 'server', pattern: '+OK Marked to be deleted.\r\n', occurrence: 2 }, // two messages marked
      { from: 'client', pattern: 'QUIT\r\n', offset: 0 }, // all marked, QUIT never arrives: nothing deleted
      { from: 'client', pattern: 'QUIT\r\n' }, // QUIT arrives and commits, its reply is lost
      { from: 'server', pattern: '+OK Logging out', offset: 0 }, // committed, the client never hears so
    ];
    for (const cut of cuts) {
      const where = JSON.stringify(cut);
      const user = await createUser(dovecot, 'dd-cut', messages);
      const store = new MemoryUidStore(); // the caller's durable record, shared by both sessions
      const handed = new Map<string, Uint8Array[]>();
      const handler = (uid: string, body: Uint8Array): void => void handed.set(uid, [...(handed.get(uid) ?? []), body]);

      const { port } = await proxy({ cut });
      const error = await downloadThrough(port, user, handler, store);
      expect(error, `${where}: the cut session must fail`).toBeInstanceOf(Pop3Error);

      // A clean session gets the mailbox lock only once Dovecot has finished the cut one (commit included).
      const clean = await sessions.loggedIn(user);
      const onServer = new Set((await within(clean.uidl(), 'UIDL')).map((entry) => entry.uid));
      for (const m of user.messages) expect(handed.has(m.uidl) || onServer.has(m.uidl), `${where}: ${m.name} was lost`).toBe(true);
      await within(clean.downloadAndDelete((message) => handler(message.uid!, message.body), { store }), `${where}: clean downloadAndDelete`);

      for (const m of user.messages) {
        const bodies = handed.get(m.uidl) ?? [];
        expect(bodies.length, `${where}: ${m.name} handed over ${bodies.length} times`).toBe(1);
        expectSameBytes(bodies[0]!, expectedWireBody(messages[m.number - 1]!.bytes), `${where}: ${m.name}`);
      }
      expect(await messagesOnDisk(user), `${where}: the Maildir after the clean session`).toEqual([]);
    }
  }, 60_000);
});
