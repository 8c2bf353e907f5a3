// The three clients of the download bench. Each `open*` prepares a client run (untimed: loading the client,
// making the originals for the spot checks) and returns { round, finish }: `round(number)` opens a fresh
// session (untimed: connect, login, STAT), times downloading every message of the mailbox, closes the session
// and resolves with { seconds, cpu, bytes }, the octets it counted; `finish()` returns what the run found over
// all its rounds: { counted, checked, mismatches, rtt, window } as the client has them. What each counts
// differs (`counted` names it), and each is checked against its own expected total:
//   raw       every octet of the RETR responses (status lines, stuffed bodies, terminators): `wire`
//   pop3kit   the messages as delivered, dot-unstuffed: `octets` (the LIST sizes)
//   node-pop3 what its RETR returns: the body as sent, still dot-stuffed, without the CRLF before the
//             terminator (node-pop3 does not unstuff): `stuffedBody` - 2 per message
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { performance } from 'node:perf_hooks';
import { LINE, messageBytes, messageSlice, stuffedLines } from './mailbox.mjs';

const HOST = '127.0.0.1';
const PASSWORD = 'bench-password';

/** CPU time (user + system) this process has used since `start` (a process.cpuUsage() value), in seconds. */
const cpuSeconds = (start) => {
  const { user, system } = process.cpuUsage(start);
  return (user + system) / 1e6;
};

/** Messages whose bodies are compared in full with the originals: every 50th, and the last. */
const spotChecked = (count) => Array.from({ length: count }, (_, i) => i + 1).filter((m) => m % 50 === 1 || m === count);

// ─── raw: pipelined RETRs, terminator scan only ─────────────────────────────────────────────────────────

const TERMINATOR = Buffer.from('\r\n.\r\n');

/** What the raw client reads into with `reuse`: one buffer for every read, as net's `onread` allows. */
const RAW_READ_SIZE = 64 * 1024;

/**
 * A raw socket session: log in line by line, then send every RETR in one write and count terminators
 * with Buffer.indexOf, across chunk boundaries, until there is one per message. The least a POP3 client
 * can do; the server and the proxy must keep up with it. With `reuse` every read goes into one buffer
 * (net's `onread`), as pop3kit's transport does for a stream read with a BYOB reader; without it, each
 * chunk is fresh memory ('data' events).
 */
function rawSession(port, user, reuse) {
  const onChunk = (chunk) => {
    if (counting !== undefined) return count(chunk);
    setupData(chunk);
  };
  const socket = reuse
    ? net.connect({ host: HOST, port, noDelay: true, onread: { buffer: Buffer.allocUnsafe(RAW_READ_SIZE), callback: (n, buffer) => onChunk(buffer.subarray(0, n)) } })
    : net.connect({ host: HOST, port, noDelay: true }).on('data', onChunk);
  let pending = ''; // setup mode: text not yet split into lines
  let waiter; // setup mode: { lines, resolve } waiting for `lines` more lines
  const lines = [];
  let counting; // download mode state
  function setupData(chunk) {
    pending += chunk.toString('latin1');
    let nl;
    while ((nl = pending.indexOf('\r\n')) !== -1) {
      lines.push(pending.slice(0, nl));
      pending = pending.slice(nl + 2);
    }
    if (waiter !== undefined && lines.length >= waiter.lines) {
      const w = waiter;
      waiter = undefined;
      w.resolve(lines.splice(0, w.lines));
    }
  }
  const failed = new Promise((_, reject) => {
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('raw: connection closed')));
  });
  failed.catch(() => {});
  const expectLines = (n) => Promise.race([failed, new Promise((resolve) => {
    waiter = { lines: n, resolve };
    if (lines.length >= n) {
      waiter = undefined;
      resolve(lines.splice(0, n));
    }
  })]);

  function count(chunk) {
    const c = counting;
    c.bytes += chunk.length;
    // A terminator that starts in the previous chunk's last 4 octets.
    if (c.tail !== undefined) {
      const joint = Buffer.concat([c.tail, chunk.subarray(0, 4)]);
      for (let at = joint.indexOf(TERMINATOR); at !== -1 && at < c.tail.length; at = joint.indexOf(TERMINATOR, at + 1)) c.found++;
    }
    for (let at = chunk.indexOf(TERMINATOR); at !== -1; at = chunk.indexOf(TERMINATOR, at + 5)) c.found++;
    // A copy: with `reuse` the chunk's memory is read into again.
    c.tail = Buffer.from(chunk.length >= 4 ? chunk.subarray(chunk.length - 4) : Buffer.concat([c.tail ?? Buffer.alloc(0), chunk]).subarray(-4));
    if (c.found >= c.expected) {
      counting = undefined;
      c.resolve(c.bytes);
    }
  }

  return {
    async login() {
      const [greeting] = await expectLines(1);
      if (!greeting.startsWith('+OK')) throw new Error(`raw: greeting ${greeting}`);
      socket.write(`USER ${user}\r\nPASS ${PASSWORD}\r\n`);
      const replies = await expectLines(2);
      if (!replies.every((line) => line.startsWith('+OK'))) throw new Error(`raw: login ${replies}`);
    },
    async stat() {
      const start = performance.now();
      socket.write('STAT\r\n');
      const [line] = await expectLines(1);
      const rtt = performance.now() - start;
      const [, count, size] = line.split(' ');
      return { count: Number(count), size: Number(size), rtt };
    },
    retrAll(count) {
      const done = new Promise((resolve) => {
        counting = { expected: count, found: 0, bytes: 0, tail: undefined, resolve };
      });
      const commands = [];
      for (let m = 1; m <= count; m++) commands.push(`RETR ${m}\r\n`);
      socket.write(commands.join(''));
      return Promise.race([failed, done]);
    },
    async quit() {
      socket.write('QUIT\r\n');
      await expectLines(1);
      socket.destroy();
    },
  };
}

