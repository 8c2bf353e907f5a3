// Runs every other bench/*.mjs in turn, each in a fresh Node process so that one benchmark's heap and JIT
// state cannot skew the next. Benchmarks import the built package (`pop3kit`, i.e. dist/), which is why
// `npm run bench` builds first. Exits non-zero if any benchmark fails.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = path.dirname(fileURLToPath(import.meta.url));
const self = path.basename(fileURLToPath(import.meta.url));
const scripts = readdirSync(dir)
  .filter((name) => name.endsWith('.mjs') && name !== self)
  .sort();

if (scripts.length === 0) console.log('No benchmarks in bench/ yet.');
let failed = 0;
for (const script of scripts) {
  console.log(`\n# ${script}`);
  const { status } = spawnSync(process.execPath, [path.join(dir, script)], { stdio: 'inherit' });
  if (status !== 0) failed++;
}
if (failed > 0) {
  console.error(`${failed} of ${scripts.length} benchmarks failed`);
  process.exitCode = 1;
}
