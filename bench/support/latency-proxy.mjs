// A TCP proxy that adds a fixed delay to each direction, as a network path with that one-way latency would,
// without limiting throughput.
//
// Each chunk read from one side is stamped with the time it is due (arrival + delay) and queued; one timer per
// direction fires when the oldest chunk is due and writes every chunk that is due by then, in order, in one
// corked write. So order is kept, a chunk is never forwarded early, and throughput is not serialized behind
// per-chunk timers: a fast sender has up to (rate x delay) bytes in the queue, like bytes in flight on a
// long link. Memory is bounded: reading pauses while a direction holds more than QUEUE_LIMIT bytes (queued
// plus written but not yet taken by the kernel), and resumes below half of it.
//
// Run as a child process: `node latency-proxy.mjs TARGET_PORT DELAY_MS`; it sends { port } over IPC.
import net from 'node:net';
import { performance } from 'node:perf_hooks';

const QUEUE_LIMIT = 64 * 1024 * 1024;

/** Forward `from` to `to`, each chunk `delay` ms late. */
function delayedPipe(from, to, delay) {
  const queue = []; // [chunk, due] pairs, in arrival order; `head` is the next to send
  let head = 0;
  let queued = 0;
  let timer;
  let ended = false;
  let paused = false;

  const backlog = () => queued + to.writableLength;
  const schedule = () => {
    if (timer !== undefined || head === queue.length) return;
    const wait = queue[head][1] - performance.now();
    timer = setTimeout(flush, Math.max(1, Math.ceil(wait)));
  };
  const flush = () => {
    timer = undefined;
    const now = performance.now();
    if (to.destroyed) return;
    to.cork();
    while (head < queue.length && queue[head][1] <= now) {
      const chunk = queue[head][0];
      queue[head++] = undefined;
      queued -= chunk.length;
      to.write(chunk);
    }
    to.uncork();
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head > 1024) {
      queue.splice(0, head);
      head = 0;
    }
    if (ended && head === queue.length) to.end();
    else schedule();
    resumeIfLow();
  };
  const resumeIfLow = () => {
    if (paused && backlog() < QUEUE_LIMIT / 2) {
      paused = false;
      from.resume();
    }
  };
  from.on('data', (chunk) => {
    queue.push([chunk, performance.now() + delay]);
    queued += chunk.length;
    if (!paused && backlog() >= QUEUE_LIMIT) {
      paused = true;
      from.pause();
    }
    schedule();
  });
  from.on('end', () => {
    ended = true;
    if (head === queue.length && timer === undefined) to.end();
  });
  to.on('drain', resumeIfLow);
}

/** Listen on 127.0.0.1 (a free port) and forward each connection to 127.0.0.1:targetPort with `delay` ms each way. */
export function startLatencyProxy(targetPort, delay) {
  // Half-open allowed: an end is forwarded (late, like the data before it) instead of closing both ways at once.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort, noDelay: true, allowHalfOpen: true });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    delayedPipe(client, upstream, delay);
    delayedPipe(upstream, client, delay);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

if (process.send !== undefined && process.argv[1] === new URL(import.meta.url).pathname) {
  const server = await startLatencyProxy(Number(process.argv[2]), Number(process.argv[3]));
  process.send({ port: server.address().port });
  process.on('disconnect', () => process.exit(0));
}
