/**
 * The browser bundle (dist/pop3kit.browser.js, made by `npm run build`) in real Chromium, unchanged.
 *
 * A tiny local HTTP server serves one page and the bundle; the page's module script imports the bundle, so a
 * bare specifier or a Node built-in left in it fails right there. Scenarios then run in the page against the
 * bundle's exports and return what they saw, which is checked here: a whole POP3 session fed whole and byte by
 * byte, SCRAM-SHA-256 with the RFC 7677 example (the bundled @noble/hashes at work), and a 32 MiB body whose
 * decoding speed is printed, once with the engine's WebAssembly search and once on a page whose
 * Content-Security-Policy forbids compiling WebAssembly. Chromium is Debian's (`CHROMIUM_PATH` overrides /usr/bin/chromium; .ci/run
 * installs it).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Pop3kit from '../core/index.js';
import { bundle, bundlePage, launchChromium, MISSING_BUNDLE } from './support/browser-page.js';

const PAGE = bundlePage('pop3kit in the browser');
/**
 * The policy of a page that does not allow compiling WebAssembly (no 'wasm-unsafe-eval'), as the default
 * one of a Manifest V3 extension: the engine then searches bodies without SIMD.
 */
const NO_WASM_POLICY = "script-src 'self' 'unsafe-inline'";

/** An open page, and its console errors and uncaught exceptions. */
interface WatchedPage {
  page: Page;
  problems: string[];
}

let server: Server | undefined;
let browser: Browser | undefined;
/** The page every scenario runs in; each must leave its problems empty. */
let page: WatchedPage | undefined;
/** The same page under NO_WASM_POLICY; scenarios must leave its problems empty too. */
let noWasmPage: WatchedPage | undefined;

/**
 * Runs `scenario` in the page (`target`, by default the ordinary one) on the bundle's exports and returns its
 * result. Playwright sends the function as source text, so it may use only its parameters and browser globals:
 * nothing from this file's scope.
 */
async function inPage<A, R>(scenario: (kit: typeof Pop3kit, arg: A) => R | Promise<R>, arg: A, target = page): Promise<R> {
  if (bundle === undefined) throw new Error(MISSING_BUNDLE);
  if (target === undefined) throw new Error('the page did not open (see the error of beforeAll)');
  let result: R;
  try {
    result = (await target.page.evaluate(`(${scenario.toString()})(globalThis.pop3kit, ${JSON.stringify(arg)})`)) as R;
  } finally {
    // Also when the scenario threw: a page error (say, a bundle that did not load) is the likelier cause.
    expect(target.problems, 'console errors or page errors in Chromium').toEqual([]);
  }
  return result;
}

/** Opens `url`, keeping its console errors and uncaught exceptions. */
async function openWatched(url: string): Promise<WatchedPage> {
  const opened = await browser!.newPage();
  const problems: string[] = [];
  opened.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
  });
  opened.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  // `load` comes after the page's module script ran (module scripts are deferred).
  await opened.goto(url);
  return { page: opened, problems };
}

beforeAll(async () => {
  if (bundle === undefined) return;
  const html = 'text/html; charset=utf-8';
  const files = new Map<string, { headers: Record<string, string>; body: string }>([
    ['/', { headers: { 'content-type': html }, body: PAGE }],
    ['/no-wasm', { headers: { 'content-type': html, 'content-security-policy': NO_WASM_POLICY }, body: PAGE }],
    ['/pop3kit.browser.js', { headers: { 'content-type': 'text/javascript; charset=utf-8' }, body: bundle }],
  ]);
  const httpServer = createServer((request, response) => {
    const file = request.method === 'GET' ? files.get(request.url ?? '') : undefined;
    if (file === undefined) response.writeHead(404).end();
    else response.writeHead(200, file.headers).end(file.body);
  });
  server = httpServer;
  await new Promise<void>((resolve, reject) => {
    httpServer.once('error', reject);
    httpServer.listen(0, '127.0.0.1', resolve);
  });
  const { port } = httpServer.address() as AddressInfo;

  browser = await launchChromium();
  page = await openWatched(`http://127.0.0.1:${port}/`);
  noWasmPage = await openWatched(`http://127.0.0.1:${port}/no-wasm`);
}, 20_000);

