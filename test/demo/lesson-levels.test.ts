import { describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { App, type Place } from '../../demo/page/app.js';
import { credentialsFor, inspectMailbox } from '../../demo/page/lesson-place.js';
import {
  addressOf,
  EMPTY_RECORD,
  headerField,
  type LevelId,
  type LevelRecord,
  levelById,
  recordEvent,
  sampleMessages,
  solveLevel,
  targetSender,
} from '../../demo/page/levels.js';
import type { DemoCommand } from '../../demo/page/session.js';

const sample = readSampleMailbox();
const place: Place = { kind: 'offline' };
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
const before = sampleMessages(sample);
const sender = targetSender(before);
/** The largest message of the sample (a log export far larger than the rest, whatever its line ends). */
const LARGEST = 1 + sample.messages.reduce((best, m, i, all) => (m.content.length > all[best]!.content.length ? i : best), 0);

/** A level attempt in offline mode, recorded from the App's events as the levels view does. */
async function attempt() {
  const app = new App(undefined, sample);
  let record: LevelRecord = EMPTY_RECORD;
  app.on((event) => (record = recordEvent(record, event)));
  await app.connect(place);
  const credentials = credentialsFor(app, place)!;
  const run = (command: DemoCommand) => app.run(command);
  const login = async () => {
    await run({ verb: 'USER', name: credentials.user });
    return run({ verb: 'PASS', password: credentials.password });
  };
  const check = async (id: LevelId, answer?: number) => {
    await settle();
    const level = levelById(id);
    const after = level.needsEnd && !record.sessionOpen ? (await inspectMailbox(app.endpoint(place), credentials)).uids : undefined;
    return level.check({ record, before, sender, after, answer });
  };
  return { app, run, login, check, credentials, get record() { return record; } };
}

describe('the sample mailbox as the levels see it', () => {
  it('knows each message by its real From header', () => {
    expect(before).toHaveLength(sample.messages.length);
    expect(sender).toBe('bob.nakamura@example.com');
    expect(before.filter((m) => m.from === sender).map((m) => m.number)).toEqual([6, 9]);
    expect(before[0]!.from).toBe('postmaster@example.org');
    expect(addressOf('=?utf-8?q?x?= <A@B.example>')).toBe('a@b.example');
    expect(headerField(new TextEncoder().encode('Subject: a\r\n  b\r\nFrom: x@y\r\n\r\nFrom: body'), 'subject')).toBe('a b');
  });
});

describe('levels, checked against the real offline server', () => {
  it('"sender": the model solution succeeds; the mailbox keeps everyone else', async () => {
    const a = await attempt();
    await solveLevel('sender', { send: a.run, sendAll: (c) => a.app.session!.sendAll(c), credentials: a.credentials }, { sender });
    const verdict = await a.check('sender');
    expect(verdict).toMatchObject({ status: 'success', key: 'success' });
    expect(a.app.offline.messageCount).toBe(sample.messages.length - 2);
    expect(a.record.commandsSent).toBeGreaterThan(5);
    expect(verdict.perfect).toBe(false);
  });

  it('"sender": par when the learner knows which ones, and each way to get it wrong', async () => {
    const par = await attempt();
    await par.login();
    await par.run({ verb: 'DELE', message: 6 });
    await par.run({ verb: 'DELE', message: 9 });
    await par.run({ verb: 'QUIT' });
    expect(await par.check('sender')).toMatchObject({ status: 'success', perfect: true, params: { score: 5, par: 5 } });

    const open = await attempt();
    await open.login();
    expect(await open.check('sender')).toMatchObject({ status: 'incomplete', key: 'endSession' });
    await open.run({ verb: 'DELE', message: 6 });
    await open.run({ verb: 'DELE', message: 9 });
    open.app.session!.drop();
    await settle();
    expect(await open.check('sender')).toMatchObject({ status: 'fail', key: 'noQuit' });

    const greedy = await attempt();
    await greedy.login();
    for (const message of [1, 6, 9]) await greedy.run({ verb: 'DELE', message });
    await greedy.run({ verb: 'QUIT' });
    expect(await greedy.check('sender')).toMatchObject({ status: 'fail', key: 'lostOthers', params: { count: 1, numbers: '1' } });

    const half = await attempt();
    await half.login();
    await half.run({ verb: 'DELE', message: 9 });
    await half.run({ verb: 'QUIT' });
    expect(await half.check('sender')).toMatchObject({ status: 'fail', key: 'keptSome', params: { numbers: '6' } });
  });

  it('"largest": LIST and the right number succeed; downloading fails', async () => {
    const a = await attempt();
    const solution = await solveLevel('largest', { send: a.run, sendAll: (c) => a.app.session!.sendAll(c), credentials: a.credentials }, { sender });
    expect(solution.answer).toBe(LARGEST);
    expect(await a.check('largest', solution.answer)).toMatchObject({ status: 'success', perfect: false, params: { message: LARGEST } });
    expect(await a.check('largest', 3)).toMatchObject({ status: 'fail', key: 'wrongAnswer' });

    const b = await attempt();
    await b.login();
    expect(await b.check('largest', LARGEST)).toMatchObject({ status: 'incomplete', key: 'listFirst' });
    await b.run({ verb: 'LIST' });
    expect(await b.check('largest')).toMatchObject({ status: 'incomplete', key: 'answerFirst' });
    expect(await b.check('largest', LARGEST)).toMatchObject({ status: 'success', perfect: true, params: { score: 3 } });
    await b.run({ verb: 'TOP', message: LARGEST, lines: 0 });
    expect(await b.check('largest', LARGEST)).toMatchObject({ status: 'fail', key: 'downloaded' });
  });

  it('"subjects": pipelined TOP n 0 is perfect, one at a time is slow, bodies fail', async () => {
    const a = await attempt();
    await solveLevel('subjects', { send: a.run, sendAll: (c) => a.app.session!.sendAll(c), credentials: a.credentials }, { sender });
    const verdict = await a.check('subjects');
    expect(verdict).toMatchObject({ status: 'success', key: 'success', perfect: true });
    expect(a.record.roundTrips).toBe(3);
    expect(a.record.commandsSent).toBe(4 + sample.messages.length);

    const slow = await attempt();
    await slow.login();
    for (let n = 1; n <= sample.messages.length; n++) {
      await slow.run({ verb: 'TOP', message: n, lines: 0 });
      if (n === 2) expect(await slow.check('subjects')).toMatchObject({ status: 'incomplete', key: 'missing', params: { missing: sample.messages.length - 2 } });
    }
    expect(await slow.check('subjects')).toMatchObject({ status: 'success', key: 'successSlow', perfect: false });
    await slow.run({ verb: 'RAW', line: 'TOP 1 5', multiline: true });
    expect(await slow.check('subjects')).toMatchObject({ status: 'fail', key: 'bodies' });
  });

  it('"keep": RETR 3 and QUIT with nothing marked succeed; a committed DELE fails, RSET saves it', async () => {
    const a = await attempt();
    await solveLevel('keep', { send: a.run, sendAll: (c) => a.app.session!.sendAll(c), credentials: a.credentials }, { sender });
    expect(await a.check('keep')).toMatchObject({ status: 'success', perfect: true, params: { score: 4 } });

    const saved = await attempt();
    await saved.login();
    expect(await saved.check('keep')).toMatchObject({ status: 'incomplete', key: 'retrFirst' });
    await saved.run({ verb: 'RETR', message: 3 });
    await saved.run({ verb: 'DELE', message: 3 });
    await saved.run({ verb: 'RSET' });
    await saved.run({ verb: 'QUIT' });
    expect(await saved.check('keep')).toMatchObject({ status: 'success', perfect: false });

    const committed = await attempt();
    await committed.login();
    await committed.run({ verb: 'RETR', message: 3 });
    await committed.run({ verb: 'DELE', message: 3 });
    await committed.run({ verb: 'QUIT' });
    expect(await committed.check('keep')).toMatchObject({ status: 'fail', key: 'committed', params: { count: 1 } });
  });

  it('records only what reached the server, and never a password', async () => {
    const a = await attempt();
    await a.run({ verb: 'STAT' }); // refused by the client: not recorded
    await a.login();
    await settle();
    expect(a.record.outcomes.map((o) => o.verb)).toEqual(['USER', 'PASS']);
    expect(a.record.commandsSent).toBe(2);
    expect(JSON.stringify(a.record)).not.toContain(`"${sample.password}"`);
  });
});
