// @ts-check
// The demo page's files besides its script: everything in demo/static/ as it is, and one JSON file per
// language made from demo/locales/<lang>/*.json, where each file holds the strings of one part of the page
// under its own name (demo/locales/en/lesson.json becomes the `lesson` object of locales/en.json), and
// sample-mailbox.json, the sample Maildir for the page's offline mode (the server engine running in the page).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const staticDir = path.join(here, 'static');
const localesDir = path.join(here, 'locales');
const sampleDir = path.join(here, 'sample-mailbox');

/** The locale files merged: `{ en: { lesson: {...}, ... }, de: {...} }`. */
export function readLocales() {
  /** @type {Record<string, Record<string, unknown>>} */
  const locales = {};
  for (const lang of readdirSync(localesDir)) {
    const parts = readdirSync(path.join(localesDir, lang)).filter((name) => name.endsWith('.json')).sort();
    locales[lang] = Object.fromEntries(
      parts.map((name) => [name.slice(0, -'.json'.length), JSON.parse(readFileSync(path.join(localesDir, lang, name), 'utf8'))]),
    );
  }
  return locales;
}

/**
 * The sample mailbox as the page's offline server loads it: the first account of the users file (read as
 * `pop3kit serve --users` reads it: the name ends at the first `:`, the password is the rest of the line) and
 * the messages of the Maildir (cur/ and new/, dot files left out) in delivery order, each with the UID
 * MaildirStore gives it (the unique name's base), so the page's offline server and the embedded server list
 * the same mailbox. (This is Node run by rollup without TypeScript, so it cannot import MaildirStore.)
 * @param {string} [root] the sample Maildir (demo/sample-mailbox/)
 */
export function readSampleMailbox(root = sampleDir) {
  const account = readFileSync(path.join(root, 'users'), 'utf8')
    .split('\n')
    .map((line) => line.replace(/\r$/, ''))
    .find((line) => line.trim() !== '' && !line.trim().startsWith('#'));
  const line = account ?? '';
  const colon = line.indexOf(':');
  const user = colon < 1 ? '' : line.slice(0, colon);
  const password = colon < 1 ? '' : line.slice(colon + 1);
  if (user === '' || password === '') throw new Error('sample mailbox: the users file has no name:password line');
  /** @type {{ file: string, uid: string }[]} */
  const files = [];
  for (const folder of ['cur', 'new']) {
    const dir = path.join(root, user, folder);
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      if (!name.startsWith('.')) files.push({ file: path.join(dir, name), uid: name.split(':')[0] ?? name });
    }
  }
  const seconds = (/** @type {string} */ uid) => Number(/^\d+/.exec(uid)?.[0] ?? Infinity);
  files.sort((a, b) => seconds(a.uid) - seconds(b.uid) || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0));
  for (const { uid } of files) {
    if (!/^[\x21-\x7e]{1,70}$/.test(uid)) throw new Error(`sample mailbox: ${uid} is not usable as a UID as it is`);
  }
  return { user, password, messages: files.map(({ file, uid }) => ({ uid, content: readFileSync(file).toString('base64') })) };
}

/** @returns {import('rollup').Plugin} */
export function demoAssets() {
  return {
    name: 'demo-assets',
    generateBundle() {
      for (const name of readdirSync(staticDir)) {
        const file = path.join(staticDir, name);
        this.addWatchFile(file);
        this.emitFile({ type: 'asset', fileName: name, source: readFileSync(file) });
      }
      for (const [lang, strings] of Object.entries(readLocales())) {
        this.emitFile({ type: 'asset', fileName: `locales/${lang}.json`, source: JSON.stringify(strings) });
      }
      this.emitFile({ type: 'asset', fileName: 'sample-mailbox.json', source: JSON.stringify(readSampleMailbox()) });
    },
  };
}