export async function openRaw({ port, user, reuse }) {
  let rtt;
  return {
    async round() {
      const session = rawSession(port, user, reuse === true);
      await session.login();
      const stat = await session.stat();
      rtt ??= stat.rtt;
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const bytes = await session.retrAll(stat.count);
      const result = { seconds: (performance.now() - start) / 1000, cpu: cpuSeconds(cpuStart), bytes };
      await session.quit();
      return result;
    },
    finish: () => ({ rtt, counted: 'wire' }),
  };
}

// ─── pop3kit: Pop3Client over the Node transport ────────────────────────────────────────────────────────

/** The URL of a build of pop3kit: `folder` (like dist/, e.g. to try a change to core/ side by side), or dist/. */
export function buildUrl(folder) {
  return folder === undefined ? new URL('../../dist/', import.meta.url) : pathToFileURL(`${path.resolve(folder)}/`);
}

export async function openPop3kit({ port, user, spec, window: windowOption, stream, sink, reuseBodies, dist = process.env.POP3KIT_DIST }) {
  let window = windowOption;
  const { connect } = await import(new URL('node.js', buildUrl(dist)).href);
  let checked = 0;
  const mismatches = [];
  // Originals for the spot checks, made before any timing (a streamed message is checked slice by slice).
  const many = spec.count > 1;
  const originals = many ? new Map(spotChecked(spec.count).map((m) => [m, messageBytes(m, spec.size)])) : undefined;
  return {
    async round(number) {
      const client = await connect({ host: HOST, port, tls: 'none' });
      window ??= client.window;
      await client.login({ username: user, password: PASSWORD });
      const { count } = await client.stat();
      let bytes = 0;
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      const check = (chunk, offset) => {
        checked++;
        if (!sameBytes(chunk, messageSlice(1, offset, chunk.length)) && mismatches.length < 5) {
          mismatches.push(`round ${number}, message 1, piece at octet ${offset}`);
        }
      };
      if (sink && many) {
        // Every body, each piece to a callback and dropped (it is valid during the call only); every piece of
        // the spot-checked messages is compared with the original, at the offset the count says.
        let offset = 0;
        await client.retrieveManyTo(
          Array.from({ length: count }, (_, i) => i + 1),
          {
            onData(piece, { message }) {
              const original = originals.get(message);
              if (original !== undefined) {
                checked++;
                if (!sameBytes(piece, original.subarray(offset, offset + piece.length)) && mismatches.length < 5) {
                  mismatches.push(`round ${number}, message ${message}, piece at octet ${offset}`);
                }
              }
              offset += piece.length;
              bytes += piece.length;
            },
            onEnd() {
              offset = 0;
            },
          },
          windowOption === undefined ? {} : { window: windowOption },
        );
      } else if (sink) {
        // One message, each piece to a callback and dropped (it is valid during the call only). Every 512th
        // piece (a few KiB: pieces end at stuffed lines and chunk ends) is compared with the original, at the
        // offset the count says.
        let index = 0;
        await client.retrTo(1, (piece) => {
          if (index++ % 512 === 0) check(piece, bytes);
          bytes += piece.length;
        });
      } else if (stream) {
        // One message, streamed with a BYOB reader into one 64 KiB view that every read reuses (the memory
        // comes back with each result, transferred), and dropped chunk by chunk. The first 4 KiB of every 64th
        // chunk are compared with the same octets of the original, at the offset the count says; checking
        // every chunk in full would cost more than the download, and making the originals' slices is garbage
        // that would count in pop3kit's RSS. The last chunk is checked in full: it is still in the view when
        // the read that says `done` returns it (empty).
        const reader = (await client.retrStream(1)).getReader({ mode: 'byob' });
        let view = new Uint8Array(STREAM_VIEW);
        let lastLength = 0;
        for (let index = 0; ; index++) {
          const { done, value } = await reader.read(view);
          view = new Uint8Array(value.buffer);
          if (done) break;
          if (index % 64 === 0) check(value.subarray(0, 4096), bytes);
          lastLength = value.length;
          bytes += value.length;
        }
        if (lastLength > 0) check(view.subarray(0, lastLength), bytes - lastLength);
      } else {
        const numbers = Array.from({ length: count }, (_, i) => i + 1);
        await client.retrieveMany(
          numbers,
          ({ message, body }) => {
            bytes += body.length;
            const original = originals.get(message);
            if (original !== undefined) {
              checked++;
              if (!sameBytes(body, original) && mismatches.length < 5) mismatches.push(`round ${number}, message ${message}`);
            }
          },
          { ...(windowOption === undefined ? {} : { window: windowOption }), reuseBodies: reuseBodies === true },
        );
      }
      const result = { seconds: (performance.now() - start) / 1000, cpu: cpuSeconds(cpuStart), bytes };
      await client.quit();
      return result;
    },
    finish: () => ({ counted: 'octets', checked, mismatches, window }),
  };
}

