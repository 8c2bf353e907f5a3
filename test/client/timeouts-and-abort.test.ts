/**
 * Timeouts and AbortSignal at each stage (connect, login, mid-RETR): a typed error naming what happened,
 * every pending call settled, and the session closed. Time is faked: only setTimeout and clearTimeout,
 * which are all the client uses.
 */
import { getEventListeners } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { memoryTransportPair } from '../../core/client/memory-transport.js';
import { Pop3Client, type Pop3ClientOptions } from '../../core/client/pop3-client.js';
import { ErrorCode, type Pop3Error } from '../../core/errors.js';
import { FakeMailbox, openSession, sampleMessages } from '../support/fake-mailbox.js';
import { capaReply, FakeServer, flush, GREETING, loggedIn, track } from '../support/fake-server.js';

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
});
afterEach(() => {
  vi.useRealTimers();
});

function unconnected(options?: Pop3ClientOptions): { client: Pop3Client; server: FakeServer } {
  const pair = memoryTransportPair();
  return { client: new Pop3Client(pair.client, options), server: new FakeServer(pair.server) };
}

async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
  await flush();
}

describe('connect timeout', () => {
  it('no greeting: POP3_ERR_TIMEOUT after connectTimeout, and the connection is closed', async () => {
    const { client, server } = unconnected({ connectTimeout: 5_000 });
    const connect = track(client.connect());
    await advance(4_999);
    expect(connect.state).toBe('pending');
    await advance(1);
    expect(connect.state).toBe('rejected');
    expect(connect.error).toMatchObject({ code: ErrorCode.Timeout, message: expect.stringMatching(/5000 ms: no greeting/) });
    expect(await server.next()).toBeUndefined();
    expect(client.state).toBe('failed');
  });

  it('no answer to CAPA: the same timeout covers it', async () => {
    const { client, server } = unconnected({ connectTimeout: 5_000 });
    void server.send(GREETING);
    const connect = track(client.connect());
    await server.expect('CAPA');
    await advance(5_000);
    expect(connect.error).toMatchObject({ code: ErrorCode.Timeout, message: expect.stringMatching(/no answer to CAPA/) });
  });

  it('0 disables it', async () => {
    const { client, server } = unconnected({ connectTimeout: 0 });
    const connect = track(client.connect());
    await advance(3_600_000);
    expect(connect.state).toBe('pending');
    void server.send(GREETING);
    await server.expect('CAPA');
    void server.send(capaReply(['USER']));
    await flush();
    expect(connect.state).toBe('resolved');
  });

  it('stops once connected', async () => {
    const { client, server } = unconnected({ connectTimeout: 5_000, idleTimeout: 0 });
    void server.send(GREETING);
    const connect = client.connect();
    await server.expect('CAPA');
    void server.send(capaReply(['USER']));
    await connect;
    await advance(60_000);
    expect(client.state).toBe('authorization');
  });
});

