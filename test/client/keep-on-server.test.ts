/** fetchNew: keep mail on the server, fetch only what the UidStore has not seen, mark seen only once stored. */
import { describe, expect, it } from 'vitest';
import { MemoryUidStore } from '../../core/client/uid-store.js';
import { ErrorCode } from '../../core/errors.js';
import { FakeMailbox, openSession, sampleMessages } from '../support/fake-mailbox.js';
import { text } from '../support/fake-server.js';

describe('fetchNew', () => {
  it('fetches everything the first time, then only new messages; deletes nothing', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const store = new MemoryUidStore();
    const first = await openSession(mailbox);
    const bodies: string[] = [];
    expect(await first.client.fetchNew(store, ({ body }) => void bodies.push(text(body)))).toEqual({ fetched: 3, known: 0 });
    expect(bodies).toEqual(mailbox.messages.map((m) => m.body));
    expect([...store.values()]).toEqual(['uid-1', 'uid-2', 'uid-3']);
    expect(first.client.state).toBe('transaction'); // the session stays open
    await first.client.quit();

    mailbox.messages.push({ uid: 'uid-new', body: 'Subject: new\r\n\r\nhello\r\n' });
    const second = await openSession(mailbox);
    const fetched: (string | undefined)[] = [];
    expect(await second.client.fetchNew(store, ({ uid }) => void fetched.push(uid))).toEqual({ fetched: 1, known: 3 });
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
    const seen = new Set(['uid-1']);
    const store = {
      has: async (uid: string) => seen.has(uid),
      add: async (uid: string) => void seen.add(uid),
      delete: async (uid: string) => void seen.delete(uid),
    };
    const { client } = await openSession(mailbox);
    expect(await client.fetchNew(store, () => {})).toEqual({ fetched: 1, known: 1 });
    expect([...seen]).toEqual(['uid-1', 'uid-2']);
  });
});
