/**
 * fetchNew: keep mail on the server, fetch only what the UidStore has not seen, mark seen only once stored,
 * and forget the UIDs the server no longer lists, but only after a complete batch.
 */
import { describe, expect, it } from 'vitest';
import { MemoryUidStore, type UidStore } from '../../core/client/uid-store.js';
import { ErrorCode } from '../../core/errors.js';
import { connectTo, FakeMailbox, openSession, sampleMessages, type ServeOptions } from '../support/fake-mailbox.js';
import { text } from '../support/fake-server.js';

describe('fetchNew', () => {
  it('fetches everything the first time, then only new messages; deletes nothing', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const store = new MemoryUidStore();
    const first = await openSession(mailbox);
    const bodies: string[] = [];
    expect(await first.client.fetchNew(store, ({ body }) => void bodies.push(text(body)))).toEqual({ fetched: 3, known: 0, forgotten: 0 });
    expect(bodies).toEqual(mailbox.messages.map((m) => m.body));
    expect([...store.values()]).toEqual(['uid-1', 'uid-2', 'uid-3']);
    expect(first.client.state).toBe('transaction'); // the session stays open
    await first.client.quit();

    mailbox.messages.push({ uid: 'uid-new', body: 'Subject: new\r\n\r\nhello\r\n' });
    const second = await openSession(mailbox);
    const fetched: (string | undefined)[] = [];
    expect(await second.client.fetchNew(store, ({ uid }) => void fetched.push(uid))).toEqual({ fetched: 1, known: 3, forgotten: 0 });
    expect(fetched).toEqual(['uid-new']);
    expect(mailbox.received.filter((line) => line.startsWith('RETR'))).toEqual(['RETR 1', 'RETR 2', 'RETR 3', 'RETR 4']);
    expect(mailbox.received.some((line) => line.startsWith('DELE'))).toBe(false);
    expect(mailbox.messages).toHaveLength(4);
  });

  it('marks a message seen only after the handler resolved: a failure means it is fetched again', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const store = new MemoryUidStore();
    const first = await openSession(mailbox);
    const failure = new Error('no space left');
    await expect(
      first.client.fetchNew(store, async ({ uid }) => {
        if (uid === 'uid-2') throw failure;
      }),
    ).rejects.toBe(failure);
    expect([...store.values()]).toEqual(['uid-1']);
    await first.client.quit();

    const second = await openSession(mailbox);
    const fetched: (string | undefined)[] = [];
    await second.client.fetchNew(store, ({ uid }) => void fetched.push(uid));
    expect(fetched).toEqual(['uid-2', 'uid-3']);
  });

  it('needs UIDL', async () => {
    const mailbox = new FakeMailbox(sampleMessages(1));
    const { client } = await openSession(mailbox, { serve: { noUidl: true } });
    await expect(client.fetchNew(new MemoryUidStore(), () => {})).rejects.toMatchObject({ code: ErrorCode.NotSupported });
  });

  it('works with an asynchronous store', async () => {
    const mailbox = new FakeMailbox(sampleMessages(2));
    const seen = new Set(['uid-1', 'gone']);
    const store = {
      has: async (uid: string) => seen.has(uid),
      add: async (uid: string) => void seen.add(uid),
      delete: async (uid: string) => void seen.delete(uid),
      retain: async (present: ReadonlySet<string>) => {
        const gone = [...seen].filter((uid) => !present.has(uid));
        for (const uid of gone) seen.delete(uid);
        return gone.length;
      },
    };
    const { client } = await openSession(mailbox);
    expect(await client.fetchNew(store, () => {})).toEqual({ fetched: 1, known: 1, forgotten: 1 });
    expect([...seen]).toEqual(['uid-1', 'uid-2']);
  });
});

