/**
 * The command palette's logic (demo/page/palette-commands.ts): which commands it offers in each state of a
 * real session against the page's offline server, why the others are refused, what pipeline mode's collected
 * commands change, and how typed values become commands.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { parseCapabilities } from '../../core/capabilities.js';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { OfflineServer } from '../../demo/page/offline-server.js';
import {
  availability,
  availabilityOf,
  BARRIER_VERBS,
  buildCommand,
  type EngineView,
  PALETTE,
  projectionOf,
  saslChoices,
} from '../../demo/page/palette-commands.js';
import { DemoSession } from '../../demo/page/session.js';

const sample = readSampleMailbox();
const sessions: DemoSession[] = [];

async function open(): Promise<DemoSession> {
  const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 7 });
  sessions.push(session);
  return session;
}

afterEach(() => {
  for (const session of sessions.splice(0)) session.close();
});

const offered = (engine: EngineView | undefined, collected: Parameters<typeof availability>[1] = []) =>
  availability(engine, collected)
    .filter((a) => a.available)
    .map((a) => a.verb);

function reasonOf(verb: Parameters<typeof availabilityOf>[0], engine: EngineView | undefined, collected: Parameters<typeof availability>[1] = []) {
  const a = availabilityOf(verb, engine, collected);
  return a.available ? undefined : a.reason;
}

/** A stand-in engine for cases the offline server does not produce. */
function stub(overrides: Partial<EngineView> & { capaLines?: string[] }): EngineView {
  const { capaLines, ...rest } = overrides;
  return {
    state: 'authorization',
    tls: false,
    capabilities: capaLines ? parseCapabilities(capaLines, 'authorization') : undefined,
    greeting: { timestamp: '<1.2@x>' },
    refusalOf: (verb) => (['USER', 'APOP', 'AUTH', 'UTF8', 'CAPA', 'QUIT', 'LANG', 'RAW', 'STLS'].includes(verb) ? undefined : `${verb} refused`),
    ...rest,
  };
}

describe('which commands the palette offers', () => {
  it('offers nothing without a session, and says why', () => {
    expect(offered(undefined)).toEqual([]);
    expect(reasonOf('STAT', undefined)).toEqual({ key: 'palette.reasons.noSession' });
  });

  it('offers the AUTHORIZATION commands before login, with the reasons for the others', async () => {
    const session = await open();
    const engine = session.engine;
    expect(offered(engine)).toEqual(['CAPA', 'USER', 'APOP', 'UTF8', 'LANG', 'QUIT', 'RAW']);
    expect(reasonOf('STAT', engine)).toEqual({ key: 'palette.reasons.needsTransaction' });
    expect(reasonOf('PASS', engine)).toEqual({ key: 'palette.reasons.passNeedsUser' });
    // AUTH needs to know the mechanisms first.
    expect(reasonOf('AUTH', engine)).toEqual({ key: 'palette.reasons.authNeedsCapa' });

    expect((await session.send({ verb: 'CAPA' })).ok).toBe(true);
    expect(offered(engine)).toContain('AUTH');
    expect(saslChoices(engine.capabilities)).toEqual(['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256']);
    // The offline server does not advertise LANG: the palette still offers it, with a warning.
    const lang = availabilityOf('LANG', engine);
    expect(lang.available && lang.notes).toEqual([{ key: 'palette.notes.notAdvertised', params: { tag: 'LANG' } }]);
  });

  it('offers PASS as soon as USER is queued, and the TRANSACTION commands once logged in', async () => {
    const session = await open();
    const user = session.send({ verb: 'USER', name: 'demo' });
    expect(offered(session.engine)).toContain('PASS');
    await user;
    await session.send({ verb: 'PASS', password: 'demo' });
    expect(session.engine.state).toBe('transaction');
    expect(offered(session.engine)).toEqual(['CAPA', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'NOOP', 'LANG', 'QUIT', 'RAW']);
    expect(reasonOf('USER', session.engine)).toEqual({ key: 'palette.reasons.needsAuthorization' });
    expect(projectionOf(session.engine)).toEqual({ state: 'transaction', userGiven: false, tls: false });
  });

  it('offers nothing after QUIT is queued, nor once the session is closed', async () => {
    const session = await open();
    const quit = session.send({ verb: 'QUIT' });
    expect(offered(session.engine)).toEqual([]);
    expect(reasonOf('CAPA', session.engine)).toEqual({ key: 'palette.reasons.afterQuit' });
    await quit;
    expect(session.engine.state).toBe('closed');
    expect(reasonOf('CAPA', session.engine)).toEqual({ key: 'palette.reasons.closed' });
  });

  it('counts the commands collected in pipeline mode', async () => {
    const session = await open();
    expect(offered(session.engine, ['USER'])).toContain('PASS');
    expect(offered(session.engine, ['USER', 'PASS'])).toEqual(['CAPA', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'NOOP', 'LANG', 'QUIT', 'RAW']);
    expect(offered(session.engine, ['QUIT'])).toEqual([]);
    expect(reasonOf('NOOP', session.engine, ['QUIT'])).toEqual({ key: 'palette.reasons.afterQuit' });
  });

  it('refuses APOP without a greeting timestamp and AUTH without a mechanism the page implements', () => {
    expect(reasonOf('APOP', stub({ greeting: { timestamp: undefined } }))).toEqual({ key: 'palette.reasons.apopNoTimestamp' });
    expect(reasonOf('AUTH', stub({ capaLines: ['SASL GSSAPI XOAUTH2', 'USER'] }))).toEqual({
      key: 'palette.reasons.authNoMechanism',
      params: { mechanisms: 'GSSAPI XOAUTH2' },
    });
    expect(saslChoices(parseCapabilities(['SASL scram-sha-256 GSSAPI plain'], 'authorization'))).toEqual(['SCRAM-SHA-256', 'PLAIN']);
    const user = availabilityOf('USER', stub({ capaLines: ['SASL PLAIN'] }));
    expect(user.available && user.notes).toEqual([{ key: 'palette.notes.notAdvertised', params: { tag: 'USER' } }]);
  });

  it('keeps an engine refusal it cannot put in its own words', () => {
    // The state table allows RAW in TRANSACTION; an engine that refuses it for a reason of its own is quoted.
    const engine = stub({ state: 'transaction', refusalOf: (verb) => (verb === 'RAW' ? 'something new' : verb === 'USER' ? 'not now' : undefined) });
    expect(reasonOf('RAW', engine)).toEqual({ text: 'something new' });
  });

  it('never offers STLS, and knows which commands are barriers', () => {
    expect(PALETTE.map((spec) => spec.verb)).not.toContain('STLS');
    expect([...BARRIER_VERBS].sort()).toEqual(['APOP', 'AUTH', 'PASS', 'QUIT', 'RAW', 'UTF8']);
  });
});

