/**
 * downloadAndDelete loses nothing: DELE only after the handler stored a message, commit only at QUIT, and a
 * connection cut at any byte (either direction) leaves every message stored or still on the server. With a
 * UidStore it also hands no message over twice. The cut-point tests run a session cut at every position,
 * then a clean session, and check the union.
 */
import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { RetrievedMessage } from '../../core/client/batch.js';
import { MemoryUidStore } from '../../core/client/uid-store.js';
import { ErrorCode } from '../../core/errors.js';
import { connectTo, FakeMailbox, openSession, sampleMessages, type ServeOptions } from '../support/fake-mailbox.js';
import { flush, text } from '../support/fake-server.js';

describe('downloadAndDelete', () => {
  it('hands every message over in order, deletes them all with QUIT', async () => {
    const mailbox = new FakeMailbox(sampleMessages(5));
    const originals = [...mailbox.messages];
    const { client } = await openSession(mailbox);
    const stored: RetrievedMessage[] = [];
    const result = await client.downloadAndDelete((message) => {
      stored.push(message);
    });
    expect(result).toEqual({ stored: 5, skipped: 0 });
    expect(stored.map((m) => [m.message, m.uid, m.size, text(m.body)])).toEqual(
      originals.map((m, i) => [i + 1, m.uid, m.body.length, m.body]),
    );
    expect(mailbox.messages).toEqual([]);
    expect(mailbox.received.at(-1)).toBe('QUIT');
    expect(client.state).toBe('closed');
  });

  it('sends DELE for a message only after its handler has resolved', async () => {
    const mailbox = new FakeMailbox(sampleMessages(4));
    const { client } = await openSession(mailbox);
    await client.downloadAndDelete(async ({ message }) => {
      for (let i = 0; i < 5; i++) await flush(); // time for anything already queued to reach the server
      expect(mailbox.received).not.toContain(`DELE ${message}`);
    });
    expect(mailbox.received.filter((line) => line.startsWith('DELE'))).toEqual(['DELE 1', 'DELE 2', 'DELE 3', 'DELE 4']);
  });

  it('a handler failure commits what was stored, keeps the rest, and rethrows', async () => {
    const mailbox = new FakeMailbox(sampleMessages(5));
    const { client } = await openSession(mailbox);
    const failure = new Error('disk full');
    const run = client.downloadAndDelete(({ message }) => {
      if (message === 3) throw failure;
    });
    await expect(run).rejects.toBe(failure);
    expect(mailbox.messages.map((m) => m.uid)).toEqual(['uid-3', 'uid-4', 'uid-5']);
    expect(client.state).toBe('closed');
  });

  it('an abort commits nothing', async () => {
    const mailbox = new FakeMailbox(sampleMessages(5));
    const { client } = await openSession(mailbox);
    const controller = new AbortController();
    const run = client.downloadAndDelete(
      ({ message }) => {
        if (message === 3) controller.abort();
      },
      { signal: controller.signal },
    );
    await expect(run).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(mailbox.messages).toHaveLength(5);
    expect(mailbox.received).not.toContain('QUIT');
  });

  it('with a store: messages stored by an earlier session are deleted without being handed over again', async () => {
    const mailbox = new FakeMailbox(sampleMessages(4));
    const store = new MemoryUidStore(['uid-2', 'uid-4']);
    const { client } = await openSession(mailbox);
    const handed: string[] = [];
    expect(await client.downloadAndDelete(({ uid }) => void handed.push(uid!), { store })).toEqual({ stored: 2, skipped: 2 });
    expect(handed).toEqual(['uid-1', 'uid-3']);
    expect(mailbox.messages).toEqual([]);
    expect(store.size).toBe(0); // committed: nothing left to remember
  });

  it('with a store: forgets the UIDs of messages no longer on the server (a deletion committed unseen)', async () => {
    const mailbox = new FakeMailbox(sampleMessages(2));
    // uid-9 was deleted by a QUIT whose reply never came: the store still holds it.
    const store = new MemoryUidStore(['uid-9', 'uid-2']);
    const { client } = await openSession(mailbox);
    const handed: string[] = [];
    expect(await client.downloadAndDelete(({ uid }) => void handed.push(uid!), { store })).toEqual({ stored: 1, skipped: 1 });
    expect(handed).toEqual(['uid-1']);
    expect([...store.values()]).toEqual([]);
  });

  it('listens to its signal once or twice, however many DELEs are in flight', async () => {
    const mailbox = new FakeMailbox(sampleMessages(40));
    const { client } = await openSession(mailbox);
    const signal = new AbortController().signal;
    const listening = new Set<number>();
    await client.downloadAndDelete(() => void listening.add(getEventListeners(signal, 'abort').length), { signal, store: new MemoryUidStore() });
    expect(mailbox.messages).toEqual([]);
    expect(Math.max(...listening)).toBeLessThanOrEqual(2); // the run's own, and its RETR batch's
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('an already aborted signal: nothing is sent and the session goes on', async () => {
    const mailbox = new FakeMailbox(sampleMessages(2));
    const { client } = await openSession(mailbox);
    await expect(client.downloadAndDelete(() => {}, { signal: AbortSignal.abort() })).rejects.toMatchObject({ code: ErrorCode.Aborted });
    expect(await client.stat()).toMatchObject({ count: 2 });
    expect(mailbox.received.filter((line) => /^(LIST|UIDL|RETR|DELE)/.test(line))).toEqual([]);
  });

  it('with a store: needs UIDL', async () => {
    const mailbox = new FakeMailbox(sampleMessages(2));
    const { client } = await openSession(mailbox, { serve: { noUidl: true } });
    await expect(client.downloadAndDelete(() => {}, { store: new MemoryUidStore() })).rejects.toMatchObject({
      code: ErrorCode.NotSupported,
    });
    expect(mailbox.messages).toHaveLength(2);
  });

  it('without a store, works without UIDL', async () => {
    const mailbox = new FakeMailbox(sampleMessages(2));
    const { client } = await openSession(mailbox, { serve: { noUidl: true } });
    const uids: (string | undefined)[] = [];
    await client.downloadAndDelete(({ uid }) => void uids.push(uid));
    expect(uids).toEqual([undefined, undefined]);
    expect(mailbox.messages).toEqual([]);
  });
});

describe('downloadAndDelete with the connection cut at every point', () => {
  const messages = sampleMessages(3, 2);

  /** One session of download-and-delete with `serve`; failures of the cut session are expected. */
  async function session(mailbox: FakeMailbox, serve: ServeOptions, handler: (m: RetrievedMessage) => void, store?: MemoryUidStore) {
    const { client, served } = connectTo(mailbox, { serve });
    try {
      await client.connect();
      await client.login({ username: 'alice', password: mailbox.password });
      await client.downloadAndDelete(handler, { store });
    } catch {
      // The cut: what matters is what the next session finds.
    }
    client.close();
    await served;
  }

  /** Bytes the server and the client send in a whole uncut session. */
  async function fullSessionBytes(): Promise<{ server: number; client: number }> {
    const mailbox = new FakeMailbox(messages);
    await session(mailbox, {}, () => {});
    expect(mailbox.messages).toEqual([]);
    return { server: mailbox.sent, client: mailbox.received.reduce((sum, line) => sum + line.length + 2, 0) };
  }

  it('never loses a message and, with a store, never hands one over twice', async () => {
    const totals = await fullSessionBytes();
    const cuts: ServeOptions[] = [
      ...Array.from({ length: totals.server + 1 }, (_, n) => ({ cutAfterServerBytes: n })),
      ...Array.from({ length: totals.client + 1 }, (_, n) => ({ cutAfterClientBytes: n })),
      { dropQuitReply: true },
    ];
    expect(cuts.length).toBeGreaterThan(500);
    for (const cut of cuts) {
      for (const withStore of [true, false]) {
        const mailbox = new FakeMailbox(messages);
        const store = withStore ? new MemoryUidStore() : undefined;
        const handed = new Map<string, number>();
        const handler = ({ uid, body }: RetrievedMessage) => {
          expect(text(body)).toBe(messages.find((m) => m.uid === uid)!.body);
          handed.set(uid!, (handed.get(uid!) ?? 0) + 1);
        };
        await session(mailbox, cut, handler, store);
        await session(mailbox, {}, handler, store);
        const where = JSON.stringify({ cut, withStore });
        expect(mailbox.messages, where).toEqual([]);
        expect([...handed.keys()].sort(), where).toEqual(messages.map((m) => m.uid));
        if (withStore) expect([...handed.values()], where).toEqual([1, 1, 1]);
      }
    }
  });
});
