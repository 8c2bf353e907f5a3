/**
 * Sharing in Chromium, on the built page in offline mode (dist/demo, served alone): a `#replay=` link made
 * here in Node replays in the page, line for line what the same replay gives in Node (the seeded APOP
 * greeting included), and the page's own share link for the replayed session is the link it was opened
 * with; a malformed link is explained in the status line and the page still works (a good link pasted
 * afterwards replays). The Share tab: the export follows the format chosen with the keyboard, copy falls
 * back to selecting the text, download saves the file, and nothing overflows at 360 px.
 *
 * POP3KIT_DEMO_ROOT serves another build of the page instead of dist/demo (to try changes not yet merged).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { OfflineServer, type SampleMailbox } from '../../demo/page/offline-server.js';
import { decodeReplay, encodeReplay, type Replay, replayInto } from '../../demo/page/replay.js';
import type { DemoCommand, TranscriptEntry } from '../../demo/page/session.js';
import { DemoSession } from '../../demo/page/session.js';
import { consoleProblems, type DemoPage, type DemoPageOptions, DemoPages, serveDemoStatic } from '../support/demo-page.js';

const sample = readSampleMailbox() as SampleMailbox;

const COMMANDS: DemoCommand[] = [
  { verb: 'CAPA' },
  { verb: 'APOP', name: 'demo', password: '*' },
  { verb: 'STAT' },
  { verb: 'LIST', message: 2 },
  { verb: 'UIDL', message: 7 },
  { verb: 'TOP', message: 7, lines: 1 },
  { verb: 'RETR', message: 99 },
  { verb: 'DELE', message: 1 },
  { verb: 'QUIT' },
];
const REPLAY: Replay = { seed: 4242, ownSeed: true, fromProxy: false, commands: COMMANDS };
const VALUE = encodeReplay(REPLAY);

/** The status line's text, once it matches `pattern`. */
async function waitForStatus(demo: DemoPage, pattern: RegExp): Promise<string> {
  await demo.page.waitForFunction((source) => new RegExp(source).test(document.getElementById('status')?.textContent ?? ''), pattern.source, { timeout: 15_000 });
  return (await demo.page.textContent('#status')) ?? '';
}

/** The lines a replay in Node shows, which the page's transcript must show in the same order. */
let expected: TranscriptEntry[] = [];
let site: { url: string; close(): Promise<void> };
const pages = new DemoPages();

beforeAll(async () => {
  const { session } = await replayInto(decodeReplay(VALUE), (seed) => DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed }), sample);
  expected = session.entries.filter((e) => e.from !== 'local' && e.kind !== 'body' && e.kind !== 'listing');
  session.close();
  const root = process.env.POP3KIT_DEMO_ROOT;
  site = await serveDemoStatic(root === undefined ? undefined : path.resolve(root));
  // Fail fast, and say why, when the page never looks at its fragment (the bundle drops unused functions).
  const script = await (await fetch(`${site.url}app.js`)).text();
  if (!script.includes('startReplayFromLocation')) throw new Error('the page does not call startReplayFromLocation(app) (demo/page/main.ts): replay links cannot work');
});

afterAll(async () => {
  try {
    await pages.closeAll();
  } finally {
    await site?.close();
  }
});

const open = (hash: string, options: DemoPageOptions = {}): Promise<DemoPage> => pages.open(`${site.url}${hash}`, options);

/** The transcript's text, once every expected line is in it, in order. */
async function transcriptHas(demo: DemoPage, lines: readonly string[]): Promise<string> {
  await demo.page.waitForFunction(
    (wanted) => {
      const text = document.querySelector('[role=log]')?.textContent ?? '';
      let at = 0;
      for (const line of wanted) {
        const found = text.indexOf(line, at);
        if (found < 0) return false;
        at = found + line.length;
      }
      return true;
    },
    lines,
    { timeout: 15_000 },
  );
  return (await demo.page.textContent('[role=log]')) ?? '';
}

