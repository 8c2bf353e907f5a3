/**
 * The mailbox view and the message viewer in Chromium.
 *
 * Most tests run the real views, App and offline server in a small page built here from the current sources
 * (rollup, TypeScript transpiled, postal-mime bundled as the page bundles it), with the page's CSS, locale
 * strings and sample mailbox: the session is started and logged in through `harness.login()` (no connect
 * panel or command palette needed), and everything else is done through the views' own buttons.
 * The last test opens the built page (dist/demo) itself.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { nodeResolve } from '@rollup/plugin-node-resolve';
import type { Page } from 'playwright';
import { type Plugin, rollup } from 'rollup';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readLocales, readSampleMailbox } from '../../demo/assets.mjs';
import { DEMO_ROOT, type DemoPage, openDemoPage, serveDemoStatic } from '../support/demo-page.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PAGE = path.join(ROOT, 'demo/page');

/**
 * An HTML message that tries everything a hostile one might, every remote URL on `tracker` (another origin,
 * a server of this test that counts what reaches it): requests from a sandboxed srcdoc frame are not
 * reported to Playwright's request events (nor to CDP's Network domain of the page), so only the servers
 * can tell that nothing was fetched.
 */
function craftedMessage(tracker: string): string {
  return `From: Tracker Test <tracker@example.net>
To: demo@example.org
Subject: Crafted: remote content and scripts
Date: Mon, 20 Nov 2023 10:00:00 +0000
Message-ID: <crafted-remote@example.net>
MIME-Version: 1.0
Content-Type: text/html; charset=utf-8

<!DOCTYPE html><html><head>
<meta http-equiv="refresh" content="0;url=${tracker}/refresh">
<link rel="stylesheet" href="${tracker}/style.css">
<style>@import url("${tracker}/import.css"); @font-face { font-family: T; src: url(${tracker}/font.woff2); }
body { font-family: T, sans-serif; background: url(${tracker}/background.png); }</style>
<script src="${tracker}/script.js"></script>
<script>parent.postMessage('inline script ran', '*'); fetch('${tracker}/fetch');</script>
</head>
<body onload="parent.postMessage('onload ran', '*')">
<h1>Crafted</h1>
<img src="${tracker}/pixel.gif" alt="">
<img src="relative-pixel.gif" alt="">
<img src="x" onerror="parent.postMessage('onerror ran', '*')" alt="">
<img srcset="${tracker}/srcset.png 2x" alt="">
<video poster="${tracker}/poster.png"></video>
<iframe src="${tracker}/frame"></iframe>
<object data="${tracker}/object"></object>
<table background="${tracker}/table.png"><tr><td>cell</td></tr></table>
<form action="${tracker}/collect" method="post"><input name="a" value="b"></form>
<p><a href="${tracker}/link">a link, followed only when clicked</a></p>
</body></html>
`.replace(/\n/g, '\r\n');
}

/**
 * A message whose attachment names try to pass for something else: a path out of the downloads folder, and
 * a right-to-left override that shows `invoice\u202Efdp.exe` as "invoiceexe.pdf" (RFC 2231 encoded).
 */
const HOSTILE_NAMES = [
  'From: a@example.org',
  'To: demo@example.org',
  'Subject: Hostile attachment names',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b"',
  '',
  '--b',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'Two attachments.',
  '--b',
  'Content-Type: application/octet-stream',
  'Content-Disposition: attachment; filename="../../.config/autostart/run.desktop"',
  '',
  'one',
  '--b',
  'Content-Type: application/octet-stream',
  "Content-Disposition: attachment; filename*=utf-8''invoice%E2%80%AEfdp.exe",
  '',
  'two',
  '--b--',
  '',
].join('\r\n');

const sample = readSampleMailbox();
/** The mailbox of the harness: the sample and the crafted message (set up in beforeAll). */
let messages: { uid: string; content: string }[] = [...sample.messages];
/** 1-based number of the message whose raw Subject line matches. */
const numberOf = (subject: RegExp) => {
  const index = messages.findIndex((message) => subject.test(/^Subject: (.*)$/m.exec(Buffer.from(message.content, 'base64').toString('latin1'))?.[1] ?? ''));
  if (index < 0) throw new Error(`no message with a subject like ${subject}`);
  return index + 1;
};

