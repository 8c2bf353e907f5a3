// The WebSocket proxy (dist/proxy.js): relay throughput next to a bare minimal ws-to-TCP relay in the same run
// (target: at least 95%), and 5,000 concurrent idle sessions with the proxy's memory per session (target: under
// 20 KiB). Each relay runs alone in a child process (this file, forked with a role), so its memory is its own
// and the client and the TCP source in this process do not share its event loop.
// Run: npm run bench (or node bench/proxy-relay.mjs after npm run build). Everything stays on 127.0.0.1.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as netConnect, createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { WebSocket, WebSocketServer } from 'ws';

const MiB = 1024 * 1024;
const DOWNLOAD = 256 * MiB;
const ROUNDS = 7;
const IDLE_SESSIONS = 5000;

// ─── Child: one relay ──────────────────────────────────────────────────────────────────────────────────────

/** The bare minimum: one WebSocket to one TCP socket, no checks, no limits, no backpressure. */
async function bareRelay(target) {
  const [host, port] = target.split(':');
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  wss.on('connection', (ws) => {
    const socket = netConnect(Number(port), host);
    socket.on('data', (data) => ws.send(data));
    socket.on('close', () => ws.close());
    socket.on('error', () => ws.terminate());
    ws.on('message', (data) => socket.write(data));
    ws.on('close', () => socket.destroy());
  });
  await new Promise((resolve) => wss.once('listening', resolve));
  return wss.address().port;
}

async function child(role, target) {
  let port;
  if (role === 'bare') port = await bareRelay(target);
  else {
    const { createProxy } = await import('../dist/proxy.js');
    const proxy = await createProxy({
      allow: [target],
      allowPrivate: true,
      port: 0,
      logger: () => {},
      maxConnections: 2 * IDLE_SESSIONS,
      maxConnectionsPerClient: 2 * IDLE_SESSIONS,
      rateLimit: false,
    });
    port = proxy.address.port;
  }
  process.on('message', (message) => {
    if (message === 'memory') {
      globalThis.gc();
      process.send({ memory: process.memoryUsage() });
    }
  });
  process.send({ port });
}

// ─── Parent ────────────────────────────────────────────────────────────────────────────────────────────────

/** Starts a relay child; resolves with its WebSocket URL, a memory probe and a stop function. */
async function startRelay(role, target) {
  const relay = fork(fileURLToPath(import.meta.url), [role, target], { execArgv: ['--expose-gc'] });
  const next = (key) =>
    new Promise((resolve) => {
      const onMessage = (message) => {
        if (key in message) {
          relay.off('message', onMessage);
          resolve(message[key]);
        }
      };
      relay.on('message', onMessage);
    });
  const port = await next('port');
  return {
    url: `ws://127.0.0.1:${port}/`,
    memory: () => {
      const reply = next('memory');
      relay.send('memory');
      return reply;
    },
    stop: () => relay.kill(),
  };
}

/** A TCP source that sends DOWNLOAD bytes to every connection as fast as it can take them, then ends. */
async function source() {
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const server = createServer((socket) => {
    socket.on('error', () => {});
    let sent = 0;
    const pump = () => {
      while (sent < DOWNLOAD) {
        sent += chunk.length;
        if (!socket.write(chunk)) return void socket.once('drain', pump);
      }
      socket.end();
    };
    pump();
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, target: `127.0.0.1:${server.address().port}` };
}

/** Downloads DOWNLOAD bytes through a relay; returns bytes per second. */
function download(url) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let received = 0;
    let start;
    ws.on('open', () => (start = process.hrtime.bigint()));
    ws.on('message', (data) => {
      received += data.length;
      if (received === DOWNLOAD) {
        const seconds = Number(process.hrtime.bigint() - start) / 1e9;
        ws.terminate();
        resolve(DOWNLOAD / seconds);
      }
    });
    ws.on('error', reject);
  });
}

async function throughput() {
  const { server, target } = await source();
  const relays = { bare: await startRelay('bare', target), proxy: await startRelay('proxy', target) };
  const rates = { bare: [], proxy: [] };
  await download(relays.bare.url); // warm-up, both
  await download(relays.proxy.url);
  for (let round = 0; round < ROUNDS; round++) {
    for (const role of round % 2 === 0 ? ['bare', 'proxy'] : ['proxy', 'bare']) rates[role].push(await download(relays[role].url));
  }
  for (const relay of Object.values(relays)) relay.stop();
  server.close();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const show = (bps) => `${(bps / MiB).toFixed(0)} MiB/s`;
  console.log(`relay throughput, target to page, ${DOWNLOAD / MiB} MiB per run, median of ${ROUNDS} (alternating):`);
  console.log(`  bare ws-to-TCP relay (no checks, no backpressure)  ${show(median(rates.bare))}  (runs: ${rates.bare.map(show).join(', ')})`);
  console.log(`  pop3kit proxy                                      ${show(median(rates.proxy))}  (runs: ${rates.proxy.map(show).join(', ')})`);
  console.log(`  ratio: ${((100 * median(rates.proxy)) / median(rates.bare)).toFixed(1)}% (target: at least 95%)`);
}

async function idleSessions() {
  const limits = readFileSync('/proc/self/limits', 'utf8').match(/Max open files\s+(\d+)/)?.[1];
  // This process holds a WebSocket and a target socket per session, the proxy a WebSocket and a TCP socket.
  console.log(`\n${IDLE_SESSIONS} idle sessions (open files limit per process: ${limits}; each process needs about ${2 * IDLE_SESSIONS})`);
  const held = [];
  const server = createServer((socket) => {
    socket.on('error', () => {});
    held.push(socket);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', 2048, resolve));
  const proxy = await startRelay('proxy', `127.0.0.1:${server.address().port}`);
  const pages = [];
  const open = (n) =>
    Promise.all(
      Array.from({ length: n }, () => {
        const ws = new WebSocket(proxy.url, { perMessageDeflate: false });
        ws.on('error', () => {});
        pages.push(ws);
        return new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('close', () => reject(new Error('refused')))));
      }),
    );
  await open(20); // the first sessions warm up code paths and pools
  const waitHeld = async (n) => {
    while (held.length < n) await new Promise((resolve) => setTimeout(resolve, 20));
  };
  await waitHeld(20);
  const before = await proxy.memory();
  const started = Date.now();
  for (let opened = 0; opened < IDLE_SESSIONS; opened += 250) await open(Math.min(250, IDLE_SESSIONS - opened));
  await waitHeld(20 + IDLE_SESSIONS);
  const seconds = (Date.now() - started) / 1000;
  await new Promise((resolve) => setTimeout(resolve, 500));
  const after = await proxy.memory();
  const per = (key) => (after[key] - before[key]) / IDLE_SESSIONS / 1024;
  const retained = ((after.heapUsed + after.external) - (before.heapUsed + before.external)) / IDLE_SESSIONS / 1024;
  console.log(`  opened ${IDLE_SESSIONS} sessions in ${seconds.toFixed(1)} s, all relaying to the target and idle`);
  console.log(`  proxy memory per session: RSS ${per('rss').toFixed(1)} KiB, heap + external after GC ${retained.toFixed(1)} KiB (heap ${per('heapUsed').toFixed(1)} KiB) (target: under 20 KiB)`);
  for (const ws of pages) ws.terminate();
  proxy.stop();
  for (const socket of held) socket.destroy();
  server.close();
}

const [role, target] = process.argv.slice(2);
if (role !== undefined) await child(role, target);
else {
  await throughput();
  await idleSessions();
}
