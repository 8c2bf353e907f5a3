/**
 * The transcript and explain views in Chromium. A harness page: the demo's index.html and styles, with only
 * these two views mounted on a real App (offline server in the page) that the test drives through
 * `page.evaluate` — the command palette is another view, and the page itself exposes no hook. The harness
 * bundle is built here from demo/page/ with the page's own rollup settings.
 *
 * Checked: lines rendered as buttons with C:/S:/ℹ markers in an ARIA log, the password never in the DOM,
 * click and keyboard to explain, RFC links in a new tab, CRLF markers, stuffed dots and the terminator in
 * the wire bytes, long bodies cut with "show all", pipelining markers, notes, a refused connection's error,
 * German, and a phone-sized screen.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright';
import { rollup } from 'rollup';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleProblems, type DemoPage, type DemoPageOptions, DemoPages, serveDemoStatic } from '../support/demo-page.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const page = (name: string) => path.join(ROOT, 'demo/page', name).replaceAll('\\', '/');

/** The harness: App + transcript + explain on the demo's markup; `harness` on globalThis for the test only. */
const HARNESS = `
import { App } from '${page('app.ts')}';
import { mountTranscript } from '${page('transcript-view.ts')}';
import { mountExplain } from '${page('explain-view.ts')}';
import { setLanguage } from '${page('i18n.ts')}';
const sample = await (await fetch('sample-mailbox.json')).json();
await setLanguage('en');
const app = new App(undefined, sample);
mountTranscript(document.querySelector('[data-view="transcript"]'), app);
mountExplain(document.querySelector('[data-view="explain"]'), app);
globalThis.harness = { app, setLanguage, sample };
document.body.dataset.ready = 'true';
`;