/** A server that records the path of every request it gets. */
async function recordingServer(): Promise<{ origin: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server = createServer((request, response) => {
    paths.push(request.url ?? '');
    response.writeHead(200, { 'content-type': 'text/plain' }).end('tracked');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, paths, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// ─── The harness page ──────────────────────────────────────────────────────────────────────────────────

const HARNESS_ENTRY = `
import { App } from ${JSON.stringify(path.join(PAGE, 'app.ts'))};
import { setLanguage } from ${JSON.stringify(path.join(PAGE, 'i18n.ts'))};
import { mountMailbox } from ${JSON.stringify(path.join(PAGE, 'mailbox-view.ts'))};
import { mountStatus } from ${JSON.stringify(path.join(PAGE, 'status.ts'))};
import { mountViewer } from ${JSON.stringify(path.join(PAGE, 'viewer.ts'))};
const sample = await (await fetch('sample-mailbox.json')).json();
await setLanguage(new URLSearchParams(location.search).get('lang') ?? 'en');
const app = new App(undefined, sample);
mountStatus(document.getElementById('status'));
mountMailbox(document.querySelector('[data-view="mailbox"]'), app);
mountViewer(document.querySelector('[data-view="viewer"]'), app);
globalThis.harness = {
  app,
  async login() {
    await app.connect({ kind: 'offline' });
    await app.run({ verb: 'USER', name: sample.user });
    await app.run({ verb: 'PASS', password: sample.password });
  },
  clientLines: () => app.session.entries.filter((entry) => entry.from === 'client').map((entry) => entry.text),
  drop: () => app.session.drop(),
  messageCount: () => app.offline.messageCount,
};
document.body.dataset.ready = 'true';
`;

const HARNESS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>mailbox harness</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="app.css">
<link rel="stylesheet" href="mailbox.css">
<script type="module" src="harness.js"></script>
</head>
<body>
<p id="status" class="status" role="status" aria-live="polite"></p>
<main class="layout">
<section id="mailbox" class="panel"><h2>Mailbox</h2><div data-view="mailbox"></div></section>
<section id="viewer" class="panel viewer"><h2>Message</h2><div data-view="viewer"></div></section>
</main>
</body>
</html>
`;

/** TypeScript sources as the page's imports name them (`./x.js` for `x.ts`), transpiled without checking. */
function typescriptSources(): Plugin {
  return {
    name: 'typescript-sources',
    resolveId(source, importer) {
      if (source === 'harness-entry') return '\0harness-entry';
      if (importer === undefined || !source.startsWith('.') || !source.endsWith('.js')) return null;
      const candidate = path.resolve(path.dirname(importer), `${source.slice(0, -3)}.ts`);
      return existsSync(candidate) ? candidate : null;
    },
    load: (id) => (id === '\0harness-entry' ? HARNESS_ENTRY : null),
    transform(code, id) {
      if (!id.endsWith('.ts')) return null;
      const output = ts.transpileModule(code, {
        fileName: id,
        compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, verbatimModuleSyntax: true },
      });
      return { code: output.outputText, map: null };
    },
  };
}

async function buildHarness(): Promise<string> {
  const bundle = await rollup({ input: 'harness-entry', plugins: [typescriptSources(), nodeResolve({ browser: true })], logLevel: 'silent' });
  const { output } = await bundle.generate({ format: 'es' });
  await bundle.close();
  return output[0].code;
}

/** Serves the harness; `unexpected` collects every request for a path it does not serve. */
async function serveHarness(script: string): Promise<{ url: string; unexpected: string[]; close(): Promise<void> }> {
  const locales = readLocales();
  const unexpected: string[] = [];
  const files = new Map<string, [string, string | Buffer]>([
    ['/', ['text/html; charset=utf-8', HARNESS_HTML]],
    ['/harness.js', ['text/javascript; charset=utf-8', script]],
    ['/app.css', ['text/css; charset=utf-8', readFileSync(path.join(ROOT, 'demo/static/app.css'))]],
    ['/mailbox.css', ['text/css; charset=utf-8', readFileSync(path.join(ROOT, 'demo/static/mailbox.css'))]],
    ['/sample-mailbox.json', ['application/json', JSON.stringify({ ...sample, messages })]],
    ...Object.entries(locales).map(([lang, strings]): [string, [string, string]] => [`/locales/${lang}.json`, ['application/json', JSON.stringify(strings)]]),
  ]);
  const server: Server = createServer((request, response) => {
    const file = files.get(new URL(request.url ?? '/', 'http://x').pathname);
    if (file === undefined) {
      unexpected.push(request.url ?? '');
      response.writeHead(404).end();
    } else {
      response.writeHead(200, { 'content-type': file[0] }).end(file[1]);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, unexpected, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

// ─── Helpers ───────────────────────────────────────────────────────────────────────────────────────────

/** expect.poll with room for a slow machine (its default gives up after a second). */
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 10_000 });

const row = (page: Page, number: number) => page.locator(`.mailbox-item[data-number="${number}"]`);

async function loadList(page: Page): Promise<void> {
  await page.evaluate(() => (globalThis as unknown as { harness: { login(): Promise<void> } }).harness.login());
  await page.locator('.mailbox-load').click();
  await poll(() => page.locator('.mailbox-item').count()).toBe(messages.length);
  await poll(() => page.locator('.mailbox-subject.muted').count()).toBe(0);
}

const harnessCall = <T>(page: Page, name: 'clientLines' | 'drop' | 'messageCount') =>
  page.evaluate((fn) => (globalThis as unknown as { harness: Record<string, () => unknown> }).harness[fn]!(), name) as Promise<T>;

// ─── Tests ─────────────────────────────────────────────────────────────────────────────────────────────

describe('mailbox and viewer in Chromium (the real views, App and offline server)', () => {
  let server: { url: string; unexpected: string[]; close(): Promise<void> };
  let tracker: Awaited<ReturnType<typeof recordingServer>>;
  let demo: DemoPage | undefined;

  beforeAll(async () => {
    tracker = await recordingServer();
    const crafted = { uid: 'crafted-remote-1', content: Buffer.from(craftedMessage(tracker.origin)).toString('base64') };
    const hostileNames = { uid: 'hostile-names-1', content: Buffer.from(HOSTILE_NAMES).toString('base64') };
    messages = [...sample.messages, crafted, hostileNames];
    server = await serveHarness(await buildHarness());
  }, 60_000);
  afterAll(async () => {
    await server?.close();
    await tracker?.close();
  });
  afterEach(async () => {
    await demo?.close();
    demo = undefined;
  });

  it('loads the list with LIST and UIDL, then TOP n 0 for each: subjects, senders, sizes and UIDs show', async () => {
    demo = await openDemoPage(server.url);
    const { page } = demo;
    await poll(() => page.locator('.mailbox-hint').textContent()).toMatch(/Connect and log in/);
    expect(await page.locator('.mailbox-load').getAttribute('aria-disabled')).toBe('true');
    await loadList(page);

    const lines = await harnessCall<string[]>(page, 'clientLines');
    expect(lines.slice(2, 4)).toEqual(['LIST', 'UIDL']);
    expect(lines.slice(4)).toEqual(messages.map((_, index) => `TOP ${index + 1} 0`));

    const german = row(page, numberOf(/Sommerfest/));
    await poll(() => german.locator('.mailbox-subject').textContent()).toBe('Einladung zum Sommerfest – Grüße aus dem Büro');
    expect(await german.locator('.mailbox-from').textContent()).toBe('From: Jürgen Müller');
    expect(await german.locator('.mailbox-uid').textContent()).toBe(`UID ${sample.messages[numberOf(/Sommerfest/) - 1]!.uid}`);
    expect(await row(page, numberOf(/Access log/)).locator('.mailbox-size').textContent()).toBe('1.3 MB');
    expect(await page.locator('.mailbox-summary').textContent()).toMatch(new RegExp(`^${messages.length} messages, `));
    expect(await row(page, 1).locator('.mailbox-headers').textContent()).toBe('Header, message 1TOP 1 0');
  });

  it('DELE strikes a message out, RSET restores it, QUIT +OK shows it deleted by the server', async () => {
    demo = await openDemoPage(server.url);
    const { page } = demo;
    await loadList(page);
    const before = await harnessCall<number>(page, 'messageCount');

    await row(page, 2).locator('.mailbox-delete').click();
    await poll(() => row(page, 2).getAttribute('data-deletion')).toBe('marked');
    expect(await row(page, 2).locator('.mailbox-state').textContent()).toMatch(/Marked for deletion/);
    const decoration = await row(page, 2).locator('.mailbox-subject').evaluate((element) => getComputedStyle(element).textDecorationLine);
    expect(decoration).toContain('line-through');
    expect(await row(page, 2).locator('.mailbox-open').getAttribute('aria-disabled')).toBe('true');
    expect(await page.locator('.mailbox-summary').textContent()).toMatch(/1 marked for deletion/);
    expect(await page.locator('#status').textContent()).toBe('Message 2 is marked for deletion.');

    // The keyboard works as well: focus stays on the (now unusable) button.
    await row(page, 3).locator('.mailbox-delete').focus();
    await page.keyboard.press('Enter');
    await poll(() => row(page, 3).getAttribute('data-deletion')).toBe('marked');
    expect(await page.evaluate(() => document.activeElement?.classList.contains('mailbox-delete'))).toBe(true);

    await page.locator('.mailbox-rset').click();
    await poll(() => row(page, 2).getAttribute('data-deletion')).toBe('kept');
    expect(await row(page, 3).getAttribute('data-deletion')).toBe('kept');
    expect(await row(page, 2).locator('.mailbox-state').isHidden()).toBe(true);

    await row(page, 2).locator('.mailbox-delete').click();
    await poll(() => row(page, 2).getAttribute('data-deletion')).toBe('marked');
    await page.locator('.mailbox-quit').click();
    await poll(() => row(page, 2).getAttribute('data-deletion')).toBe('deleted');
    expect(await row(page, 2).locator('.mailbox-state').textContent()).toMatch(/Deleted: the server removed it at QUIT, in the UPDATE state/);
    expect(await row(page, 2).locator('.mailbox-actions').isHidden()).toBe(true);
    expect(await page.locator('.mailbox-ending').textContent()).toMatch(/UPDATE state and deleted the message marked for deletion/);
    expect(await row(page, 3).getAttribute('data-deletion')).toBe('kept');
    expect(await harnessCall<number>(page, 'messageCount')).toBe(before - 1);
    expect(await page.locator('.mailbox-load').getAttribute('aria-disabled')).toBe('true');
  });

  it('a connection that drops without QUIT deletes nothing: the marks are dropped', async () => {
    demo = await openDemoPage(server.url);
    const { page } = demo;
    await loadList(page);
    await row(page, 1).locator('.mailbox-delete').click();
    await poll(() => row(page, 1).getAttribute('data-deletion')).toBe('marked');
    await harnessCall(page, 'drop');
    await poll(() => row(page, 1).getAttribute('data-deletion')).toBe('kept');
    expect(await page.locator('.mailbox-ending').textContent()).toMatch(/ended without QUIT.*deleted nothing/);
    expect(await harnessCall<number>(page, 'messageCount')).toBe(messages.length);
  });

  it('opens the message with an attachment and downloads it through a blob URL that is revoked', async () => {
    demo = await openDemoPage(server.url);
    const { page } = demo;
    await loadList(page);
    const number = numberOf(/New icon/);
    await row(page, number).locator('.mailbox-open').click();
    const article = page.locator('article.message');
    await poll(() => article.locator('.message-subject').textContent()).toBe('New icon for the mail app (draft 2)');
    expect(await article.locator('.message-from dd').textContent()).toBe('Carol White <carol.white@example.net>');
    expect(await article.locator('.message-id dd').textContent()).toBe('<logo-draft-2@example.net>');
    expect(await article.locator('.message-text').textContent()).toContain('second draft of the envelope icon');
    expect(await article.locator('.message-attachments h4').textContent()).toBe('Attachments (1)');
    expect(await article.locator('.attachment-name').textContent()).toBe('envelope-icon.png');
    expect(await article.locator('.attachment-details').textContent()).toBe('image/png, 186 bytes');
    expect(await row(page, number).locator('.mailbox-read').isVisible()).toBe(true);
    expect(await row(page, number).locator('.mailbox-state').textContent()).toBe('Retrieved (RETR).');

    await page.evaluate(() => {
      const revoked: string[] = ((globalThis as unknown as { revoked: string[] }).revoked = []);
      const revoke = URL.revokeObjectURL.bind(URL);
      URL.revokeObjectURL = (url: string) => {
        revoked.push(url);
        revoke(url);
      };
    });
    const [download] = await Promise.all([page.waitForEvent('download'), article.locator('.attachment-download').click()]);
    expect(download.suggestedFilename()).toBe('envelope-icon.png');
    expect(download.url()).toMatch(/^blob:/);
    const saved = readFileSync((await download.path())!);
    expect([...saved.subarray(0, 4)]).toEqual([0x89, 0x50, 0x4e, 0x47]);
    await poll(() => page.evaluate(() => (globalThis as unknown as { revoked: string[] }).revoked)).toEqual([download.url()]);

    // The raw source, as text.
    await article.locator('.message-raw-toggle').click();
    expect(await article.locator('.message-raw-toggle').getAttribute('aria-expanded')).toBe('true');
    expect(await article.locator('.message-raw-text').textContent()).toContain('Content-Disposition: attachment; filename="envelope-icon.png"');
  });

  it('shows and saves attachment names without their path or invisible reordering characters', async () => {
    demo = await openDemoPage(server.url);
    const { page } = demo;
    await loadList(page);
    await row(page, numberOf(/^Hostile attachment names/)).locator('.mailbox-open').click();
    const article = page.locator('article.message');
    await poll(() => article.locator('.attachment-name').allTextContents()).toEqual(['run.desktop', 'invoicefdp.exe']);
    const [download] = await Promise.all([page.waitForEvent('download'), article.locator('.attachment-download').first().click()]);
    expect(download.suggestedFilename()).toBe('run.desktop');
    const [second] = await Promise.all([page.waitForEvent('download'), article.locator('.attachment-download').nth(1).click()]);
    expect(second.suggestedFilename()).toBe('invoicefdp.exe');
  });

  it('shows the progress of the 1.3 MB download against the size from LIST', async () => {
    demo = await openDemoPage(server.url);
    const { page } = demo;
    await loadList(page);
    const number = numberOf(/Access log/);
    const size = await row(page, number).locator('.mailbox-size').getAttribute('title');
    await page.evaluate(() => {
      const seen: [number, number][] = ((globalThis as unknown as { seen: [number, number][] }).seen = []);
      const bar = document.querySelector('progress.mailbox-progress-bar') as HTMLProgressElement;
      new MutationObserver(() => seen.push([bar.value, bar.max])).observe(bar, { attributes: true });
    });
    await row(page, number).locator('.mailbox-open').click();
    await poll(() => page.locator('.mailbox-progress').getAttribute('data-done')).toBe('ok');
    expect(await page.locator('.mailbox-progress-label').textContent()).toBe(`Downloading message ${number} (RETR ${number})`);
    expect(await page.locator('.mailbox-progress-text').textContent()).toBe(`Message ${number} received: 1.3 MB.`);
    const seen = await page.evaluate(() => (globalThis as unknown as { seen: [number, number][] }).seen);
    const octets = Number(size!.replace(/\D/g, ''));
    const partial = seen.filter(([value, max]) => max === octets && value > 0 && value < max);
    expect(partial.length).toBeGreaterThan(2);
    await poll(() => page.locator('article.message .attachment-name').textContent()).toBe('web-03-access-2023-11-01.log');
    expect(await page.locator('article.message .attachment-details').textContent()).toMatch(/^text\/plain, 1\.3 MB$/);
  });

  /** Collect what the page receives by postMessage (a script in the frame could still do that). */
  const listenForMessages = (page: Page) =>
    page.evaluate(() => {
      const received: unknown[] = ((globalThis as unknown as { received: unknown[] }).received = []);
      addEventListener('message', (event) => received.push(event.data));
    });
  const received = (page: Page) => page.evaluate(() => (globalThis as unknown as { received: unknown[] }).received);

  it('shows the hostile HTML message of the sample in a sandboxed frame where no script runs', async () => {
    demo = await openDemoPage(server.url);
    const { page } = demo;
    await listenForMessages(page);
    await loadList(page);
    server.unexpected.length = 0;
    const number = numberOf(/confirm your account/);
    await row(page, number).locator('.mailbox-open').click();
    const frame = page.locator('article.message iframe.message-html');
    await frame.waitFor();

    const sandbox = (await frame.getAttribute('sandbox'))!.split(/\s+/);
    expect(sandbox).not.toContain('allow-scripts');
    expect(sandbox).not.toContain('allow-same-origin');
    expect(await frame.getAttribute('srcdoc')).toMatch(/^<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data: cid:;/);
    expect(await page.locator('.message-remote-blocked').textContent()).toMatch(/^Remote content blocked: 4 /);
    expect(await page.locator('.message-scripts-blocked').textContent()).toMatch(/^Scripts blocked: 3 /);

    // The frame did load its document (its text is there), and had time to try everything in it.
    const content = page.frameLocator('article.message iframe.message-html');
    expect(await content.locator('h1').textContent()).toBe('Confirm your account');
    await page.waitForTimeout(1000);
    expect(await received(page)).toEqual([]);
    expect(await content.locator('body').getAttribute('data-ran')).toBeNull();
    expect(await page.frames().find((f) => f.url() === 'about:srcdoc')?.title()).not.toBe('script ran');
    // Its <img src="x"> would be fetched from the page's own server.
    expect(server.unexpected).toEqual([]);
    // The text part is one click away.
    await page.locator('.message-part[data-part="text"]').click();
    expect(await page.locator('article.message .message-text').textContent()).toContain('This is a sample of a hostile message');
    expect(await page.locator('.message-part[data-part="text"]').getAttribute('aria-pressed')).toBe('true');
  });

  it('fetches nothing a crafted HTML message points to: images, styles, fonts, scripts, frames, refresh', async () => {
    demo = await openDemoPage(server.url);
    const { page } = demo;
    await listenForMessages(page);
    await loadList(page);
    server.unexpected.length = 0;
    tracker.paths.length = 0;
    await row(page, numberOf(/^Crafted/)).locator('.mailbox-open').click();
    const content = page.frameLocator('article.message iframe.message-html');
    expect(await content.locator('h1').textContent()).toBe('Crafted');
    expect(await page.locator('.message-remote-blocked').textContent()).toMatch(/^Remote content blocked: \d+ /);
    await page.waitForTimeout(1500);
    expect(tracker.paths).toEqual([]);
    expect(server.unexpected).toEqual([]);
    expect(await received(page)).toEqual([]);
    // Still showing the message: the refresh did not navigate the frame away.
    expect(await content.locator('h1').textContent()).toBe('Crafted');
  });

  it('speaks German, and fits a 360 px phone screen', async () => {
    demo = await openDemoPage(`${server.url}?lang=de`, { viewport: { width: 360, height: 740 }, locale: 'de-DE' });
    const { page } = demo;
    await loadList(page);
    expect(await page.locator('.mailbox-load .mailbox-button-label').textContent()).toBe('Liste laden');
    expect(await page.locator('.mailbox-summary').textContent()).toMatch(new RegExp(`^${messages.length} Nachrichten, `));
    expect(await row(page, numberOf(/Access log/)).locator('.mailbox-size').textContent()).toBe('1,3 MB');
    await row(page, 1).locator('.mailbox-delete').click();
    await poll(() => row(page, 1).locator('.mailbox-state').textContent()).toMatch(/^Zum Löschen markiert/);
    await row(page, numberOf(/newsletter/)).locator('.mailbox-open').click();
    // The newsletter's HTML part, rendered in its frame (the sandbox keeps styles and layout).
    expect(await page.frameLocator('article.message iframe.message-html').locator('h1').textContent()).toMatch(/^Example Cycling Club . November newsletter$/);
    expect(await page.locator('.message-headers dt').first().textContent()).toBe('Von');
    const overflow = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, width: innerWidth }));
    expect(overflow.page).toBeLessThanOrEqual(overflow.width);
    for (const selector of ['[data-view="mailbox"]', '[data-view="viewer"]']) {
      const box = await page.locator(selector).boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(360);
    }
    const buttons = await row(page, 2).locator('.mailbox-actions button').all();
    for (const control of buttons) {
      const box = await control.boundingBox();
      expect(box!.x + box!.width).toBeLessThanOrEqual(360);
      expect(box!.height).toBeGreaterThanOrEqual(32);
    }
  });
});

describe('mailbox and viewer on the built page (dist/demo)', () => {
  it.skipIf(!existsSync(DEMO_ROOT))('mount in their empty state; once logged in through the page, list, strike out and open', async () => {
    const server = await serveDemoStatic();
    const demo = await openDemoPage(server.url);
    try {
      const { page } = demo;
      const mailbox = page.locator('[data-view="mailbox"]');
      expect(await mailbox.locator('.mailbox-hint').textContent()).toMatch(/^Connect and log in/);
      expect(await mailbox.locator('.mailbox-load').getAttribute('aria-disabled')).toBe('true');
      expect(await page.locator('[data-view="viewer"] .viewer-status').textContent()).toMatch(/^No message open yet/);

      // The rest through the page's own connect panel and command palette, when they are there.
      const connect = page.locator('[data-testid="connect-button"]');
      if ((await connect.count()) === 0) return;
      await page.locator('[data-testid="connect-place"]').selectOption('offline');
      await connect.click();
      await poll(() => mailbox.locator('.mailbox-hint').textContent()).toMatch(/^Log in first/);
      expect(await mailbox.locator('.mailbox-quit').getAttribute('aria-disabled')).toBe('false');
      const user = page.locator('form[data-verb="USER"]');
      const pass = page.locator('form[data-verb="PASS"]');
      if ((await user.count()) === 0 || (await pass.count()) === 0) return;
      await user.locator('input[name="name"]').fill(sample.user);
      await user.locator('button[type="submit"]').click();
      await poll(() => pass.locator('button[type="submit"]').isDisabled()).toBe(false);
      await pass.locator('input[name="password"]').fill(sample.password);
      await pass.locator('button[type="submit"]').click();
      await poll(() => mailbox.locator('.mailbox-load').getAttribute('aria-disabled')).toBe('false');

      await mailbox.locator('.mailbox-load').click();
      await poll(() => mailbox.locator('.mailbox-item').count()).toBe(sample.messages.length);
      await poll(() => mailbox.locator('.mailbox-subject.muted').count()).toBe(0);
      await row(page, 2).locator('.mailbox-delete').click();
      await poll(() => row(page, 2).getAttribute('data-deletion')).toBe('marked');
      await mailbox.locator('.mailbox-rset').click();
      await poll(() => row(page, 2).getAttribute('data-deletion')).toBe('kept');
      await row(page, numberOf(/New icon/)).locator('.mailbox-open').click();
      await poll(() => page.locator('[data-view="viewer"] .attachment-name').textContent()).toBe('envelope-icon.png');
      // What the buttons sent is in the page's transcript.
      const transcript = (await page.locator('[data-view="transcript"]').textContent()) ?? '';
      for (const line of ['LIST', 'UIDL', 'TOP 1 0', 'DELE 2', 'RSET', `RETR ${numberOf(/New icon/)}`]) expect(transcript).toContain(line);
    } finally {
      await demo.close();
      await server.close();
    }
  });
});
