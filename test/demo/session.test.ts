import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../core/bytes.js';
import { ServerError } from '../../core/errors.js';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { OfflineServer } from '../../demo/page/offline-server.js';
import { DemoSession, type DemoSessionEvent, type TranscriptEntry } from '../../demo/page/session.js';

const sample = readSampleMailbox();
const text = (entries: readonly TranscriptEntry[]) => entries.filter((e) => e.from !== 'local').map((e) => `${e.from === 'client' ? 'C' : 'S'}: ${e.text}`);

describe('DemoSession over the offline server', () => {
  it('records a whole session: lines, verbs, bodies with their wire form, states, and outcomes', async () => {
    const server = new OfflineServer(sample);
    const events: DemoSessionEvent[] = [];
    const session = await DemoSession.open({ kind: 'offline', server, seed: 1 }, (event) => events.push(event));
    expect(session.state).toBe('authorization');
    expect((await session.send({ verb: 'CAPA' })).ok).toBe(true);
    expect((await session.send({ verb: 'USER', name: 'demo' })).ok).toBe(true);
    expect((await session.send({ verb: 'PASS', password: 'demo' })).ok).toBe(true);
    expect(session.state).toBe('transaction');
    const retr = await session.send({ verb: 'RETR', message: 1 });
    expect(retr.ok && retr.body && fromUtf8(retr.body)).toContain('\r\n');
    const [dele, stat] = await session.sendAll([{ verb: 'DELE', message: 1 }, { verb: 'STAT' }]);
    expect(dele!.ok && stat!.ok).toBe(true);
    await session.send({ verb: 'QUIT' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(session.closed).toBe(true);
    expect(server.messageCount).toBe(sample.messages.length - 1);

    const lines = text(session.entries);
    expect(lines[0]).toMatch(/^S: \+OK /);
    expect(lines).toContain('C: PASS [redacted]');
    expect(lines.join('\n')).not.toMatch(/PASS demo/);
    const pass = session.entries.find((e) => e.text.startsWith('PASS'))!;
    expect(pass.wire).toBeUndefined();
    const body = session.entries.find((e) => e.kind === 'body')!;
    expect(body.verb).toBe('RETR');
    expect(fromUtf8(body.wire!).endsWith('\r\n.\r\n')).toBe(true);
    expect(fromUtf8(body.wire!).endsWith('\r\n.\r\n.\r\n')).toBe(false);
    expect(body.wire!.length).toBe(body.body!.length + 3 + (fromUtf8(body.body!).match(/^\./gm)?.length ?? 0));
    const statLine = session.entries.find((e) => e.from === 'server' && e.verb === 'STAT')!;
    expect(statLine.ok).toBe(true);
    expect(session.recorded.map((c) => c.verb)).toEqual(['CAPA', 'USER', 'PASS', 'RETR', 'DELE', 'STAT', 'QUIT']);
    expect(events.some((e) => e.type === 'state' && e.state === 'transaction')).toBe(true);
  });

  it('gives -ERR outcomes with their code, and local refusals without sending anything', async () => {
    const server = new OfflineServer(sample);
    const first = await DemoSession.open({ kind: 'offline', server });
    const refused = await first.send({ verb: 'STAT' });
    expect(refused.ok).toBe(false);
    await first.send({ verb: 'USER', name: 'demo' });
    await first.send({ verb: 'PASS', password: 'demo' });
    const second = await DemoSession.open({ kind: 'offline', server });
    await second.send({ verb: 'USER', name: 'demo' });
    const locked = await second.send({ verb: 'PASS', password: 'demo' });
    expect(locked.ok).toBe(false);
    expect(!locked.ok && locked.error instanceof ServerError && locked.error.responseCode).toBe('IN-USE');
    first.drop();
    second.close();
  });

  it('replays byte for byte with the same seed', async () => {
    const run = async () => {
      const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 42 });
      await session.send({ verb: 'APOP', name: 'demo', password: 'demo' });
      await session.send({ verb: 'LIST' });
      await session.send({ verb: 'QUIT' });
      return text(session.entries);
    };
    expect(await run()).toEqual(await run());
  });
});
