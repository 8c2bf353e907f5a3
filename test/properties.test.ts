/**
 * Property tests (fast-check) for the engine contract:
 *
 *   (a) chunking invariance: any slicing of a real session's server stream gives the same events;
 *   (b) stuff/unstuff identity: any body, dot-stuffed and read back through RETR in any slicing, is the
 *       body again (with CRLF added when it did not end a line); DotStuffer is slicing-invariant too;
 *   (c) only typed errors: random bytes and mutated real sessions never make receive()/receiveEnd() throw,
 *       and every error the engine reports is a Pop3Error, with exactly one `closed` event at the end;
 *   (d) bounded memory: an endless status or listing line ends the session at its limit, and a 50 MB body
 *       streams through as views of the input chunks while the heap stays flat.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClientEngineOptions, Pop3ClientEngine, type Pop3Event } from '../core/client-engine.js';
import { ErrorCode, Pop3Error } from '../core/errors.js';
import { cramMd5, plain } from '../core/sasl/index.js';
import { DotStuffer, dotStuff } from '../core/stuffing.js';
import {
  byteArray,
  byteString,
  concatBytes,
  findTranscripts,
  replay,
  type ReplayResult,
  sliceAt,
  type Transcript,
} from './support/transcript.js';
import { exposeGc } from './support/gc.js';

const FIXTURES = findTranscripts(new URL('./fixtures/real-servers/', import.meta.url));
const transcript = (path: string): Transcript => FIXTURES.find((file) => file.path === path)!.transcript;

/** Cut points for a slicing: offsets anywhere in a stream of up to a few KB (sliceAt ignores those beyond). */
const cutPoints = fc.array(fc.nat({ max: 2500 }), { maxLength: 40 });
const mode = fc.constantFrom('lockstep' as const, 'upfront' as const);

/** What must not depend on the slicing (see replayEverySplit). */
function comparable(result: ReplayResult): string {
  const { clientBytes, events, refused, state, error } = result;
  return JSON.stringify({ clientBytes, events, refused, state, error });
}

// ─── (a) ─────────────────────────────────────────────────────────────────────────────────────────────────

describe('(a) chunking invariance', () => {
  const chosen = [
    'cyrus/pipelined.txt', // listings, two bodies, 2 KB
    'courier/retr-dots.txt', // dot-stuffed lines
    'dovecot/auth-scram-sha-256.txt', // SASL challenges
    'mailutils/capa-after-stls.txt', // two TLS epochs
    'cyrus/user-pass-wrong.txt', // -ERR with a response code
  ];
  it.each(chosen)('%s: any slicing gives the events of the one-chunk replay', (path) => {
    const t = transcript(path);
    const oneChunk = { lockstep: '', upfront: '' };
    for (const m of ['lockstep', 'upfront'] as const) oneChunk[m] = comparable(replay(t, { chunks: (epoch) => [epoch], mode: m }));
    fc.assert(
      fc.property(cutPoints, mode, (cuts, m) => {
        const result = replay(t, { chunks: (epoch) => sliceAt(epoch, cuts), mode: m });
        expect(comparable(result)).toBe(oneChunk[m]);
      }),
      { numRuns: 150 },
    );
  });
});

// ─── (b) ─────────────────────────────────────────────────────────────────────────────────────────────────

/** Lines that dot-stuffing must get right, and odd line ends. */
const trickyLine = fc.oneof(
  fc.constantFrom('.', '..', '.\r', '...', '. x', '.leading', '', '\r', '\r.', 'text', '.\r.', '.\x00').map(byteArray),
  fc.uint8Array({ maxLength: 12 }),
);
const lineEnd = fc.constantFrom('\r\n', '\n', '\r', '').map(byteArray);
const linesBody = fc.array(fc.tuple(trickyLine, lineEnd), { maxLength: 25 }).map((lines) => concatBytes(lines.flat()));
const body = fc.oneof(fc.uint8Array({ maxLength: 300 }), linesBody);

