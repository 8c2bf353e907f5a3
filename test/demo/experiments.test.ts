import { describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { App, type Place } from '../../demo/page/app.js';
import {
  appHost,
  EXPERIMENTS,
  type ExperimentId,
  type ExperimentStep,
  LineReader,
  runExperiment,
} from '../../demo/page/experiments.js';
import { credentialsFor } from '../../demo/page/lesson-place.js';
import { memoryTransportPair } from '../../core/client/memory-transport.js';
import { utf8 } from '../../core/bytes.js';

const sample = readSampleMailbox();
const place: Place = { kind: 'offline' };

async function run(id: ExperimentId, app = new App(undefined, sample)) {
  const steps: ExperimentStep[] = [];
  const experiment = EXPERIMENTS.find((e) => e.id === id)!;
  const result = await runExperiment(experiment, appHost(app, place, credentialsFor(app, place)), (step) => steps.push(step));
  const transcript = (app.session?.entries ?? []).filter((e) => e.from !== 'local').map((e) => `${e.from === 'client' ? 'C' : 'S'}: ${e.text}`);
  return { app, steps, result, transcript, keys: steps.map((s) => s.key.replace(`experiments.items.${id}.`, '')) };
}

describe('break-it experiments against the real offline server', () => {
  it('PASS before USER: the client refuses without sending; the raw line gets the server\'s -ERR', async () => {
    const { result, keys, steps, transcript, app } = await run('passBeforeUser');
    expect(result).toMatchObject({ asExplained: true, key: 'experiments.items.passBeforeUser.results.refused' });
    expect(keys).toEqual(['experiments.common.connected', 'steps.refusedLocally', 'steps.serverRefused']);
    expect(steps[1]!.params!.reason).toMatch(/PASS must follow/);
    expect(steps[2]!.params!.reply).toBe('-ERR PASS must follow USER');
    // Only the raw line reached the wire.
    expect(transcript.filter((l) => l.startsWith('C:'))).toEqual(['C: PASS [redacted]']);
    expect(app.session!.entries.some((e) => e.from === 'local' && e.note?.key === 'refused-locally')).toBe(true);
  });

  it('a wrong password: -ERR [AUTH] (RFC 3206), still in AUTHORIZATION, password redacted', async () => {
    const { result, steps, transcript } = await run('wrongPassword');
    expect(result).toMatchObject({ asExplained: true, key: 'experiments.items.wrongPassword.results.auth' });
    expect(steps.at(-1)!.params).toMatchObject({ reply: '-ERR [AUTH] authentication failed', state: 'AUTHORIZATION' });
    expect(transcript).toContain('C: PASS [redacted]');
    expect(transcript.join('\n')).not.toContain('not-the-password');
  });

  it('a bare LF: our server takes LF alone as a line end and answers USER', async () => {
    const { result, steps } = await run('bareLf');
    expect(result).toMatchObject({ asExplained: true, key: 'experiments.items.bareLf.results.accepted', params: { reply: '+OK send PASS' } });
    const lines = steps.at(-1)!.lines!;
    expect(lines[0]!.text).toMatch(/^\+OK .*\\r\\n$/);
    expect(lines).toContainEqual({ from: 'client', text: 'USER demo\\n' });
    expect(lines).toContainEqual({ from: 'server', text: '+OK send PASS\\r\\n' });
    expect(lines.at(-1)!.text).toMatch(/^\+OK bye/);
  });

  it('a dropped connection commits nothing: STAT after reconnecting counts every message', async () => {
    const { result, steps, app } = await run('drop');
    expect(result).toMatchObject({ asExplained: true, key: 'experiments.items.drop.results.kept' });
    const n = sample.messages.length;
    expect(steps.find((s) => s.key.endsWith('steps.marked'))!.params).toMatchObject({ count: n, inSession: n - 1 });
    expect(steps.find((s) => s.key.endsWith('steps.counted'))!.params).toEqual({ count: n });
    expect(app.offline.messageCount).toBe(n);
    // The App's session is the second one, logged in; the transcript holds its lines.
    expect(app.session!.state).toBe('transaction');
    app.disconnect();
  });

  it('two sessions, one mailbox: -ERR [IN-USE] until the first session ends', async () => {
    const { result, steps } = await run('inUse');
    expect(result).toMatchObject({ asExplained: true, key: 'experiments.items.inUse.results.released' });
    const locked = steps.find((s) => s.key.endsWith('steps.locked'))!;
    const texts = locked.lines!.map((l) => l.text);
    expect(texts[0]).toMatch(/^\+OK /);
    expect(texts.slice(1)).toEqual(['USER demo', '+OK send PASS', 'PASS [redacted]', '-ERR [IN-USE] the mailbox is locked by another session']);
    const secondIn = steps.find((s) => s.key.endsWith('steps.secondIn'))!;
    expect(secondIn.lines!.at(-1)!.text).toMatch(/^\+OK maildrop has/);
  });

  it('runs every experiment one after another in the same App', async () => {
    const app = new App(undefined, sample);
    for (const experiment of EXPERIMENTS) {
      const { result } = await run(experiment.id, app);
      expect(result.asExplained, `${experiment.id}: ${result.key} ${JSON.stringify(result.params)}`).toBe(true);
    }
    app.disconnect();
    expect(app.offline.messageCount).toBe(sample.messages.length);
  });

  it('ends with a failure result instead of throwing when there is no account to log in with', async () => {
    const app = new App(undefined, sample);
    const drop = EXPERIMENTS.find((e) => e.id === 'drop')!;
    const result = await runExperiment(drop, appHost(app, place, undefined), () => undefined);
    expect(result).toEqual({ asExplained: false, key: 'experiments.common.needsAccount' });
  });

  it('reads lines with a time limit', async () => {
    const { client, server } = memoryTransportPair();
    const reader = new LineReader(client);
    await server.write(utf8('one\r\ntw'));
    expect(new TextDecoder().decode((await reader.line(100)) as Uint8Array)).toBe('one\r\n');
    expect(await reader.line(30)).toBe('timeout');
    await server.write(utf8('o\n'));
    expect(new TextDecoder().decode((await reader.line(100)) as Uint8Array)).toBe('two\n');
    server.close();
    expect(await reader.line(100)).toBe('closed');
  });
});
