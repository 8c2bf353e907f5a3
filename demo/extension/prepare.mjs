// Assembles the unpacked extension in dist/extension/: this folder's files plus the browser bundle built by
// `npm run build`. Load that folder in chrome://extensions ("Load unpacked").
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const bundle = fileURLToPath(new URL('../../dist/pop3kit.browser.js', import.meta.url));
const out = fileURLToPath(new URL('../../dist/extension/', import.meta.url));

if (!existsSync(bundle)) {
  console.error('dist/pop3kit.browser.js is missing: run `npm run build` first');
  process.exit(1);
}
mkdirSync(out, { recursive: true });
for (const name of ['manifest.json', 'popup.html', 'popup.js']) copyFileSync(here(name), `${out}${name}`);
copyFileSync(bundle, `${out}pop3kit.browser.js`);
console.log(`extension ready in ${out}`);
