// Two builds of pop3kit side by side over real sockets: to tell whether a change to core/ moves the download
// bench's times, which the bench itself (a process per client, fifteen timed rounds) is too noisy to show for a
// change of a few per cent. Both builds and the raw socket (reused read buffer) live in this one process and
// take their rounds in turn (A, B, raw, A, B, raw, ...), each round a fresh session through the latency proxy
// (or straight to the server with --latency=0), so all three meet the machine's fast and slow spells alike.
// Each pop3kit round is the bench's own (bench/support/clients.mjs: the same calls, the same spot checks of
// the bodies). It prints each one's median time, raw/pop3kit, and the paired ratio of B against A (the median
// over the rounds of B's round i against A's round i; both orders of A and B are worth a run, the one that
// goes first in a round is favoured a little).
//   POP3KIT_DIST=folderA,folderB node bench/support/client-ab.mjs [a|b|c] [many|reuse|sink] [ROUNDS] [--latency=MS]
// A folder is a build like dist/, inside the checkout so that its packages resolve from node_modules (e.g.
// `cp -r dist dist-before` before `npm run build` of the change).
//   many    retrieveMany with every message in flight (for b: retrStream read with a BYOB reader)
//   reuse   the same with reuseBodies
//   sink    retrieveManyTo (for b: retrTo)
// The first quarter of the rounds is left out as warm-up.
import { openPop3kit, openRaw } from './clients.mjs';
import { startHelper } from './helper-process.mjs';
import { scenarios } from './mailbox.mjs';

const positional = process.argv.slice(2).filter((arg) => !arg.startsWith('--'));
const [scenario = 'c', mode = 'sink', roundsArg = '60'] = positional;
const latency = Number(process.argv.find((arg) => arg.startsWith('--latency='))?.split('=')[1] ?? 5);
const folders = process.env.POP3KIT_DIST?.split(',') ?? [];
if (folders.length !== 2) throw new Error('POP3KIT_DIST must name two builds: folderA,folderB');
const spec = scenarios(false).find((s) => s.name === scenario);

const server = await startHelper('pop3-server.mjs', []);
const proxy = latency === 0 ? undefined : await startHelper('latency-proxy.mjs', [String(server.port), String(latency)]);
const port = (proxy ?? server).port;
// As the download bench runs its pop3kit clients: every message in flight.
const options = spec.count === 1 ? { stream: mode !== 'sink', sink: mode === 'sink' } : { window: spec.count, sink: mode === 'sink', reuseBodies: mode === 'reuse' };
const clients = [];
for (const dist of folders) clients.push({ label: dist, run: await openPop3kit({ port, user: scenario, spec, dist, ...options }) });
clients.push({ label: 'raw socket', run: await openRaw({ port, user: scenario, reuse: true }) });

const rounds = Number(roundsArg);
const times = clients.map(() => []);
for (let i = 0; i < rounds; i++) {
  for (const [k, client] of clients.entries()) {
    const { seconds } = await client.run.round(i);
    if (i >= rounds / 4) times[k].push(seconds * 1000);
  }
}
server.child.kill();
proxy?.child.kill();

for (const client of clients.slice(0, 2)) {
  const { mismatches } = client.run.finish();
  if (mismatches.length > 0) throw new Error(`${client.label}: bodies differ from the originals: ${mismatches.join('; ')}`);
}
const median = (xs) => [...xs].sort((x, y) => x - y)[xs.length >> 1];
const rawMedian = median(times[2]);
console.log(`(${scenario}) ${mode}, ${latency === 0 ? 'straight to the server' : `through the proxy, ${latency} ms each way`}, ${times[0].length} rounds after ${rounds - times[0].length} of warm-up:`);
for (const [k, client] of clients.entries()) {
  const ms = median(times[k]);
  console.log(`  ${client.label}: median ${ms.toFixed(2)} ms${k < 2 ? `, raw/pop3kit ${(rawMedian / ms).toFixed(3)}` : ''}`);
}
const paired = median(times[1].map((ms, i) => ms / times[0][i]));
console.log(`  ${folders[1]} / ${folders[0]}, paired: ${paired.toFixed(3)}`);