let dir = '';
let server: Server | undefined;
let url = '';
const pages = new DemoPages();

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'pop3kit-transcript-'));
  const configs = (await import('../../rollup.config.mjs')).default as { input: unknown; plugins: unknown[] }[];
  const pageConfig = configs[configs.length - 1]!;
  const bundle = await rollup({
    ...pageConfig,
    input: 'harness',
    onwarn: () => {},
    plugins: [
      { name: 'harness', resolveId: (id: string) => (id === 'harness' ? '\0harness' : null), load: (id: string) => (id === '\0harness' ? HARNESS : null) },
      ...(pageConfig.plugins as never[]),
    ],
  } as never);
  await bundle.write({ file: path.join(dir, 'app.js'), format: 'es' });
  await bundle.close();
  server = createServer((request, response) => {
    const name = new URL(request.url ?? '/', 'http://x').pathname.replace(/^\/+/, '') || 'index.html';
    const file = path.join(dir, path.normalize(name));
    try {
      if (!file.startsWith(dir)) throw new Error('outside');
      const type = file.endsWith('.html') ? 'text/html' : file.endsWith('.js') ? 'text/javascript' : file.endsWith('.css') ? 'text/css' : 'application/json';
      response.writeHead(200, { 'content-type': `${type}; charset=utf-8` }).end(readFileSync(file));
    } catch {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}, 120_000);

afterAll(async () => {
  await pages.closeAll();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

const open = (options: DemoPageOptions = {}): Promise<DemoPage> => pages.open(url, options);

type Harness = { app: import('../../demo/page/app.js').App; setLanguage(language: string): Promise<void> };
declare const harness: Harness;

/** Run commands in the page's session, in one go (so they pipeline). */
function send(page: Page, ...commands: object[]): Promise<unknown> {
  return page.evaluate((list) => harness.app.session!.sendAll(list as never), commands);
}
const lines = (page: Page) => page.getByTestId('transcript-line');
const line = (page: Page, text: string | RegExp) => lines(page).filter({ hasText: text }).first();
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** The client's line with exactly this text (a pipelining marker may follow). */
const client = (page: Page, text: string) => line(page, new RegExp(`^C:Client: ${escape(text)}(sent while.*)?$`));
const explain = (page: Page) => page.locator('[data-view="explain"]');
/** The transcript's lines as shown: marker and text, hidden words left out. */
async function shown(page: Page): Promise<string[]> {
  return page.$$eval('.tx-button', (buttons) => buttons.map((button) => `${button.querySelector('.tx-marker')!.textContent} ${button.querySelector('.tx-text')!.textContent}`));
}

describe('the transcript and explain views', () => {
  it('renders a session live, explains lines on click and keyboard, never shows the password', { timeout: 90_000 }, async () => {
    const demo = await open();
    const { page } = demo;

    // Nothing selected: the introduction; an empty log.
    expect(await explain(page).locator('h3').textContent()).toBe('How to read the transcript');
    const log = page.getByRole('log', { name: 'POP3 transcript' });
    expect(await log.count()).toBe(1);
    expect(await log.textContent()).toContain('Nothing yet');

    await page.evaluate(() => harness.app.connect({ kind: 'offline' }, { seed: 3 }));
    await expect.poll(() => lines(page).count()).toBe(2);
    expect(await shown(page)).toEqual(['ℹ Connected to the offline server in this page', expect.stringMatching(/^S: \+OK .*<.+@offline\.pop3kit\.invalid>$/)]);
    // Screen readers hear who sent it in words.
    expect(await lines(page).nth(1).textContent()).toMatch(/^S:Server: \+OK/);

    await send(page, { verb: 'CAPA' });
    await send(page, { verb: 'USER', name: 'demo' });
    await send(page, { verb: 'PASS', password: 'not-the-password-x7' });
    await send(page, { verb: 'USER', name: 'demo' });
    await send(page, { verb: 'PASS', password: 'demo' });
    await send(page, { verb: 'LIST' }, { verb: 'UIDL' }, { verb: 'STAT' });
    await send(page, { verb: 'RETR', message: 7 });
    await expect.poll(() => page.locator('.tx-line[data-kind="body"]').count()).toBe(1);

    // Client and server lines differ by marker and side, not colour alone.
    const text = await shown(page);
    expect(text).toContain('C: CAPA');
    expect(text).toContain('S: PIPELINING');
    expect(text.filter((entry) => entry === 'C: PASS [redacted]')).toHaveLength(2);
    expect(await page.locator('.tx-line[data-from="client"]').first().evaluate((li) => getComputedStyle(li.querySelector('.tx-button')!).borderLeftColor)).not.toBe(
      await page.locator('.tx-line[data-from="server"]').first().evaluate((li) => getComputedStyle(li.querySelector('.tx-button')!).borderLeftColor),
    );
    // The wrong password was refused; no password is anywhere in the page.
    const html = await page.content();
    expect(html).not.toContain('not-the-password-x7');
    expect(html).not.toMatch(/PASS demo/);
    expect(text).toContainEqual(expect.stringMatching(/^S: -ERR/));

    // Pipelining: UIDL and STAT were sent while LIST was in flight.
    expect(await client(page, 'LIST').locator('.tx-inflight').count()).toBe(0);
    expect(await client(page, 'UIDL').locator('.tx-inflight').textContent()).toBe('sent while 2 commands in flight');
    expect(await client(page, 'STAT').locator('.tx-inflight').textContent()).toBe('sent while 3 commands in flight');

    // Click a command: what it means, its RFC section (a link in a new tab), its bytes with CRLF shown.
    await client(page, 'LIST').click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('The LIST command');
    expect(await client(page, 'LIST').getAttribute('aria-current')).toBe('true');
    const rfc = explain(page).locator('a.ex-rfc').first();
    expect(await rfc.getAttribute('href')).toBe('https://www.rfc-editor.org/rfc/rfc1939#section-5');
    expect(await rfc.getAttribute('target')).toBe('_blank');
    expect(await rfc.getAttribute('rel')).toBe('noopener');
    expect(await rfc.textContent()).toContain('RFC 1939, section 5');
    const wire = explain(page).getByTestId('wire-bytes');
    expect(await wire.locator('.wire-crlf').count()).toBe(1);
    // ␍␊ where the fonts have the control pictures, else the letters.
    expect(await wire.textContent()).toMatch(/^LIST(␍␊ CR LF |CR LF)$/);
    expect(await explain(page).locator('.wire-total').textContent()).toBe('6 bytes');

    // The PASS line: no bytes, and why.
    await client(page, 'PASS [redacted]').click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('The PASS command');
    expect(await explain(page).locator('.ex-nowire').textContent()).toMatch(/not shown: they contain the password/);
    expect(await explain(page).getByTestId('wire-bytes').count()).toBe(0);

    // A -ERR: explained with the command it answers, which can be selected from there.
    await line(page, /^S:.*-ERR/).click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('-ERR: the answer to PASS');
    await explain(page).locator('.ex-answers-button').click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('The PASS command');
    await expect.poll(() => page.evaluate(() => document.activeElement?.closest('.tx-line')?.getAttribute('data-kind'))).toBe('command');

    // Keyboard: the arrow keys move between lines, Enter explains.
    await client(page, 'CAPA').focus();
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Enter');
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('+OK: the answer to CAPA');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('Space');
    await expect.poll(() => explain(page).locator('h3').textContent()).toMatch(/^Capability /);
    // One line in the tab order: the selected one.
    expect(await page.locator('.tx-button[tabindex="0"]').count()).toBe(1);

    // A CAPA line: its tag explained, the SASL mechanisms one by one.
    await line(page, /^S:.*SASL /).click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('Capability SASL');
    expect(await explain(page).locator('.ex-terms dt').allTextContents()).toEqual(['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256']);
    expect(await explain(page).locator('a[href="https://www.rfc-editor.org/rfc/rfc2449#section-6.3"]').count()).toBe(1);

    // The terminating dot of a listing, marked as such.
    await lines(page).filter({ hasText: /^S:Server: \.$/ }).first().click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('End of a multi-line answer');
    expect(await explain(page).getByTestId('wire-bytes').locator('mark.wire-terminator').count()).toBe(1);

    // The body: one line that opens, and its bytes with the stuffed dots and the terminator.
    const body = page.locator('.tx-line[data-kind="body"]');
    expect(await body.locator('.tx-text').textContent()).toMatch(/^\[message 7: \d+ lines, [\d,]+ octets\]$/);
    const toggle = body.locator('.tx-toggle');
    expect(await body.getByRole('button', { name: 'Show the message' }).getAttribute('aria-expanded')).toBe('false');
    await toggle.click();
    expect(await toggle.getAttribute('aria-expanded')).toBe('true');
    expect(await toggle.textContent()).toBe('Hide the message');
    expect(await body.locator('pre.tx-body').textContent()).toContain('..two dots at the start of a line');
    await body.locator('.tx-button').click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('The message (RETR 7)');
    const bodyWire = explain(page).getByTestId('wire-bytes');
    expect(await bodyWire.locator('mark.wire-stuffed').count()).toBeGreaterThanOrEqual(3);
    expect(await bodyWire.locator('.wire-stuffed-line, .wire-line.wire-stuffed').first().textContent()).toMatch(/^\./);
    expect(await bodyWire.locator('.wire-line.wire-terminator').count()).toBe(1);
    expect(await explain(page).textContent()).toMatch(/lines start with a dot/);

    // No console errors.
    expect(consoleProblems(demo)).toEqual([]);
  });

  it('cuts long bodies with "show all", and shows 8-bit bytes as hex', { timeout: 90_000 }, async () => {
    const { page } = await open();
    await page.evaluate(() => harness.app.connect({ kind: 'offline' }));
    await send(page, { verb: 'USER', name: 'demo' }, { verb: 'PASS', password: 'demo' });
    await send(page, { verb: 'RETR', message: 14 });
    const body = page.locator('.tx-line[data-kind="body"]');
    await body.waitFor();
    await body.locator('.tx-button').click();
    const wire = explain(page).getByTestId('wire-bytes');
    await wire.waitFor();
    expect(await wire.locator('.wire-gap').textContent()).toMatch(/^… [\d,]+ bytes \([\d,]+ lines\) not shown …$/);
    expect(await wire.locator('.wire-line.wire-terminator').count()).toBe(1);
    const more = explain(page).locator('.wire-more');
    expect(await more.textContent()).toMatch(/^Show all [\d,]+ bytes$/);
    await more.click();
    await expect.poll(() => explain(page).getByTestId('wire-bytes').locator('.wire-gap').count()).toBe(0);
    expect(await explain(page).locator('.wire-more').getAttribute('aria-expanded')).toBe('true');

    // The body opened in the transcript: its preview is cut, and the note says so in the page's language.
    await body.locator('.tx-toggle').click();
    expect(await body.locator('.tx-body-cut').textContent()).toMatch(/^… [\d,]+ more bytes: the explanation panel shows them all …$/);
    await page.evaluate(() => harness.setLanguage('de'));
    await expect.poll(() => body.locator('.tx-body-cut').textContent()).toMatch(/^… [\d.]+ weitere Bytes: Die Erklärung zeigt sie alle …$/);
    expect(await body.locator('.tx-toggle').textContent()).toBe('Nachricht verbergen');
    await page.evaluate(() => harness.setLanguage('en'));

    // A message with 8-bit bytes: hex boxes.
    const eightBit = await page.evaluate(() => {
      const sample = (globalThis as unknown as { harness: { sample: { messages: { content: string }[] } } }).harness.sample;
      return sample.messages.findIndex((message) => [...atob(message.content)].some((char) => char.charCodeAt(0) >= 0x80)) + 1;
    });
    if (eightBit > 0) {
      await send(page, { verb: 'RETR', message: eightBit });
      await page.locator('.tx-line[data-kind="body"]').nth(1).locator('.tx-button').click();
      await expect.poll(() => explain(page).locator('h3').textContent()).toBe(`The message (RETR ${eightBit})`);
      const hex = explain(page).getByTestId('wire-bytes').locator('.wire-hex').first();
      await expect.poll(() => hex.count()).toBe(1);
      expect(await hex.textContent()).toMatch(/^[0-9A-F]{2}( [0-9A-F]{2})*/);
    }
  });

  it('notes for a dropped connection, the error of a refused one, and German', { timeout: 90_000 }, async () => {
    const { page } = await open();
    await page.evaluate(() => harness.app.connect({ kind: 'offline' }));
    await send(page, { verb: 'STAT' });
    await page.evaluate(() => harness.app.session!.drop());
    await expect.poll(() => shown(page)).toEqual(expect.arrayContaining([expect.stringMatching(/^ℹ Not sent: STAT/), 'ℹ Connection dropped without QUIT']));
    // The page dropped the connection itself: that is its note, not a lost connection as well.
    expect((await shown(page)).filter((text) => text.startsWith('ℹ Connection lost'))).toEqual([]);
    await line(page, 'Connection dropped').click();
    await expect.poll(() => explain(page).textContent()).toMatch(/deletes nothing/);
    expect(await explain(page).locator('.ex-nowire').textContent()).toMatch(/note of the page/);

    // A proxy that is not there: the failure is a line of its own, explained.
    await page.evaluate(async () => {
      const target = { target: '127.0.0.1:9', label: 'nowhere', embedded: true, tls: false };
      const app = harness.app as unknown as { config: unknown; connect(place: unknown): Promise<unknown> };
      Object.defineProperty(app, 'config', { value: { proxyUrl: 'ws://127.0.0.1:9/', targets: [target] } });
      await app.connect({ kind: 'proxy', target }).catch(() => undefined);
    });
    const failed = page.locator('.tx-line[data-kind="error"]');
    await failed.waitFor();
    expect(await failed.textContent()).toMatch(/Could not connect to nowhere: The page could not open a connection through the proxy \(WebSocket close code 1006\)/);
    await failed.locator('.tx-button').click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('What went wrong');
    expect(await explain(page).textContent()).toMatch(/npm start/);

    // German: lines, explanation and the introduction follow the language.
    await page.evaluate(() => harness.app.connect({ kind: 'offline' }));
    await expect.poll(() => lines(page).count()).toBe(2);
    await page.evaluate(() => harness.setLanguage('de'));
    await expect.poll(() => page.getByRole('log').getAttribute('aria-label')).toBe('POP3-Protokoll');
    expect(await shown(page)).toContainEqual('ℹ Verbunden mit dem Offline-Server in dieser Seite');
    expect(await explain(page).locator('h3').textContent()).toBe('So liest man das Protokoll');
    await line(page, /^S:/).click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('Die Begrüßung des Servers');
    expect(await explain(page).locator('a.ex-rfc').first().textContent()).toMatch(/RFC 1939, Abschnitt 4/);
  });

  it('keeps the DOM small with thousands of lines: only the newest stay, the rest counted', { timeout: 90_000 }, async () => {
    const { page } = await open();
    await page.evaluate(() => harness.app.connect({ kind: 'offline' }));
    await send(page, { verb: 'USER', name: 'demo' }, { verb: 'PASS', password: 'demo' });
    // The keyboard on the oldest line, which is about to be dropped.
    await page.locator('.tx-line .tx-button').first().focus();
    const started = Date.now();
    // 150 pipelined LISTs: about 2,600 lines in a few bursts.
    await send(page, ...Array.from({ length: 150 }, () => ({ verb: 'LIST' })));
    const entries = await page.evaluate(() => harness.app.session!.entries.length);
    expect(entries).toBeGreaterThan(2500);
    await expect.poll(() => page.locator('.tx-line').count()).toBe(2000);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(await page.locator('.tx-trimmed').textContent()).toBe(`${entries - 2000} earlier lines are not shown here: the page keeps the newest 2000.`);
    // The newest line is there and in view (the log follows the end).
    expect(await page.locator('.tx-line').last().getAttribute('data-index')).toBe(String(entries - 1));
    // The focused line was dropped: the focus went on to the oldest line shown, not to the page's body.
    expect(await page.evaluate(() => document.activeElement?.closest('.tx-line')?.getAttribute('data-index'))).toBe(String(entries - 2000));
    expect(await page.evaluate(() => (document.activeElement as HTMLElement).tabIndex)).toBe(0);
    expect(await page.locator('.tx-log').evaluate((log) => log.scrollHeight - log.scrollTop - log.clientHeight)).toBeLessThan(2);
  });

  it('fits a 360 px wide phone screen', { timeout: 60_000 }, async () => {
    const { page } = await open({ viewport: { width: 360, height: 740 } });
    await page.evaluate(() => harness.app.connect({ kind: 'offline' }));
    await send(page, { verb: 'USER', name: 'demo' }, { verb: 'PASS', password: 'demo' });
    await send(page, { verb: 'CAPA' }, { verb: 'UIDL' }, { verb: 'RETR', message: 7 });
    await page.locator('.tx-line[data-kind="body"]').waitFor();
    await client(page, 'UIDL').click();
    await page.locator('.tx-line[data-kind="body"] .tx-button').click();
    await expect.poll(() => explain(page).locator('h3').textContent()).toBe('The message (RETR 7)');
    const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, transcript: document.getElementById('transcript')!.scrollWidth, explain: document.getElementById('explain')!.scrollWidth }));
    expect(widths.page).toBeLessThanOrEqual(360);
    expect(widths.transcript).toBeLessThanOrEqual(360);
    expect(widths.explain).toBeLessThanOrEqual(360);
    // Lines are big enough to tap.
    const height = await lines(page).first().evaluate((button) => button.getBoundingClientRect().height);
    expect(height).toBeGreaterThanOrEqual(28);
  });

  it('works in the real page: connecting through the connect panel fills the log, a line explains', { timeout: 60_000 }, async () => {
    const real = await serveDemoStatic();
    try {
      const demo = await pages.open(real.url);
      const { page } = demo;
      const connect = page.getByTestId('connect-button');
      // The connect panel is another view; without it there is nothing to drive here.
      if ((await connect.count()) === 0) return;
      await connect.click();
      await expect.poll(() => lines(page).count()).toBeGreaterThanOrEqual(2);
      await line(page, /^S:/).click();
      await expect.poll(() => explain(page).locator('h3').textContent()).toBe("The server's greeting");
      expect(await page.getByRole('log', { name: 'POP3 transcript' }).count()).toBe(1);
      expect(demo.console.filter((entry) => entry.startsWith('pageerror'))).toEqual([]);
    } finally {
      await real.close();
    }
  });
});
