// How fast the client engine frames and unstuffs a message body: one RETR of a 100 MiB dot-stuffed message,
// fed in 64 KiB chunks, next to a baseline that only scans each chunk for the terminator (the least any
// POP3 reader must do). Prints GB/s and the ratio. Run: npm run bench (or node bench/engine-body.mjs).
import { Pop3ClientEngine, dotStuff } from '../dist/index.js';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const ROUNDS = 7;

/** A text body of about `size` bytes with realistic lines, one in fifty starting with a dot. */
function makeBody(size) {
  const lines = [
    'Lorem ipsum dolor sit amet, consectetur adipiscing elit. Sed do eiusmod tempor.\r\n',
    'Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut.\r\n',
    '> quoted reply text, as mail bodies are full of it, with a link https://example.org/\r\n',
    '\r\n',
  ];
  const parts = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const line = i % 50 === 49 ? '.a line that starts with a dot and gets stuffed\r\n' : lines[i % lines.length];
    parts.push(line);
    length += line.length;
  }
  return new TextEncoder().encode(parts.join(''));
}

/** Slice the wire bytes into chunks the way a socket would hand them over. */
function chunked(wire, asBuffer) {
  const chunks = [];
  for (let offset = 0; offset < wire.length; offset += CHUNK) {
    const piece = wire.subarray(offset, Math.min(offset + CHUNK, wire.length));
    // Node sockets deliver Buffers; browsers deliver plain Uint8Arrays (ArrayBuffer views).
    chunks.push(asBuffer ? Buffer.from(piece.buffer, piece.byteOffset, piece.length) : piece);
  }
  return chunks;
}

/** The engine: greeting, login, one RETR; returns the number of body bytes it delivered. */
function runEngine(preamble, chunks) {
  const engine = new Pop3ClientEngine();
  engine.receive(preamble.greeting);
  engine.user('bench');
  engine.pass('bench');
  engine.receive(preamble.login);
  engine.retr(1);
  engine.takeOutgoing();
  let bytes = 0;
  let done = false;
  for (const chunk of chunks) {
    engine.receive(chunk);
    for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
      if (event.type === 'data') bytes += event.chunk.length;
      else if (event.type === 'done' && event.handle.verb === 'RETR') done = true;
    }
  }
  if (!done) throw new Error('the engine did not finish the RETR');
  return bytes;
}

/** Baseline: find `\r\n.\r\n` across chunk boundaries (a Buffer's native multi-byte search). */
function runBaseline(chunks) {
  const terminator = Buffer.from('\r\n.\r\n');
  let carry = Buffer.alloc(0);
  let bytes = 0;
  for (const chunk of chunks) {
    const window = carry.length === 0 ? chunk : Buffer.concat([carry, chunk.subarray(0, 4)]);
    if (carry.length > 0 && window.indexOf(terminator) !== -1) return bytes;
    if (chunk.indexOf(terminator) !== -1) return bytes + chunk.length;
    bytes += chunk.length;
    carry = chunk.subarray(chunk.length - 4);
  }
  throw new Error('no terminator');
}

function measure(name, wireLength, run) {
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const start = process.hrtime.bigint();
    run();
    times.push(Number(process.hrtime.bigint() - start) / 1e9);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const rate = wireLength / median / 1e9;
  console.log(`${name.padEnd(44)} ${rate.toFixed(2)} GB/s  (median of ${ROUNDS}, ${(median * 1000).toFixed(1)} ms)`);
  return rate;
}

const body = makeBody(100 * MiB);
const stuffed = dotStuff(body);
const retr = new TextEncoder().encode(`+OK ${body.length} octets\r\n`);
const wire = new Uint8Array(retr.length + stuffed.length);
wire.set(retr);
wire.set(stuffed, retr.length);
const preamble = {
  greeting: new TextEncoder().encode('+OK ready\r\n'),
  login: new TextEncoder().encode('+OK\r\n+OK logged in\r\n'),
};

const buffers = chunked(wire, true);
const arrays = chunked(wire, false);
if (runEngine(preamble, buffers) !== body.length) throw new Error('engine delivered the wrong number of bytes');

console.log(`100 MiB body, ${(stuffed.length / MiB).toFixed(1)} MiB on the wire, ${CHUNK / 1024} KiB chunks`);
const baseline = measure('baseline: terminator scan (Buffer.indexOf)', wire.length, () => runBaseline(buffers));
const engineNode = measure('pop3kit engine, Buffer chunks (Node socket)', wire.length, () => runEngine(preamble, buffers));
const enginePlain = measure('pop3kit engine, Uint8Array chunks (browser)', wire.length, () => runEngine(preamble, arrays));
console.log(`ratio engine/baseline: ${(engineNode / baseline).toFixed(2)} (Buffer chunks), ${(enginePlain / baseline).toFixed(2)} (Uint8Array chunks)`);
