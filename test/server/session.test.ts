/**
 * Pop3ServerSession, the async driver: a whole session over an in-memory connection against a MailStore,
 * and everything the session adds to the engine: backpressure both ways, STLS with no read outstanding, the
 * idle timer, store failures, releasing the mailbox exactly once however the session ends.
 */
import { describe, expect, it } from 'vitest';
import type { Mailbox, MailStore } from '../../core/server/mailbox.js';
import { MemoryMailStore } from '../../core/server/memory-mailbox.js';
import { Pop3ServerSession, type ServerSessionOptions, type SessionEvent } from '../../core/server/session.js';
import { type MemoryEnd, memoryPipe } from '../support/memory-pipe.js';
import { fixtureRandom, fixtureStore } from '../support/server-transcript.js';
import { byteArray, byteString } from '../support/transcript.js';

/** Let every pending promise callback run. */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The client side: writes text, reads CRLF lines. */
class LineClient {
  readonly end: MemoryEnd;
  #buffer = '';
  #eof = false;

  constructor(end: MemoryEnd) {
    this.end = end;
  }

  send(text: string): Promise<void> {
    return this.end.write(byteArray(text));
  }

  /** The next `count` lines, without CRLF. */
  async lines(count: number): Promise<string[]> {
    const lines: string[] = [];
    while (lines.length < count) {
      const at = this.#buffer.indexOf('\r\n');
      if (at !== -1) {
        lines.push(this.#buffer.slice(0, at));
        this.#buffer = this.#buffer.slice(at + 2);
        continue;
      }
      if (!(await this.#fill())) throw new Error(`the stream ended after ${lines.length} of ${count} lines: ${JSON.stringify(this.#buffer)}`);
    }
    return lines;
  }

  /** Everything up to the end of the stream. */
  async rest(): Promise<string> {
    while (await this.#fill());
    const rest = this.#buffer;
    this.#buffer = '';
    return rest;
  }

  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    const chunk = await this.end.read();
    if (chunk === undefined) this.#eof = true;
    else this.#buffer += byteString(chunk);
    return chunk !== undefined;
  }
}

function start(store: MailStore = fixtureStore(), options: ServerSessionOptions = {}, highWaterMark?: number) {
  const [clientEnd, serverEnd] = memoryPipe({ highWaterMark });
  const session = new Pop3ServerSession(serverEnd, store, { random: fixtureRandom(), apopTimestamp: false, ...options });
  return { session, done: session.run(), client: new LineClient(clientEnd), serverEnd };
}

const LOGIN = 'USER alice\r\nPASS alice-pw\r\n';

describe('a session over a connection', () => {
  it('runs greeting to QUIT: the deletion is applied at QUIT and the lock released', async () => {
    const store = fixtureStore();
    const { done, client } = start(store);
    expect(await client.lines(1)).toEqual(['+OK POP3 server ready']);
    await client.send(`${LOGIN}RETR 4\r\nDELE 1\r\nQUIT\r\n`);
    expect(await client.lines(7)).toEqual([
      '+OK send PASS',
      '+OK maildrop has 4 messages (193 octets)',
      '+OK 22 octets',
      'Subject: header only',
      '.',
      '+OK message 1 deleted',
      '+OK bye (3 messages left)',
    ]);
    expect(await client.rest()).toBe('');
    expect(await done).toEqual({ reason: 'quit', user: 'alice' });
    expect(store.messages('alice')!.map((message) => message.uid)).toEqual(['alice-2', 'alice-3', 'alice-4']);
    expect(store.isLocked('alice')).toBe(false);
  });

  it('deletes nothing when the client closes the connection without QUIT, and releases the lock', async () => {
    const store = fixtureStore();
    const { done, client } = start(store);
    await client.send(`${LOGIN}DELE 1\r\nDELE 2\r\n`);
    await client.lines(5);
    client.end.close();
    expect(await done).toEqual({ reason: 'end-of-input', user: 'alice' });
    expect(store.messages('alice')).toHaveLength(4);
    expect(store.isLocked('alice')).toBe(false);
  });

  it('answers every command a half-closed client sent, QUIT included', async () => {
    const store = fixtureStore();
    const { done, client } = start(store);
    await client.send(`${LOGIN}DELE 2\r\nQUIT\r\n`);
    client.end.end();
    expect(await client.rest()).toBe(
      '+OK POP3 server ready\r\n+OK send PASS\r\n+OK maildrop has 4 messages (193 octets)\r\n+OK message 2 deleted\r\n+OK bye (3 messages left)\r\n',
    );
    expect((await done).reason).toBe('quit');
    expect(store.messages('alice')).toHaveLength(3);
  });

  it('greets with a fresh APOP timestamp by default', async () => {
    const [clientEnd, serverEnd] = memoryPipe();
    const session = new Pop3ServerSession(serverEnd, fixtureStore(), { random: fixtureRandom(7) });
    const done = session.run();
    const [greeting] = await new LineClient(clientEnd).lines(1);
    expect(greeting).toMatch(/^\+OK POP3 server ready <[0-9a-f]{24}@localhost>$/);
    session.shutdown();
    expect((await done).reason).toBe('shutdown');
    await expect(session.run()).rejects.toThrow('a session runs only once');
  });
});

describe('STLS', () => {
  it('upgrades after the +OK is written, then CAPA no longer offers STLS', async () => {
    const { done, client, serverEnd } = start();
    await client.lines(1);
    await client.send('STLS\r\n');
    expect(await client.lines(1)).toEqual(['+OK begin TLS negotiation']);
    await client.end.startTls();
    await client.send('CAPA\r\nQUIT\r\n');
    const capa = await client.lines(11);
    expect(capa).not.toContain('STLS');
    expect(capa.at(-1)).toBe('+OK bye');
    expect(serverEnd.tlsUpgrades).toBe(1);
    expect((await done).reason).toBe('quit');
  });

  it('has no read outstanding at the upgrade even when STLS was pipelined behind a login being checked', async () => {
    // The memory pipe throws if startTls() is called with a read outstanding.
    const { done, client, serverEnd } = start();
    await client.send('USER alice\r\nPASS wrong\r\nSTLS\r\nUSER injected\r\n');
    expect(await client.lines(4)).toEqual(['+OK POP3 server ready', '+OK send PASS', '-ERR [AUTH] authentication failed', '+OK begin TLS negotiation']);
    await client.end.startTls();
    await client.send('PASS alice-pw\r\nQUIT\r\n');
    expect(await client.lines(2)).toEqual(['-ERR PASS must follow USER', '+OK bye']);
    expect(serverEnd.tlsUpgrades).toBe(1);
    expect((await done).reason).toBe('quit');
  });

  it('is not offered on a connection that cannot upgrade', async () => {
    const [clientEnd, serverEnd] = memoryPipe();
    const plainConnection = { read: () => serverEnd.read(), write: (bytes: Uint8Array) => serverEnd.write(bytes), close: () => serverEnd.close() };
    const session = new Pop3ServerSession(plainConnection, fixtureStore(), { random: fixtureRandom(), apopTimestamp: false });
    const done = session.run();
    const client = new LineClient(clientEnd);
    await client.send('STLS\r\nQUIT\r\n');
    expect(await client.lines(3)).toEqual(['+OK POP3 server ready', '-ERR STLS is not available', '+OK bye']);
    await done;
  });
});

describe('the idle timer', () => {
  function fakeTimer() {
    const timers: { ms: number; fire: () => void; cancelled: boolean }[] = [];
    const timer = (ms: number, fire: () => void) => {
      const entry = { ms, fire, cancelled: false };
      timers.push(entry);
      return () => (entry.cancelled = true);
    };
    return { timers, timer };
  }

  it('runs while the session waits on the client; firing ends the session without a reply or UPDATE', async () => {
    const store = fixtureStore();
    const { timers, timer } = fakeTimer();
    const { done, client } = start(store, { idleTimeout: 600_000, timer });
    await client.send(`${LOGIN}DELE 1\r\n`);
    await client.lines(4);
    await settle();
    const live = timers.filter((entry) => !entry.cancelled);
    expect(live).toHaveLength(1);
    expect(live[0]!.ms).toBe(600_000);
    expect(timers.length).toBeGreaterThan(1); // input disarmed the first one, the session armed another
    live[0]!.fire();
    expect(await client.rest()).toBe('');
    expect(await done).toEqual({ reason: 'idle-timeout', user: 'alice' });
    expect(store.messages('alice')).toHaveLength(4);
    expect(store.isLocked('alice')).toBe(false);
  });

  it('needs a timer', () => {
    const [, serverEnd] = memoryPipe();
    expect(() => new Pop3ServerSession(serverEnd, fixtureStore(), { idleTimeout: 1000 })).toThrow(TypeError);
  });
});

describe('backpressure', () => {
  it('stops reading while the client does not read its replies, and answers every command in order once it does', async () => {
    const store = fixtureStore();
    const { done, client } = start(store, { limits: { maxBufferedInput: 64 } }, 256);
    await client.send(LOGIN);
    await client.lines(3);
    let written = 0;
    const writes = Array.from({ length: 200 }, () => client.send('RETR 1\r\n').then(() => written++));
    await settle();
    await settle();
    // The server's writes wait for the client, so the server stopped reading, so the client's writes wait.
    expect(written).toBeLessThan(100);
    const replies = await client.lines(200 * 7);
    await Promise.all(writes);
    expect(written).toBe(200);
    for (let i = 0; i < 200; i++) expect(replies[i * 7], `reply ${i + 1}`).toBe('+OK 72 octets');
    await client.send('QUIT\r\n');
    expect(await client.lines(1)).toEqual(['+OK bye (4 messages left)']);
    await done;
  });
});

/** A MailStore around a MemoryMailStore that fails where told and counts what it was asked. */
class FaultyStore implements MailStore {
  readonly inner = fixtureStore();
  closes = 0;
  iteratorsClosed = 0;
  constructor(readonly fail: { password?: boolean; open?: boolean; read?: 'at-once' | 'after-data'; delete?: boolean } = {}) {}

  async password(user: string): Promise<string | undefined> {
    if (this.fail.password) throw new Error('the user database is down');
    return this.inner.password(user);
  }

  async open(user: string): Promise<Mailbox | 'in-use'> {
    if (this.fail.open) throw new Error('cannot lock');
    const mailbox = await this.inner.open(user);
    if (mailbox === 'in-use') return mailbox;
    const store = this;
    return {
      messages: mailbox.messages,
      async *read(uid) {
        try {
          if (store.fail.read === 'at-once') throw new Error('disk error');
          for await (const chunk of mailbox.read(uid)) {
            yield chunk;
            if (store.fail.read === 'after-data') throw new Error('disk error');
          }
        } finally {
          store.iteratorsClosed++;
        }
      },
      async delete(uids) {
        if (store.fail.delete) throw new Error('read-only file system');
        return mailbox.delete(uids);
      },
      async close() {
        store.closes++;
        return mailbox.close();
      },
    };
  }
}

describe('store failures', () => {
  it('a failed password lookup is -ERR [SYS/TEMP], not [AUTH]', async () => {
    const { done, client } = start(new FaultyStore({ password: true }));
    await client.send(`${LOGIN}QUIT\r\n`);
    expect(await client.lines(4)).toEqual(['+OK POP3 server ready', '+OK send PASS', '-ERR [SYS/TEMP] authentication is unavailable, try again later', '+OK bye']);
    await done;
  });

  it('a mailbox that cannot be opened is -ERR [SYS/TEMP]', async () => {
    const { done, client } = start(new FaultyStore({ open: true }));
    await client.send(`${LOGIN}QUIT\r\n`);
    expect((await client.lines(3))[2]).toBe('-ERR [SYS/TEMP] the mailbox cannot be opened, try again later');
    await done;
  });

  it('a message that cannot be read is -ERR; the session goes on', async () => {
    const store = new FaultyStore({ read: 'at-once' });
    const { done, client } = start(store);
    await client.send(`${LOGIN}RETR 1\r\nQUIT\r\n`);
    expect((await client.lines(5)).slice(3)).toEqual(['-ERR [SYS/TEMP] the message cannot be read, try again later', '+OK bye (4 messages left)']);
    await done;
    expect(store.closes).toBe(1);
  });

  it('a read failing in the middle of a body ends the session; nothing is deleted; the mailbox is closed once', async () => {
    const store = new FaultyStore({ read: 'after-data' });
    const { done, client } = start(store);
    await client.send(`${LOGIN}DELE 2\r\nRETR 1\r\n`);
    // fixtureStore() streams in pieces of 7 bytes: the first piece went out, then the session ended.
    expect((await client.rest()).endsWith('+OK 72 octets\r\nFrom: b')).toBe(true);
    expect((await done).reason).toBe('storage-error');
    expect(store.closes).toBe(1);
    expect(store.inner.messages('alice')).toHaveLength(4);
  });

  it('deletions that fail at QUIT: -ERR, the session ends, the mailbox is closed once', async () => {
    const store = new FaultyStore({ delete: true });
    const { done, client } = start(store);
    await client.send(`${LOGIN}DELE 1\r\nQUIT\r\n`);
    expect((await client.lines(5)).at(-1)).toBe('-ERR [SYS/TEMP] some deleted messages not removed');
    expect((await done).reason).toBe('quit');
    expect(store.closes).toBe(1);
    expect(store.inner.messages('alice')).toHaveLength(4);
  });

  it('TOP stops reading the message once it has its lines (the store iterator is closed)', async () => {
    const store = new FaultyStore();
    const { done, client } = start(store);
    await client.send(`${LOGIN}TOP 1 0\r\nQUIT\r\n`);
    expect((await client.lines(9)).slice(3)).toEqual(['+OK top of message follows', 'From: bob@example.org', 'Subject: hello', '', '.', '+OK bye (4 messages left)']);
    await done;
    expect(store.iteratorsClosed).toBe(1);
  });
});

describe('two sessions on one store', () => {
  it('the second gets [IN-USE] until the first quits', async () => {
    const store = fixtureStore();
    const first = start(store);
    await first.client.send(LOGIN);
    await first.client.lines(3);
    const second = start(store);
    await second.client.send(LOGIN);
    expect((await second.client.lines(3))[2]).toBe('-ERR [IN-USE] the mailbox is locked by another session');
    await first.client.send('QUIT\r\n');
    await first.done;
    await second.client.send(LOGIN);
    expect((await second.client.lines(2))[1]).toBe('+OK maildrop has 4 messages (193 octets)');
    second.session.shutdown();
    expect(await second.done).toEqual({ reason: 'shutdown', user: 'alice' });
    expect(store.isLocked('alice')).toBe(false);
  });
});

describe('events for logs', () => {
  it('reports logins, failures, trace lines and the end, never a password', async () => {
    const events: SessionEvent[] = [];
    const { done, client } = start(fixtureStore(), { trace: true, onEvent: (event) => events.push(event) });
    await client.send(`USER alice\r\nPASS secret-guess\r\n${LOGIN}QUIT\r\n`);
    await client.rest();
    await done;
    expect(events.filter((event) => event.type !== 'trace')).toEqual([
      { type: 'login-failed', user: 'alice', mechanism: 'USER', reason: 'wrong password' },
      { type: 'login', user: 'alice', mechanism: 'USER' },
      { type: 'closed', reason: 'quit' },
    ]);
    expect(events).toContainEqual({ type: 'trace', from: 'client', line: 'PASS [redacted]' });
    expect(JSON.stringify(events)).not.toMatch(/secret-guess|alice-pw/);
  });
});

describe('a connection that fails', () => {
  it('ends the session as connection-lost when a write fails; nothing is deleted', async () => {
    const store = new MemoryMailStore({ chunkSize: 1024 });
    store.addUser('alice', 'alice-pw');
    store.deliver('alice', 'x'.repeat(1_000_000));
    store.deliver('alice', 'small');
    const { done, client } = start(store, {}, 1024);
    await client.send(`${LOGIN}DELE 2\r\nRETR 1\r\n`);
    expect((await client.lines(5)).at(-1)).toBe('+OK 1000002 octets'); // the body is streaming
    client.end.close();
    expect(await done).toEqual({ reason: 'connection-lost', user: 'alice' });
    expect(store.messages('alice')).toHaveLength(2);
    expect(store.isLocked('alice')).toBe(false);
  });
});
