/**
 * What every Chromium test shares: the browser bundle (read once; CI builds before it tests), a page that
 * imports it, and a quiet offline launch of Debian's Chromium (see /work/shared/TOOLING.md).
 */
import { existsSync, readFileSync } from 'node:fs';
import { type Browser, chromium } from 'playwright';

export const BUNDLE_URL = new URL('../../dist/pop3kit.browser.js', import.meta.url);
export const MISSING_BUNDLE = 'dist/pop3kit.browser.js is missing: run `npm run build` before the tests';
/** The bundle's text, or undefined when it was not built: every test then fails with MISSING_BUNDLE. */
export const bundle = existsSync(BUNDLE_URL) ? readFileSync(BUNDLE_URL, 'utf8') : undefined;

/**
 * A page whose module script puts the bundle's exports on `globalThis.pop3kit`. The favicon link stops
 * Chromium asking for /favicon.ico, whose 404 would count as a console error.
 */
export function bundlePage(title: string): string {
  return `<!doctype html>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>${title}</title>
<script type="module">
  import * as pop3kit from './pop3kit.browser.js';
  globalThis.pop3kit = pop3kit;
</script>
`;
}

/** Quiet, offline start of Debian's Chromium as root. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-dev-shm-usage',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Chromium with the flags above. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
