/**
 * Sharing in Chromium, on the built page in offline mode (dist/demo, served alone): a `#replay=` link made
 * here in Node replays in the page, line for line what the same replay gives in Node (the seeded APOP
 * greeting included), and the page's own share link for the replayed session is the link it was opened
 * with; a malformed link is explained in the status line and the page still works (a good link pasted
 * afterwards replays). The Share tab: the export follows the format chosen with the keyboard, copy falls
 * back to selecting the text, download saves the file, and nothing overflows at 360 px. The link and the
 * export are built only while the tab is shown (a session with a big message makes megabytes of them): not
 * while it is hidden, at once when it is opened, and as the session grows while it stays open.
 *
 * POP3KIT_DEMO_ROOT serves another build of the page instead of dist/demo (to try changes not yet merged).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { exportTarget, exportText } from '../../demo/page/export.js';
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
/** A session that retrieved the sample's big message (1.7 MB): its export is megabytes. */
const BIG_VALUE = encodeReplay({ seed: 7, ownSeed: true, fromProxy: false, commands: [{ verb: 'APOP', name: 'demo', password: '*' }, { verb: 'RETR', message: 14 }, { verb: 'QUIT' }] });

/** The status line's text, once it matches `pattern`. */
async function waitForStatus(demo: DemoPage, pattern: RegExp): Promise<string> {
  await demo.page.waitForFunction((source) => new RegExp(source).test(document.getElementById('status')?.textContent ?? ''), pattern.source, { timeout: 15_000 });
  return (await demo.page.textContent('#status')) ?? '';
}

/** The lines a replay in Node shows, which the page's transcript must show in the same order. */
let expected: TranscriptEntry[] = [];
/** The transcript exports the Share tab must offer for VALUE and BIG_VALUE, made in Node; BIG_VALUE's lines. */
let exported = '';
let bigExported = '';
let bigLines: string[] = [];

/** Replay `value` in Node, as the page does; the session is closed. */
async function replayInNode(value: string): Promise<DemoSession> {
  const { session } = await replayInto(decodeReplay(value), (seed) => DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed }), sample);
  session.close();
  return session;
}
/** The transcript's lines without the page's notes, bodies and listings. */
const shownEntries = (session: DemoSession) => session.entries.filter((e) => e.from !== 'local' && e.kind !== 'body' && e.kind !== 'listing');
/** The session's transcript export, as the Share tab makes it. */
const transcriptExport = (session: DemoSession) =>
  exportText('transcript', { entries: session.entries, commands: session.recorded, target: exportTarget(session.endpoint, session.engine.capabilities?.stls === true) });

let site: { url: string; close(): Promise<void> };
const pages = new DemoPages();

beforeAll(async () => {
  const session = await replayInNode(VALUE);
  expected = shownEntries(session);
  exported = transcriptExport(session);
  const big = await replayInNode(BIG_VALUE);
  bigLines = shownEntries(big).map((e) => e.text);
  bigExported = transcriptExport(big);
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
    await demo.page.click('#learn-tab-share');
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
    await demo.page.click('#learn-tab-share');
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

  it('builds the link and the export only while the Share tab is shown', async () => {
    const demo = await open(`#replay=${BIG_VALUE}`);
    const { page } = demo;
    const field = (name: 'link' | 'text') => page.$eval(`[data-share="${name}"]`, (e) => (e as HTMLInputElement | HTMLTextAreaElement).value);
    // Proving that nothing happens takes a wait: longer than the tab's 200 ms between rebuilds.
    const settle = () => page.waitForTimeout(600);

    // Hidden (the lesson tab is open): the session retrieved the big message, and nothing was built for it.
    await page.waitForSelector('body[data-replay="done"]', { timeout: 15_000 });
    await transcriptHas(demo, bigLines);
    await settle();
    expect(await field('text')).toBe('');
    expect(await field('link')).toBe('');

    // Opened: current and complete at once. The box shows the start; the download is all of it.
    await page.click('#learn-tab-share');
    expect(await field('link')).toBe(`${site.url}#replay=${BIG_VALUE}`);
    const preview = await field('text');
    expect(preview.length).toBeGreaterThan(100_000);
    expect(bigExported.startsWith(preview)).toBe(true);
    expect(await page.textContent('.share')).toContain(`of ${bigExported.length} characters`);
    // (exact: the message viewer offers the big message's attachment for download too.)
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download', exact: true }).click()]);
    expect(readFileSync((await download.path())!, 'utf8')).toBe(bigExported);

    // Kept up to date while it stays open: a link pasted makes a new session, which the export follows.
    await page.evaluate((value) => (location.hash = `#replay=${value}`), VALUE);
    await page.waitForFunction((want) => document.querySelector<HTMLTextAreaElement>('[data-share="text"]')!.value === want, exported, { timeout: 15_000 });
    expect(await field('link')).toBe(`${site.url}#replay=${VALUE}`);

    // Hidden again: the next session leaves the link and the export as they were, until the tab is opened.
    await page.click('#learn-tab-lesson');
    await page.evaluate((value) => (location.hash = `#replay=${value}`), BIG_VALUE);
    await waitForStatus(demo, /Replay finished: 3 of 3/);
    await settle();
    expect(await field('text')).toBe(exported);
    expect(await field('link')).toBe(`${site.url}#replay=${VALUE}`);
    await page.click('#learn-tab-share');
    expect(await field('link')).toBe(`${site.url}#replay=${BIG_VALUE}`);
    expect(await field('text')).toBe(preview);
    expect(consoleProblems(demo, [/status of 404/])).toEqual([]);
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
