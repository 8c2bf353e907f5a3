// Two builds of pop3kit side by side over real sockets: to tell whether a change to core/ moves the download
// bench's times, which the bench itself (a process per client, five timed rounds) is too noisy to show for a
// change of a few per cent. Both builds and the raw socket (reused read buffer) live in this one process and
// take their rounds in turn (A, B, raw, A, B, raw, ...), each round a fresh session through the latency proxy
// (or straight to the server with --latency=0), so all three meet the machine's fast and slow spells alike.
// It prints each one's median time, raw/pop3kit, and the paired ratio of B against A (the median over the
// rounds of B's round i against A's round i; both orders of A and B are worth a run, the one that goes first
// in a round is favoured a little).
//   POP3KIT_DIST=folderA,folderB node bench/support/client-ab.mjs [a|b|c] [many|reuse|sink] [ROUNDS] [--latency=MS]
// A folder is a build like dist/, inside the checkout so that its packages resolve from node_modules (e.g.
// `cp -r dist dist-before` before `npm run build` of the change).
//   many    retrieveMany with every message in flight (for b: retr)
//   reuse   the same with reuseBodies
//   sink    retrieveManyTo (for b: retrTo)
// The first quarter of the rounds is left out as warm-up. Nothing checks the bodies here: the bench does.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { openRaw } from './clients.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const [scenario = 'c', mode = 'sink', roundsArg = '60'] = positional;
const latency = Number(process.argv.find((arg) => arg.startsWith('--latency='))?.split('=')[1] ?? 5);
const folders = process.env.POP3KIT_DIST?.split(',') ?? [];
if (folders.length !== 2) throw new Error('POP3KIT_DIST must name two builds: folderA,folderB');

function startHelper(script, args) {
  const child = fork(path.join(here, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve) => child.once('message', ({ port }) => resolve({ child, port })));
}

const server = await startHelper('pop3-server.mjs', []);
const proxy = latency === 0 ? undefined : await startHelper('latency-proxy.mjs', [String(server.port), String(latency)]);
const port = (proxy ?? server).port;
const raw = await openRaw({ port, user: scenario, reuse: true });
const clients = [];
for (const folder of folders) {
  const { connect } = await import(pathToFileURL(path.resolve(folder, 'node.js')).href);
  clients.push({ label: folder, round: () => pop3kitRound(connect) });
}
clients.push({ label: 'raw socket', round: async () => (await raw.round()).seconds * 1000 });

/** One fresh session: login and STAT untimed, then the download, timed (ms). */
async function pop3kitRound(connect) {
  const client = await connect({ host: '127.0.0.1', port, tls: 'none' });
  await client.login({ username: scenario, password: 'bench-password' });
  const { count } = await client.stat();
  const all = Array.from({ length: count }, (_, i) => i + 1);
  const start = performance.now();
  if (mode === 'sink') {
    if (count === 1) await client.retrTo(1, () => {});
    else await client.retrieveManyTo(all, { onData() {} }, { window: count });
  } else if (count === 1) {
    await client.retr(1);
  } else {
    await client.retrieveMany(all, () => {}, { window: count, reuseBodies: mode === 'reuse' });
  }
  const ms = performance.now() - start;
  await client.quit();
  return ms;
}

const rounds = Number(roundsArg);
const times = clients.map(() => []);
for (let i = 0; i < rounds; i++) {
  for (const [k, client] of clients.entries()) {
    const ms = await client.round();
    if (i >= rounds / 4) times[k].push(ms);
  }
}
server.child.kill();
proxy?.child.kill();

const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const rawMedian = median(times[2]);
console.log(`(${scenario}) ${mode}, ${latency === 0 ? 'straight to the server' : `through the proxy, ${latency} ms each way`}, ${times[0].length} rounds after ${rounds - times[0].length} of warm-up:`);
for (const [k, client] of clients.entries()) {
  const ms = median(times[k]);
  console.log(`  ${client.label}: median ${ms.toFixed(2)} ms${k < 2 ? `, raw/pop3kit ${(rawMedian / ms).toFixed(3)}` : ''}`);
}
const paired = median(times[1].map((ms, i) => ms / times[0][i]));
console.log(`  ${folders[1]} / ${folders[0]}, paired: ${paired.toFixed(3)}`);
