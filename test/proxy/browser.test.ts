/**
 * The browser side in real Chromium (Debian's; `CHROMIUM_PATH` overrides /usr/bin/chromium), through the real
 * proxy to the embedded POP3 server (core/node/server.ts) on 127.0.0.1:
 * - a page loads the browser bundle (dist/pop3kit.browser.js, from `npm run build`), logs in over the
 *   WebSocket transport, lists, retrieves every message and checks it byte for byte (SHA-256 in the page);
 * - a refused target reaches the page as a typed error with the proxy's reason;
 * - the Manifest V3 example (demo/extension/), loaded unpacked into Chromium, lists the mailbox from its
 *   popup. Its manifest `key` fixes its ID, so the proxy can allow its origin.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Pop3kit from '../../core/index.js';
import { Pop3Server } from '../../core/node/server.js';
import { MemoryMailStore } from '../../core/server/memory-mailbox.js';
import { sha256, startProxy, type TestProxy } from './harness.js';
import { bundle, BUNDLE_URL, bundlePage, CHROMIUM_ARGS, CHROMIUM_PATH, launchChromium, MISSING_BUNDLE } from '../support/browser-page.js';

const PAGE = bundlePage('pop3kit through the proxy');

const EXTENSION_DIR = new URL('../../demo/extension/', import.meta.url);
/** The ID Chromium derives from the manifest's `key`. */
const EXTENSION_ID = 'hlbnajkemffjahjgdbieifjiofjnfcnd';

const USER = 'carol';
const PASSWORD = 'browser-pass-7';

/** A message of `lines` lines with every byte value but CR and LF, some lines starting with dots. */
function eightBitMessage(lines: number): Uint8Array {
  const parts: number[] = [...Buffer.from('Subject: eight bits\r\nFrom: Eve <eve@example.org>\r\n\r\n')];
  for (let i = 0; i < lines; i++) {
    if (i % 5 === 0) parts.push(0x2e); // a dot to stuff
    for (let j = 0; j < 200; j++) {
      const byte = (i * 31 + j * 7) % 256;
      parts.push(byte === 0x0a || byte === 0x0d ? 0x20 : byte);
    }
    parts.push(0x0d, 0x0a);
  }
  return Uint8Array.from(parts);
}

let store: MemoryMailStore;
let pop3: Pop3Server;
let proxy: TestProxy;
let http: Server | undefined;
let pageOrigin = '';
let browser: Browser | undefined;
let page: Page | undefined;
const pageProblems: string[] = [];

beforeAll(async () => {
  store = new MemoryMailStore({ chunkSize: 4096 });
  store.addUser(USER, PASSWORD);
  store.deliver(USER, 'Subject: Hello from the proxy\r\nFrom: Alice <alice@example.org>\r\n\r\nHi!\r\n.\r\n..\r\n');
  store.deliver(USER, eightBitMessage(2000));
  pop3 = new Pop3Server({ store });
  const { port: pop3Port } = await pop3.listen({ port: 0 });

  if (bundle === undefined) return;
  const files = new Map([
    ['/', { type: 'text/html; charset=utf-8', body: PAGE }],
    ['/pop3kit.browser.js', { type: 'text/javascript; charset=utf-8', body: bundle }],
  ]);
  const server = createServer((request, response) => {
    const file = request.method === 'GET' ? files.get(request.url ?? '') : undefined;
    if (file === undefined) response.writeHead(404).end();
    else response.writeHead(200, { 'content-type': file.type }).end(file.body);
  });
  http = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  pageOrigin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy = await startProxy({
    allow: [`127.0.0.1:${pop3Port}`],
    allowPrivate: true,
    origins: [pageOrigin, `chrome-extension://${EXTENSION_ID}`],
  });

  browser = await launchChromium();
  const opened = await browser.newPage();
  opened.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(`console error: ${message.text()}`);
  });
  opened.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
  await opened.goto(`${pageOrigin}/`);
  page = opened;
}, 30_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.proxy.close();
  await pop3?.close();
  http?.closeAllConnections();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
});

/** Runs `scenario` in the page with the bundle's exports (source text: only its parameters and browser globals). */
async function inPage<A, R>(scenario: (kit: typeof Pop3kit, arg: A) => Promise<R>, arg: A): Promise<R> {
  if (bundle === undefined) throw new Error(MISSING_BUNDLE);
  if (page === undefined) throw new Error('the page did not open (see the error of beforeAll)');
  return (await page.evaluate(`(${scenario.toString()})(globalThis.pop3kit, ${JSON.stringify(arg)})`)) as R;
}

