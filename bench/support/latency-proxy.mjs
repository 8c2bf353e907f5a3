// A TCP proxy that adds a fixed delay to each direction, as a network path with that one-way latency would,
// without limiting throughput.
//
// Each chunk read from one side is stamped with the time it is due (arrival + delay) and queued. When the
// oldest chunk of a direction is due, every chunk due by then is written, in order, in one corked write. So
// order is kept, a chunk is never forwarded early, and throughput is not serialized behind per-chunk timers:
// a fast sender has up to (rate x delay) bytes in the queue, like bytes in flight on a long link. Memory is
// bounded: reading pauses while a direction holds more than QUEUE_LIMIT bytes (queued plus written but not
// yet taken by the kernel), and resumes below half of it.
//
// The wake-ups come from an Alarm, not from setTimeout: Node's timers count whole milliseconds of a clock
// read once per turn of the event loop, so a 5 ms setTimeout forwarded chunks after 5.0 to 6.9 ms (mean 5.6),
// late by however the chunk's arrival fell within its millisecond.
//
// Run as a child process: `node latency-proxy.mjs TARGET_PORT DELAY_MS`; it sends { port } over IPC.
import net from 'node:net';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

const QUEUE_LIMIT = 64 * 1024 * 1024;

/** Milliseconds, to a fraction of a microsecond, on the monotonic clock every thread of the process reads alike. */
const now = () => Number(process.hrtime.bigint()) / 1e6;

// The alarm's thread: it sleeps in Atomics.wait, whose timeout is kept to the microsecond, until the
// deadline in shared memory has come, says so, and sleeps until a new deadline is set.
const ALARM_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const generation = new Int32Array(workerData, 0, 1);
const deadline = new Float64Array(workerData, 8, 1);
const now = ${now.toString()};
for (;;) {
  const seen = Atomics.load(generation, 0);
  const wait = deadline[0] - now();
  if (wait > 0) {
    Atomics.wait(generation, 0, seen, wait);
  } else {
    parentPort.postMessage(seen);
    Atomics.wait(generation, 0, seen);
  }
}`;

/** Calls `ring` once the time set with set() has come, give or take the few tens of microseconds of a thread's wake-up. */
class Alarm {
  #shared = new SharedArrayBuffer(16);
  #generation = new Int32Array(this.#shared, 0, 1);
  #deadline = new Float64Array(this.#shared, 8, 1);
  #thread;

  constructor(ring) {
    this.#deadline[0] = Infinity;
    this.#thread = new Worker(ALARM_THREAD, { eval: true, workerData: this.#shared });
    this.#thread.on('message', ring);
  }

  /** Resolves once the thread runs: a deadline set before then would be met late. */
  ready() {
    return once(this.#thread, 'online');
  }

  get deadline() {
    return this.#deadline[0];
  }

  /** Ring at `time` (a now() reading), or never (Infinity), instead of the time set before. */
  set(time) {
    this.#deadline[0] = time;
    Atomics.add(this.#generation, 0, 1);
    Atomics.notify(this.#generation, 0);
  }

  stop() {
    return this.#thread.terminate();
  }
}

/** The directions with chunks queued, woken by one alarm set for the oldest chunk of them all. */
class Schedule {
  #waiting = new Set();
  #alarm = new Alarm(() => {
    const at = now();
    for (const pipe of this.#waiting) pipe.flush(at);
    // Set even when unchanged: the thread that rang sleeps until a deadline is set.
    this.#alarm.set(this.#next());
  });

  ready() {
    return this.#alarm.ready();
  }

  /** `pipe` has chunks queued, from now until its flush() empties it (pipe.due(): when its oldest is due). */
  add(pipe) {
    if (this.#waiting.has(pipe)) return;
    this.#waiting.add(pipe);
    const next = this.#next();
    if (next !== this.#alarm.deadline) this.#alarm.set(next);
  }

  delete(pipe) {
    this.#waiting.delete(pipe);
  }

  stop() {
    return this.#alarm.stop();
  }

  /** When the oldest chunk queued is due (Infinity when there is none). */
  #next() {
    let next = Infinity;
    for (const pipe of this.#waiting) next = Math.min(next, pipe.due());
    return next;
  }
}

/** Forward `from` to `to`, each chunk `delay` ms late. */
function delayedPipe(from, to, delay, schedule) {
  const queue = []; // [chunk, due] pairs, in arrival order; `head` is the next to send
  let head = 0;
  let queued = 0;
  let ended = false;
  let paused = false;

  const backlog = () => queued + to.writableLength;
  const pipe = {
    due: () => queue[head][1],
    /** Write every chunk due at `at`. */
    flush(at) {
      if (to.destroyed) {
        schedule.delete(pipe);
        return;
      }
      to.cork();
      while (head < queue.length && queue[head][1] <= at) {
        const chunk = queue[head][0];
        queue[head++] = undefined;
        queued -= chunk.length;
        to.write(chunk);
      }
      to.uncork();
      if (head === queue.length) {
        queue.length = 0;
        head = 0;
        schedule.delete(pipe);
        if (ended) to.end();
      } else if (head > 1024) {
        queue.splice(0, head);
        head = 0;
      }
      resumeIfLow();
    },
  };
  const resumeIfLow = () => {
    if (paused && backlog() < QUEUE_LIMIT / 2) {
      paused = false;
      from.resume();
    }
  };
  from.on('data', (chunk) => {
    queue.push([chunk, now() + delay]);
    queued += chunk.length;
    if (!paused && backlog() >= QUEUE_LIMIT) {
      paused = true;
      from.pause();
    }
    schedule.add(pipe);
  });
  from.on('end', () => {
    ended = true;
    if (head === queue.length) to.end();
  });
  to.on('drain', resumeIfLow);
}

/**
 * Listen on 127.0.0.1 (a free port) and forward each connection to 127.0.0.1:targetPort with `delay` ms each
 * way; closing the server stops its alarm's thread.
 */
export async function startLatencyProxy(targetPort, delay) {
  const schedule = new Schedule();
  await schedule.ready();
  // Half-open allowed: an end is forwarded (late, like the data before it) instead of closing both ways at once.
  const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (client) => {
    const upstream = net.connect({ host: '127.0.0.1', port: targetPort, noDelay: true, allowHalfOpen: true });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
    delayedPipe(client, upstream, delay, schedule);
    delayedPipe(upstream, client, delay, schedule);
  });
  server.on('close', () => schedule.stop());
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