describe('sharing in the page', () => {
  it('replays a #replay= link offline, line for line as in Node, and shares the same link again', async () => {
    const demo = await open(`#replay=${VALUE}`);
    await demo.page.waitForSelector('body[data-replay="done"]', { timeout: 15_000 });
    const status = await waitForStatus(demo, /9 of 9/);
    expect(status).toMatch(/Replay finished: 9 of 9 commands sent/);

    const lines = expected.map((e) => e.text);
    expect(lines[0]).toMatch(/^\+OK .*<[^>]+@offline\.pop3kit\.invalid>$/);
    // The greeting's timestamp depends on the seed: the same in Node and in the page. The APOP digest made
    // from it is redacted like a password.
    expect(lines).toContain('APOP demo [redacted]');
    expect(lines.some((line) => line.startsWith('-ERR'))).toBe(true); // RETR 99
    await transcriptHas(demo, lines);

    // The Share tab offers the link of the replayed session: the very link the page was opened with.
    const link = await demo.page.inputValue('[data-share="link"]');
    expect(link).toBe(`${site.url}#replay=${VALUE}`);
    // The export redacts even the APOP digest (it allows guessing the password offline).
    const exported = await demo.page.$eval('[data-share="text"]', (area) => (area as HTMLTextAreaElement).value);
    expect(exported).toContain('C: APOP demo [redacted]');
    expect(exported).not.toMatch(/APOP demo [0-9a-f]{32}/);
    // (demo-config.json is missing when the page is served alone: that 404 is expected.)
    expect(consoleProblems(demo, [/status of 404/])).toEqual([]);
  });

  it('gives the same transcript on a second load of the same link', async () => {
    const demo = await open(`#replay=${VALUE}`);
    await demo.page.waitForSelector('body[data-replay="done"]', { timeout: 15_000 });
    await transcriptHas(demo, expected.map((e) => e.text));
    const text = await demo.page.$eval('[data-share="text"]', (area) => (area as HTMLTextAreaElement).value);
    expect(text.split('\n')[0]).toBe(`S: ${expected[0]!.text}`);
  });

  it('explains a malformed link in the status line, and the page still works', async () => {
    for (const [hash, reason] of [
      ['#replay=2.AAAA', /another version of this page \(format 2\)/],
      ['#replay=1.KgICDA', /cut off/],
      ['#replay=1.%%%', /not in the link format/],
      ['#replay=1.AAABEQ', /a command this page does not know/],
    ] as const) {
      const demo = await open(hash);
      await demo.page.waitForSelector('body[data-replay="failed"]', { timeout: 15_000 });
      const status = await waitForStatus(demo, /cannot be used/);
      expect(status).toMatch(reason);
      expect(await demo.page.getAttribute('#status', 'data-kind')).toBe('error');
      expect(demo.console.filter((line) => line.startsWith('pageerror'))).toEqual([]);
      await demo.close();
    }

    // Still working: a good link pasted into the address bar afterwards replays (no reload needed).
    const demo = await open('#replay=not-a-link');
    await demo.page.waitForSelector('body[data-replay="failed"]');
    await demo.page.evaluate((value) => (location.hash = `#replay=${value}`), VALUE);
    await demo.page.waitForSelector('body[data-replay="done"]', { timeout: 15_000 });
    await transcriptHas(demo, expected.map((e) => e.text));
  });

  it('Share tab: keyboard format choice, copy with the clipboard or by selection, download', async () => {
    const demo = await open(`#replay=${VALUE}`);
    const { page } = demo;
    await page.waitForSelector('body[data-replay="done"]', { timeout: 15_000 });
    await page.click('#learn-tab-share');
    await page.waitForFunction(() => (document.querySelector<HTMLTextAreaElement>('[data-share="text"]')?.value ?? '').includes('C: QUIT'));

    // The format select, by keyboard: down once is the session by hand, then Python.
    await page.focus('[data-share="format"]');
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('[data-share="text"]')!.value.includes('$ nc -C 127.0.0.1 11110'));
    await page.keyboard.press('ArrowDown');
    await page.waitForFunction(() => document.querySelector<HTMLTextAreaElement>('[data-share="text"]')!.value.includes('import poplib'));
    const python = await page.inputValue('[data-share="text"]');
    expect(python).toContain('show(pop.apop, "demo", password)');

    // Copy with the clipboard.
    await page.context().grantPermissions(['clipboard-read', 'clipboard-write'], { origin: site.url });
    const copyButton = page.getByRole('button', { name: 'Copy', exact: true });
    await copyButton.focus();
    await page.keyboard.press('Enter');
    await page.getByText('Copied to the clipboard.').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(python);

    // Without a clipboard: the text is selected for Ctrl+C.
    await page.evaluate(() => Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true }));
    await copyButton.click();
    await page.getByText(/the text is selected/).waitFor();
    const selection = await page.$eval('[data-share="text"]', (area) => {
      const box = area as HTMLTextAreaElement;
      return { focused: document.activeElement === box, start: box.selectionStart, end: box.selectionEnd, length: box.value.length };
    });
    expect(selection).toEqual({ focused: true, start: 0, end: selection.length, length: selection.length });

    // Download.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    expect(download.suggestedFilename()).toBe('pop3_session.py');
    expect(readFileSync((await download.path())!, 'utf8')).toBe(python);

    // The link's copy button.
    await page.getByRole('button', { name: 'Copy link' }).click();
    await page.getByText(/the text is selected/).first().waitFor();
    expect(await page.evaluate(() => (document.activeElement as HTMLInputElement).value)).toBe(`${site.url}#replay=${VALUE}`);
  });

  it('fits a 360 px phone screen, in German too', async () => {
    const demo = await open(`#replay=${VALUE}`, { viewport: { width: 360, height: 740 }, locale: 'de-DE' });
    const { page } = demo;
    await page.waitForSelector('body[data-replay="done"]', { timeout: 15_000 });
    await waitForStatus(demo, /Nachspielen beendet/);
    await page.click('#learn-tab-share');
    await page.getByRole('button', { name: 'Link kopieren' }).waitFor();
    const widths = await page.$eval('.share', (share) => ({
      scroll: share.scrollWidth,
      client: share.clientWidth,
      right: Math.max(...[...share.querySelectorAll('button, input, select, textarea, a')].map((e) => e.getBoundingClientRect().right)),
    }));
    expect(widths.scroll).toBeLessThanOrEqual(widths.client + 1);
    expect(widths.right).toBeLessThanOrEqual(360);
  });
});
