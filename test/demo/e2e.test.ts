/**
 * The demo as a newcomer meets it, in Chromium: `npm start` in a clean copy of the repository, then the guided
 * lesson end to end through the proxy to the embedded server and again offline; a message with an attachment
 * opened; the hostile HTML message shown without running anything; no password anywhere in the page or its
 * console; and recovery without a reload from a stopped server, a refused proxy connection and a wrong
 * password. Screenshots of each main view go to .reports/screenshots/ (desktop and phone, English and German).
 */
import { mkdirSync } from 'node:fs';
import type { Locator, Page } from 'playwright';
import { afterAll, describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { npmStartInCleanCopy } from '../support/clean-checkout.js';
import { consoleProblems, DemoPages, startDemoServer } from '../support/demo-page.js';

const SCREENSHOTS = new URL('../../.reports/screenshots/', import.meta.url);
mkdirSync(SCREENSHOTS, { recursive: true });
const COUNT = readSampleMailbox().messages.length;
const pages = new DemoPages();

afterAll(async () => {
  await pages.closeAll();
});

async function shot(target: Page | Locator, name: string): Promise<void> {
  const path = new URL(`${name}.png`, SCREENSHOTS).pathname;
  if ('goto' in target) await target.screenshot({ path, fullPage: true });
  else await target.screenshot({ path });
}

const summary = (page: Page) => page.getByTestId('state-summary');
const palette = (page: Page) => page.getByTestId('palette');
const form = (page: Page, verb: string) => palette(page).getByRole('form', { name: verb, exact: true });
const commandButton = (page: Page, verb: string) => form(page, verb).getByRole('button', { name: verb, exact: true });
const learn = (page: Page) => page.locator('#learn');

/**
 * Runs the guided lesson with "do it for me" from where it stands (a session already open counts as step 1
 * done) to the end, and checks that QUIT committed one deletion.
 */
async function runLesson(page: Page): Promise<void> {
  const panel = learn(page);
  const progress = panel.locator('.learn-progress');
  await panel.getByRole('tab', { name: 'Lesson', exact: true }).click();
  if (await panel.locator('.learn-restart').isVisible()) await panel.locator('.learn-restart').click();
  // Each click does the step shown; the lesson then moves on by itself.
  for (let clicks = 0; clicks < 14; clicks++) {
    const before = await progress.textContent();
    if (before === 'All 14 steps done.') break;
    expect(before).toMatch(/^Step \d+ of 14: /);
    await panel.locator('.learn-do-it').click();
    await expect.poll(() => progress.textContent(), { timeout: 15_000 }).not.toBe(before);
  }
  await expect.poll(() => progress.textContent(), { timeout: 15_000 }).toBe('All 14 steps done.');
  expect(await panel.locator('.learn-step-extra').textContent()).toContain(`The mailbox now holds ${COUNT - 1} messages.`);
  expect(await page.locator('#transcript [role="log"]').textContent()).toMatch(/QUIT[\s\S]*\+OK/);
}

async function choosePlace(page: Page, value: string | RegExp): Promise<void> {
  const select = page.getByTestId('connect-place');
  if (typeof value === 'string') await select.selectOption(value);
  else {
    const options = await select.locator('option').evaluateAll((all) => all.map((o) => ({ value: (o as HTMLOptionElement).value, text: o.textContent ?? '' })));
    const found = options.find((option) => value.test(option.text) || value.test(option.value));
    if (found === undefined) throw new Error(`no place matches ${value}: ${JSON.stringify(options)}`);
    await select.selectOption(found.value);
  }
}

async function connect(page: Page): Promise<void> {
  await page.getByTestId('connect-button').click();
  await expect.poll(() => summary(page).textContent(), { timeout: 15_000 }).toContain('Current state: AUTHORIZATION');
}

async function login(page: Page, password: string): Promise<void> {
  await form(page, 'USER').getByLabel('User name').fill('demo');
  await commandButton(page, 'USER').click();
  await commandButton(page, 'PASS').waitFor();
  await form(page, 'PASS').getByLabel('Password').fill(password);
  await commandButton(page, 'PASS').click();
}

describe('the demo end to end', () => {
  it('npm start in a clean checkout: the lesson through the proxy, then offline; messages, the hostile one safe; screenshots', { timeout: 240_000 }, async () => {
    const started = await npmStartInCleanCopy(['--port', '0', '--proxy-port', '0', '--pop3-port', '0']);
    try {
      expect(started.output()).toMatch(/POP3 server\s+pop3:\/\/127\.0\.0\.1:\d+ \(sample mailbox, user demo, password demo\)/);
      const demo = await pages.open(started.url);
      const { page } = demo;
      await shot(page, 'desktop-start');

      // The embedded server through the proxy is preselected; the lesson runs to QUIT against it.
      expect(await page.getByTestId('connect-place').inputValue()).not.toBe('offline');
      await runLesson(page);
      await shot(page, 'desktop-lesson-done-proxy');
      await shot(page.locator('#state'), 'view-state-diagram');
      await shot(page.locator('#transcript'), 'view-transcript');

      // Explain a line: the greeting, with its RFC and bytes.
      await page.locator('#transcript [role="log"] button').first().click();
      await expect.poll(() => page.locator('#explain').textContent()).toMatch(/RFC 1939/);
      await shot(page.locator('#explain'), 'view-explain');

      // A new session through the proxy: capabilities, the mailbox list, the attachment, the hostile message.
      await page.getByTestId('reset-button').click();
      await connect(page);
      await commandButton(page, 'CAPA').click();
      await expect.poll(() => page.locator('#capabilities').textContent()).toMatch(/PIPELINING/);
      await shot(page.locator('#capabilities'), 'view-capabilities');
      await login(page, 'demo');
      await expect.poll(() => summary(page).textContent()).toContain('Current state: TRANSACTION');
      await shot(page.locator('#palette'), 'view-palette');
      const mailbox = page.locator('#mailbox');
      await mailbox.getByRole('button', { name: /Load list/ }).click();
      await expect.poll(() => mailbox.locator('[data-number]').count(), { timeout: 15_000 }).toBe(COUNT);
      await expect.poll(() => mailbox.textContent(), { timeout: 15_000 }).toContain('New icon for the mail app');
      await shot(mailbox, 'view-mailbox');

      const row = (subject: RegExp) => mailbox.locator('[data-number]').filter({ hasText: subject });
      await row(/New icon for the mail app/).getByRole('button', { name: /^Open/ }).click();
      const viewer = page.locator('#viewer');
      await expect.poll(() => viewer.textContent(), { timeout: 15_000 }).toMatch(/\.png/i);
      expect(await viewer.getByRole('button', { name: /Download/ }).count()).toBeGreaterThan(0);
      await shot(viewer, 'view-message-attachment');

      // The hostile message: its scripts and handlers would post to the page; nothing may arrive.
      await page.evaluate(() => {
        const seen: unknown[] = [];
        (globalThis as { seenMessages?: unknown[] }).seenMessages = seen;
        window.addEventListener('message', (event) => seen.push(event.data));
      });
      await row(/Action required/).getByRole('button', { name: /^Open/ }).click();
      const frame = viewer.locator('iframe');
      await frame.waitFor();
      const sandbox = (await frame.getAttribute('sandbox')) ?? '';
      expect(sandbox).not.toContain('allow-scripts');
      expect(sandbox).not.toContain('allow-same-origin');
      expect(await frame.getAttribute('srcdoc')).toMatch(/Content-Security-Policy/i);
      await page.waitForTimeout(500);
      expect(await page.evaluate(() => (globalThis as { seenMessages?: unknown[] }).seenMessages)).toEqual([]);
      expect(await viewer.textContent()).toMatch(/Remote content blocked/);
      await shot(viewer, 'view-message-hostile-html');

      // The learn panel's other tabs.
      await learn(page).getByRole('tab', { name: 'Break it' }).click();
      await shot(learn(page), 'view-break-it');
      await learn(page).getByRole('tab', { name: 'Share' }).click();
      await shot(learn(page), 'view-share');
      await shot(page.locator('#connect'), 'view-connect');

      // The lesson again, offline: the client and server engines in the page, no network.
      await choosePlace(page, 'offline');
      await connect(page);
      await runLesson(page);
      expect(await page.locator('#transcript [role="log"]').textContent()).toContain('offline.pop3kit.invalid');

      // Phone width, German.
      await page.setViewportSize({ width: 375, height: 800 });
      await page.locator('#language').selectOption('de');
      await expect.poll(() => page.locator('h1').textContent()).toBe('POP3 lernen, indem man es tut');
      await shot(page, 'phone-de');
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
      expect(overflow).toBeLessThanOrEqual(0);

      // Opening the hostile message makes Chromium report what it blocked; nothing else may go wrong.
      expect(consoleProblems(demo, [/Content.Security.Policy|sandbox|Blocked script execution/i])).toEqual([]);
    } finally {
      await started.stop();
    }
  });

  it('recovers without a reload: a stopped server, a refused proxy connection, a wrong password; no password leaks', { timeout: 120_000 }, async () => {
    const running = await startDemoServer();
    try {
      const demo = await pages.open(running.url);
      const { page } = demo;
      const status = page.getByTestId('connect-status');

      // A stopped embedded server: the proxy cannot reach it, and the page says so.
      await running.stopPop3();
      await page.getByTestId('connect-button').click();
      await expect.poll(() => status.textContent(), { timeout: 15_000 }).toMatch(/Could not connect/);
      expect(await page.locator('#status').textContent()).toMatch(/Could not connect/);
      await shot(page.locator('#connect'), 'failure-server-stopped');
      await running.startPop3();
      await connect(page);
      await page.getByTestId('disconnect-button').click();

      // A refused proxy connection: a target the proxy does not allow (the page is given it on purpose).
      await page.route('**/demo-config.json', async (route) => {
        const config = (await (await route.fetch()).json()) as { targets: object[] };
        config.targets.push({ target: '127.0.0.1:9', label: 'Not allowed', embedded: false, tls: false });
        await route.fulfill({ json: config });
      });
      // The configuration is read at start: reloading here is the test's own doing, not recovery.
      await page.reload();
      await page.waitForSelector('body[data-ready="true"]');
      await choosePlace(page, /Not allowed/);
      await page.getByTestId('connect-button').click();
      await expect.poll(() => status.textContent(), { timeout: 15_000 }).toMatch(/not allow/i);
      await shot(page.locator('#connect'), 'failure-proxy-refused');
      await choosePlace(page, /127\.0\.0\.1:\d+.*(plain|Embedded)|Embedded/);
      await connect(page);

      // A wrong password: -ERR [AUTH] explained; then the right one works in a new session.
      const secret = 'Wr0ng-Secret-pw!';
      await login(page, secret);
      await expect.poll(() => page.getByTestId('palette-outcome').textContent(), { timeout: 15_000 }).toMatch(/AUTH/);
      await shot(page.locator('#palette'), 'failure-wrong-password');
      expect(await summary(page).textContent()).toContain('Current state: AUTHORIZATION');
      await login(page, 'demo');
      await expect.poll(() => summary(page).textContent(), { timeout: 15_000 }).toContain('Current state: TRANSACTION');

      // The typed password is nowhere: not in the DOM (attributes, text, field values), the URL, storage or console.
      const everything = await page.evaluate(() => {
        const values = [...document.querySelectorAll('input, textarea')].map((field) => (field as HTMLInputElement).value);
        const frames = [...document.querySelectorAll('iframe')].map((frame) => frame.getAttribute('srcdoc') ?? '');
        return [document.documentElement.outerHTML, ...values, ...frames, location.href, JSON.stringify({ ...localStorage }), JSON.stringify({ ...sessionStorage })].join('\n');
      });
      expect(everything).not.toContain(secret);
      expect(demo.console.join('\n')).not.toContain(secret);
      expect(consoleProblems(demo, [/WebSocket|ERR_CONNECTION_REFUSED|status of 4\d\d/])).toEqual([]);
    } finally {
      await running.close();
    }
  });
});
