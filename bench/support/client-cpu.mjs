// pop3kit's client CPU cost per download, without sockets, proxy or other processes: a Transport that answers
// from the bench mailboxes in memory, in 64 KiB chunks (what a Node socket delivers). Much less noisy than the
// network bench on a busy machine, so it is the tool for trying a change to core/: build it into another
// folder (like dist/) and give both folders, whose rounds then take turns in one process, so that both meet
// the machine's fast and slow spells alike; the paired ratio is the median over the rounds of the second
// build's round i against the first's.
//   node bench/support/client-cpu.mjs [a|b|c] [ROUNDS] [many|reuse|sink]
//   many    retrieveMany with every message in flight (for b: retrStream read with a BYOB reader)
//   reuse   the same with reuseBodies
//   sink    retrieveManyTo (for b: retrTo)
//   POP3KIT_DIST=folder[,folder]   the builds to measure (default dist/)
import { performance } from 'node:perf_hooks';
import { buildUrl } from './clients.mjs';
import { scenarios } from './mailbox.mjs';
import { buildMailboxes } from './pop3-server.mjs';

const [name = 'a', roundsArg = '30', mode = 'many'] = process.argv.slice(2);
const folders = process.env.POP3KIT_DIST?.split(',') ?? [undefined];
const builds = [];
for (const folder of folders) {
  builds.push({ label: folder ?? 'dist', Pop3Client: (await import(new URL('index.js', buildUrl(folder)).href)).Pop3Client });
}
const spec = scenarios(false).find((s) => s.name === name);
const box = buildMailboxes([spec]).get(name);
const CHUNK = 64 * 1024;
const CAPA = Buffer.from('+OK\r\nUSER\r\nPIPELINING\r\nUIDL\r\n.\r\n');

/**
 * Answers each written command line from the mailbox; reads hand out the replies in 64 KiB chunks, as the
 * Node TCP transport does: readTransient() in one reused buffer, read() in fresh memory.
 */
class MailboxTransport {
  secure = false;
  local = true;
  #out = [Buffer.from('+OK ready\r\n')];
  #reader;
  #closed = false;
  #reused = Buffer.allocUnsafe(CHUNK);
  #into;
  read() {
    return this.#read(undefined);
  }
  readTransient() {
    return this.#read(this.#reused);
  }
  #read(into) {
    this.#into = into;
    if (this.#out.length > 0) return Promise.resolve(this.#take());
    if (this.#closed) return Promise.resolve(undefined);
    return new Promise((resolve) => (this.#reader = resolve));
  }
  #take() {
    // Coalesce small replies and split big ones, as a socket would.
    const pieces = [];
    let length = 0;
    while (length < CHUNK && this.#out.length > 0) {
      const next = this.#out.shift();
      const room = CHUNK - length;
      if (next.length > room) this.#out.unshift(next.subarray(room));
      const piece = next.length > room ? next.subarray(0, room) : next;
      pieces.push(piece);
      length += piece.length;
    }
    if (this.#into === undefined) return Buffer.concat(pieces, length);
    let at = 0;
    for (const piece of pieces) at += piece.copy(this.#into, at);
    return this.#into.subarray(0, length);
  }
  write(bytes) {
    for (const line of Buffer.from(bytes).toString('latin1').split('\r\n')) {
      if (line === '') continue;
      const [verb, arg] = line.split(' ');
      if (verb === 'CAPA') this.#out.push(CAPA);
      else if (verb === 'RETR') this.#out.push(box.responses[Number(arg) - 1]);
      else if (verb === 'STAT') this.#out.push(box.stat);
      else if (verb === 'QUIT') {
        this.#out.push(Buffer.from('+OK bye\r\n'));
      } else this.#out.push(Buffer.from('+OK\r\n'));
    }
    if (this.#reader !== undefined && this.#out.length > 0) {
      const resolve = this.#reader;
      this.#reader = undefined;
      resolve(this.#take());
    }
    return Promise.resolve();
  }
  close() {
    this.#closed = true;
    this.#reader?.(undefined);
  }
}

async function round(Pop3Client) {
  const client = new Pop3Client(new MailboxTransport());
  await client.connect();
  await client.login({ username: 'bench', password: 'pw' });
  const { count } = await client.stat();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let bytes = 0;
  const all = Array.from({ length: count }, (_, i) => i + 1);
  if (mode === 'sink') {
    const onData = (piece) => {
      bytes += piece.length;
    };
    if (count === 1) await client.retrTo(1, onData);
    else await client.retrieveManyTo(all, { onData }, { window: count });
  } else if (count === 1) {
    // As the download bench reads it: a BYOB reader and one 64 KiB view, reused.
    const reader = (await client.retrStream(1)).getReader({ mode: 'byob' });
    let view = new Uint8Array(64 * 1024);
    for (let r = await reader.read(view); !r.done; r = await reader.read(view)) {
      bytes += r.value.length;
      view = new Uint8Array(r.value.buffer);
    }
  } else {
    await client.retrieveMany(all, ({ body }) => {
      bytes += body.length;
    }, { window: count, reuseBodies: mode === 'reuse' });
  }
  const used = process.cpuUsage(cpu);
  const wall = performance.now() - start;
  if (bytes !== spec.count * spec.size) throw new Error(`counted ${bytes}`);
  await client.quit();
  return { wall, cpu: (used.user + used.system) / 1000 };
}

const results = builds.map(() => []);
for (let i = 0; i < Number(roundsArg); i++) {
  for (const [k, build] of builds.entries()) results[k].push(await round(build.Pop3Client));
}
const med = (xs) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
for (const [k, build] of builds.entries()) {
  const wall = med(results[k].map((r) => r.wall));
  console.log(
    `${build.label}: ${spec.count} x ${spec.size} octets, ${mode}, ${results[k].length} rounds: median ${wall.toFixed(1)} ms wall, ` +
      `${med(results[k].map((r) => r.cpu)).toFixed(1)} ms CPU, ${((spec.count * spec.size) / wall / 1000).toFixed(0)} MB/s`,
  );
}
if (builds.length === 2) {
  const ratios = results[1].map((r, i) => r.wall / results[0][i].wall).sort((x, y) => x - y);
  const at = (f) => ratios[Math.floor(ratios.length * f)].toFixed(3);
  console.log(`${builds[1].label} / ${builds[0].label}, paired: median ${at(0.5)} (quartiles ${at(0.25)} to ${at(0.75)})`);
}