/** The body the reader gets back: the same, plus the CRLF DotStuffer.end() adds when it did not end a line. */
function expectedBack(bytes: Uint8Array): string {
  const text = byteString(bytes);
  return text.length > 0 && !text.endsWith('\n') ? `${text}\r\n` : text;
}

/** RETR 1 through a logged-in engine, the stuffed body sliced at `cuts`; then NOOP to prove where it ended. */
function retrieve(stuffed: Uint8Array, cuts: number[]): { data: string; events: Pop3Event[] } {
  const engine = new Pop3ClientEngine();
  engine.user('u');
  engine.pass('p');
  const retr = engine.retr(1);
  engine.noop();
  const stream = concatBytes([byteArray('+OK ready\r\n+OK\r\n+OK\r\n+OK message follows\r\n'), stuffed, byteArray('+OK noop\r\n')]);
  const events: Pop3Event[] = [];
  let data = '';
  for (const chunk of sliceAt(stream, cuts)) {
    engine.receive(chunk);
    for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
      events.push(event);
      if (event.type === 'data' && event.handle === retr) data += byteString(event.chunk);
    }
  }
  return { data, events };
}

describe('(b) dot-stuffing round trip', () => {
  it('RETR returns any body that went through dotStuff, in any slicing', () => {
    fc.assert(
      fc.property(body, fc.array(fc.nat({ max: 500 }), { maxLength: 30 }), (bytes, cuts) => {
        const expected = expectedBack(bytes);
        const { data, events } = retrieve(dotStuff(bytes), cuts);
        expect(data).toBe(expected);
        const ends = events.filter((event) => event.type !== 'data' && event.type !== 'status').map((event) => event.type);
        expect(ends).toEqual(['greeting', 'done', 'done', 'done', 'done']);
        const retrDone = events.find((event) => event.type === 'done' && event.handle.verb === 'RETR');
        expect(retrDone).toMatchObject({ result: { verb: 'RETR', message: 1, octets: expected.length } });
      }),
      { numRuns: 400 },
    );
  });

  it('the tricky lines themselves come back (a regression corpus for the property above)', () => {
    const text = '.\r\n..\r\n.\r\r\n...\n. x\r\n\r\n.\r\n\r.\r\n.';
    const { data } = retrieve(dotStuff(byteArray(text)), []);
    expect(data).toBe(`${text}\r\n`);
  });

  it('DotStuffer gives the same bytes in any slicing as dotStuff of the whole', () => {
    fc.assert(
      fc.property(body, fc.array(fc.nat({ max: 400 }), { maxLength: 20 }), (bytes, cuts) => {
        const stuffer = new DotStuffer();
        const pieces = sliceAt(bytes, cuts).map((piece) => stuffer.push(piece));
        pieces.push(stuffer.end());
        expect(byteString(concatBytes(pieces))).toBe(byteString(dotStuff(bytes)));
      }),
      { numRuns: 400 },
    );
  });
});

// ─── (c) ─────────────────────────────────────────────────────────────────────────────────────────────────

/** Every error in the events is typed, the session ends with exactly one closed event, and it sticks. */
function expectTypedEnd(events: readonly Pop3Event[], engine: Pop3ClientEngine): void {
  for (const event of events) {
    if ((event.type === 'failed' || event.type === 'rejected') && !(event.error instanceof Pop3Error)) {
      throw new Error(`untyped error in a ${event.type} event: ${String(event.error)}`);
    }
    if (event.type === 'closed' && event.error !== undefined && !(event.error instanceof Pop3Error)) {
      throw new Error(`untyped error in the closed event: ${String(event.error)}`);
    }
  }
  const closed = events.filter((event) => event.type === 'closed');
  expect(closed).toHaveLength(1);
  expect(events[events.length - 1]).toBe(closed[0]);
  expect(engine.error).toBe((closed[0] as Extract<Pop3Event, { type: 'closed' }>).error);
  expect(['closed', 'failed']).toContain(engine.state);
  // Sticky: nothing more comes out, and a new command is refused with a typed error.
  engine.receive(byteArray('+OK\r\n'));
  engine.receiveEnd();
  expect(engine.nextEvent()).toBeUndefined();
  expect(() => engine.noop()).toThrow(Pop3Error);
}