describe('idle timeout', () => {
  it('during login: names the command awaited, secrets redacted; every pending call rejects', async () => {
    const { client, server } = await loggedInLater({ idleTimeout: 10_000 });
    const login = track(client.login({ username: 'alice', password: 'secret', mechanism: 'USER' }));
    await server.expect('USER alice');
    await server.expect('PASS secret');
    void server.send('+OK\r\n');
    await advance(10_000);
    expect(login.state).toBe('rejected');
    const error = login.error as Pop3Error;
    expect(error.code).toBe(ErrorCode.Timeout);
    expect(error.message).toBe('the server sent nothing for 10000 ms while the reply to PASS [redacted] was awaited');
    expect(await server.next()).toBeUndefined();
  });

  it('mid-RETR: the RETR and everything queued behind it reject with the same error', async () => {
    const { client, server } = await loggedIn({ client: { idleTimeout: 10_000 } });
    const retr = track(client.retr(1));
    const stat = track(client.stat());
    await server.expect('RETR 1');
    await server.expect('STAT');
    void server.send('+OK\r\nhalf a body\r\n');
    await advance(9_999);
    expect(retr.state).toBe('pending');
    await advance(1);
    expect(retr.state).toBe('rejected');
    expect(stat.state).toBe('rejected');
    expect(stat.error).toBe(retr.error);
    expect((retr.error as Pop3Error).message).toMatch(/reply to RETR 1/);
    await expect(client.noop()).rejects.toBe(retr.error);
  });

  it('counts silence, not duration: data keeps a long reply alive', async () => {
    const { client, server } = await loggedIn({ client: { idleTimeout: 10_000 } });
    const retr = client.retr(1);
    await server.expect('RETR 1');
    void server.send('+OK\r\n');
    for (let i = 0; i < 10; i++) {
      await advance(9_000);
      void server.send(`line ${i}\r\n`);
      await flush();
    }
    void server.send('.\r\n');
    expect((await retr).length).toBeGreaterThan(0);
  });

  it('notices silence that follows data within twice the timeout (the timer is not re-armed per chunk)', async () => {
    const { client, server } = await loggedIn({ client: { idleTimeout: 10_000 } });
    const retr = track(client.retr(1));
    await server.expect('RETR 1');
    void server.send('+OK\r\n'); // the first data re-arms the timer: it would expire at 10 000
    await advance(5_000);
    void server.send('more\r\n'); // only noted: at 10 000 the timer sees it and runs again, to 20 000
    await advance(5_000);
    await advance(4_999);
    expect(retr.state).toBe('pending');
    await advance(5_001);
    expect(retr.state).toBe('rejected');
    expect((retr.error as Pop3Error).code).toBe(ErrorCode.Timeout);
  });

  it('does not run while nothing is awaited', async () => {
    const { client } = await loggedIn({ client: { idleTimeout: 10_000 } });
    await advance(3_600_000);
    expect(client.state).toBe('transaction');
  });

  /** A session with a 10 s idle timeout, streaming RETR 1, whose first line has arrived and is not read yet. */
  async function streamWithFirstLine() {
    const { client, server } = await loggedIn({ client: { idleTimeout: 10_000 } });
    const streamed = client.retrStream(1, { highWaterMark: 4 });
    await server.expect('RETR 1');
    void server.send('+OK\r\nfirst line\r\n');
    return { client, server, reader: (await streamed).getReader() };
  }

  it('does not run while a slow stream consumer holds the client back', async () => {
    const { client, server, reader } = await streamWithFirstLine();
    await advance(600_000); // nobody reads for ten minutes
    expect(client.state).toBe('transaction');
    void server.send('second\r\n.\r\n');
    let body = '';
    for (let r = await reader.read(); !r.done; r = await reader.read()) body += new TextDecoder().decode(r.value);
    expect(body).toBe('first line\r\nsecond\r\n');
  });

  it('counts again from when a slow stream consumer reads: silence after that is noticed', async () => {
    const { client, reader } = await streamWithFirstLine();
    await advance(605_000); // mid-way between two runs of the timer, which kept going while paused
    const first = await reader.read(); // reading resumes; the server then says nothing more
    expect(new TextDecoder().decode(first.value)).toBe('first line\r\n');
    const rest = reader.read().catch((error: unknown) => error);
    await advance(9_999);
    expect(client.state).toBe('transaction');
    await advance(10_001);
    expect(await rest).toMatchObject({ code: ErrorCode.Timeout });
  });
});

