/**
 * Batch operations: pipelined with a bounded window (the server counts what is in flight), progress events,
 * and the first error ending the batch.
 */
import { describe, expect, it } from 'vitest';
import type { BatchOptions, BatchProgress, MessageRef, RetrievedMessage } from '../../core/client/batch.js';
import type { Pop3Client } from '../../core/client/pop3-client.js';
import { ErrorCode, ServerError } from '../../core/errors.js';
import { FakeMailbox, openSession, sampleMessages } from '../support/fake-mailbox.js';
import { flush, loggedIn, text } from '../support/fake-server.js';

/** How a test retrieves: retrieveMany, or retrieveManyTo with each body collected from its pieces. */
type Retrieve = (
  client: Pop3Client,
  messages: readonly (number | MessageRef)[],
  onMessage: (message: RetrievedMessage) => void,
  options?: BatchOptions,
) => Promise<void>;

const retrievers: Record<string, Retrieve> = {
  retrieveMany: (client, messages, onMessage, options) => client.retrieveMany(messages, onMessage, options),
  retrieveManyTo: (client, messages, onMessage, options) => {
    let pieces: Uint8Array[] = [];
    const onData = (piece: Uint8Array) => void pieces.push(piece.slice());
    const onEnd = (ref: MessageRef) => {
      onMessage({ message: ref.message, size: ref.size, uid: ref.uid, body: Buffer.concat(pieces) });
      pieces = [];
    };
    return client.retrieveManyTo(messages, { onData, onEnd }, options);
  },
};