/** Typical command queues, each a function of a fresh engine. */
const QUEUES: Record<string, { options: ClientEngineOptions; enqueue: (engine: Pop3ClientEngine) => void }> = {
  'USER/PASS and every transaction command': {
    options: {},
    enqueue(engine) {
      engine.user('alice');
      engine.pass('alice-pw');
      engine.capa();
      engine.stat();
      engine.list();
      engine.uidl();
      engine.retr(1);
      engine.top(1, 0);
      engine.list(1);
      engine.uidl(1);
      engine.dele(1);
      engine.noop();
      engine.rset();
      engine.quit();
    },
  },
  'CAPA, STLS, AUTH PLAIN, pipelined reads': {
    options: { pipelining: true },
    enqueue(engine) {
      engine.capa();
      engine.stls();
      engine.capa();
      engine.auth(plain({ username: 'alice', password: 'alice-pw' }));
      engine.list();
      engine.retr(2);
      engine.uidl();
      engine.quit();
    },
  },
  'AUTH CRAM-MD5, raw multi-line, LANG': {
    options: {},
    enqueue(engine) {
      engine.auth(cramMd5({ username: 'alice', password: 'alice-pw' }));
      engine.raw('XTND XMIT', { multiline: true });
      engine.lang();
      engine.top(2, 5);
      engine.quit();
    },
  },
};

/** Feed `stream` in the given slicing to an engine with a queue, doing what a driver does; never throws. */
function hammer(queue: keyof typeof QUEUES, stream: Uint8Array, cuts: number[]): { events: Pop3Event[]; engine: Pop3ClientEngine } {
  const { options, enqueue } = QUEUES[queue]!;
  const engine = new Pop3ClientEngine(options);
  enqueue(engine);
  const events: Pop3Event[] = [];
  const drain = (): void => {
    for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) events.push(event);
    engine.takeOutgoing();
    if (engine.state === 'starttls') engine.tlsStarted();
  };
  for (const chunk of sliceAt(stream, cuts)) {
    engine.receive(chunk);
    drain();
  }
  engine.receiveEnd();
  drain();
  return { events, engine };
}

/** Byte soup with a POP3 accent, so that the parser gets past the first line now and then. */
const popToken = fc.constantFrom('+OK', '-ERR', '+ ', '+', '.', '..', '\r\n', '\n', '\r', ' ', '[AUTH]', '[SYS/TEMP]', '1 120', '2 abc', 'octets', 'PIPELINING', 'SASL PLAIN', '=', 'PDE+');
const soup = fc.array(fc.oneof(popToken.map(byteArray), fc.uint8Array({ maxLength: 8 })), { maxLength: 120 }).map(concatBytes);
const queueName = fc.constantFrom(...(Object.keys(QUEUES) as (keyof typeof QUEUES)[]));

type Mutation = { kind: 'flip' | 'insert' | 'delete'; at: number; byte: number };
const mutations = fc.array(
  fc.record({ kind: fc.constantFrom('flip' as const, 'insert' as const, 'delete' as const), at: fc.nat(), byte: fc.nat({ max: 255 }) }),
  { minLength: 1, maxLength: 6 },
);

function mutate(bytes: Uint8Array, changes: readonly Mutation[]): Uint8Array {
  let out = Array.from(bytes);
  for (const { kind, at, byte } of changes) {
    const i = out.length === 0 ? 0 : at % (out.length + (kind === 'insert' ? 1 : 0));
    if (kind === 'insert') out.splice(i, 0, byte);
    else if (out.length > 0 && kind === 'delete') out.splice(i, 1);
    else if (out.length > 0) out[i] = out[i]! ^ (byte || 1);
  }
  return Uint8Array.from(out);
}

