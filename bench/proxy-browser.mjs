// The browser-side client through the proxy, in Chromium: Pop3Client over the WebSocket transport (the
// browser bundle, dist/pop3kit.browser.js) next to a raw client in the same page through the same proxy
// (target: pop3kit at least 80% of raw). The raw client is the least a page must do: one WebSocket, RETR,
// and a scan of each chunk's end for the terminator; it neither unstuffs nor frames. pop3kit reads the body
// with retrStream(), chunk by chunk, without keeping it. The embedded POP3 server (dist/server.js) serves one
// 64 MiB message from memory; the proxy (dist/proxy.js) runs in this process, Chromium in its own.
// Run: npm run bench (or node bench/proxy-browser.mjs after npm run build). Chromium: CHROMIUM_PATH or
// /usr/bin/chromium. Everything stays on 127.0.0.1.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { chromium } from 'playwright';
import { MemoryMailStore } from '../dist/index.js';
import { Pop3Server } from '../dist/server.js';
import { createProxy } from '../dist/proxy.js';

const MiB = 1024 * 1024;
const SIZE = 64 * MiB;
const ROUNDS = 5;

/** A text body of about SIZE bytes with realistic lines, one in fifty starting with a dot. */
function message() {
  const lines = ['Subject: big\r\n', '\r\n'];
  let length = 0;
  for (let i = 0; length < SIZE; i++) {
    const line = i % 50 === 49 ? '.a line that starts with a dot and gets stuffed\r\n' : `${i} Lorem ipsum dolor sit amet, consectetur adipiscing elit.\r\n`;
    lines.push(line);
    length += line.length;
  }
  return lines.join('');
}

/** Page side: one timed RETR 1 with a raw WebSocket; resolves with bytes per second (wire bytes). */
async function raw(url) {
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const encoder = new TextEncoder();
  let waiting;
  const chunks = [];
  ws.onmessage = (event) => waiting(new Uint8Array(event.data));
  const next = () => new Promise((resolve) => (waiting = resolve));
  await new Promise((resolve) => (ws.onopen = resolve));
  /** Reads until the text seen since the call ends with `end`. */
  const readUntil = async (end) => {
    let tail = '';
    let bytes = 0;
    for (;;) {
      const chunk = await next();
      bytes += chunk.length;
      tail = (tail + String.fromCharCode(...chunk.subarray(Math.max(0, chunk.length - 8)))).slice(-8);
      if (tail.endsWith(end)) return bytes;
    }
  };
  await readUntil('\r\n');
  ws.send(encoder.encode('USER bench\r\n'));
  await readUntil('\r\n');
  ws.send(encoder.encode('PASS bench-pw\r\n'));
  await readUntil('\r\n');
  const start = performance.now();
  ws.send(encoder.encode('RETR 1\r\n'));
  const bytes = await readUntil('\r\n.\r\n');
  const seconds = (performance.now() - start) / 1000;
  ws.send(encoder.encode('QUIT\r\n'));
  ws.close();
  chunks.length = 0;
  return bytes / seconds;
}

/** Page side: one timed RETR 1 with Pop3Client.retrStream(); resolves with bytes per second (body bytes). */
async function pop3kit(url) {
  const kit = globalThis.pop3kit;
  const client = new kit.Pop3Client(await kit.openWebSocketTransport(url));
  await client.connect();
  await client.login({ username: 'bench', password: 'bench-pw', requireTls: false, mechanism: 'USER' });
  const start = performance.now();
  const stream = await client.retrStream(1);
  let bytes = 0;
  for await (const chunk of stream) bytes += chunk.length;
  const seconds = (performance.now() - start) / 1000;
  await client.quit();
  return bytes / seconds;
}

const store = new MemoryMailStore();
store.addUser('bench', 'bench-pw');
store.deliver('bench', message());
const pop3 = new Pop3Server({ store });
const { port: pop3Port } = await pop3.listen({ port: 0 });

const bundle = readFileSync(new URL('../dist/pop3kit.browser.js', import.meta.url), 'utf8');
const page = `<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,">
<script type="module">import * as pop3kit from './pop3kit.browser.js'; globalThis.pop3kit = pop3kit;</script>`;
const http = createServer((request, response) => {
  if (request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(page);
  else if (request.url === '/pop3kit.browser.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
  else response.writeHead(404).end();
});
await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
const origin = `http://127.0.0.1:${http.address().port}`;
const proxy = await createProxy({ allow: [`127.0.0.1:${pop3Port}`], allowPrivate: true, origins: [origin], port: 0, logger: () => {}, rateLimit: false });
const url = `ws://127.0.0.1:${proxy.address.port}/`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
try {
  const tab = await browser.newPage();
  await tab.goto(`${origin}/`);
  const run = (fn) => tab.evaluate(`(${fn.toString()})(${JSON.stringify(url)})`);
  await run(raw); // warm-up, both
  await run(pop3kit);
  const rates = { raw: [], pop3kit: [] };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of round % 2 === 0 ? ['raw', 'pop3kit'] : ['pop3kit', 'raw']) rates[name].push(await run(name === 'raw' ? raw : pop3kit));
  }
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const show = (bps) => `${(bps / MiB).toFixed(0)} MiB/s`;
  console.log(`browser client through the proxy, RETR of ${SIZE / MiB} MiB in Chromium ${browser.version()}, median of ${ROUNDS} (alternating):`);
  console.log(`  raw WebSocket, terminator scan only   ${show(median(rates.raw))}  (runs: ${rates.raw.map(show).join(', ')})`);
  console.log(`  pop3kit Pop3Client.retrStream()       ${show(median(rates.pop3kit))}  (runs: ${rates.pop3kit.map(show).join(', ')})`);
  console.log(`  ratio: ${((100 * median(rates.pop3kit)) / median(rates.raw)).toFixed(1)}% (target: at least 80%)`);
} finally {
  await browser.close();
  await proxy.close();
  await pop3.close();
  http.close();
}