describe('AbortSignal', () => {
  it('already aborted: rejects at once with the reason, sends nothing, the session goes on', async () => {
    const { client, server } = await loggedIn();
    const reason = new Error('not now');
    const error = await client.stat({ signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'AbortError', code: ErrorCode.Aborted, message: 'STAT aborted', cause: reason });
    const noop = client.noop();
    await server.expect('NOOP');
    void server.send('+OK\r\n');
    await noop;
  });

  it('during connect', async () => {
    const { client, server } = unconnected();
    const controller = new AbortController();
    const connect = track(client.connect({ signal: controller.signal }));
    await flush();
    controller.abort();
    await flush();
    expect(connect.error).toMatchObject({ code: ErrorCode.Aborted, message: 'connect aborted' });
    expect(await server.next()).toBeUndefined();
  });

  it('during login', async () => {
    const { client, server } = await loggedInLater();
    const controller = new AbortController();
    const login = track(client.login({ username: 'alice', password: 'secret', mechanism: 'USER', signal: controller.signal }));
    await server.expect('USER alice');
    controller.abort();
    await flush();
    expect(login.error).toMatchObject({ code: ErrorCode.Aborted, message: 'login aborted' });
    expect(client.state).toBe('failed');
  });

  it('mid-RETR: the RETR and the other pending calls reject, nothing is left pending', async () => {
    const { client, server } = await loggedIn();
    const controller = new AbortController();
    const retr = track(client.retr(1, { signal: controller.signal }));
    const list = track(client.list());
    await server.expect('RETR 1');
    void server.send('+OK\r\nsome of it\r\n');
    await flush();
    controller.abort();
    await flush();
    expect([retr.state, list.state]).toEqual(['rejected', 'rejected']);
    expect(retr.error).toMatchObject({ code: ErrorCode.Aborted, message: 'RETR 1 aborted' });
    expect(list.error).toBe(retr.error);
    expect(client.error).toBe(retr.error);
    expect(await server.next()).toBe('LIST');
    expect(await server.next()).toBeUndefined();
  });

  it('after the call has settled, aborting changes nothing', async () => {
    const { client, server } = await loggedIn();
    const controller = new AbortController();
    const noop = client.noop({ signal: controller.signal });
    await server.expect('NOOP');
    void server.send('+OK\r\n');
    await noop;
    controller.abort();
    expect(client.state).toBe('transaction');
  });

  it('a batch: aborting during the handler of the last message still rejects', async () => {
    const { client, server } = await loggedIn();
    const controller = new AbortController();
    const batch = track(
      client.retrieveMany([1], () => controller.abort(), { signal: controller.signal }),
    );
    await server.expect('RETR 1');
    void server.send('+OK\r\nbody\r\n.\r\n');
    await flush();
    expect(batch.error).toMatchObject({ code: ErrorCode.Aborted });
  });

  it('a batch listens to its signal once, however many commands it has in flight', async () => {
    const mailbox = new FakeMailbox(sampleMessages(60));
    const { client } = await openSession(mailbox, { serve: { lazy: true } });
    const signal = new AbortController().signal;
    const listening: number[] = [];
    await client.retrieveMany(mailbox.messages.map((_, i) => i + 1), () => void listening.push(getEventListeners(signal, 'abort').length), { signal });
    await client.deleteMany(mailbox.messages.map((_, i) => i + 1), { signal, onProgress: () => void listening.push(getEventListeners(signal, 'abort').length) });
    expect(mailbox.maxOutstanding).toBe(60);
    expect(new Set(listening)).toEqual(new Set([1]));
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('a batch whose signal is already aborted rejects and sends nothing; the session goes on', async () => {
    const { client, server } = await loggedIn();
    const reason = new Error('not now');
    for (const batch of [client.retrieveMany([1, 2], () => {}, { signal: AbortSignal.abort(reason) }), client.deleteMany([1], { signal: AbortSignal.abort(reason) })]) {
      await expect(batch).rejects.toMatchObject({ name: 'AbortError', code: ErrorCode.Aborted, cause: reason });
    }
    const stat = client.stat();
    await server.expect('STAT'); // the first command the server sees
    void server.send('+OK 2 20\r\n');
    expect(await stat).toEqual({ count: 2, size: 20 });
  });

  it('aborting a batch mid-way ends the session, and the batch and every pending call reject', async () => {
    const { client, server } = await loggedIn();
    const controller = new AbortController();
    const batch = track(client.retrieveMany([1, 2, 3], () => {}, { signal: controller.signal }));
    await server.expect('RETR 1');
    void server.send('+OK\r\none\r\n.\r\n');
    await flush();
    controller.abort();
    await flush();
    expect(batch.error).toMatchObject({ code: ErrorCode.Aborted, message: 'retrieving messages aborted' });
    expect(client.state).toBe('failed');
  });
});

describe('a callback that throws', () => {
  it('aborts the session with the exception as the cause', async () => {
    const { client, server } = await loggedIn();
    const oops = new Error('oops');
    const retr = track(
      client.retr(1, {
        onProgress: () => {
          throw oops;
        },
      }),
    );
    await server.expect('RETR 1');
    void server.send('+OK\r\nbody\r\n.\r\n');
    await flush();
    expect(retr.error).toMatchObject({ code: ErrorCode.Aborted, cause: oops });
  });
});

/** Connected (greeting and CAPA done), not logged in. */
async function loggedInLater(options: Pop3ClientOptions = {}) {
  const { client, server } = unconnected(options);
  void server.send(GREETING);
  const connect = client.connect();
  await server.expect('CAPA');
  void server.send(capaReply(['USER', 'PIPELINING']));
  await connect;
  return { client, server };
}
