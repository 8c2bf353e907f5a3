/**
 * The receiving side the transports share (core/client/chunk-queue.ts): order, the one waiting read, and the
 * three ways a stream ends.
 */
import { describe, expect, it } from 'vitest';
import { ChunkQueue } from '../../core/client/chunk-queue.js';
import { ConnectionError } from '../../core/client/errors.js';
import { ErrorCode } from '../../core/errors.js';
import { flush, latin1, text, track } from '../support/fake-server.js';

const read = async (queue: ChunkQueue) => {
  const chunk = await queue.read();
  return chunk === undefined ? undefined : text(chunk);
};

describe('ChunkQueue', () => {
  it('hands chunks out in order, counting the bytes not read yet; a waiting read gets the next at once', async () => {
    const queue = new ChunkQueue();
    queue.push(latin1('ab'));
    queue.push(latin1('cde'));
    expect(queue.bytes).toBe(5);
    expect(await read(queue)).toBe('ab');
    expect(queue.bytes).toBe(3);
    expect(await read(queue)).toBe('cde');
    const waiting = track(queue.read());
    await flush();
    expect(waiting.state).toBe('pending');
    queue.push(latin1('f'));
    await flush();
    expect(text(waiting.value as Uint8Array)).toBe('f');
    expect(queue.bytes).toBe(0);
  });

  it('allows one read at a time', async () => {
    const queue = new ChunkQueue();
    const first = queue.read();
    await expect(queue.read()).rejects.toMatchObject({ code: ErrorCode.WrongState });
    queue.push(latin1('x'));
    expect(text((await first)!)).toBe('x');
  });

  it('hands every chunk out through `deliver`, queued or not', async () => {
    const queue = new ChunkQueue();
    const upper = (chunk: Uint8Array) => latin1(text(chunk).toUpperCase());
    queue.push(latin1('queued'));
    expect(text((await queue.read(upper))!)).toBe('QUEUED');
    const waiting = queue.read(upper);
    queue.push(latin1('direct'));
    expect(text((await waiting)!)).toBe('DIRECT');
  });

  it('ended by the peer: what is queued, then undefined, also for a read that waits', async () => {
    const queue = new ChunkQueue();
    queue.push(latin1('last'));
    queue.end();
    expect(queue.ended).toBe(true);
    expect(await read(queue)).toBe('last');
    expect(await read(queue)).toBeUndefined();
    const other = new ChunkQueue();
    const waiting = other.read();
    other.end();
    expect(await waiting).toBeUndefined();
  });

  it('failed: what is queued, then the first error, for every read after; or at once when told to drop', async () => {
    const queue = new ChunkQueue();
    queue.push(latin1('before'));
    queue.fail(new ConnectionError('first'));
    queue.fail(new ConnectionError('second'));
    expect(await read(queue)).toBe('before');
    await expect(queue.read()).rejects.toThrow('first');
    await expect(queue.read()).rejects.toThrow('first');
    const waiting = new ChunkQueue();
    const pending = waiting.read();
    waiting.fail(new ConnectionError('gone'));
    await expect(pending).rejects.toThrow('gone');
    const dropping = new ChunkQueue();
    dropping.push(latin1('unread'));
    dropping.fail(new ConnectionError('too much'), true);
    expect(dropping.bytes).toBe(0);
    await expect(dropping.read()).rejects.toThrow('too much');
  });

  it('closed on this side: a waiting read and every later one get undefined, whatever was queued or failed', async () => {
    const queue = new ChunkQueue();
    const waiting = queue.read();
    queue.close();
    expect(await waiting).toBeUndefined();
    const other = new ChunkQueue();
    other.push(latin1('dropped'));
    other.fail(new ConnectionError('ignored'));
    other.close();
    other.push(latin1('late'));
    expect(other.bytes).toBe(0);
    expect(await read(other)).toBeUndefined();
    expect(other.ended).toBe(true);
  });
});
