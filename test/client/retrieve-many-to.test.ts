/**
 * retrieveManyTo(): a batch whose bodies go piece by piece to a synchronous sink, in order, each piece valid
 * only during the call; pipelined and windowed as retrieveMany; the first error ends it, the session goes on.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BatchProgress, MessageRef } from '../../core/client/batch.js';
import { ErrorCode, ServerError } from '../../core/errors.js';
import { FakeMailbox, openSession, sampleMessages } from '../support/fake-mailbox.js';
import { flush, loggedIn, sessionOver, text, track } from '../support/fake-server.js';
import { ScribblingTransport } from '../support/scribbling-transport.js';

/** A sink that records every call: `data n: piece` (a copy) and `end n: octets`. */
function recorder() {
  const calls: string[] = [];
  const sink = {
    onData: (piece: Uint8Array, ref: MessageRef) => void calls.push(`data ${ref.message}: ${text(piece)}`),
    onEnd: (ref: MessageRef, octets: number) => void calls.push(`end ${ref.message}: ${octets}`),
  };
  /** Each message's body, joined from its pieces, and its end. */
  const bodies = () => {
    const joined = new Map<number, string>();
    for (const call of calls) {
      const [, kind, n, rest] = /^(data|end) (\d+): ([\s\S]*)$/.exec(call)!;
      if (kind === 'data') joined.set(Number(n), (joined.get(Number(n)) ?? '') + rest);
      else joined.set(Number(n), `${joined.get(Number(n)) ?? ''}<end ${rest}>`);
    }
    return [...joined.values()];
  };
  return { calls, sink, bodies };
}