describe('fetchNew forgets the UIDs of messages gone from the server', () => {
  it('after a complete batch: forgets the unlisted, keeps the known, adds the new', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const store = new MemoryUidStore(['gone-1', 'uid-1', 'gone-2', 'uid-2']);
    const { client } = await openSession(mailbox);
    expect(await client.fetchNew(store, () => {})).toEqual({ fetched: 1, known: 2, forgotten: 2 });
    expect([...store.values()]).toEqual(['uid-1', 'uid-2', 'uid-3']);
  });

  it('once, after every new message was handled and stored', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const uids = new MemoryUidStore(['gone']);
    const calls: string[] = [];
    const store: UidStore = {
      has: (uid) => uids.has(uid),
      add: (uid) => void calls.push(`add ${uid}`),
      delete: (uid) => uids.delete(uid),
      retain: (present) => (calls.push(`retain ${[...present].join(' ')}`), uids.retain(present)),
    };
    const { client } = await openSession(mailbox);
    expect(await client.fetchNew(store, () => {})).toEqual({ fetched: 3, known: 0, forgotten: 1 });
    expect(calls).toEqual(['add uid-1', 'add uid-2', 'add uid-3', 'retain uid-1 uid-2 uid-3']);
  });

  it('an empty listing forgets everything', async () => {
    const store = new MemoryUidStore(['uid-1', 'uid-2', 'uid-3']);
    const { client } = await openSession(new FakeMailbox([]));
    expect(await client.fetchNew(store, () => {})).toEqual({ fetched: 0, known: 0, forgotten: 3 });
    expect(store.size).toBe(0);
  });

  it('nothing is forgotten when the handler throws', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const store = new MemoryUidStore(['gone', 'uid-1']);
    const { client } = await openSession(mailbox);
    const failure = new Error('disk full');
    await expect(
      client.fetchNew(store, ({ uid }) => {
        if (uid === 'uid-3') throw failure;
      }),
    ).rejects.toBe(failure);
    expect([...store.values()]).toEqual(['gone', 'uid-1', 'uid-2']);
  });

  it('nothing is forgotten when the batch is aborted part way', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const store = new MemoryUidStore(['gone']);
    const { client } = await openSession(mailbox);
    const controller = new AbortController();
    const run = client.fetchNew(
      store,
      ({ uid }) => {
        if (uid === 'uid-2') controller.abort();
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(store.has('gone')).toBe(true);
  });

  it('nothing is forgotten when the connection is cut at any point', async () => {
    const messages = sampleMessages(3, 2);
    /** One session of fetchNew over a connection cut by `serve`; whether it completed. */
    const session = async (store: MemoryUidStore, serve: ServeOptions): Promise<{ completed: boolean; sent: number }> => {
      const mailbox = new FakeMailbox(messages);
      const { client, served } = connectTo(mailbox, { serve });
      let completed = false;
      try {
        await client.connect();
        await client.login({ username: 'alice', password: mailbox.password });
        await client.fetchNew(store, () => {});
        completed = true;
      } catch {
        // The cut: what matters is what the store remembers.
      }
      client.close();
      await served;
      return { completed, sent: mailbox.sent };
    };
    const { sent } = await session(new MemoryUidStore(), {});
    let midBatch = 0;
    for (let cut = 0; cut <= sent; cut++) {
      const store = new MemoryUidStore(['gone']);
      const { completed } = await session(store, { cutAfterServerBytes: cut });
      const remembered = [...store.values()];
      if (completed) {
        expect(remembered, `cut ${cut}`).toEqual(['uid-1', 'uid-2', 'uid-3']);
      } else {
        // Only UIDs added by the half-run, after the one it had before.
        expect(remembered, `cut ${cut}`).toEqual(['gone', ...messages.map((m) => m.uid).slice(0, remembered.length - 1)]);
        if (remembered.length > 1) midBatch++;
      }
    }
    expect(midBatch).toBeGreaterThan(0); // some cuts fell between stored messages
  });

  it('a store that cannot forget works as before', async () => {
    const mailbox = new FakeMailbox(sampleMessages(2));
    const seen = new Set(['gone', 'uid-1']);
    const store: UidStore = { has: (uid) => seen.has(uid), add: (uid) => void seen.add(uid), delete: (uid) => void seen.delete(uid) };
    const { client } = await openSession(mailbox);
    expect(await client.fetchNew(store, () => {})).toEqual({ fetched: 1, known: 1, forgotten: 0 });
    expect([...seen]).toEqual(['gone', 'uid-1', 'uid-2']);
  });

  it('forgetGone: false keeps everything', async () => {
    const mailbox = new FakeMailbox(sampleMessages(2));
    const store = new MemoryUidStore(['gone', 'uid-1']);
    const { client } = await openSession(mailbox);
    expect(await client.fetchNew(store, () => {}, { forgetGone: false })).toEqual({ fetched: 1, known: 1, forgotten: 0 });
    expect([...store.values()]).toEqual(['gone', 'uid-1', 'uid-2']);
  });
});
