/**
 * The demo's Node process (demo/server/): the page server, the proxy and the embedded POP3 server started
 * together by startDemo, on free ports, with a temporary page folder (so nothing here needs the page build):
 * - /demo-config.json, the page's files with their content types and security headers, no way out of the root;
 * - POP3 through the proxy as the page does it (the WebSocket transport, with the page's Origin): the sample
 *   mailbox with MaildirStore's UIDs and sizes, refused targets and origins, QUIT committing deletions until a
 *   reset, reset refused while a session holds the mailbox, the POP3 server stopped and started again;
 * - the command line's parsing, banner and start-up errors (main.ts itself runs only from the build).
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { type IncomingHttpHeaders, request } from 'node:http';
import { createServer, type Server, Socket } from 'node:net';
import path from 'node:path';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { Pop3Client } from '../../core/client/pop3-client.js';
import { openWebSocketTransport, type WebSocketConstructor, WebSocketCloseError } from '../../core/client/websocket-transport.js';
import { ServerError } from '../../core/errors.js';
import { MaildirStore } from '../../core/node/maildir.js';
import { banner, startupErrorMessage } from '../../demo/server/cli-text.js';
import { type DemoOptions, type RunningDemo, startDemo } from '../../demo/server/demo-server.js';
import { PageMissingError, PortInUseError } from '../../demo/server/errors.js';
import { parseDemoArgs } from '../../demo/server/options.js';
import { UsageError } from '../../core/node/cli-command.js';
import { SAMPLE_ROOT, sampleFileNames, sampleMessages, tempDir, writeSampleMaildirs } from '../support/sample-maildir.js';
import { connect } from '../proxy/harness.js';

const SECRET = 'not-for-the-page-3f9a';
const INDEX = '<!doctype html><title>fake demo page</title>';
/** How many messages the sample mailbox holds (14 when this was written; the sample may grow). */
const SAMPLE_COUNT = sampleFileNames().length;

let files: { dir: string; remove: () => void };
let root: string;
let demo: RunningDemo | undefined;
const servers: Server[] = [];

beforeAll(() => {
  files = tempDir('demo-server');
  root = path.join(files.dir, 'page');
  mkdirSync(path.join(root, 'locales'), { recursive: true });
  writeFileSync(path.join(root, 'index.html'), INDEX);
  writeFileSync(path.join(root, 'app.js'), 'console.log("demo");\n');
  writeFileSync(path.join(root, 'styles.css'), 'body { margin: 0 }\n');
  writeFileSync(path.join(root, 'locales', 'en.json'), '{"hello":"Hello"}\n');
  writeFileSync(path.join(root, '.hidden'), SECRET);
  writeFileSync(path.join(files.dir, 'secret.txt'), SECRET);
  symlinkSync(path.join(files.dir, 'secret.txt'), path.join(root, 'link.txt'));
  symlinkSync(path.join(root, 'loop'), path.join(root, 'loop')); // a link to itself: ELOOP
});

afterAll(() => files.remove());

