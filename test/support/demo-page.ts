/**
 * The demo page in Chromium for tests: serves the built page (dist/demo, made by `npm run build`), opens it
 * and waits until every view is mounted. Console messages and page errors are collected, so a test can
 * check that nothing went wrong and that no password was ever printed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll } from 'vitest';
import { type RunningDemo, startDemo } from '../../demo/server/demo-server.js';
import { launchChromium } from './browser-page.js';
import { SAMPLE_ROOT } from './sample-maildir.js';

export const DEMO_ROOT = fileURLToPath(new URL('../../dist/demo/', import.meta.url));
export const MISSING_DEMO = 'dist/demo is missing: run `npm run build` before the tests';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
};

/**
 * A static server for dist/demo alone (or another build of the page in `root`): the page then runs in offline
 * mode only (no demo-config.json).
 */
export async function serveDemoStatic(root: string = DEMO_ROOT): Promise<{ url: string; close(): Promise<void> }> {
  if (!existsSync(root)) throw new Error(root === DEMO_ROOT ? MISSING_DEMO : `${root} does not exist`);
  const base = root.endsWith(path.sep) ? root : root + path.sep;
  const server: Server = createServer((request, response) => {
    const name = new URL(request.url ?? '/', 'http://x').pathname.replace(/^\/+/, '') || 'index.html';
    const file = path.join(base, path.normalize(name));
    if (!file.startsWith(base) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' }).end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/**
 * What `npm start` runs, on free ports, serving the built page: the page server, the proxy and the embedded
 * POP3 server with the sample mailbox.
 */
export function startDemoServer(): Promise<RunningDemo> {
  if (!existsSync(DEMO_ROOT)) throw new Error(MISSING_DEMO);
  return startDemo({ port: 0, proxyPort: 0, pop3Port: 0, root: DEMO_ROOT, sampleMailbox: SAMPLE_ROOT });
}

export interface DemoPage {
  readonly browser: Browser;
  readonly page: Page;
  /** Every console message and page error so far, as `type: text`. */
  readonly console: string[];
  close(): Promise<void>;
}

export interface DemoPageOptions {
  readonly viewport?: { width: number; height: number };
  readonly locale?: string;
}

/** Open `url` in a fresh Chromium and wait for the page to be ready (every view mounted). */
export async function openDemoPage(url: string, options: DemoPageOptions = {}): Promise<DemoPage> {
  const browser = await launchChromium();
  try {
    const context = await browser.newContext({ viewport: options.viewport ?? { width: 1400, height: 1000 }, locale: options.locale ?? 'en-US' });
    const page = await context.newPage();
    const messages: string[] = [];
    page.on('console', (message) => messages.push(`${message.type()}: ${message.text()}`));
    page.on('pageerror', (error) => messages.push(`pageerror: ${error.message}`));
    await page.goto(url);
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15_000 });
    return { browser, page, console: messages, close: () => browser.close() };
  } catch (error) {
    // A page that never got ready: no one else holds this browser to close it.
    await browser.close();
    throw error;
  }
}

/**
 * Opens demo pages and remembers them, so that a test file closes them all in its `afterAll` (before it closes
 * the server they were loaded from) with `closeAll()`, even when a test failed half-way.
 */
export class DemoPages {
  readonly #opened: DemoPage[] = [];

  /** `openDemoPage(url, options)`, remembered for `closeAll()`. */
  async open(url: string, options: DemoPageOptions = {}): Promise<DemoPage> {
    const demo = await openDemoPage(url, options);
    this.#opened.push(demo);
    return demo;
  }

  /** Close every page opened here (each once, even when closing one of them fails). */
  async closeAll(): Promise<void> {
    const opened = this.#opened.splice(0);
    const results = await Promise.allSettled(opened.map((demo) => demo.close()));
    const failed = results.find((result) => result.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }
}

/**
 * What went wrong in the page: every page error, and every console error that none of `allowed` matches (the
 * errors a test expects, e.g. `/status of 404/` for the demo-config.json that is absent in offline mode).
 */
export function consoleProblems(demo: DemoPage, allowed: readonly RegExp[] = []): string[] {
  return demo.console.filter((line) => line.startsWith('pageerror') || (line.startsWith('error') && !allowed.some((pattern) => pattern.test(line))));
}

/**
 * For a test file on the built page served alone (offline mode: no demo-config.json): serves dist/demo before
 * the file's tests, and after them closes every page opened through `pages` (`open` is `pages.open` on the
 * served page), then the server.
 */
export function offlineDemo(): { readonly pages: DemoPages; open(options?: DemoPageOptions): Promise<DemoPage> } {
  let server: Awaited<ReturnType<typeof serveDemoStatic>> | undefined;
  const pages = new DemoPages();
  beforeAll(async () => {
    server = await serveDemoStatic();
  });
  afterAll(async () => {
    try {
      await pages.closeAll();
    } finally {
      await server?.close();
    }
  });
  return { pages, open: (options = {}) => pages.open(server!.url, options) };
}