describe('(c) only typed errors, whatever the server sends', () => {
  it('random bytes, in any slicing, to an engine with a typical queue', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 600 }), soup), cutPoints, queueName, (stream, cuts, queue) => {
        const { events, engine } = hammer(queue, stream, cuts);
        expectTypedEnd(events, engine);
      }),
      { numRuns: 600 },
    );
  });

  it('the same garbage after a good greeting and login', () => {
    const prefix = byteArray('+OK POP3 ready <1.2@host>\r\n+OK\r\n+OK logged in\r\n');
    fc.assert(
      fc.property(soup, cutPoints, (stream, cuts) => {
        const { events, engine } = hammer('USER/PASS and every transaction command', concatBytes([prefix, stream]), cuts);
        expectTypedEnd(events, engine);
      }),
      { numRuns: 400 },
    );
  });

  // SCRAM sessions are left out: a mutated iteration count (up to SCRAM_MAX_ITERATIONS = 1,000,000 PBKDF2
  // rounds) would make single runs take seconds. The SCRAM parser has its own tests in test/sasl/.
  const mutable = FIXTURES.filter((file) => !file.path.includes('scram'));
  it(`mutated real sessions (${mutable.length} fixtures: bytes flipped, inserted, deleted), replayed with their own commands`, () => {
    fc.assert(
      fc.property(fc.constantFrom(...mutable), mutations, cutPoints, mode, (file, changes, cuts, m) => {
        const t = file.transcript;
        const epoch = changes[0]!.at % t.serverEpochs.length;
        const serverEpochs = t.serverEpochs.map((bytes, i) => (i === epoch ? mutate(bytes, changes) : bytes));
        const result = replay({ ...t, serverEpochs }, { chunks: (bytes) => sliceAt(bytes, cuts), mode: m });
        expectTypedEnd(result.rawEvents, result.engine);
      }),
      { numRuns: 600 },
    );
  });
});

// ─── (d) ─────────────────────────────────────────────────────────────────────────────────────────────────

/** Chunk sizes for feeding an endless stream. */
const chunkSizes = fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 30 });

/**
 * Feed `prefix`, then endless `filler` bytes in chunks of the given sizes (cycled), until the engine
 * closes; returns how many filler bytes it had taken then, and the events.
 */
function feedEndless(engine: Pop3ClientEngine, prefix: string, filler: number, sizes: number[]): { fed: number; events: Pop3Event[] } {
  const events: Pop3Event[] = [];
  const drain = (): boolean => {
    for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) events.push(event);
    return events.some((event) => event.type === 'closed');
  };
  engine.receive(byteArray(prefix));
  if (drain()) return { fed: 0, events };
  let fed = 0;
  for (let i = 0; fed < 10_000; i++) {
    const size = sizes[i % sizes.length]!;
    engine.receive(new Uint8Array(size).fill(filler));
    fed += size;
    if (drain()) return { fed, events };
  }
  return { fed, events };
}

function closedError(events: readonly Pop3Event[]): Pop3Error | undefined {
  return (events.find((event) => event.type === 'closed') as Extract<Pop3Event, { type: 'closed' }> | undefined)?.error;
}

