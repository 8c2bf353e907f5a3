// The bench's latency proxy is the instrument the targets of issue 3 are measured with: it must keep order,
// never forward a chunk early, and forward an end after the data before it.
import net from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { startLatencyProxy } from '../../bench/support/latency-proxy.mjs';

const DELAY = 20;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function listen(server: net.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  cleanups.push(() => new Promise((resolve) => server.close(resolve)));
  return (server.address() as net.AddressInfo).port;
}

/** A proxy to `target` and a client connected through it. */
async function throughProxy(target: net.Server): Promise<net.Socket> {
  const targetPort = await listen(target);
  const proxy = await startLatencyProxy(targetPort, DELAY);
  cleanups.push(() => new Promise((resolve) => proxy.close(resolve)));
  const client = net.connect({ host: '127.0.0.1', port: (proxy.address() as net.AddressInfo).port, noDelay: true });
  cleanups.push(() => client.destroy());
  await once(client, 'connect');
  return client;
}

/** When each `;`-terminated record of the stream arrived (records may share a chunk), and the whole text. */
function recordArrivals(socket: net.Socket): { times: number[]; text: () => string } {
  const times: number[] = [];
  let text = '';
  socket.on('data', (chunk: Buffer) => {
    const at = now();
    const part = chunk.toString('latin1');
    text += part;
    for (const char of part) if (char === ';') times.push(at);
  });
  return { times, text: () => text };
}

describe('bench latency proxy', () => {
  it('forwards every chunk both ways in order, none sooner than the delay after it was written', async () => {
    let atTarget!: ReturnType<typeof recordArrivals>;
    const target = net.createServer((socket) => {
      atTarget = recordArrivals(socket);
      socket.on('data', (chunk) => socket.write(chunk)); // an echo: the records come back through the proxy
    });
    const client = await throughProxy(target);
    const back = recordArrivals(client);
    const sent: number[] = [];
    let text = '';
    for (let i = 0; i < 60; i++) {
      const record = `${i}:${'x'.repeat(i * 37)};`;
      text += record;
      sent.push(now());
      client.write(record);
      if (i % 3 === 0) await sleep(i % 7); // some records alone, some in quick succession
    }
    while (back.times.length < sent.length) await once(client, 'data');

    expect(atTarget.text()).toBe(text);
    expect(back.text()).toBe(text);
    for (let i = 0; i < sent.length; i++) {
      expect(atTarget.times[i]! - sent[i]!).toBeGreaterThanOrEqual(DELAY);
      expect(back.times[i]! - sent[i]!).toBeGreaterThanOrEqual(2 * DELAY);
    }
  });

  it('forwards an end after the data written before it, and keeps the other direction open', async () => {
    const events: string[] = [];
    const target = net.createServer({ allowHalfOpen: true }, (socket) => {
      socket.on('data', (chunk) => events.push(`data ${chunk.toString()}`));
      socket.on('end', () => {
        events.push('end');
        socket.end('bye;');
      });
    });
    const client = await throughProxy(target);
    const back = recordArrivals(client);
    const start = now();
    client.end('last;');
    await once(client, 'end');
    expect(events).toEqual(['data last;', 'end']);
    expect(back.text()).toBe('bye;');
    expect(back.times[0]! - start).toBeGreaterThanOrEqual(2 * DELAY);
  });
});
