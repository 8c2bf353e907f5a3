// How late the latency proxy really forwards: small chunks written through it at random moments, each timed
// from its write to its arrival at a sink in this process. The figures include the two loopback hops and this
// process's own wake-ups (a few tenths of a millisecond), so they are an upper bound of the proxy's lateness.
//   node bench/support/proxy-delay.mjs [CHUNKS] [DELAY_MS]
import net from 'node:net';
import { once } from 'node:events';
import { startHelper } from './helper-process.mjs';

const [chunks = 400, delay = 5] = process.argv.slice(2).map(Number);
const SIZE = 100;
const now = () => Number(process.hrtime.bigint()) / 1e6;

const arrivals = [];
const sink = net.createServer((socket) => {
  socket.on('data', (data) => {
    const at = now();
    for (let i = 0; i < data.length; i += SIZE) arrivals.push(at);
  });
});
sink.listen(0, '127.0.0.1');
await once(sink, 'listening');
const proxy = await startHelper('latency-proxy.mjs', [String(sink.address().port), String(delay)]);
const client = net.connect({ host: '127.0.0.1', port: proxy.port, noDelay: true });
await once(client, 'connect');

const sent = [];
for (let i = 0; i < chunks; i++) {
  sent.push(now());
  client.write(Buffer.alloc(SIZE, 120));
  await new Promise((resolve) => setTimeout(resolve, Math.random() * 7));
}
while (arrivals.length < chunks) await new Promise((resolve) => setTimeout(resolve, 10));

const delays = sent.map((at, i) => arrivals[i] - at).sort((a, b) => a - b);
const quantile = (q) => delays[Math.floor(q * (delays.length - 1))].toFixed(2);
const mean = delays.reduce((sum, d) => sum + d, 0) / delays.length;
console.log(
  `${chunks} chunks through a proxy of ${delay} ms: write to arrival min ${quantile(0)}, median ${quantile(0.5)}, ` +
    `mean ${mean.toFixed(2)}, p90 ${quantile(0.9)}, p99 ${quantile(0.99)}, max ${quantile(1)} ms`,
);
client.destroy();
proxy.child.kill();
sink.close();
