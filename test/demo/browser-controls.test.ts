/**
 * The controls views of the demo page in Chromium (offline mode: dist/demo served alone, the POP3 server
 * running in the page): connect, the palette offering only what the state allows, logging in through it,
 * the state diagram's text following, CAPA explained tag by tag, LIST and UIDL pipelined, resetting the
 * mailbox refused while a session holds it, connecting again without a reload, German strings, and a
 * phone-sized screen. Needs `npm run build` first.
 */
import type { Page } from 'playwright';
import { describe, expect, it } from 'vitest';
import { consoleProblems, type DemoPage, offlineDemo } from '../support/demo-page.js';

const { open } = offlineDemo();

/** Page errors, and console errors other than the 404 of demo-config.json (absent in offline mode). */
const problems = (demo: DemoPage): string[] => consoleProblems(demo, [/status of 404/]);

const summary = (page: Page) => page.getByTestId('state-summary');
const palette = (page: Page) => page.getByTestId('palette');
const form = (page: Page, verb: string) => palette(page).getByRole('form', { name: verb, exact: true });
const commandButton = (page: Page, verb: string) => form(page, verb).getByRole('button', { name: verb, exact: true });

async function connect(page: Page, connected = 'Current state: AUTHORIZATION'): Promise<void> {
  await page.getByTestId('connect-button').click();
  await expect.poll(() => summary(page).textContent()).toContain(connected);
}