describe('building commands from the fields', () => {
  it('builds each command', () => {
    expect(buildCommand('USER', { name: ' demo ' })).toEqual({ ok: true, command: { verb: 'USER', name: 'demo' } });
    expect(buildCommand('PASS', { password: ' se cret ' })).toEqual({ ok: true, command: { verb: 'PASS', password: ' se cret ' } });
    expect(buildCommand('APOP', { name: 'demo', password: 'x' })).toEqual({ ok: true, command: { verb: 'APOP', name: 'demo', password: 'x' } });
    expect(buildCommand('AUTH', { mechanism: 'PLAIN', name: 'demo', password: 'x' }, ['PLAIN'])).toEqual({
      ok: true,
      command: { verb: 'AUTH', mechanism: 'PLAIN', name: 'demo', password: 'x' },
    });
    expect(buildCommand('LIST', { message: '' })).toEqual({ ok: true, command: { verb: 'LIST' } });
    expect(buildCommand('UIDL', { message: '3' })).toEqual({ ok: true, command: { verb: 'UIDL', message: 3 } });
    expect(buildCommand('RETR', { message: '12' })).toEqual({ ok: true, command: { verb: 'RETR', message: 12 } });
    expect(buildCommand('TOP', { message: '1', lines: '0' })).toEqual({ ok: true, command: { verb: 'TOP', message: 1, lines: 0 } });
    expect(buildCommand('DELE', { message: '2' })).toEqual({ ok: true, command: { verb: 'DELE', message: 2 } });
    expect(buildCommand('LANG', { tag: ' ' })).toEqual({ ok: true, command: { verb: 'LANG' } });
    expect(buildCommand('LANG', { tag: 'de' })).toEqual({ ok: true, command: { verb: 'LANG', tag: 'de' } });
    expect(buildCommand('RAW', { line: 'XTND XMIT', multiline: true })).toEqual({ ok: true, command: { verb: 'RAW', line: 'XTND XMIT', multiline: true } });
    for (const verb of ['STAT', 'NOOP', 'RSET', 'QUIT', 'CAPA', 'UTF8'] as const) expect(buildCommand(verb, {})).toEqual({ ok: true, command: { verb } });
  });

  it('says what is missing or wrong', () => {
    const problem = (built: ReturnType<typeof buildCommand>) => (built.ok ? undefined : built.problem);
    expect(problem(buildCommand('USER', { name: '  ' }))).toEqual({ key: 'palette.problems.needName' });
    expect(problem(buildCommand('PASS', { password: '' }))).toEqual({ key: 'palette.problems.needPassword' });
    expect(problem(buildCommand('APOP', { name: 'demo' }))).toEqual({ key: 'palette.problems.needPassword' });
    expect(problem(buildCommand('AUTH', { mechanism: 'GSSAPI', name: 'demo', password: 'x' }, ['GSSAPI']))).toEqual({ key: 'palette.problems.needMechanism' });
    expect(problem(buildCommand('AUTH', { mechanism: 'PLAIN', name: 'demo', password: 'x' }, ['LOGIN']))).toEqual({ key: 'palette.problems.needMechanism' });
    expect(problem(buildCommand('RETR', {}))).toEqual({ key: 'palette.problems.needMessage' });
    expect(problem(buildCommand('RETR', { message: '0' }))).toEqual({ key: 'palette.problems.badMessage', params: { value: '0' } });
    expect(problem(buildCommand('LIST', { message: '1.5' }))).toEqual({ key: 'palette.problems.badMessage', params: { value: '1.5' } });
    expect(problem(buildCommand('TOP', { message: '1', lines: '-1' }))).toEqual({ key: 'palette.problems.badLines', params: { value: '-1' } });
    expect(problem(buildCommand('TOP', { message: '1', lines: '' }))).toEqual({ key: 'palette.problems.needLines' });
    expect(problem(buildCommand('RAW', { line: ' ' }))).toEqual({ key: 'palette.problems.needLine' });
  });
});