// The RETR batches share their window, its refilling and their progress.
for (const [name, retrieve] of Object.entries(retrievers)) {
  describe(`${name}: window and progress`, () => {
    it('keeps exactly `window` commands in flight, never more, and hands bodies over in order', async () => {
      const mailbox = new FakeMailbox(sampleMessages(20));
      const { client } = await openSession(mailbox, { serve: { lazy: true } });
      const seen: string[] = [];
      await retrieve(client, 
        mailbox.messages.map((_, i) => i + 1),
        ({ message, body }) => {
          seen.push(`${message}:${text(body)}`);
        },
        { window: 4 },
      );
      expect(mailbox.maxOutstanding).toBe(4);
      expect(seen).toEqual(mailbox.messages.map((m, i) => `${i + 1}:${m.body}`));
    });

    it('defaults to 4,096 commands and 8 MiB in flight; a message of unknown size counts as 32 KiB at first', async () => {
      const mailbox = new FakeMailbox(sampleMessages(300, 1));
      const { client } = await openSession(mailbox, { serve: { lazy: true } });
      expect(client.window).toBe(4096);
      expect(client.windowBytes).toBe(8 * 1024 * 1024);
      let count = 0;
      await retrieve(client, mailbox.messages.map((_, i) => i + 1), () => {
        count++;
      });
      expect(count).toBe(300);
      // No sizes given: 8 MiB / 32 KiB.
      expect(mailbox.maxOutstanding).toBe(256);

      // A batch given a count window: that count alone bounds messages without sizes.
      mailbox.maxOutstanding = 0;
      await retrieve(client, mailbox.messages.map((_, i) => i + 1), () => {}, { window: 300 });
      expect(mailbox.maxOutstanding).toBe(300);
    });

    it("counts a message of unknown size as the mean size of the session's latest STAT at first", async () => {
      // Tiny messages: after STAT, the count alone bounds them from the start (256 without it, above).
      const small = new FakeMailbox(sampleMessages(300, 1));
      const first = await openSession(small, { serve: { lazy: true } });
      await first.client.stat();
      await retrieve(first.client, small.messages.map((_, i) => i + 1), () => {});
      expect(small.maxOutstanding).toBe(300);
      // 16 KiB messages in a 64 KiB window: four from the start (two as 32 KiB each without STAT, below).
      const large = new FakeMailbox(Array.from({ length: 12 }, (_, i) => ({ uid: `u${i}`, body: `${'x'.repeat(16 * 1024 - 2)}\r\n` })));
      const second = await openSession(large, { serve: { lazy: true }, client: { windowBytes: 64 * 1024 } });
      expect(await second.client.stat()).toEqual({ count: 12, size: 12 * 16 * 1024 });
      const outstanding: number[] = [];
      await retrieve(second.client, large.messages.map((_, i) => i + 1), () => void outstanding.push(large.maxOutstanding));
      expect(outstanding[0]).toBe(4);
      expect(large.maxOutstanding).toBe(4);
    });

    it('keeps at most `windowBytes` of LIST sizes in flight, but always one message', async () => {
      const mailbox = new FakeMailbox(sampleMessages(40, 1));
      const { client } = await openSession(mailbox, { serve: { lazy: true }, client: { windowBytes: 1000 } });
      // Sizes as a LIST would give them (the fake bodies are smaller; only the sizes given count).
      const refs = mailbox.messages.map((_, i) => ({ message: i + 1, size: 100 }));
      await retrieve(client, refs, () => {});
      expect(mailbox.maxOutstanding).toBe(10);

      // The option overrides the client's; the count cap still applies.
      mailbox.maxOutstanding = 0;
      await retrieve(client, refs, () => {}, { windowBytes: 2000, window: 7 });
      expect(mailbox.maxOutstanding).toBe(7);

      // A message larger than the window goes alone.
      mailbox.maxOutstanding = 0;
      const huge = refs.slice(0, 5).map((ref) => ({ ...ref, size: 5000 }));
      const seen: number[] = [];
      await retrieve(client, huge, ({ message }) => {
        seen.push(message);
      });
      expect(mailbox.maxOutstanding).toBe(1);
      expect(seen).toEqual([1, 2, 3, 4, 5]);
    });

    it('then counts a message of unknown size as the average body received so far', async () => {
      // Tiny messages: from the first refill on, the count alone bounds them.
      const small = new FakeMailbox(sampleMessages(4500, 1));
      const first = await openSession(small, { serve: { lazy: true } });
      await retrieve(first.client, small.messages.map((_, i) => i + 1), () => {});
      expect(small.maxOutstanding).toBe(4096);
      // 16 KiB messages in a 64 KiB window: two at first (as 32 KiB each), then four.
      const large = new FakeMailbox(Array.from({ length: 12 }, (_, i) => ({ uid: `u${i}`, body: `${'x'.repeat(16 * 1024 - 2)}\r\n` })));
      const second = await openSession(large, { serve: { lazy: true }, client: { windowBytes: 64 * 1024 } });
      const sizes: number[] = [];
      await retrieve(second.client, large.messages.map((_, i) => i + 1), ({ body }) => void sizes.push(body.length));
      expect(sizes).toEqual(Array(12).fill(16 * 1024));
      expect(large.maxOutstanding).toBe(4);
    });

    it('with the defaults, a LIST-sized batch of small messages is bounded by the count', async () => {
      const mailbox = new FakeMailbox(sampleMessages(4500, 1));
      const { client } = await openSession(mailbox, { serve: { lazy: true } });
      const listing = await client.listing();
      await retrieve(client, listing, () => {});
      expect(mailbox.maxOutstanding).toBe(4096);
    });

    it('sends one command at a time when the server does not advertise PIPELINING', async () => {
      const mailbox = new FakeMailbox(sampleMessages(10));
      const { client } = await openSession(mailbox, { serve: { lazy: true, capabilities: ['USER', 'UIDL'] } });
      await retrieve(client, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], () => {});
      expect(mailbox.maxOutstanding).toBe(1);
    });

    it('reports progress against the LIST sizes', async () => {
      const mailbox = new FakeMailbox(sampleMessages(6, 40));
      const { client } = await openSession(mailbox);
      const listing = await client.listing();
      const events: BatchProgress[] = [];
      await retrieve(client, listing, () => {}, { onProgress: (progress) => events.push(progress) });
      const total = mailbox.messages.reduce((sum, m) => sum + m.body.length, 0);
      expect(events.every((e) => e.bytesExpected === total && e.messages === 6)).toBe(true);
      expect(events.at(-1)).toEqual({ messagesDone: 6, messages: 6, bytesDone: total, bytesExpected: total });
      for (let i = 1; i < events.length; i++) {
        expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
        expect(events[i]!.messagesDone).toBeGreaterThanOrEqual(events[i - 1]!.messagesDone);
      }
      expect(events.filter((e) => e.messagesDone === 3).length).toBeGreaterThan(0);
    });

    it('refills a quarter of a window at a time, in one write', async () => {
      const mailbox = new FakeMailbox(sampleMessages(40, 1));
      const { client } = await openSession(mailbox);
      const before = mailbox.chunks;
      await retrieve(client, mailbox.messages.map((_, i) => i + 1), () => {}, { window: 8 });
      // 8 commands, then 2 at a time: 1 + 32 / 2 writes, rather than one per message.
      expect(mailbox.chunks - before).toBe(17);
    });

    it('writes a large batch in ~2 KiB pieces as it is queued, so the first RETR leaves early', async () => {
      const mailbox = new FakeMailbox(sampleMessages(600, 1));
      const { client } = await openSession(mailbox);
      const before = mailbox.chunks;
      // "RETR nnn\r\n" is 10 bytes: 6,000 bytes in all, written as three pieces of ~2 KiB and the rest.
      await retrieve(client, mailbox.messages.map((_, i) => i + 1), () => {}, { window: 600 });
      expect(mailbox.chunks - before).toBe(3);
    });

    it('has no expected total when sizes are not given', async () => {
      const mailbox = new FakeMailbox(sampleMessages(2));
      const { client } = await openSession(mailbox);
      const events: BatchProgress[] = [];
      await retrieve(client, [1, 2], () => {}, { onProgress: (progress) => events.push(progress) });
      expect(events.at(-1)).toMatchObject({ messagesDone: 2, bytesExpected: undefined });
    });
  });
}