describe('the controls of the demo page', () => {
  it('connects offline, logs in through the palette, explains CAPA and shows pipelining', { timeout: 90_000 }, async () => {
    const demo = await open();
    const { page } = demo;

    // Before connecting: offline preselected, the sample account shown, STLS explained, nothing to send.
    await expect.poll(() => page.getByTestId('connect-place').inputValue()).toBe('offline');
    expect(await page.getByTestId('connect-details').textContent()).toContain('user demo, password demo');
    expect(await page.getByTestId('connect-stls').textContent()).toMatch(/cannot/);
    expect(await summary(page).textContent()).toContain('not connected');
    expect(await palette(page).getByRole('button').count()).toBe(0);
    expect(await page.getByTestId('disconnect-button').isDisabled()).toBe(true);

    await connect(page);
    expect(await page.locator('[data-node="authorization"]').getAttribute('aria-current')).toBe('step');
    expect(await page.getByTestId('connect-status').textContent()).toContain('Connected to');

    // AUTHORIZATION: USER offered, STAT not (listed apart with the reason), no STLS button anywhere.
    expect(await commandButton(page, 'USER').isVisible()).toBe(true);
    expect(await palette(page).getByRole('button', { name: 'STAT', exact: true }).count()).toBe(0);
    expect(await palette(page).getByRole('button', { name: 'PASS', exact: true }).count()).toBe(0);
    expect(await page.getByRole('button', { name: 'STLS' }).count()).toBe(0);
    const unavailable = page.getByTestId('palette-unavailable');
    expect(await unavailable.locator('[data-verb="STAT"]').textContent()).toContain('Only after login');
    expect(await unavailable.locator('[data-verb="STLS"]').textContent()).toContain('cannot do TLS');
    // Every command button is explained (aria-describedby names the help line and its RFC section).
    const described = await commandButton(page, 'USER').getAttribute('aria-describedby');
    const helpText = await page.locator(`[id="${described!.split(' ')[0]}"]`).textContent();
    expect(helpText).toContain('RFC 1939 section 7');

    // Log in: USER with the keyboard (Enter in the field submits), PASS with its button.
    const userName = form(page, 'USER').getByLabel('User name');
    await userName.fill('demo');
    await userName.press('Enter');
    await commandButton(page, 'PASS').waitFor();
    expect(await page.getByTestId('state-hint').textContent()).toContain('PASS comes next');
    const password = form(page, 'PASS').getByLabel('Password');
    expect(await password.getAttribute('type')).toBe('password');
    await password.fill('demo');
    // The PASS form hides once logged in (and leaves the accessibility tree): keep hold of its field.
    const passwordField = await password.elementHandle();
    await commandButton(page, 'PASS').click();
    await expect.poll(() => summary(page).textContent()).toContain('Current state: TRANSACTION');
    expect(await passwordField!.inputValue()).toBe('');
    expect(await page.locator('[data-node="transaction"]').getAttribute('aria-current')).toBe('step');
    expect(await page.locator('[data-node="authorization"]').getAttribute('data-status')).toBe('visited');

    // TRANSACTION: STAT offered and answered.
    expect(await commandButton(page, 'STAT').isEnabled()).toBe(true);
    expect(await palette(page).getByRole('button', { name: 'USER', exact: true }).count()).toBe(0);
    await commandButton(page, 'STAT').click();
    await expect.poll(() => page.getByTestId('palette-outcome').textContent()).toMatch(/STAT: \+OK \d+ \d+/);

    // A bad argument is explained, not sent.
    await form(page, 'RETR').getByLabel('Message number').fill('0');
    await commandButton(page, 'RETR').click();
    expect(await page.getByTestId('palette-outcome').textContent()).toContain('is not a message number');

    // CAPA from the capabilities view: PIPELINING explained with its RFC section.
    await page.getByTestId('capabilities-send').click();
    const pipelining = page.locator('#capabilities [data-tag="PIPELINING"]');
    await pipelining.waitFor();
    expect(await pipelining.textContent()).toContain('several commands at once');
    expect(await pipelining.textContent()).toContain('RFC 2449 section 6.6');
    expect(await page.getByTestId('capabilities-send').textContent()).toBe('Ask again (CAPA)');

    // Pipeline mode: collect LIST and UIDL, send them together.
    await page.getByLabel(/Pipeline mode/).check();
    expect(await page.getByTestId('pipeline-state').textContent()).toContain('advertised PIPELINING');
    await commandButton(page, 'LIST').click();
    await commandButton(page, 'UIDL').click();
    expect(await page.getByTestId('pipeline-list').textContent()).toMatch(/LIST.*UIDL/);
    await page.getByRole('button', { name: 'Send all (2)' }).click();
    const burst = page.getByTestId('in-flight-list');
    await expect.poll(() => burst.textContent()).toMatch(/LIST.*UIDL/);
    expect(await page.getByTestId('in-flight-peak').getAttribute('data-peak')).toBe('2');
    expect(await page.getByTestId('in-flight-peak').textContent()).toContain('Pipelined');
    await expect.poll(() => page.getByTestId('palette-outcome').textContent()).toMatch(/LIST: \+OK.*UIDL: \+OK/s);
    expect(await page.getByTestId('pipeline-list').locator('li').count()).toBe(0);

    // The mailbox cannot be reset while this session holds it.
    await page.getByTestId('reset-button').click();
    await expect.poll(() => page.getByTestId('reset-status').textContent()).toContain('a session holds the mailbox');

    // Disconnect, reset, and connect again without a reload.
    await page.getByTestId('disconnect-button').click();
    await expect.poll(() => summary(page).textContent()).toContain('not connected');
    expect(await palette(page).getByRole('button').count()).toBe(0);
    await page.getByTestId('reset-button').click();
    await expect.poll(() => page.getByTestId('reset-status').textContent()).toContain('sample messages again');
    await connect(page);
    expect(await commandButton(page, 'USER').isVisible()).toBe(true);
    expect(await page.getByTestId('capabilities-status').textContent()).toContain('not been asked');

    // QUIT before login ends the session: the diagram says closed, the palette offers nothing.
    await page.getByLabel(/Pipeline mode/).uncheck();
    await commandButton(page, 'QUIT').click();
    await expect.poll(() => summary(page).textContent()).toContain('Current state: closed');
    expect(await page.locator('[data-node="closed"]').getAttribute('aria-current')).toBe('step');
    expect(await palette(page).getByRole('button').count()).toBe(0);
    expect(await page.getByTestId('connect-status').textContent()).toContain('has ended');

    // German: the views re-render their strings.
    await page.locator('#language').selectOption('de');
    await expect.poll(() => summary(page).textContent()).toContain('Aktueller Zustand: beendet');
    expect(await page.title()).toBe('pop3kit: POP3 lernen, indem man es tut');
    expect(await page.locator('#connect').getByRole('button', { name: 'Verbinden', exact: true }).isVisible()).toBe(true);
    await connect(page, 'Aktueller Zustand: AUTHORIZATION');
    expect(await page.getByTestId('palette-unavailable').locator('[data-verb="STAT"]').textContent()).toContain('Erst nach der Anmeldung');

    expect(problems(demo)).toEqual([]);
  });

  it('offers the proxy targets, explains a refused connection and recovers without a reload', { timeout: 60_000 }, async () => {
    const demo = await open();
    const { page } = demo;
    // A configuration as `npm start` serves it, but with a proxy that is not there: connecting must fail.
    const config = {
      proxyUrl: 'ws://127.0.0.1:9/',
      targets: [
        { target: '127.0.0.1:1110', label: 'Sample server', embedded: true, tls: false, user: 'demo', password: 'demo' },
        { target: 'pop.example.net:995', label: 'Example', embedded: false, tls: true },
      ],
    };
    await page.route('**/demo-config.json', (route) => route.fulfill({ contentType: 'application/json', body: JSON.stringify(config) }));
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');

    const place = page.getByTestId('connect-place');
    expect(await place.inputValue()).toBe('proxy:127.0.0.1:1110');
    expect(await place.locator('option').allTextContents()).toEqual(['Sample server (127.0.0.1:1110, plain)', 'Example (pop.example.net:995, TLS)', 'In this page (offline)']);
    expect(await page.getByTestId('connect-details').textContent()).toContain('user demo, password demo');
    expect(await page.getByTestId('reset-button').isEnabled()).toBe(true);

    await place.selectOption('proxy:pop.example.net:995');
    const details = await page.getByTestId('connect-details').textContent();
    expect(details).toContain('connects to the server with TLS');
    expect(details).toContain('Use your own account');
    expect(await page.getByTestId('reset-button').isDisabled()).toBe(true);

    await place.selectOption('proxy:127.0.0.1:1110');
    await page.getByTestId('connect-button').click();
    await expect.poll(() => page.getByTestId('connect-status').textContent(), { timeout: 15_000 }).toContain('Could not connect to Sample server');
    expect(await page.getByTestId('connect-status').getAttribute('data-kind')).toBe('error');
    expect(await page.getByTestId('connect-hint').textContent()).toContain('npm start');
    expect(await page.locator('#status').textContent()).toContain('Could not connect to Sample server');
    expect(await summary(page).textContent()).toContain('last attempt to connect failed');
    expect(await page.getByTestId('connect-button').isEnabled()).toBe(true);

    // The lesson's "connect for me" explains the same failure in words, not with the bare error message.
    const reason = (await page.getByTestId('connect-status').textContent())!.replace(/^Could not connect to Sample server: /, '');
    const lesson = page.locator('.learn-tour');
    await lesson.locator('.learn-do-it').click();
    await expect.poll(() => lesson.locator('.learn-feedback').textContent(), { timeout: 15_000 }).toBe(`Could not connect: ${reason}`);

    // A level cannot reset the mailbox without the demo server: the reason follows a change of language.
    const verdict = page.locator('.learn-level-verdict');
    await page.locator('.learn-level-start').click();
    await expect.poll(() => verdict.textContent(), { timeout: 20_000 }).toContain('The mailbox could not be reset');
    await page.locator('#language').selectOption('de');
    await expect.poll(() => verdict.textContent()).toContain('Das Postfach ließ sich nicht zurücksetzen');
    await page.locator('#language').selectOption('en');

    await place.selectOption('offline');
    await connect(page);
    expect(await page.getByTestId('connect-status').textContent()).toContain('Connected to the server in this page');
    expect(await page.getByTestId('connect-hint').isHidden()).toBe(true);
    const unexpected = problems(demo).filter((line) => !/WebSocket connection to 'ws:\/\/127\.0\.0\.1:9\//.test(line));
    expect(unexpected).toEqual([]);
  });

  it('keeps the keyboard focus on the button pressed, and forgets the CAPA of a replaced session', { timeout: 60_000 }, async () => {
    const demo = await open();
    const { page } = demo;
    const focused = () => page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.testid ?? document.activeElement?.tagName);

    // Connect and Disconnect from the keyboard: each button cannot be used for a moment (or at all) after
    // it was pressed, and must keep the focus (a disabled button drops it to the page's body).
    await page.getByTestId('connect-button').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => summary(page).textContent()).toContain('Current state: AUTHORIZATION');
    expect(await focused()).toBe('connect-button');
    await page.getByTestId('disconnect-button').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => summary(page).textContent()).toContain('not connected');
    expect(await focused()).toBe('disconnect-button');
    expect(await page.getByTestId('disconnect-button').getAttribute('aria-disabled')).toBe('true');
    // Unusable means unusable: a click does nothing.
    await page.getByTestId('disconnect-button').dispatchEvent('click');
    expect(await page.getByTestId('connect-status').textContent()).toBe('Not connected.');

    // Pipeline mode: "send all" empties the batch, and keeps the focus.
    await connect(page);
    await page.getByLabel(/Pipeline mode/).check();
    await commandButton(page, 'CAPA').click();
    await page.getByTestId('pipeline-send').focus();
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByTestId('palette-outcome').textContent()).toMatch(/CAPA: \+OK/);
    expect(await focused()).toBe('pipeline-send');
    await page.getByLabel(/Pipeline mode/).uncheck();

    // CAPA asked, and the session dropped before the answer: the failure of a session that is gone is not
    // shown as the state of the page (there is no session now).
    await page.evaluate(() => {
      const click = (id: string) => document.querySelector<HTMLButtonElement>(`[data-testid="${id}"]`)!.click();
      click('capabilities-send');
      click('disconnect-button');
    });
    await expect.poll(() => summary(page).textContent()).toContain('not connected');
    await page.waitForTimeout(200);
    const noSession = await page.evaluate(() => document.querySelector('[data-testid="capabilities-status"]')!.textContent);
    expect(noSession).toBe('Connect first, then send CAPA.');
    expect(await page.getByTestId('capabilities-status').getAttribute('data-kind')).toBe('info');
    expect(problems(demo)).toEqual([]);
  });

  it('fits a 360 px wide phone', { timeout: 60_000 }, async () => {
    const demo = await open({ viewport: { width: 360, height: 740 } });
    const { page } = demo;
    await connect(page);
    await page.getByTestId('capabilities-send').click();
    await page.locator('#capabilities [data-tag="PIPELINING"]').waitFor();
    for (const id of ['connect', 'state', 'palette', 'capabilities']) {
      const [scroll, client] = await page.locator(`#${id}`).evaluate((element) => [element.scrollWidth, element.clientWidth]);
      expect(scroll, id).toBeLessThanOrEqual(client!);
      const box = await page.locator(`#${id}`).boundingBox();
      expect(box!.x + box!.width, id).toBeLessThanOrEqual(360);
    }
    expect(problems(demo)).toEqual([]);
  });
});