afterEach(async () => {
  await demo?.close();
  demo = undefined;
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** Starts the demo on free ports over the temporary page folder and the repository's sample mailbox. */
async function start(options: DemoOptions = {}): Promise<RunningDemo> {
  demo = await startDemo({ port: 0, proxyPort: 0, pop3Port: 0, root, sampleMailbox: SAMPLE_ROOT, ...options });
  return demo;
}

/** The page's origin, as a browser showing demo.url would send it. */
function pageOrigin(running: RunningDemo): string {
  return new URL(running.url).origin;
}

interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request with `target` sent exactly as given in the request line (no client-side normalising). */
function http(url: string, target: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: hostname, port, path: target, method: options.method ?? 'GET', headers: options.headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** A `ws` WebSocket that sends an Origin header, as a browser does. */
function webSocketFrom(origin: string): WebSocketConstructor {
  return class extends WebSocket {
    constructor(url: string, protocols?: string | string[]) {
      super(url, protocols, { headers: { origin } });
    }
  };
}

/** A client connected through the proxy the way the page connects: the WebSocket transport, the page's Origin. */
async function session(running: RunningDemo, target = `${running.pop3.host}:${running.pop3.port}`): Promise<Pop3Client> {
  const url = `${running.proxyUrl}?target=${encodeURIComponent(target)}`;
  const transport = await openWebSocketTransport(url, { WebSocket: webSocketFrom(pageOrigin(running)), local: true });
  const client = new Pop3Client(transport);
  await client.connect();
  return client;
}

/**
 * Logs in as the sample user. The server releases the mailbox just after its +OK to the previous session's
 * QUIT, so a login right behind it may meet IN-USE: that is retried briefly.
 */
async function login(running: RunningDemo): Promise<Pop3Client> {
  for (let attempt = 1; ; attempt++) {
    const client = await session(running);
    try {
      await client.login({ username: 'demo', password: 'demo' });
      return client;
    } catch (error) {
      client.close();
      if (!(error instanceof ServerError && error.inUse) || attempt === 5) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}

/** POST /api/reset-mailbox, repeated while it answers 409 (for a session that is just ending), up to `ms`. */
async function resetWhenFree(running: RunningDemo, ms = 2_000): Promise<Reply> {
  const deadline = Date.now() + ms;
  for (;;) {
    const reply = await http(running.url, '/api/reset-mailbox', { method: 'POST' });
    if (reply.status !== 409 || Date.now() > deadline) return reply;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A TCP server holding a port, closed after the test. */
async function occupy(): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as { port: number }).port;
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Whether a plain TCP connection to 127.0.0.1:port is accepted. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.connect(port, '127.0.0.1');
  });
}

describe('the page server', () => {
  it('serves /demo-config.json: the proxy URL, the embedded server with the sample account, the extra targets', async () => {
    const running = await start({ allow: ['pop.example.org:110'], allowTls: ['POP.Example.com:995'] });
    const reply = await http(running.url, '/demo-config.json');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(running.proxyUrl).toMatch(/^ws:\/\/127\.0\.0\.1:\d+\/$/);
    expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(JSON.parse(reply.body)).toEqual({
      proxyUrl: running.proxyUrl,
      targets: [
        { target: `127.0.0.1:${running.pop3.port}`, label: 'Embedded sample server', embedded: true, tls: false, user: 'demo', password: 'demo' },
        { target: 'pop.example.org:110', label: 'pop.example.org:110', embedded: false, tls: false },
        { target: 'pop.example.com:995', label: 'pop.example.com:995', embedded: false, tls: true },
      ],
    });
    expect(JSON.parse(reply.body)).toEqual(running.config);
  });

  it('serves the page files with their content types, uncached, with the security headers', async () => {
    const running = await start();
    const proxyPort = new URL(running.proxyUrl).port;
    const expected: [string, string, string][] = [
      ['/', 'text/html; charset=utf-8', INDEX],
      ['/index.html', 'text/html; charset=utf-8', INDEX],
      ['/app.js', 'text/javascript; charset=utf-8', 'console.log("demo");\n'],
      ['/styles.css', 'text/css; charset=utf-8', 'body { margin: 0 }\n'],
      ['/locales/en.json?v=1', 'application/json; charset=utf-8', '{"hello":"Hello"}\n'],
    ];
    for (const [target, type, body] of expected) {
      const reply = await http(running.url, target);
      expect([target, reply.status, reply.headers['content-type'], reply.body]).toEqual([target, 200, type, body]);
      expect(reply.headers['content-length']).toBe(String(Buffer.byteLength(body)));
      expect(reply.headers['cache-control']).toBe('no-store');
      expect(reply.headers['x-content-type-options']).toBe('nosniff');
      expect(reply.headers['referrer-policy']).toBe('no-referrer');
      expect(reply.headers['content-security-policy']).toBe(
        `default-src 'self'; connect-src 'self' ws://127.0.0.1:${proxyPort} ws://localhost:${proxyPort}; ` +
          "img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; frame-src 'self' blob: data:; script-src 'self' 'wasm-unsafe-eval'; " +
          "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'",
      );
    }
    const head = await http(running.url, '/app.js', { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body]).toEqual([200, '21', '']);
    const missing = await http(running.url, '/nothing.js');
    expect([missing.status, missing.headers['cache-control'], missing.headers['x-content-type-options']]).toEqual([404, 'no-store', 'nosniff']);
    const post = await http(running.url, '/index.html', { method: 'POST' });
    expect([post.status, post.headers.allow]).toEqual([405, 'GET, HEAD']);
  });

  it('never serves a file outside its root: dot segments, encoded ones, absolute paths, symbolic links', async () => {
    const running = await start();
    const secretFile = path.join(files.dir, 'secret.txt');
    const attempts: [string, number][] = [
      // Dot segments, plain or encoded, are resolved within the URL: never above the root.
      ['/../secret.txt', 404],
      ['/../../../../../../etc/passwd', 404],
      ['/%2e%2e/secret.txt', 404],
      ['/%2E%2E/%2e%2e/secret.txt', 404],
      ['/locales/../../secret.txt', 404],
      // An encoded slash or backslash would make a dot segment only after decoding: refused.
      ['/..%2fsecret.txt', 400],
      ['/%2e%2e%2fsecret.txt', 400],
      ['/locales/..%2f..%2fsecret.txt', 400],
      ['/..%5csecret.txt', 400],
      ['/..%5c..%5csecret.txt', 400],
      ['/locales%2f..%2f..%2fsecret.txt', 400],
      // Absolute paths name files under the root, or are refused.
      [`/${secretFile}`, 404],
      [secretFile, 404],
      ['/etc/passwd', 404],
      ['//etc/passwd', 404],
      ['/%2fetc%2fpasswd', 400],
      [`/${encodeURIComponent(secretFile)}`, 400],
      ['http://127.0.0.1/../secret.txt', 404],
      // Hidden files, NUL, malformed encoding, and a link that leads out of the root.
      ['/.hidden', 400],
      ['/index.html%00.js', 400],
      ['/%zz', 400],
      ['/link.txt', 404],
      // Names the file system refuses to look up are not found either, not an internal error.
      [`/${'n'.repeat(300)}.js`, 404],
      [`/${'d/'.repeat(3000)}x.js`, 404],
      ['/loop/x.js', 404],
    ];
    for (const [target, status] of attempts) {
      const reply = await http(running.url, target);
      expect([target, reply.status]).toEqual([target, status]);
      expect(reply.body).not.toContain(SECRET);
      expect(reply.body).not.toContain('root:');
    }
  });
});

describe('POP3 through the proxy', () => {
  it('logs in as demo/demo and lists the sample messages with the UIDs and sizes of MaildirStore', async () => {
    const log: string[] = [];
    const running = await start({ log: (line) => log.push(line) });
    const client = await login(running);
    const listing = await client.listing();
    const first = await client.retr(1);
    await client.quit();

    const copy = tempDir('demo-maildir');
    try {
      writeSampleMaildirs(copy.dir, { demo: 'demo' });
      const store = new MaildirStore({ root: copy.dir, password: () => 'demo' });
      const mailbox = await store.open('demo');
      if (mailbox === 'in-use') throw new Error('the copy is locked');
      await mailbox.close();
      expect(listing).toHaveLength(SAMPLE_COUNT);
      expect(SAMPLE_COUNT).toBeGreaterThanOrEqual(14);
      expect(listing).toEqual(mailbox.messages.map((m, i) => ({ message: i + 1, uid: m.uid, size: m.size })));
    } finally {
      copy.remove();
    }
    expect(Buffer.from(first)).toEqual(sampleMessages()[0]);
    // The log has metadata lines from both, and no command text.
    expect(log.some((line) => line.startsWith('proxy {"event":"session-open"'))).toBe(true);
    expect(log.some((line) => line.startsWith('pop3 {"type":"login"'))).toBe(true);
    expect(log.join('\n')).not.toMatch(/PASS demo|RETR 1/);
  });

  it('refuses a target that is not allowed, and pages from other origins', async () => {
    const running = await start();
    const notAllowed = await session(running, '127.0.0.1:1').catch((error: unknown) => error);
    expect(notAllowed).toBeInstanceOf(WebSocketCloseError);
    expect(notAllowed).toMatchObject({ closeCode: 1008, reason: 'target-not-allowed' });

    const foreign = connect(running.proxyUrl, '', { origin: 'http://evil.example' });
    expect(await foreign.opened).toEqual({ opened: false, status: 403 });
    const otherPort = connect(running.proxyUrl, '', { origin: `http://127.0.0.1:${new URL(running.proxyUrl).port}` });
    expect(await otherPort.opened).toEqual({ opened: false, status: 403 });
    // The page's other name for this host is its origin too.
    const localhost = connect(running.proxyUrl, '', { origin: `http://localhost:${new URL(running.url).port}` });
    expect(await localhost.opened).toEqual({ opened: true });
    localhost.ws.close();
    await localhost.closed;
  });

  it('DELE and QUIT remove a message: the next session sees one fewer, until a reset brings it back', async () => {
    const running = await start();
    const first = await login(running);
    const [gone] = await first.listing();
    await first.dele(1);
    await first.quit();

    const second = await login(running);
    const after = await second.listing();
    await second.quit();
    expect(after).toHaveLength(SAMPLE_COUNT - 1);
    expect(after.map((m) => m.uid)).not.toContain(gone!.uid);

    const reset = await resetWhenFree(running);
    expect([reset.status, JSON.parse(reset.body)]).toEqual([200, { reset: true }]);
    const third = await login(running);
    const restored = await third.listing();
    await third.quit();
    expect(restored).toHaveLength(SAMPLE_COUNT);
    expect(restored[0]).toEqual(gone);
  });

  it('answers 409 to a reset while a session holds the mailbox, and 200 once it has ended', async () => {
    const running = await start();
    const client = await login(running);
    await client.dele(1);
    const reply = await http(running.url, '/api/reset-mailbox', { method: 'POST', headers: { origin: pageOrigin(running) } });
    expect(reply.status).toBe(409);
    expect(reply.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(reply.body)).toEqual({ reset: false, reason: expect.stringContaining('QUIT') });
    expect(running.resetMailbox()).toBe(false);
    // Only POST, and only from the demo's own pages.
    expect((await http(running.url, '/api/reset-mailbox')).status).toBe(405);
    const foreign = await http(running.url, '/api/reset-mailbox', { method: 'POST', headers: { origin: 'http://evil.example' } });
    expect(foreign.status).toBe(403);

    await client.quit();
    expect((await resetWhenFree(running)).status).toBe(200);
    const again = await login(running);
    expect(await again.stat()).toMatchObject({ count: SAMPLE_COUNT });
    await again.quit();
  });

  it('stopPop3 ends sessions without UPDATE and connections fail cleanly; startPop3 serves again on the same port', async () => {
    const running = await start();
    const { port } = running.pop3;
    const client = await login(running);
    await client.dele(1);
    await running.stopPop3();
    await expect(client.noop()).rejects.toThrow();
    expect(await accepts(port)).toBe(false);
    const refused = await session(running).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WebSocketCloseError);
    expect(refused).toMatchObject({ closeCode: 1014, reason: 'target unreachable' });

    await running.startPop3();
    expect(running.pop3.port).toBe(port);
    expect(await accepts(port)).toBe(true);
    // The session ended by the stop released the mailbox and committed nothing.
    const again = await login(running);
    expect(await again.stat()).toMatchObject({ count: SAMPLE_COUNT });
    await again.quit();
  });
});

describe('the command line', () => {
  it('parses options with defaults and environment fallbacks', () => {
    expect(parseDemoArgs([], {})).toEqual({
      help: false,
      verbose: false,
      options: { port: 8080, proxyPort: 8081, pop3Port: 11110, host: '127.0.0.1', allow: [], allowTls: [] },
    });
    expect(parseDemoArgs(['-h'], {})).toEqual({ help: true });
    const env = { PORT: '9000', POP3KIT_DEMO_ALLOW: 'a.example.org:110, b.example.org:110', POP3KIT_DEMO_ALLOW_TLS: 'pop.example.com:995' };
    expect(parseDemoArgs([], env)).toMatchObject({
      options: { port: 9000, allow: ['a.example.org:110', 'b.example.org:110'], allowTls: ['pop.example.com:995'] },
    });
    const args = [
      '--port', '0', '--proxy-port', '9001', '--pop3-port', '9002', '--host', '0.0.0.0', '--allow', 'c.example.org:110',
      '--allow', 'd.example.org:110', '--allow-tls', 'pop.example.net:995', '--public-origin', 'https://demo.example.org', '--verbose',
    ];
    expect(parseDemoArgs(args, env)).toEqual({
      help: false,
      verbose: true,
      options: {
        port: 0,
        proxyPort: 9001,
        pop3Port: 9002,
        host: '0.0.0.0',
        allow: ['c.example.org:110', 'd.example.org:110'],
        allowTls: ['pop.example.net:995'],
        publicOrigin: 'https://demo.example.org',
      },
    });
  });

  it('refuses a bad command line with a UsageError that names the option', () => {
    const cases: [string[], Record<string, string>, RegExp][] = [
      [['--port', '70000'], {}, /--port must be a port/],
      [[], { PORT: 'http' }, /PORT must be a port/],
      [['--proxy-port', '-1'], {}, /--proxy-port|-1/],
      [['--allow', 'pop.example.org'], {}, /--allow pop\.example\.org: .*not HOST:PORT/],
      [['--allow', '10.0.0.5:110'], {}, /--allow 10\.0\.0\.5:110: 10\.0\.0\.5 is private; the demo reaches a private address only for its embedded server/],
      [[], { POP3KIT_DEMO_ALLOW_TLS: '127.0.0.1:995' }, /--allow-tls 127\.0\.0\.1:995: 127\.0\.0\.1 is loopback/],
      [['--public-origin', 'https://demo.example.org/page'], {}, /--public-origin must be exactly/],
      [['--public-origin', 'ftp://demo.example.org'], {}, /--public-origin must be exactly/],
      [['--nope'], {}, /nope/],
      [['extra'], {}, /extra/],
    ];
    for (const [argv, env, message] of cases) {
      let error: unknown;
      try {
        parseDemoArgs(argv, env);
      } catch (e) {
        error = e;
      }
      expect(error, argv.join(' ')).toBeInstanceOf(UsageError);
      expect((error as Error).message).toMatch(message);
    }
  });

  it('says which option to change when a port is in use, and leaves nothing listening', async () => {
    for (const [service, option] of [
      ['page', '--port'],
      ['proxy', '--proxy-port'],
      ['pop3', '--pop3-port'],
    ] as const) {
      const busy = await occupy();
      const pop3Port = service === 'pop3' ? busy : await freePort();
      const ports = { port: service === 'page' ? busy : 0, proxyPort: service === 'proxy' ? busy : 0, pop3Port };
      const error = await startDemo({ ...ports, root, sampleMailbox: SAMPLE_ROOT }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PortInUseError);
      expect(error).toMatchObject({ service, port: busy });
      const message = startupErrorMessage(error);
      expect(message).toContain(`port ${busy} is in use`);
      expect(message).toContain(`choose another with ${option} N`);
      // The POP3 server, started first, was stopped again.
      if (service !== 'pop3') expect(await accepts(pop3Port)).toBe(false);
    }
  });

  it('says to build when the page is missing', async () => {
    const empty = tempDir('demo-empty');
    try {
      const error = await startDemo({ port: 0, proxyPort: 0, pop3Port: 0, root: empty.dir, sampleMailbox: SAMPLE_ROOT }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(PageMissingError);
      expect(startupErrorMessage(error)).toBe(`the demo page is not built (${empty.dir} has no index.html): run npm run build`);
    } finally {
      empty.remove();
    }
  });

  it('prints a banner with the URL, the embedded server and account, the proxy, what it allows, and how to stop', async () => {
    const running = await start({ allow: ['pop.example.org:110'], allowTls: ['pop.example.com:995'] });
    const text = banner(running);
    expect(text).toContain(`open ${running.url}`);
    expect(text).toContain(`pop3://127.0.0.1:${running.pop3.port} (sample mailbox, user demo, password demo)`);
    expect(text).toContain(running.proxyUrl);
    expect(text).toContain(`127.0.0.1:${running.pop3.port} (embedded server)`);
    expect(text).toContain('pop.example.org:110 (passed through)');
    expect(text).toContain('pop.example.com:995 (the proxy connects with TLS)');
    expect(text).toContain('Ctrl-C');
  });
});
