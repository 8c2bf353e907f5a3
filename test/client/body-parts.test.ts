/**
 * Bodies joined in place (core/client/body-parts.ts): the pieces of one chunk are moved together inside it,
 * pieces of several chunks are copied, and nothing outside a body's own bytes is ever written: not the
 * chunk's other replies, not bodies already handed out, not unrelated bytes that share the chunk's buffer.
 */
import { describe, expect, it } from 'vitest';
import { BodyParts } from '../../core/client/body-parts.js';
import { Pop3Client } from '../../core/client/pop3-client.js';
import type { Transport } from '../../core/client/transport.js';
import { latin1, text } from '../support/fake-server.js';

describe('BodyParts', () => {
  it('joins the pieces of one chunk in place, over the dropped dots, without a copy', () => {
    const chunk = latin1('+OK\r\nab\r\n..cd\r\n..\r\n.\r\nNEXT');
    const body = chunk.subarray(5, 19); // "ab\r\n..cd\r\n..\r\n" on the wire
    const parts = new BodyParts();
    parts.push(chunk.subarray(5, 9), chunk); // "ab\r\n"
    parts.push(chunk.subarray(10, 15), chunk); // "cd\r\n." minus the stuffed dot before it
    parts.push(chunk.subarray(16, 19), chunk); // ".\r\n"
    const joined = parts.take();
    expect(text(joined)).toBe('ab\r\n.cd\r\n.\r\n');
    expect(joined.buffer).toBe(chunk.buffer);
    expect(joined.byteOffset).toBe(body.byteOffset);
    // The status line before and the terminator and reply after are untouched.
    expect(text(chunk.subarray(0, 5))).toBe('+OK\r\n');
    expect(text(chunk.subarray(19))).toBe('.\r\nNEXT');
  });

  it('copies once when a body spans chunks, and takes pieces made outside any chunk', () => {
    const first = latin1('xxab\r\n.');
    const second = latin1('.cd');
    const parts = new BodyParts();
    parts.push(first.subarray(2, 6), first);
    parts.push(Uint8Array.of(0x0d), second); // a held-back CR, made by the engine
    parts.push(second.subarray(1), second);
    expect(text(parts.take())).toBe('ab\r\n\rcd');
    expect(text(first)).toBe('xxab\r\n.');
    expect(text(second)).toBe('.cd');
  });

  it('hands out a plain Uint8Array, also for a Node Buffer chunk', () => {
    const chunk = Buffer.from('hello');
    const parts = new BodyParts();
    parts.push(chunk.subarray(0, 5), chunk);
    const joined = parts.take();
    expect(joined.constructor).toBe(Uint8Array);
    expect(text(joined)).toBe('hello');
    expect(text(new BodyParts().take())).toBe('');
  });

  it('never moves bytes between two chunks that share one buffer', () => {
    const shared = latin1('ab\r\n.SENTINEL.cd');
    const first = shared.subarray(0, 5);
    const second = shared.subarray(13);
    const parts = new BodyParts();
    parts.push(first.subarray(0, 4), first);
    parts.push(second.subarray(1), second);
    expect(text(parts.take())).toBe('ab\r\ncd');
    expect(text(shared)).toBe('ab\r\n.SENTINEL.cd');
  });
});

/** A transport that serves `phases` of chunks: phase 0 at once, phase k after the k-th write. */
class PhasedTransport implements Transport {
  readonly secure = false;
  readonly local = true;
  readonly #phases: Uint8Array[][];
  #available: Uint8Array[];
  #writes = 0;
  #reader: ((chunk: Uint8Array | undefined) => void) | undefined;

  constructor(phases: Uint8Array[][]) {
    this.#phases = phases;
    this.#available = [...phases[0]!];
  }

  read(): Promise<Uint8Array | undefined> {
    const chunk = this.#available.shift();
    if (chunk !== undefined) return Promise.resolve(chunk);
    return new Promise((resolve) => (this.#reader = resolve));
  }

  write(): Promise<void> {
    this.#available.push(...(this.#phases[++this.#writes] ?? []));
    const reader = this.#reader;
    const chunk = this.#available.shift();
    if (reader !== undefined && chunk !== undefined) {
      this.#reader = undefined;
      reader(chunk);
    }
    return Promise.resolve();
  }

  close(): void {
    this.#reader?.(undefined);
  }
}

const GREETING = latin1('+OK ready\r\n');
const CAPA = latin1('+OK\r\nUSER\r\nPIPELINING\r\n.\r\n');
/**
 * Three bodies as sent (dot-stuffed) and as delivered: stuffed lines at the start, middle and end, none at
 * all, and a sloppy server's unstuffed `.` CR line, whose CR the engine holds back and then hands out.
 */
const MESSAGES = [
  ['..first line\r\nplain\r\n...\r\n', '.first line\r\nplain\r\n..\r\n'],
  ['no dots at all\r\n', 'no dots at all\r\n'],
  ['a\r\n.\rb\r\n..end\r\n', 'a\r\n\rb\r\n.end\r\n'],
];
const BODIES = MESSAGES.map(([, body]) => body!);
const WIRE = latin1(MESSAGES.map(([wire, body]) => `+OK ${body!.length} octets\r\n${wire}.\r\n`).join(''));

/** Cut `bytes` at `cuts` into fresh chunks (each its own buffer, as a socket gives), or Node Buffers. */
function cut(bytes: Uint8Array, cuts: readonly number[], asBuffer: boolean): Uint8Array[] {
  const edges = [0, ...cuts, bytes.length];
  return edges.slice(1).map((end, i) => (asBuffer ? Buffer.from(bytes.subarray(edges[i], end)) : bytes.slice(edges[i], end)));
}

/** A client logged in over a PhasedTransport whose RETR replies come as `chunks`. */
async function session(chunks: Uint8Array[]): Promise<Pop3Client> {
  const client = new Pop3Client(new PhasedTransport([[GREETING], [CAPA], [latin1('+OK\r\n+OK\r\n')], [CAPA], chunks]));
  await client.connect();
  await client.login({ username: 'alice', password: 'secret', mechanism: 'USER' });
  return client;
}

async function retrieveAll(chunks: Uint8Array[]): Promise<Uint8Array[]> {
  const client = await session(chunks);
  const bodies: Uint8Array[] = [];
  // Bodies are kept while later ones are joined in the same and later chunks.
  await client.retrieveMany([1, 2, 3], ({ body }) => {
    bodies.push(body);
  });
  client.close();
  return bodies;
}

describe('bodies at every chunking', () => {
  it('retrieveMany hands over the same bytes at every split point, and kept bodies stay intact', async () => {
    const expected = BODIES;
    for (const asBuffer of [false, true]) {
      for (let at = 1; at < WIRE.length; at++) {
        const bodies = await retrieveAll(cut(WIRE, [at], asBuffer));
        expect(bodies.map(text), `split at ${at}`).toEqual(expected);
      }
      const oneByOne = await retrieveAll(cut(WIRE, Array.from({ length: WIRE.length - 1 }, (_, i) => i + 1), asBuffer));
      expect(oneByOne.map(text)).toEqual(expected);
    }
  });

  it('retr() and top() return the same bytes as retrieveMany, each a plain Uint8Array', async () => {
    const client = await session(cut(WIRE, [30, 31], true));
    const bodies = await Promise.all([client.retr(1), client.retr(2), client.top(3, 10)]);
    expect(bodies.map(text)).toEqual(BODIES);
    for (const body of bodies) expect(body.constructor).toBe(Uint8Array);
    client.close();
  });
});
