/**
 * A batch far longer than its window, against a server that is always behind (as over a network: some RETRs
 * are always in flight, so the client's queues never drain): memory must stay flat however many messages go
 * by, and every message must arrive, in order.
 */
import { describe, expect, it } from 'vitest';
import { Pop3Client } from '../../core/client/pop3-client.js';
import type { Transport } from '../../core/client/transport.js';
import { heapAfterGc } from '../support/gc.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Answers every command at once, but hands out at most `lag` replies per read: the rest wait in order. */
class LaggingServer implements Transport {
  readonly secure = false;
  readonly local = true;
  readonly #replies: Uint8Array[] = [encoder.encode('+OK ready\r\n')];
  #waiting: ((chunk: Uint8Array | undefined) => void) | undefined;
  #closed = false;

  constructor(private readonly lag: number) {}

  read(): Promise<Uint8Array | undefined> {
    if (this.#replies.length > 0) return Promise.resolve(this.#take());
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  write(bytes: Uint8Array): Promise<void> {
    for (const line of decoder.decode(bytes).split('\r\n')) {
      if (line === '') continue;
      const [verb, argument] = line.split(' ');
      if (verb === 'RETR') this.#replies.push(encoder.encode(`+OK 9 octets\r\n#${argument!.padStart(6, '0')}\r\n.\r\n`));
      else if (verb === 'CAPA') this.#replies.push(encoder.encode('+OK\r\nUSER\r\nPIPELINING\r\n.\r\n'));
      else this.#replies.push(encoder.encode('+OK\r\n'));
    }
    if (this.#waiting !== undefined) {
      const waiting = this.#waiting;
      this.#waiting = undefined;
      waiting(this.#take());
    }
    return Promise.resolve();
  }

  close(): void {
    this.#closed = true;
    this.#waiting?.(undefined);
  }

  #take(): Uint8Array {
    const parts = this.#replies.splice(0, this.lag);
    const chunk = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) {
      chunk.set(part, at);
      at += part.length;
    }
    return chunk;
  }
}

describe('a batch that never lets the client catch up', () => {
  it('retrieveManyTo: 200,000 messages through a window of 1,000, in order, with a flat heap', async () => {
    const client = new Pop3Client(new LaggingServer(300));
    await client.connect();
    await client.login({ username: 'u', password: 'p' });
    const TOTAL = 200_000;
    let ended = 0;
    let body = '';
    let heapAt50k = 0;
    let heapAt150k = 0;
    await client.retrieveManyTo(
      Array.from({ length: TOTAL }, (_, i) => i + 1),
      {
        onData(piece) {
          body += decoder.decode(piece);
        },
        onEnd(message) {
          if (body !== `#${String(message.message).padStart(6, '0')}\r\n` || message.message !== ++ended) {
            throw new Error(`message ${message.message} (the ${ended}th) was ${JSON.stringify(body)}`);
          }
          body = '';
          if (ended === 50_000) heapAt50k = heapAfterGc();
          // Mid-batch: at the end every queue has drained, whatever it kept.
          if (ended === 150_000) heapAt150k = heapAfterGc();
        },
      },
      { window: 1000 },
    );
    expect(ended).toBe(TOTAL);
    // What is kept is bounded by the window. Keeping something for each message answered would add, over
    // these 100,000: its command (~250 bytes in the engine and the client) ~25 MiB, a slot in the client's
    // replies by handle (16 bytes) ~2 MiB, one in the batch's record of results (8 bytes) ~1 MiB.
    expect(heapAt150k - heapAt50k).toBeLessThan(512 * 1024);
    await client.quit();
  });
});