describe('(d) bounded memory', () => {
  it('a status line of exactly maxStatusLine octets (CRLF included) is read, one more is not', () => {
    const line = (length: number) => `+OK ${'x'.repeat(length - 6)}\r\n`;
    const ok = new Pop3ClientEngine({ limits: { maxStatusLine: 64 } });
    ok.receive(byteArray(line(64)));
    expect(ok.nextEvent()).toMatchObject({ type: 'greeting', greeting: { ok: true } });
    expect(ok.state).toBe('authorization');

    const tooLong = new Pop3ClientEngine({ limits: { maxStatusLine: 64 } });
    tooLong.receive(byteArray(line(65)));
    expect(tooLong.nextEvent()).toMatchObject({ type: 'closed', error: { code: ErrorCode.LineTooLong } });
  });

  it('an endless greeting (no LF) is cut off as soon as it passes maxStatusLine, in any slicing', () => {
    fc.assert(
      fc.property(chunkSizes, (sizes) => {
        const engine = new Pop3ClientEngine({ limits: { maxStatusLine: 64 } });
        const quit = engine.quit();
        const { fed, events } = feedEndless(engine, '+OK', 0x41, sizes);
        // The chunk that took the line past 64 octets is the one that ended it.
        const total = 3 + fed;
        expect(total).toBeGreaterThan(64);
        expect(total - sizes[sizesIndex(sizes, fed)]!).toBeLessThanOrEqual(64);
        expect(events).toEqual([
          { type: 'failed', handle: quit, error: closedError(events) },
          { type: 'closed', error: expect.objectContaining({ code: ErrorCode.LineTooLong, name: 'RemoteProtocolError' }) },
        ]);
      }),
      { numRuns: 200 },
    );
  });

  it('an endless LIST line is cut off as soon as it passes maxListingLine, in any slicing', () => {
    fc.assert(
      fc.property(chunkSizes, (sizes) => {
        const engine = new Pop3ClientEngine({ limits: { maxListingLine: 64 } });
        engine.user('alice');
        engine.pass('alice-pw');
        const list = engine.list();
        const { fed, events } = feedEndless(engine, '+OK\r\n+OK\r\n+OK\r\n+OK 2 messages\r\n1 120\r\n2 ', 0x39, sizes);
        const total = 2 + fed; // "2 " then the digits
        expect(total).toBeGreaterThan(64);
        expect(total - sizes[sizesIndex(sizes, fed)]!).toBeLessThanOrEqual(64);
        const error = closedError(events);
        expect(error).toMatchObject({ code: ErrorCode.LineTooLong, name: 'RemoteProtocolError' });
        expect(events.slice(-2)).toEqual([{ type: 'failed', handle: list, error }, { type: 'closed', error }]);
        expect(events.filter((event) => event.type === 'done')).toHaveLength(2);
      }),
      { numRuns: 200 },
    );
  });

  // client-engine.ts: bodies leave as "dot-unstuffed views into the chunks given to receive()". The caller
  // owns those chunks (it may reuse or overwrite them), so nothing else may ever be handed out.
  it('every data event of any wire body, in any slicing, is a view into the chunk given to receive()', () => {
    const wire = fc.array(fc.constantFrom('.', '..', '\r', '\n', '\r\n', 'a', ' '), { maxLength: 40 }).map((parts) => parts.join(''));
    fc.assert(
      fc.property(wire, fc.array(fc.nat({ max: 60 }), { maxLength: 10 }), (body, cuts) => {
        const engine = new Pop3ClientEngine();
        engine.user('u');
        engine.pass('p');
        engine.retr(1);
        for (const chunk of sliceAt(byteArray(`+OK\r\n+OK\r\n+OK\r\n+OK\r\n${body}\r\n.\r\n`), cuts)) {
          engine.receive(chunk);
          for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
            // The one exception: a lone CR held back across a chunk boundary (`.` CR | X) comes in a fresh array.
            const heldBackCr = event.type === 'data' && event.chunk.length === 1 && event.chunk[0] === 0x0d && event.chunk.byteOffset === 0 && event.chunk.buffer.byteLength === 1;
            if (event.type === 'data' && event.chunk.buffer !== chunk.buffer && !heldBackCr) {
              throw new Error(`data ${JSON.stringify(byteString(event.chunk))} is not a view of the chunk ${JSON.stringify(byteString(chunk))}`);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a caller that overwrites a data chunk cannot change what another engine delivers', () => {
    // A sloppy server's line `.` CR X (not stuffed): the CR after the dot is content.
    const body = (engine: Pop3ClientEngine, wire: string, scribble: boolean): string => {
      engine.user('u');
      engine.pass('p');
      engine.retr(1);
      engine.receive(byteArray(`+OK\r\n+OK\r\n+OK\r\n+OK\r\n${wire}`));
      let data = '';
      for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
        if (event.type !== 'data') continue;
        data += byteString(event.chunk);
        if (scribble) event.chunk.fill(0x41); // the caller's own buffer, it thinks: reuse it
      }
      return data;
    };
    expect(body(new Pop3ClientEngine(), '.\rX\r\n.\r\n', true)).toBe('\rX\r\n');
    expect(body(new Pop3ClientEngine(), '.\rY\r\n.\r\n', false)).toBe('\rY\r\n');
  });

  it('a 50 MB RETR body in 64 KiB chunks streams through as views of the input, with a flat heap', () => {
    const CHUNK = 64 * 1024;
    const TOTAL = 50 * 1024 * 1024;
    // A template of 1000-byte lines, some starting with a stuffed dot, then cut into chunks at arbitrary
    // places (64 KiB is not a multiple of the line length).
    const lines: string[] = [];
    for (let i = 0; lines.length * 1000 < CHUNK * 2; i++) lines.push(`${i % 7 === 0 ? '..' : 'LL'}${String(i).padStart(8, '0')}${'x'.repeat(1000 - 12)}\r\n`);
    const template = byteArray(lines.join(''));

    const gc = exposeGc();
    const memory = (): number => {
      gc?.();
      const usage = process.memoryUsage();
      return usage.heapUsed + usage.arrayBuffers;
    };

    const engine = new Pop3ClientEngine();
    engine.user('u');
    engine.pass('p');
    const retr = engine.retr(1);
    engine.receive(byteArray('+OK\r\n+OK\r\n+OK\r\n+OK 52428800 octets\r\n'));
    while (engine.nextEvent() !== undefined);

    const baseline = memory();
    let peak = 0;
    let delivered = 0;
    let bodyFed = 0;
    for (let n = 0; bodyFed < TOTAL; n++) {
      // A fresh chunk every time, as a socket gives: if the engine kept any, the heap would grow by 50 MB.
      const start = (n * CHUNK) % template.length;
      const chunk = new Uint8Array(CHUNK);
      chunk.set(template.subarray(start, Math.min(start + CHUNK, template.length)));
      if (start + CHUNK > template.length) chunk.set(template.subarray(0, start + CHUNK - template.length), template.length - start);
      engine.receive(chunk);
      bodyFed += CHUNK;
      let fromThisChunk = 0;
      for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
        if (event.type !== 'data') continue;
        expect(event.handle).toBe(retr);
        // Dot-unstuffed views into this very chunk: nothing copied, nothing held for later.
        if (event.chunk.buffer !== chunk.buffer || event.chunk.length > CHUNK) throw new Error(`chunk ${n}: a data event that is not a view of the input`);
        fromThisChunk += event.chunk.length;
      }
      if (fromThisChunk > CHUNK) throw new Error(`chunk ${n}: more data out than in`);
      delivered += fromThisChunk;
      if (gc !== undefined && n % 100 === 99) peak = Math.max(peak, memory() - baseline);
    }
    // End the line the last chunk stopped in, then the body.
    engine.receive(byteArray('\r\n.\r\n'));
    const events: Pop3Event[] = [];
    for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) events.push(event);

    // Everything that went in came out, minus the stuffed dots (wherever the chunk boundaries fell).
    let stuffedDots = 0;
    for (let p = 0; p < bodyFed; p += 1000) if (template[p % template.length] === 0x2e) stuffedDots++;
    expect(stuffedDots).toBeGreaterThan(7000);
    for (const event of events) if (event.type === 'data') delivered += event.chunk.length;
    expect(delivered).toBe(bodyFed - stuffedDots + 2);
    expect(events.at(-1)).toMatchObject({ type: 'done', handle: retr, result: { verb: 'RETR', octets: delivered } });
    if (gc !== undefined) expect(peak).toBeLessThan(16 * 1024 * 1024);
  });
});

/** Index of the chunk size that `fed` bytes ended with, when sizes are cycled. */
function sizesIndex(sizes: readonly number[], fed: number): number {
  let total = 0;
  for (let i = 0; ; i++) {
    total += sizes[i % sizes.length]!;
    if (total >= fed) return i % sizes.length;
  }
}