describe('retrieveMany', () => {
  it('while the handler is busy, at most `window` more messages are fetched', async () => {
    const mailbox = new FakeMailbox(sampleMessages(30));
    const { client } = await openSession(mailbox);
    let release!: () => void;
    const busy = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handled: number[] = [];
    const batch = client.retrieveMany(mailbox.messages.map((_, i) => i + 1), async ({ message }) => {
      if (message === 1) await busy;
      handled.push(message);
    }, { window: 5 });
    for (let i = 0; i < 20; i++) await flush();
    // Message 1 is being handled: besides it, at most `window` bodies are fetched or on their way.
    expect(mailbox.received.filter((line) => line.startsWith('RETR')).length).toBeLessThanOrEqual(6);
    release();
    await batch;
    expect(handled).toEqual(mailbox.messages.map((_, i) => i + 1));
  });

  it('a handler error ends the batch with that error; the session goes on', async () => {
    const mailbox = new FakeMailbox(sampleMessages(10));
    const { client } = await openSession(mailbox);
    const failure = new Error('disk full');
    const handled: number[] = [];
    const batch = client.retrieveMany(mailbox.messages.map((_, i) => i + 1), ({ message }) => {
      if (message === 3) throw failure;
      handled.push(message);
    });
    await expect(batch).rejects.toBe(failure);
    expect(handled).toEqual([1, 2]);
    await expect(client.stat()).resolves.toMatchObject({ count: 10 });
  });

  it('a refused RETR ends the batch with the ServerError', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const { client } = await openSession(mailbox);
    await expect(client.retrieveMany([1, 7, 2], () => {})).rejects.toBeInstanceOf(ServerError);
  });

  it('rejects a window that is not a positive integer', async () => {
    const mailbox = new FakeMailbox(sampleMessages(1));
    const { client } = await openSession(mailbox);
    await expect(client.retrieveMany([1], () => {}, { window: 0 })).rejects.toMatchObject({ code: ErrorCode.BadArgument });
    await expect(client.retrieveMany([1], () => {}, { windowBytes: 1.5 })).rejects.toMatchObject({ code: ErrorCode.BadArgument });
    await expect(client.retrieveManyTo([1], { onData() {} }, { window: -1 })).rejects.toMatchObject({ code: ErrorCode.BadArgument });
    await expect(client.retrieveManyTo([1], { onData() {} }, { windowBytes: 0 })).rejects.toMatchObject({ code: ErrorCode.BadArgument });
    await expect(client.deleteMany([1], { window: Number.NaN })).rejects.toMatchObject({ code: ErrorCode.BadArgument });
  });
});

describe('listing', () => {
  it('pipelines LIST and UIDL and joins them by message number', async () => {
    const { client, server } = await loggedIn();
    const before = server.chunks.length;
    const listing = client.listing();
    await server.expect('LIST');
    await server.expect('UIDL');
    expect(server.chunks.slice(before)).toEqual(['LIST\r\nUIDL\r\n']);
    void server.send('+OK\r\n1 100\r\n3 300\r\n.\r\n+OK\r\n1 one\r\n3 three\r\n.\r\n');
    expect(await listing).toEqual([
      { message: 1, size: 100, uid: 'one' },
      { message: 3, size: 300, uid: 'three' },
    ]);
  });

  it('has no uids when the server refuses UIDL', async () => {
    const { client, server } = await loggedIn();
    const listing = client.listing();
    await server.expect('LIST');
    await server.expect('UIDL');
    void server.send('+OK\r\n1 100\r\n.\r\n-ERR no UIDL here\r\n');
    expect(await listing).toEqual([{ message: 1, size: 100, uid: undefined }]);
  });
});

describe('deleteMany', () => {
  it('keeps at most `window` DELEs in flight; QUIT deletes them', async () => {
    const mailbox = new FakeMailbox(sampleMessages(12));
    const { client } = await openSession(mailbox, { serve: { lazy: true } });
    const events: BatchProgress[] = [];
    await client.deleteMany([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { window: 3, onProgress: (p) => events.push(p) });
    expect(mailbox.maxOutstanding).toBe(3);
    expect(events.at(-1)).toEqual({ messagesDone: 10, messages: 10, bytesDone: 0, bytesExpected: undefined });
    expect(mailbox.messages).toHaveLength(12);
    await client.quit();
    expect(mailbox.messages.map((m) => m.uid)).toEqual(['uid-11', 'uid-12']);
  });
});