afterAll(async () => {
  await browser?.close();
  if (server !== undefined) {
    const closing = server;
    closing.closeAllConnections();
    await new Promise((resolve) => closing.close(resolve));
  }
});

describe('the browser bundle', () => {
  it('was built', () => {
    expect(bundle, MISSING_BUNDLE).toBeDefined();
  });

  it('references no Node built-in', () => {
    if (bundle === undefined) throw new Error(MISSING_BUNDLE);
    const text = bundle;
    // Each hit with some context (the bundle itself is too big to show in a failure).
    const hits = (pattern: RegExp): string[] => [...text.matchAll(pattern)].map((hit) => text.slice(Math.max(0, hit.index - 60), hit.index + 60));
    expect(hits(/\bfrom\s*['"]node:/g), "`from 'node:...'` in the bundle").toEqual([]);
    expect(hits(/\bimport\s*\(\s*['"]node:/g), "`import('node:...')` in the bundle").toEqual([]);
    expect(hits(/\brequire\s*\(/g), '`require(` in the bundle').toEqual([]);
  });

  it('loads in Chromium as a module, with no resolution error', async () => {
    // A module that failed to resolve or load left a page error, which inPage reports.
    const exported = await inPage((kit) => Object.keys(kit), null);
    expect(exported).toEqual(expect.arrayContaining(['Pop3ClientEngine', 'scramSha256', 'apopDigest', 'DotUnstuffer']));
  });
});

// ─── A whole session ─────────────────────────────────────────────────────────────────────────────────────

const TIMESTAMP = '<1896.697170952@dbc.mtview.ca.us>'; // and its APOP digest with `tanstaaf`, from RFC 1939
const APOP_DIGEST = 'c4c9334bac560ecc979e58001b3e22fb';

/** Each body line as the server sends it (dot-stuffed) and as the engine must deliver it. */
const MESSAGE_1: [wire: string, delivered: string][] = [
  ['Subject: dots\r\n', 'Subject: dots\r\n'],
  ['\r\n', '\r\n'],
  ['..\r\n', '.\r\n'],
  ['...\r\n', '..\r\n'],
  ['..x\r\n', '.x\r\n'],
  ['x.\r\n', 'x.\r\n'], // a dot that does not start a line is left alone
  ['bare LF\n', 'bare LF\n'],
  ['..\n', '.\n'], // a stuffed dot after a bare LF, on a bare-LF line
  ['..after bare LF\r\n', '.after bare LF\r\n'],
  ['ends with a bare LF\n', 'ends with a bare LF\n'], // right before the terminator
];
/** The first line of message 2's body; TOP 2 1 gets the headers and this line. */
const TOP_2: [wire: string, delivered: string][] = [
  ['Subject: two\r\n', 'Subject: two\r\n'],
  ['\r\n', '\r\n'],
  ['..first\r\n', '.first\r\n'],
];
const wireOf = (lines: [string, string][]): string => lines.map(([wire]) => wire).join('');
const deliveredOf = (lines: [string, string][]): string => lines.map(([, delivered]) => delivered).join('');
const size1 = deliveredOf(MESSAGE_1).length;
const size2 = deliveredOf(TOP_2).length + 'second\r\n'.length;

/**
 * What the server sends, one string per turn: each turn answers everything the client sent before it.
 * The listings' +OK lines carry no text because the engine does not report that text (a listing's `done`
 * event has text ''), which is a question for the engine's own tests, not for this one.
 */
const SERVER_TURNS = [
  `+OK POP3 server ready ${TIMESTAMP}\r\n`,
  '+OK\r\nUSER\r\nTOP\r\nUIDL\r\nPIPELINING\r\nSASL SCRAM-SHA-256\r\n.\r\n',
  '+OK alice is welcome\r\n+OK maildrop has 2 messages\r\n',
  `+OK 2 ${size1 + size2}\r\n` +
    `+OK\r\n1 ${size1}\r\n2 ${size2}\r\n.\r\n` +
    '+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n' +
    `+OK ${size1} octets\r\n${wireOf(MESSAGE_1)}.\r\n` +
    `+OK top of message 2\r\n${wireOf(TOP_2)}.\r\n` +
    '+OK message 1 deleted\r\n' +
    '+OK dewey POP3 server signing off (1 message left)\r\n',
];

/** What the client writes after each server turn, with PIPELINING learnt from CAPA. */
const CLIENT_TURNS = [
  'CAPA\r\n',
  'USER alice\r\nPASS tanstaaf\r\n', // pipelined; PASS changes the session, so nothing follows it at once
  'STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 1\r\nDELE 1\r\nQUIT\r\n', // all pipelined; QUIT ends the batch
];

/** An engine event as the page reports it: JSON-safe, with the bytes of consecutive `data` events joined. */
type SeenEvent = Record<string, unknown> & { type: string };

interface SessionRun {
  /** Each write the client made, and how many server bytes had been received when it was taken. */
  writes: { at: number; text: string }[];
  events: SeenEvent[];
  state: string;
}

/**
 * Page side: queues the whole session at once, then feeds `transcript` as plain Uint8Arrays, whole and byte by
 * byte, taking the client's writes and the events after every chunk.
 */
function playSession(kit: typeof Pop3kit, transcript: string): { whole: SessionRun; bytes: SessionRun; apop: string } {
  const wire = new TextEncoder().encode(transcript);
  const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes); // all of it is ASCII
  let timestamp = '';

  const run = (chunks: Uint8Array[]): SessionRun => {
    const engine = new kit.Pop3ClientEngine();
    engine.capa();
    engine.user('alice');
    engine.pass('tanstaaf');
    engine.stat();
    engine.list();
    engine.uidl();
    engine.retr(1);
    engine.top(2, 1);
    engine.dele(1);
    engine.quit();
    const writes: SessionRun['writes'] = [];
    const events: SeenEvent[] = [];
    let received = 0;
    const take = (): void => {
      const out = engine.takeOutgoing();
      if (out !== undefined) writes.push({ at: received, text: text(out) });
      for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
        const last = events[events.length - 1];
        switch (event.type) {
          case 'greeting':
            timestamp = event.greeting.timestamp ?? '';
            events.push({ type: event.type, ok: event.greeting.ok, text: event.greeting.text, timestamp: event.greeting.timestamp });
            break;
          case 'status':
            events.push({ type: event.type, command: event.handle.command, text: event.text, octets: event.octets });
            break;
          case 'data':
            if (last?.type === 'data' && last.command === event.handle.command) last.text += text(event.chunk);
            else events.push({ type: event.type, command: event.handle.command, text: text(event.chunk) });
            break;
          case 'done': {
            const { result } = event;
            const shown =
              result.verb === 'CAPA'
                ? { verb: result.verb, pipelining: result.capabilities.pipelining, sasl: result.capabilities.sasl }
                : result;
            events.push({ type: event.type, command: event.handle.command, text: event.text, result: shown });
            break;
          }
          case 'rejected':
          case 'failed':
            events.push({ type: event.type, command: event.handle.command, error: event.error.message });
            break;
          case 'closed':
            events.push({ type: event.type, error: event.error?.message });
            break;
          default:
            events.push({ type: event.type });
        }
      }
    };
    take(); // before the greeting: nothing may be written yet
    for (const chunk of chunks) {
      engine.receive(chunk);
      received += chunk.length;
      take();
    }
    return { writes, events, state: engine.state };
  };

  const whole = run([wire]);
  const bytes = run(Array.from(wire, (_, i) => wire.slice(i, i + 1)));
  return { whole, bytes, apop: kit.apopDigest(timestamp, 'tanstaaf') };
}

describe('a POP3 session in Chromium', () => {
  it('sends the right bytes and reports the right events, fed whole and byte by byte', async () => {
    const { whole, bytes, apop } = await inPage(playSession, SERVER_TURNS.join(''));

    const expectedEvents = [
      { type: 'greeting', ok: true, text: `POP3 server ready ${TIMESTAMP}`, timestamp: TIMESTAMP },
      {
        type: 'done',
        command: 'CAPA',
        text: '',
        result: { verb: 'CAPA', pipelining: true, sasl: ['SCRAM-SHA-256'] },
      },
      { type: 'done', command: 'USER alice', text: 'alice is welcome', result: { verb: 'USER' } },
      { type: 'done', command: 'PASS [redacted]', text: 'maildrop has 2 messages', result: { verb: 'PASS' } },
      { type: 'done', command: 'STAT', text: `2 ${size1 + size2}`, result: { verb: 'STAT', count: 2, size: size1 + size2 } },
      {
        type: 'done',
        command: 'LIST',
        text: '',
        result: { verb: 'LIST', entries: [{ message: 1, size: size1 }, { message: 2, size: size2 }] },
      },
      {
        type: 'done',
        command: 'UIDL',
        text: '',
        result: {
          verb: 'UIDL',
          entries: [{ message: 1, uid: 'whqtswO00WBw418f9t5JxYwZ' }, { message: 2, uid: 'QhdPYR:00WBw1Ph7x7' }],
        },
      },
      { type: 'status', command: 'RETR 1', text: `${size1} octets`, octets: size1 },
      { type: 'data', command: 'RETR 1', text: deliveredOf(MESSAGE_1) },
      // `done` repeats the text of the +OK line that opened the body.
      { type: 'done', command: 'RETR 1', text: `${size1} octets`, result: { verb: 'RETR', message: 1, octets: size1 } },
      { type: 'status', command: 'TOP 2 1', text: 'top of message 2', octets: undefined },
      { type: 'data', command: 'TOP 2 1', text: deliveredOf(TOP_2) },
      { type: 'done', command: 'TOP 2 1', text: 'top of message 2', result: { verb: 'TOP', message: 2, octets: deliveredOf(TOP_2).length } },
      { type: 'done', command: 'DELE 1', text: 'message 1 deleted', result: { verb: 'DELE' } },
      { type: 'done', command: 'QUIT', text: 'dewey POP3 server signing off (1 message left)', result: { verb: 'QUIT' } },
      { type: 'closed', error: undefined },
    ];
    expect(whole.events).toEqual(expectedEvents);
    expect(bytes.events).toEqual(expectedEvents);
    expect(whole.state).toBe('closed');
    expect(bytes.state).toBe('closed');

    // Fed whole, everything is written after the one chunk; byte by byte, each write comes exactly when the
    // last byte of the reply that allows it has arrived.
    const total = SERVER_TURNS.join('').length;
    expect(whole.writes).toEqual([{ at: total, text: CLIENT_TURNS.join('') }]);
    let at = 0;
    const expectedWrites = CLIENT_TURNS.map((text, turn) => {
      at += SERVER_TURNS[turn]!.length;
      return { at, text };
    });
    expect(bytes.writes).toEqual(expectedWrites);

    expect(apop).toBe(APOP_DIGEST); // MD5 from the bundled @noble/hashes
  });
});

// ─── SCRAM-SHA-256 ───────────────────────────────────────────────────────────────────────────────────────

/** RFC 7677 section 3: user `user`, password `pencil`. */
const SCRAM = {
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};
const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64');

interface ExchangeRun {
  /** What the client wrote after each server line ('' for nothing). */
  writes: string[];
  events: string[];
  state: string;
}

/** Page side: AUTH SCRAM-SHA-256 with the RFC's client nonce, fed one server line at a time. */
function scramExchange(kit: typeof Pop3kit, serverLines: string[]): ExchangeRun {
  const engine = new kit.Pop3ClientEngine();
  engine.auth(kit.scramSha256({ username: 'user', password: 'pencil', nonce: 'rOprNGfwEbeRWgbNEkqO' }));
  const writes: string[] = [];
  const events: string[] = [];
  for (const line of serverLines) {
    engine.receive(new TextEncoder().encode(line));
    const out = engine.takeOutgoing();
    writes.push(out === undefined ? '' : new TextDecoder().decode(out));
    for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
      if (event.type === 'done') events.push(`done ${event.handle.command}`);
      else if (event.type === 'failed' || event.type === 'rejected') events.push(`${event.type}: ${event.error.message}`);
      else events.push(event.type);
    }
  }
  return { writes, events, state: engine.state };
}

describe('SCRAM-SHA-256 in Chromium', () => {
  it('computes the RFC 7677 example proof and verifies the server signature', async () => {
    const run = await inPage(scramExchange, [
      '+OK ready\r\n',
      `+ ${base64(SCRAM.serverFirst)}\r\n`,
      `+ ${base64(SCRAM.serverFinal)}\r\n`,
      '+OK logged in\r\n',
    ]);
    expect(run).toEqual({
      writes: [`AUTH SCRAM-SHA-256 ${base64(SCRAM.clientFirst)}\r\n`, `${base64(SCRAM.clientFinal)}\r\n`, '\r\n', ''],
      events: ['greeting', 'challenge', 'challenge', 'done AUTH SCRAM-SHA-256 [redacted]'],
      state: 'transaction',
    });
  });

  it('cancels the exchange when the server signature is wrong', async () => {
    const forged = SCRAM.serverFinal.replace('v=6', 'v=7');
    const run = await inPage(scramExchange, [
      '+OK ready\r\n',
      `+ ${base64(SCRAM.serverFirst)}\r\n`,
      `+ ${base64(forged)}\r\n`,
      '-ERR authentication cancelled\r\n',
    ]);
    expect(run).toEqual({
      writes: [`AUTH SCRAM-SHA-256 ${base64(SCRAM.clientFirst)}\r\n`, `${base64(SCRAM.clientFinal)}\r\n`, '*\r\n', ''],
      events: ['greeting', 'challenge', 'challenge', 'failed: SCRAM server signature is wrong: the server does not know the password'],
      state: 'authorization',
    });
  });
});

// ─── Body decoding speed ─────────────────────────────────────────────────────────────────────────────────

const BODY = { wireBytes: 32 * 1024 * 1024, chunkBytes: 64 * 1024, runs: 5 };

interface DecodeReport {
  wireBytes: number;
  originalBytes: number;
  originalSha256: string;
  /** One per timed run (a first, warm-up run is left out). */
  runs: { seconds: number; deliveredBytes: number; doneOctets: number | undefined; deliveredSha256: string }[];
}

/**
 * Page side: builds a body of about `wireBytes` dot-stuffed bytes (stuffing written out here, not pop3kit's
 * dotStuff), then, after one warm-up, retrieves it `runs` times through a fresh engine in `chunkBytes` chunks
 * and hashes what each run delivered. Only the receive/nextEvent loop is timed.
 */
async function decodeBody(
  kit: typeof Pop3kit,
  { wireBytes, chunkBytes, runs }: { wireBytes: number; chunkBytes: number; runs: number },
): Promise<DecodeReport> {
  const encoder = new TextEncoder();
  const hex = async (bytes: Uint8Array<ArrayBuffer>): Promise<string> =>
    Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');

  // Ordinary lines of mail-like length, with every 16th line starting with a dot and every 7th ending in a
  // bare LF; the line number keeps every line different, so a misplaced piece changes the hash.
  const originalLines: string[] = [];
  const wireLines: string[] = [];
  let wireLength = 0;
  for (let i = 0; wireLength < wireBytes; i++) {
    const content = i % 16 === 0 ? ['.', '..', `.${i}`][(i / 16) % 3]! : `${i} The quick brown fox jumps over the lazy dog.`;
    const line = content + (i % 7 === 0 ? '\n' : '\r\n');
    const stuffed = content.startsWith('.') ? `.${line}` : line;
    originalLines.push(line);
    wireLines.push(stuffed);
    wireLength += stuffed.length;
  }
  const original = encoder.encode(originalLines.join(''));
  const wire = encoder.encode(`${wireLines.join('')}.\r\n`);
  // Separate buffers, as a socket would hand them over.
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < wire.length; offset += chunkBytes) chunks.push(wire.slice(offset, offset + chunkBytes));

  const report: DecodeReport = { wireBytes: wire.length, originalBytes: original.length, originalSha256: await hex(original), runs: [] };
  for (let run = 0; run <= runs; run++) {
    const engine = new kit.Pop3ClientEngine();
    engine.user('u');
    engine.pass('p');
    engine.retr(1);
    engine.receive(encoder.encode('+OK ready\r\n+OK\r\n+OK\r\n+OK message follows\r\n'));
    while (engine.nextEvent() !== undefined); // greeting, USER, PASS, RETR status

    const pieces: Uint8Array[] = [];
    let doneOctets: number | undefined;
    const start = performance.now();
    for (const chunk of chunks) {
      engine.receive(chunk);
      for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
        if (event.type === 'data') pieces.push(event.chunk);
        else if (event.type === 'done' && event.result.verb === 'RETR') doneOctets = event.result.octets;
      }
    }
    const seconds = (performance.now() - start) / 1000;
    if (run === 0) continue; // the warm-up: lets the JIT compile the hot path before the runs that count

    const delivered = new Uint8Array(pieces.reduce((sum, piece) => sum + piece.length, 0));
    let offset = 0;
    for (const piece of pieces) {
      delivered.set(piece, offset);
      offset += piece.length;
    }
    report.runs.push({ seconds, deliveredBytes: delivered.length, doneOctets, deliveredSha256: await hex(delivered) });
  }
  return report;
}

/** The report says every run delivered the original body, whole, and that the body had stuffed lines. */
function expectIntact(report: DecodeReport): void {
  expect(report.wireBytes).toBeGreaterThanOrEqual(BODY.wireBytes);
  expect(report.originalBytes).toBeLessThan(report.wireBytes - '.\r\n'.length); // stuffing was really there
  expect(report.originalSha256).toMatch(/^[0-9a-f]{64}$/);
  expect(report.runs).toHaveLength(BODY.runs);
  for (const run of report.runs) {
    expect(run).toEqual({
      seconds: expect.any(Number),
      deliveredBytes: report.originalBytes,
      doneOctets: report.originalBytes,
      deliveredSha256: report.originalSha256,
    });
  }
}

/** Printed, never asserted: a timing threshold would make the test flaky. */
function printRate(report: DecodeReport, how: string): void {
  const rates = report.runs.map((run) => report.wireBytes / run.seconds / 1e9).sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)]!;
  console.log(
    `browser engine body decode, ${how}: ${rates[rates.length - 1]!.toFixed(2)} GB/s ` +
      `(best of ${rates.length} runs, median ${median.toFixed(2)} GB/s; ${(report.wireBytes / 2 ** 20).toFixed(1)} MiB ` +
      `in ${BODY.chunkBytes / 1024} KiB chunks, Chromium ${browser?.version()})`,
  );
}

describe('body decoding in Chromium', () => {
  it(`delivers a ${BODY.wireBytes / 2 ** 20} MiB dot-stuffed body intact from ${BODY.chunkBytes / 1024} KiB chunks`, async () => {
    const report = await inPage(decodeBody, BODY);
    expectIntact(report);
    printRate(report, 'WebAssembly SIMD search');
  });

  it('delivers the same body, quietly, where a Content-Security-Policy forbids compiling WebAssembly', async () => {
    const refusal = (): string => {
      try {
        new WebAssembly.Module(Uint8Array.of(0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00)); // an empty module
        return 'compiled';
      } catch (error) {
        return String(error);
      }
    };
    expect(await inPage(refusal, null, noWasmPage)).toMatch(/^CompileError: .*Content Security/);
    expect(await inPage(refusal, null)).toBe('compiled');

    const report = await inPage(decodeBody, BODY, noWasmPage);
    expectIntact(report);
    printRate(report, 'without WebAssembly');
  });
});
