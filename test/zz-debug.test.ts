import { it } from 'vitest';
import { readdirSync } from 'node:fs';
import { loadTranscript, replayEverySplit } from './support/transcript.js';
it('x', () => {
  for (const s of ['courier','dovecot','mailutils','cyrus']) for (const f of readdirSync(new URL(`./fixtures/real-servers/${s}/`, import.meta.url))) {
    if (!f.endsWith('.txt')) continue;
    const t = loadTranscript(new URL(`./fixtures/real-servers/${s}/${f}`, import.meta.url));
    for (const mode of ['lockstep','upfront'] as const) {
      const t0 = Date.now();
      process.stderr.write(`${s}/${f} ${mode} ... `);
      try { replayEverySplit(t, { mode }); } catch (e) { process.stderr.write('ERR ' + String(e).slice(0, 300) + '\n'); }
      process.stderr.write(`${Date.now() - t0} ms\n`);
    }
  }
});
