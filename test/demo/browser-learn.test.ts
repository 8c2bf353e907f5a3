/**
 * The learn panel of the demo page in Chromium (offline mode: dist/demo served alone, the POP3 server
 * running in the page): the tabs as an ARIA tablist driven by the keyboard, the whole guided lesson done
 * with "do it for me" up to QUIT and its UPDATE, a level played to success, every "break it" experiment run
 * once with its result shown, German strings, and a phone-sized screen; and the same through the real proxy
 * to the embedded server of `npm start`. Needs `npm run build` first.
 */
import type { Locator, Page } from 'playwright';
import { describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { consoleProblems, type DemoPage, offlineDemo, startDemoServer } from '../support/demo-page.js';

/** The number of messages in the sample mailbox (the page's offline server starts with them). */
const COUNT = readSampleMailbox().messages.length;

const { open, pages } = offlineDemo();

/** Page errors, and console errors other than the 404 of demo-config.json (absent in offline mode). */
const problems = (demo: DemoPage): string[] => consoleProblems(demo, [/status of 404/]);

const learn = (page: Page) => page.locator('#learn');
/** A string key shown instead of its text means a missing string. */
const KEY_LIKE = /\b(learn|lesson|levels|experiments)\.[A-Za-z]+\.[A-Za-z]/;

async function runExperiment(page: Page, id: string): Promise<Locator> {
  const card = learn(page).locator(`[data-experiment="${id}"]`);
  await card.getByRole('button', { name: /^Run/ }).click();
  await expect.poll(() => card.getAttribute('data-state'), { timeout: 20_000 }).toBe('done');
  return card;
}

describe('the learn panel of the demo page', () => {
  it('has keyboard tabs, runs the whole lesson with "do it for me", and plays a level to success', { timeout: 120_000 }, async () => {
    const demo = await open();
    const { page } = demo;
    const panel = learn(page);

    // The tablist: one tab selected, the others out of the tab order; arrows, Home and End move.
    const tabs = panel.getByRole('tablist');
    expect(await tabs.getByRole('tab').allTextContents()).toEqual(['Lesson', 'Break it', 'Share']);
    const tab = (name: string) => tabs.getByRole('tab', { name, exact: true });
    expect(await tab('Lesson').getAttribute('aria-selected')).toBe('true');
    expect(await tab('Break it').getAttribute('tabindex')).toBe('-1');
    await tab('Lesson').focus();
    await page.keyboard.press('ArrowRight');
    expect(await tab('Break it').getAttribute('aria-selected')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Break it');
    expect(await page.locator('#learn-panel-break').isVisible()).toBe(true);
    expect(await page.locator('#learn-panel-lesson').isVisible()).toBe(false);
    await page.keyboard.press('End');
    expect(await tab('Share').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowRight');
    expect(await tab('Lesson').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('ArrowLeft');
    expect(await tab('Share').getAttribute('aria-selected')).toBe('true');
    await page.keyboard.press('Home');
    expect(await tab('Lesson').getAttribute('aria-selected')).toBe('true');
    expect(await page.locator('#learn-panel-lesson').getAttribute('aria-labelledby')).toBe('learn-tab-lesson');

    // The lesson: 14 steps, each done by "do it for me" (Enter on the focused button), each detected.
    const progress = panel.locator('.learn-progress');
    const feedback = panel.locator('.learn-feedback');
    expect(await progress.getAttribute('role')).toBe('status');
    expect(await progress.textContent()).toBe('Step 1 of 14: Connect');
    const doIt = panel.locator('.learn-do-it');
    expect(await doIt.textContent()).toBe('Connect for me');
    for (let n = 1; n <= 14; n++) {
      await expect.poll(() => progress.textContent()).toMatch(new RegExp(`^Step ${n} of 14: `));
      const title = (await progress.textContent())!.replace(/^Step \d+ of 14: /, '');
      expect(await panel.locator('.learn-step-title').textContent()).toBe(title);
      expect(await panel.locator('.learn-step-blocked').isVisible(), title).toBe(false);
      // Focused once: while its command runs the button cannot be used but keeps the focus, step after step.
      if (n === 1) await doIt.focus();
      await page.keyboard.press('Enter');
      await expect.poll(() => feedback.textContent()).toBe(`Done: ${title}.`);
      // After the last step the button is gone: the keyboard goes on from "start again".
      const focusedClass = n < 14 ? 'learn-do-it' : 'learn-restart';
      await expect.poll(() => page.evaluate(() => document.activeElement?.className ?? '')).toBe(focusedClass);
      if (n === 2) expect(await panel.locator('.learn-step-extra').isVisible()).toBe(false);
      if (n === 1) {
        // The greeting step quotes the greeting and its APOP timestamp.
        await expect.poll(() => panel.locator('.learn-step-extra').textContent()).toMatch(/^The server said: \+OK .*<.*@offline\.pop3kit\.invalid>/);
      }
    }
    await expect.poll(() => progress.textContent()).toBe('All 14 steps done.');
    expect(await panel.locator('.learn-step-title').textContent()).toBe('Lesson complete');
    // QUIT went through UPDATE: one message (DELE 1, RSET, DELE 1) removed.
    expect(await panel.locator('.learn-step-extra').textContent()).toBe(
      `The server answered QUIT with: bye (${COUNT - 1} messages left) The mailbox now holds ${COUNT - 1} messages.`,
    );
    expect(await page.locator('#transcript').textContent()).toContain('QUIT');
    expect(await panel.locator('.learn-restart').isVisible()).toBe(true);
    await panel.locator('.learn-restart').click();
    expect(await progress.textContent()).toBe('Step 1 of 14: Connect');

    // A level: "Look, don't touch", played by the page's solution, judged from a look at the mailbox.
    await panel.getByLabel('Level', { exact: true }).selectOption('keep');
    expect(await panel.locator('.learn-level-goal').textContent()).toBe('Goal: Download message 3, and make sure nothing is deleted when you leave.');
    await panel.getByRole('button', { name: 'Show a solution' }).click();
    const verdict = panel.locator('.learn-level-verdict');
    await expect.poll(() => verdict.getAttribute('data-status'), { timeout: 20_000 }).toBe('success');
    const text = (await verdict.textContent())!;
    expect(text).toContain('Success! Message 3 downloaded, and the mailbox is unchanged.');
    expect(text).toContain('Perfect: 4 commands, the best possible.');
    expect(await panel.locator('.learn-level-score').textContent()).toBe('Commands sent: 4 · round trips: 4 · best possible: 4 commands');
    // The look at the mailbox is listed in the panel (the mailbox was reset before: all messages are there).
    expect(await verdict.locator('.learn-wire').textContent()).toContain('UIDL');
    expect(await panel.getByRole('button', { name: 'Reset mailbox and retry' }).isEnabled()).toBe(true);

    // The "sender" level, from the real From headers of the sample mailbox.
    await panel.getByLabel('Level', { exact: true }).selectOption('sender');
    expect(await panel.locator('.learn-level-goal').textContent()).toContain('bob.nakamura@example.com');

    expect(await panel.innerText()).not.toMatch(KEY_LIKE);
    expect(problems(demo)).toEqual([]);
  });

  it('runs every experiment with one button and shows its steps and explained result', { timeout: 120_000 }, async () => {
    const demo = await open();
    const { page } = demo;
    const panel = learn(page);
    // Live regions are written only when what they say changes: the experiments' many App events must not
    // make the lesson's progress or the level's verdict be announced again (nor move the lesson: an
    // experiment's commands are not the learner's).
    await page.evaluate(() => {
      (globalThis as { liveMutations?: number }).liveMutations = 0;
      const observer = new MutationObserver((records) => ((globalThis as { liveMutations?: number }).liveMutations! += records.length));
      for (const selector of ['.learn-progress', '.learn-level-verdict', '.learn-feedback']) {
        observer.observe(document.querySelector(selector)!, { childList: true, characterData: true, subtree: true });
      }
    });
    await panel.getByRole('tab', { name: 'Break it' }).click();
    const cards = panel.locator('.learn-experiment');
    expect(await cards.count()).toBe(5);

    const pass = await runExperiment(page, 'passBeforeUser');
    expect(await pass.locator('.learn-experiment-step').first().textContent()).toContain('Connected');
    expect(await pass.textContent()).toContain('The client refused it and sent nothing');
    expect(await pass.textContent()).toContain('-ERR PASS must follow USER');
    expect(await pass.locator('.learn-experiment-result').getAttribute('data-outcome')).toBe('as-explained');
    expect(await pass.locator('.learn-experiment-rfc').textContent()).toContain('RFC 1939 section 7');
    // What it sent through the page's session is in the transcript.
    expect(await page.locator('#transcript').textContent()).toContain('PASS [redacted]');

    const wrong = await runExperiment(page, 'wrongPassword');
    expect(await wrong.locator('.learn-experiment-result').textContent()).toContain('-ERR [AUTH] authentication failed');
    expect(await wrong.locator('.learn-experiment-result').getAttribute('data-outcome')).toBe('as-explained');
    expect(await wrong.locator('.learn-experiment-rfc').textContent()).toContain('RFC 3206');

    const lf = await runExperiment(page, 'bareLf');
    const lines = await lf.locator('.learn-wire').last().locator('li').allTextContents();
    expect(lines).toContain('C: USER demo\\n');
    expect(lines).toContain('S: +OK send PASS\\r\\n');
    expect(await lf.locator('.learn-experiment-result').textContent()).toContain('it takes LF alone as the end of a line');

    const drop = await runExperiment(page, 'drop');
    expect(await drop.textContent()).toContain(`STAT said ${COUNT} messages. After DELE 1 (message 1 deleted) STAT says ${COUNT - 1}, in this session only.`);
    expect(await drop.textContent()).toContain(`After connecting again, STAT says ${COUNT} messages.`);
    expect(await drop.locator('.learn-experiment-result').getAttribute('data-outcome')).toBe('as-explained');

    const lock = await runExperiment(page, 'inUse');
    expect(await lock.locator('.learn-wire').first().textContent()).toContain('-ERR [IN-USE] the mailbox is locked by another session');
    expect(await lock.textContent()).toContain('The second session tries again and gets in');
    expect(await lock.locator('.learn-experiment-result').getAttribute('data-outcome')).toBe('as-explained');
    expect(await lock.locator('.learn-experiment-rfc').textContent()).toContain('RFC 2449 section 8.1.2');

    // Every run button is usable again, and focus came back to the last one pressed.
    expect(await cards.getByRole('button', { name: 'Run again' }).count()).toBe(5);
    expect(await page.evaluate(() => document.activeElement?.closest('[data-experiment]')?.getAttribute('data-experiment'))).toBe('inUse');
    const text = await panel.innerText();
    expect(text).not.toMatch(KEY_LIKE);
    expect(text).not.toContain('not-the-password');
    expect(await page.evaluate(() => (globalThis as { liveMutations?: number }).liveMutations)).toBe(0);
    expect(await panel.locator('.learn-progress').textContent()).toBe('Step 1 of 14: Connect');
    expect(problems(demo)).toEqual([]);
  });

  it('speaks German and fits a phone', { timeout: 60_000 }, async () => {
    const demo = await open({ viewport: { width: 360, height: 740 }, locale: 'de-DE' });
    const { page } = demo;
    const panel = learn(page);
    expect(await panel.getByRole('tab').allTextContents()).toEqual(['Lektion', 'Kaputt machen', 'Teilen']);
    expect(await panel.locator('.learn-progress').textContent()).toBe('Schritt 1 von 14: Verbinden');
    await panel.locator('.learn-do-it').click();
    await expect.poll(() => panel.locator('.learn-progress').textContent()).toBe('Schritt 2 von 14: Die Begrüßung lesen');

    await panel.getByRole('tab', { name: 'Kaputt machen' }).click();
    const card = panel.locator('[data-experiment="bareLf"]');
    await card.getByRole('button', { name: 'Ausführen' }).click();
    await expect.poll(() => card.getAttribute('data-state'), { timeout: 20_000 }).toBe('done');
    expect(await card.locator('.learn-experiment-verdict').textContent()).toBe('So soll es sein.');

    const overflow = await page.evaluate(() => {
      const root = document.getElementById('learn')!;
      return { page: document.documentElement.scrollWidth, learn: root.scrollWidth - root.clientWidth };
    });
    expect(overflow.page).toBeLessThanOrEqual(360);
    expect(overflow.learn).toBeLessThanOrEqual(0);
    const box = await card.getByRole('button').boundingBox();
    expect(box!.x + box!.width).toBeLessThanOrEqual(360);

    // Switching back to English re-renders the panel's texts in place.
    await page.locator('#language').selectOption('en');
    await expect.poll(() => panel.getByRole('tab').allTextContents()).toEqual(['Lesson', 'Break it', 'Share']);
    expect(await card.locator('.learn-experiment-verdict').textContent()).toBe('This is what should happen.');
    expect(await panel.innerText()).not.toMatch(KEY_LIKE);
    expect(problems(demo)).toEqual([]);
  });

  it('works the same through the proxy with the embedded server', { timeout: 120_000 }, async () => {
    const running = await startDemoServer();
    try {
      const demo = await pages.open(running.url);
      const { page } = demo;
      const panel = learn(page);
      const progress = panel.locator('.learn-progress');
      for (let n = 1; n <= 14; n++) {
        await expect.poll(() => progress.textContent()).toMatch(new RegExp(`^Step ${n} of 14: `));
        await panel.locator('.learn-do-it').click();
      }
      await expect.poll(() => progress.textContent()).toBe('All 14 steps done.');
      expect(await panel.locator('.learn-step-extra').textContent()).toContain(`bye (${COUNT - 1} messages left)`);

      // The level resets the embedded server's mailbox (POST api/reset-mailbox) before it starts.
      await panel.getByLabel('Level', { exact: true }).selectOption('subjects');
      await panel.getByRole('button', { name: 'Show a solution' }).click();
      const verdict = panel.locator('.learn-level-verdict');
      await expect.poll(() => verdict.getAttribute('data-status'), { timeout: 20_000 }).toBe('success');
      expect(await verdict.textContent()).toContain('in 3 round trips: the commands were pipelined');

      await panel.getByRole('tab', { name: 'Break it' }).click();
      for (const id of ['passBeforeUser', 'wrongPassword', 'bareLf', 'drop', 'inUse']) {
        const card = await runExperiment(page, id);
        expect(await card.locator('.learn-experiment-result').getAttribute('data-outcome'), id).toBe('as-explained');
      }
      expect(await panel.innerText()).not.toMatch(KEY_LIKE);
      expect(problems(demo)).toEqual([]);
    } finally {
      await running.close();
    }
  });
});
