// How much a client may spend and still keep up, on mailbox (c) of the download bench (2,000 x 1 KiB through
// the 5 ms latency proxy): a raw pipelined socket that only counts terminators, made slower on purpose in two
// ways, each against the unhampered socket in the same run, round by round in turn.
//   busy wait   after each chunk, spin for N us per message the chunk ended: the cost of per-message work
//               (parsing, events, callbacks) while the server and the proxy want the same two cores;
//   spread      send the 2,000 RETRs in 12 writes spread over N ms, as a client that builds its commands one
//               by one does, instead of in one write.
// Prints the median time per round and its ratio to the plain socket's: a pop3kit ratio from
// `client-download.mjs` then reads as an equivalent cost per message. The server and proxy run as the bench's.
//   node bench/support/client-budget.mjs [ROUNDS]      (default 25, of which the first 5 are warm-up)
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { startHelper } from './helper-process.mjs';

const ROUNDS = Number(process.argv[2] ?? 25);
const WARMUP = 5;
const TERMINATOR = Buffer.from('\r\n.\r\n');

const spin = (microseconds) => {
  const until = performance.now() + microseconds / 1000;
  while (performance.now() < until);
};

/** One session on mailbox (c): log in, STAT, then time the RETRs of every message. */
async function round(port, { busyWait = 0, spread = 0 }) {
  const socket = net.connect({ host: '127.0.0.1', port, noDelay: true });
  let setup = '';
  const lines = (n) =>
    new Promise((resolve) => {
      const onData = (chunk) => {
        setup += chunk.toString('latin1');
        const all = setup.split('\r\n');
        if (all.length - 1 < n) return;
        socket.off('data', onData);
        setup = '';
        resolve(all);
      };
      socket.on('data', onData);
    });
  await lines(1);
  socket.write('USER c\r\nPASS bench-password\r\n');
  await lines(2);
  socket.write('STAT\r\n');
  const count = Number((await lines(1))[0].split(' ')[1]);

  let found = 0;
  let tail = Buffer.alloc(0);
  const start = performance.now();
  const done = new Promise((resolve) =>
    socket.on('data', (chunk) => {
      // A terminator may straddle two chunks: search the last 4 octets of the previous one too.
      const joined = tail.length > 0 ? Buffer.concat([tail, chunk]) : chunk;
      let ended = 0;
      for (let at = joined.indexOf(TERMINATOR); at !== -1; at = joined.indexOf(TERMINATOR, at + 1)) if (at + 5 > tail.length) ended++;
      tail = Buffer.from(joined.subarray(-4));
      spin(ended * busyWait);
      found += ended;
      if (found >= count) resolve();
    }),
  );
  const writes = spread > 0 ? 12 : 1;
  const perWrite = Math.ceil(count / writes);
  for (let w = 0; w < writes; w++) {
    const commands = [];
    for (let m = w * perWrite + 1; m <= Math.min(count, (w + 1) * perWrite); m++) commands.push(`RETR ${m}\r\n`);
    socket.write(commands.join(''));
    if (spread > 0) spin((spread * 1000) / writes);
  }
  await done;
  const ms = performance.now() - start;
  socket.destroy();
  return ms;
}

const server = await startHelper('pop3-server.mjs', []);
const proxy = await startHelper('latency-proxy.mjs', [String(server.port), '5']);
const variants = [
  { label: 'plain raw socket', hamper: {} },
  ...[0.25, 0.5, 0.75, 1, 1.5, 2].map((us) => ({ label: `busy wait ${us} us per message`, hamper: { busyWait: us } })),
  ...[1.5, 3].map((ms) => ({ label: `RETRs spread over ${ms} ms`, hamper: { spread: ms } })),
];
const times = variants.map(() => []);
for (let r = 0; r < ROUNDS; r++) {
  for (const [i, { hamper }] of variants.entries()) {
    const ms = await round(proxy.port, hamper);
    if (r >= WARMUP) times[i].push(ms);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const plain = median(times[0]);
for (const [i, { label }] of variants.entries()) {
  const ms = median(times[i]);
  console.log(`${label.padEnd(34)} ${ms.toFixed(2).padStart(6)} ms   ratio ${(plain / ms).toFixed(2)}`);
}
server.child.kill();
proxy.child.kill();