/** The view a streamed download reads into, reused for every read. */
const STREAM_VIEW = 64 * 1024;

function sameBytes(a, b) {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}

// ─── node-pop3 ──────────────────────────────────────────────────────────────────────────────────────────

export async function openNodePop3({ port, user, spec }) {
  const { default: Pop3Command } = await import('node-pop3');
  let checked = 0;
  const mismatches = [];
  // node-pop3 returns the body as sent (still dot-stuffed) without the CRLF before the terminator, as a string.
  // Compared: the first and last 64 lines of every spot-checked message (all of a small one), so that the
  // check does not hold a copy of a large message (which would count in node-pop3's RSS).
  const lines = spec.size / LINE;
  const edge = Math.min(64, lines);
  const expected = new Map(
    spotChecked(spec.count).map((m) => [m, { head: stuffedLines(m, 0, edge).slice(0, -2), tail: stuffedLines(m, lines - edge, lines).slice(0, -2) }]),
  );
  return {
    async round(number) {
      const pop3 = new Pop3Command({ host: HOST, port, user, password: PASSWORD });
      const [count] = (await pop3.STAT()).split(' ').map(Number); // info after '+OK ': 'count size'
      let bytes = 0;
      const start = performance.now();
      const cpuStart = process.cpuUsage();
      for (let m = 1; m <= count; m++) {
        const body = await pop3.RETR(m);
        bytes += body.length; // ASCII: one octet per character
        const edges = expected.get(m);
        if (edges !== undefined) {
          checked++;
          if ((!body.startsWith(edges.head) || !body.endsWith(edges.tail)) && mismatches.length < 5) mismatches.push(`round ${number}, message ${m}`);
        }
      }
      const result = { seconds: (performance.now() - start) / 1000, cpu: cpuSeconds(cpuStart), bytes };
      await pop3.QUIT();
      return result;
    },
    finish: () => ({ counted: 'node-pop3', checked, mismatches }),
  };
}
