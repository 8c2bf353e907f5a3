/**
 * Backpressure both ways, with 100 MB: a page that stops reading while the server sends, and a server that
 * stops reading while the page sends. In both the sender must stall well before 100 MB (what is in flight
 * sits in kernel buffers, not in the proxy) and the proxy's memory must stay bounded; once the reader reads
 * again every byte arrives, in order. The numbers are printed.
 *
 * The proxy runs in a child process of its own, so its memory is its own: resident set size, and heap plus
 * ArrayBuffers (where relayed Buffers live) after a forced garbage collection. Without backpressure it would
 * hold most of the 100 MB.
 */
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { afterEach, describe, expect, it } from 'vitest';
import { type ChildProxy, type CountingServer, countingServer, spawnProxy, until } from './harness.js';

const TOTAL = 100 * 1024 * 1024;
const CHUNK = 64 * 1024;
/** The proxy's high-water mark in these tests (its default). */
const HIGH_WATER = 1024 * 1024;

/** Chunk `i` of the 100 MB: different for every i, so a lost or reordered chunk changes the hash. */
function chunk(i: number): Buffer {
  const buffer = Buffer.alloc(CHUNK, i % 251);
  buffer.writeUInt32BE(i, 0);
  return buffer;
}

const expectedHash = (() => {
  const hash = createHash('sha256');
  for (let i = 0; i < TOTAL / CHUNK; i++) hash.update(chunk(i));
  return hash.digest('hex');
})();

/** Memory the proxy gained since `before`: resident set, and heap plus ArrayBuffers after GC. */
async function growth(proxy: ChildProxy, before: NodeJS.MemoryUsage): Promise<{ rss: number; retained: number }> {
  const now = await proxy.memory();
  return { rss: now.rss - before.rss, retained: now.heapUsed + now.arrayBuffers - before.heapUsed - before.arrayBuffers };
}

/** Resolves once `progress()` has not moved for `quietMs`. */
async function stalled(progress: () => number, quietMs = 700): Promise<number> {
  let last = -1;
  let since = Date.now();
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = progress();
    if (now !== last) [last, since] = [now, Date.now()];
    else if (Date.now() - since >= quietMs) return now;
  }
}

/** Writes the 100 MB to a socket as fast as it takes them (waiting for 'drain'); returns a byte counter. */
function sendAll(socket: Socket): { written: () => number } {
  let written = 0;
  let i = 0;
  const pump = () => {
    while (i < TOTAL / CHUNK) {
      const ok = socket.write(chunk(i++));
      written += CHUNK;
      if (!ok) return void socket.once('drain', pump);
    }
    socket.end();
  };
  pump();
  return { written: () => written };
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

let target: CountingServer | undefined;
let proxy: ChildProxy | undefined;
afterEach(async () => {
  proxy?.kill();
  await target?.close();
});

describe('backpressure', () => {
  it('target to page: a page that stops reading stalls the server; the proxy stays small', { timeout: 60_000 }, async () => {
    let sender: { written: () => number } | undefined;
    target = await countingServer((socket) => (sender = sendAll(socket)));
    proxy = await spawnProxy({ allow: [target.target], allowPrivate: true, highWaterMark: HIGH_WATER });
    const baseline = await proxy.memory();

    const page = new WebSocket(proxy.url);
    const hash = createHash('sha256');
    let received = 0;
    page.on('message', (data: Buffer) => {
      hash.update(data);
      received += data.length;
    });
    await new Promise((resolve) => page.once('open', resolve));
    page.pause(); // the page stops reading: its socket is not read any more
    await until(() => sender !== undefined);
    const plateau = await stalled(() => sender!.written());
    const grew = await growth(proxy, baseline);
    console.log(
      `backpressure target->page: server stalled after ${mib(plateau)} of ${mib(TOTAL)} (in flight: kernel buffers); ` +
        `proxy process: RSS +${mib(grew.rss)}, heap + ArrayBuffers after GC +${mib(grew.retained)}`,
    );
    expect(plateau).toBeLessThan(TOTAL / 2);
    // Without backpressure both would be near 100 MiB; the margin is for a busy machine.
    expect(grew.retained).toBeLessThan(16 * 2 ** 20);
    expect(grew.rss).toBeLessThan(32 * 2 ** 20);

    page.resume();
    await until(() => received === TOTAL, 30_000, 'all 100 MB at the page');
    expect(hash.digest('hex')).toBe(expectedHash);
    page.close();
  });

  it('page to target: a server that stops reading stalls the page; the proxy stays small', { timeout: 60_000 }, async () => {
    let serverSocket: Socket | undefined;
    const hash = createHash('sha256');
    let received = 0;
    target = await countingServer((socket) => {
      serverSocket = socket;
      socket.pause(); // the server stops reading
      socket.on('data', (data: Buffer) => {
        hash.update(data);
        received += data.length;
      });
    });
    proxy = await spawnProxy({ allow: [target.target], allowPrivate: true, highWaterMark: HIGH_WATER });
    const baseline = await proxy.memory();

    const page = new WebSocket(proxy.url);
    await new Promise((resolve) => page.once('open', resolve));
    await until(() => serverSocket !== undefined);
    // The page sends as fast as its own socket takes it: never more than 1 MiB waiting in its buffer.
    let sent = 0;
    let i = 0;
    const pump = () => {
      while (i < TOTAL / CHUNK && page.bufferedAmount < HIGH_WATER) {
        page.send(chunk(i++));
        sent += CHUNK;
      }
      if (i < TOTAL / CHUNK) setTimeout(pump, 5);
    };
    pump();
    const plateau = await stalled(() => sent);
    const grew = await growth(proxy, baseline);
    console.log(
      `backpressure page->target: page stalled after ${mib(plateau)} of ${mib(TOTAL)} (in flight: kernel buffers); ` +
        `proxy process: RSS +${mib(grew.rss)}, heap + ArrayBuffers after GC +${mib(grew.retained)}`,
    );
    expect(plateau).toBeLessThan(TOTAL / 2);
    // Without backpressure both would be near 100 MiB; the margin is for a busy machine.
    expect(grew.retained).toBeLessThan(16 * 2 ** 20);
    expect(grew.rss).toBeLessThan(32 * 2 ** 20);

    serverSocket!.resume();
    await until(() => received === TOTAL, 30_000, 'all 100 MB at the server');
    expect(hash.digest('hex')).toBe(expectedHash);
    page.close();
  });
});