describe('a page through the proxy', () => {
  it('logs in, lists, and retrieves every message byte for byte', async () => {
    const result = await inPage(
      async (kit, { url, user, password }) => {
        const hex = async (bytes: Uint8Array<ArrayBuffer>) =>
          Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
        const transport = await kit.openWebSocketTransport(url);
        const client = new kit.Pop3Client(transport);
        await client.connect();
        // The hop from the proxy to the server is plain TCP on 127.0.0.1, and a page cannot start TLS.
        await client.login({ username: user, password, requireTls: false });
        const list = (await client.list()) as { message: number; size: number }[];
        const messages = [];
        for (const { message } of list) {
          const bytes = (await client.retr(message)) as Uint8Array<ArrayBuffer>;
          messages.push({ message, length: bytes.length, sha256: await hex(bytes) });
        }
        await client.quit();
        return { list, messages };
      },
      { url: proxy.url, user: USER, password: PASSWORD },
    );
    const stored = store.messages(USER)!;
    expect(result.list).toEqual(stored.map((m, i) => ({ message: i + 1, size: m.size })));
    expect(result.messages).toEqual(stored.map((m, i) => ({ message: i + 1, length: m.content.length, sha256: sha256(m.content) })));
    expect(pageProblems).toEqual([]);
  });

  it('gets the proxy refusal as a typed error with its reason', async () => {
    const result = await inPage(
      async (kit, url) => {
        const transport = await kit.openWebSocketTransport(url);
        try {
          await transport.read();
          return 'no error';
        } catch (error) {
          const e = error as { name: string; closeCode: number; reason: string; code: string };
          return { name: e.name, closeCode: e.closeCode, reason: e.reason, code: e.code, typed: error instanceof kit.WebSocketCloseError };
        }
      },
      `${proxy.url}?target=evil.example.net:110`,
    );
    expect(result).toEqual({ name: 'WebSocketCloseError', closeCode: 1008, reason: 'target-not-allowed', code: 'POP3_ERR_CONNECTION', typed: true });
    expect(proxy.attempts).toHaveLength(1); // only the session of the first test
  });
});

describe('the Manifest V3 example', () => {
  let profile: string | undefined;
  let context: BrowserContext | undefined;
  afterAll(async () => {
    await context?.close();
    if (profile !== undefined) rmSync(profile, { recursive: true, force: true });
  });

  it('is loaded unpacked into Chromium and lists the mailbox from its popup', async () => {
    if (bundle === undefined) throw new Error(MISSING_BUNDLE);
    // The unpacked extension: demo/extension/ plus the bundle, as demo/extension/prepare.mjs assembles it.
    profile = mkdtempSync(path.join(tmpdir(), 'pop3kit-extension-'));
    const extension = path.join(profile, 'extension');
    mkdirSync(extension);
    for (const name of ['manifest.json', 'popup.html', 'popup.js']) copyFileSync(new URL(name, EXTENSION_DIR), path.join(extension, name));
    copyFileSync(BUNDLE_URL, path.join(extension, 'pop3kit.browser.js'));

    // Extensions need a persistent context; Chromium's (new) headless mode runs them.
    context = await chromium.launchPersistentContext(path.join(profile, 'user-data'), {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [...CHROMIUM_ARGS, `--disable-extensions-except=${extension}`, `--load-extension=${extension}`],
    });
    const popup = await context.newPage();
    const problems: string[] = [];
    popup.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    popup.on('pageerror', (error) => problems.push(error.message));
    await popup.goto(`chrome-extension://${EXTENSION_ID}/popup.html`);
    await popup.fill('#proxy', proxy.url);
    await popup.fill('#user', USER);
    await popup.fill('#password', PASSWORD);
    await popup.check('#plaintext');
    await popup.click('button[type=submit]');
    await popup.waitForFunction(() => /messages?$|^Failed|^The proxy/.test(document.querySelector('#status')?.textContent ?? ''), null, { timeout: 15_000 });
    expect(await popup.textContent('#status')).toBe('2 messages');
    const stored = store.messages(USER)!;
    expect(await popup.$$eval('#messages li', (items) => items.map((item) => item.textContent))).toEqual([
      `Hello from the proxy (Alice <alice@example.org>, ${stored[0]!.size} bytes)`,
      `eight bits (Eve <eve@example.org>, ${stored[1]!.size} bytes)`,
    ]);
    expect(problems).toEqual([]);
    // The proxy saw the extension's origin.
    expect(proxy.log.some((r) => r.event === 'refused' && r.reason === 'origin-not-allowed')).toBe(false);
  });
});