describe('retrieveManyTo', () => {
  it('hands every body over dot-unstuffed, each piece before its end and each message before the next', async () => {
    const mailbox = new FakeMailbox(sampleMessages(12));
    const { client } = await openSession(mailbox, { serve: { lazy: true } });
    const { calls, sink, bodies } = recorder();
    await client.retrieveManyTo(mailbox.messages.map((_, i) => i + 1), sink, { window: 4 });
    expect(mailbox.maxOutstanding).toBe(4);
    expect(bodies()).toEqual(mailbox.messages.map((m) => `${m.body}<end ${m.body.length}>`));
    // Strictly in order: the message numbers of the calls never go back.
    const order = calls.map((call) => Number(/^\w+ (\d+)/.exec(call)![1]));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    await expect(client.stat()).resolves.toMatchObject({ count: 12 });
  });

  it('passes the refs it was given, sizes and uids included', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const { client } = await openSession(mailbox);
    const listing = await client.listing();
    const ends: MessageRef[] = [];
    await client.retrieveManyTo(listing, { onData: () => {}, onEnd: (ref) => void ends.push(ref) });
    expect(ends).toEqual(listing);
  });

  it('property: any bodies, in any chunking over a transport that reuses its memory, arrive whole if copied during the call', async () => {
    const line = fc.stringMatching(/^[ -~]{0,30}$/).map((l) => `${l}\r\n`);
    const body = fc.array(line, { maxLength: 12 }).map((lines) => lines.join(''));
    await fc.assert(
      fc.asyncProperty(fc.array(body, { minLength: 1, maxLength: 6 }), fc.integer({ min: 1, max: 200 }), async (texts, chunk) => {
        const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
        const { sink, bodies } = recorder();
        const batch = client.retrieveManyTo(texts.map((_, i) => i + 1), sink);
        for (let i = 1; i <= texts.length; i++) await server.expect(`RETR ${i}`);
        const wire = texts.map((t) => `+OK ${t.length} octets\r\n${t.replace(/^\./gm, '..')}.\r\n`).join('');
        for (let at = 0; at < wire.length; at += chunk) await server.send(wire.slice(at, at + chunk));
        await batch;
        expect(bodies()).toEqual(texts.map((t) => `${t}<end ${t.length}>`));
        client.close();
      }),
      { numRuns: 60 },
    );
  });

  it('reports progress as pieces arrive and as messages end', async () => {
    const mailbox = new FakeMailbox(sampleMessages(5, 30));
    const { client } = await openSession(mailbox);
    const listing = await client.listing();
    const events: BatchProgress[] = [];
    await client.retrieveManyTo(listing, { onData: () => {} }, { onProgress: (progress) => events.push({ ...progress }) });
    const total = mailbox.messages.reduce((sum, m) => sum + m.body.length, 0);
    expect(events.at(-1)).toEqual({ messagesDone: 5, messages: 5, bytesDone: total, bytesExpected: total });
    for (let i = 1; i < events.length; i++) expect(events[i]!.bytesDone).toBeGreaterThanOrEqual(events[i - 1]!.bytesDone);
  });

  it('a sink that throws ends the batch with AbortError; it hears nothing more; the session goes on', async () => {
    const { client, server } = await loggedIn();
    const reason = new Error('disk full');
    const calls: string[] = [];
    const batch = track(
      client.retrieveManyTo([1, 2, 3], {
        onData: (piece, ref) => {
          calls.push(`${ref.message}: ${text(piece)}`);
          if (ref.message === 2) throw reason;
        },
        onEnd: (ref) => void calls.push(`end ${ref.message}`),
      }),
    );
    for (const n of [1, 2, 3]) await server.expect(`RETR ${n}`);
    void server.send('+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n');
    void server.send('..more of two\r\n.\r\n+OK\r\nthree\r\n.\r\n');
    await flush();
    expect(batch.error).toMatchObject({ name: 'AbortError', code: ErrorCode.Aborted, message: 'RETR 2 aborted: onData threw', cause: reason });
    expect(calls).toEqual(['1: one\r\n', 'end 1', '2: two\r\n']);
    const stat = client.stat();
    await server.expect('STAT');
    void server.send('+OK 3 30\r\n');
    await expect(stat).resolves.toEqual({ count: 3, size: 30 });
  });

  it('an onEnd that throws ends the batch with AbortError naming it', async () => {
    const mailbox = new FakeMailbox(sampleMessages(4));
    const { client } = await openSession(mailbox);
    const reason = new Error('cannot close the file');
    const ended: number[] = [];
    const batch = client.retrieveManyTo([1, 2, 3, 4], {
      onData: () => {},
      onEnd: (ref) => {
        if (ref.message === 2) throw reason;
        ended.push(ref.message);
      },
    });
    await expect(batch).rejects.toMatchObject({ name: 'AbortError', message: 'RETR 2 aborted: onEnd threw', cause: reason });
    expect(ended).toEqual([1]);
    await expect(client.stat()).resolves.toMatchObject({ count: 4 });
  });

  it('a refused RETR ends the batch with the ServerError, and the sink hears nothing after it', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const { client } = await openSession(mailbox);
    const { calls, sink } = recorder();
    await expect(client.retrieveManyTo([1, 7, 2], sink)).rejects.toBeInstanceOf(ServerError);
    expect(calls.every((call) => /^\w+ 1:/.test(call))).toBe(true);
    expect(calls.at(-1)).toMatch(/^end 1:/);
    await expect(client.stat()).resolves.toMatchObject({ count: 3 });
  });

  it('an aborted signal ends the session with AbortError; an already aborted one sends nothing', async () => {
    const mailbox = new FakeMailbox(sampleMessages(3));
    const { client } = await openSession(mailbox);
    const before = mailbox.received.length;
    await expect(client.retrieveManyTo([1, 2], { onData: () => {} }, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
    expect(mailbox.received.length).toBe(before);
    const controller = new AbortController();
    const batch = client.retrieveManyTo([1, 2, 3], { onData: () => controller.abort() }, { signal: controller.signal });
    await expect(batch).rejects.toMatchObject({ name: 'AbortError' });
    expect(client.state).toBe('failed');
  });
});
