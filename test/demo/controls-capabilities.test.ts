/**
 * The capabilities view's logic (demo/page/capabilities-model.ts): every tag of RFC 2449, 2595, 3206 and 6856
 * explained with its values and RFC section, unknown and unreadable tags shown as such, and the CAPA lines
 * taken from the transcript of a real session.
 */
import { describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { capaLines, describeCapabilities, describeCapability } from '../../demo/page/capabilities-model.js';
import { OfflineServer } from '../../demo/page/offline-server.js';
import { DemoSession } from '../../demo/page/session.js';

const brief = (line: string, state: 'authorization' | 'transaction' = 'authorization') => {
  const item = describeCapability(line, state);
  return { tag: item.tag, known: item.known, text: item.textKey, params: item.params, notes: item.notes.map((n) => n.key), rfc: item.rfc && `${item.rfc.rfc} ${item.rfc.section}` };
};

describe('explaining CAPA lines', () => {
  it('explains the tags without values, each with its RFC section', () => {
    const cases: [string, string][] = [
      ['TOP', '2449 6.1'],
      ['USER', '2449 6.2'],
      ['RESP-CODES', '2449 6.4'],
      ['PIPELINING', '2449 6.6'],
      ['UIDL', '2449 6.8'],
      ['LANG', '6856 3'],
      ['AUTH-RESP-CODE', '3206 6'],
    ];
    for (const [tag, rfc] of cases) {
      expect(brief(tag)).toEqual({ tag, known: true, text: `capabilities.tags.${tag}.text`, params: {}, notes: [], rfc });
    }
    expect(describeCapability('pipelining').titleKey).toBe('capabilities.tags.PIPELINING.title');
  });

  it('reads SASL mechanisms and says which the page can use', () => {
    expect(brief('SASL PLAIN GSSAPI scram-sha-256')).toMatchObject({ text: 'capabilities.tags.SASL.text', params: { mechanisms: 'PLAIN, GSSAPI, SCRAM-SHA-256' }, rfc: '2449 6.3' });
    expect(describeCapability('SASL PLAIN GSSAPI scram-sha-256').notes).toEqual([{ key: 'capabilities.notes.saslUsable', params: { mechanisms: 'PLAIN, SCRAM-SHA-256' } }]);
    expect(brief('SASL GSSAPI').notes).toEqual(['capabilities.notes.saslNoneUsable']);
  });

  it('reads LOGIN-DELAY and EXPIRE with their values and the per-user flag', () => {
    expect(brief('LOGIN-DELAY 900')).toMatchObject({ text: 'capabilities.tags.LOGIN-DELAY.text', params: { seconds: 900 }, notes: [], rfc: '2449 6.5' });
    expect(brief('LOGIN-DELAY 0 USER').notes).toEqual(['capabilities.notes.perUser', 'capabilities.notes.askAfterLogin']);
    expect(brief('LOGIN-DELAY 0 USER', 'transaction').notes).toEqual(['capabilities.notes.perUser']);
    expect(brief('EXPIRE 31')).toMatchObject({ text: 'capabilities.tags.EXPIRE.text', params: { days: 31 }, rfc: '2449 6.7' });
    expect(brief('EXPIRE NEVER')).toMatchObject({ text: 'capabilities.tags.EXPIRE.never' });
    expect(brief('EXPIRE 0')).toMatchObject({ text: 'capabilities.tags.EXPIRE.zero' });
    expect(brief('EXPIRE 60 USER').notes).toEqual(['capabilities.notes.perUser', 'capabilities.notes.askAfterLogin']);
    // GNU Mailutils' spelling.
    expect(brief('EXPIRENEVER')).toMatchObject({ tag: 'EXPIRE', known: true, text: 'capabilities.tags.EXPIRE.never' });
  });

  it('reads IMPLEMENTATION, UTF8 and STLS', () => {
    expect(brief('IMPLEMENTATION Dovecot  2.3 ')).toMatchObject({ text: 'capabilities.tags.IMPLEMENTATION.text', params: { text: 'Dovecot  2.3' }, rfc: '2449 6.9' });
    expect(brief('UTF8')).toMatchObject({ text: 'capabilities.tags.UTF8.text', notes: [], rfc: '6856 2' });
    expect(brief('UTF8 USER').notes).toEqual(['capabilities.notes.utf8User']);
    expect(brief('STLS')).toMatchObject({ text: 'capabilities.tags.STLS.text', notes: ['capabilities.notes.stlsPage'], rfc: '2595 4' });
  });

  it('shows unknown tags as unknown, private X tags as such, and unreadable values as unreadable', () => {
    expect(describeCapability('XTND-FOO 1 2')).toMatchObject({ tag: 'XTND-FOO', known: false, titleKey: undefined, textKey: 'capabilities.unknown.experimental', rfc: undefined });
    expect(describeCapability('MANGLE')).toMatchObject({ tag: 'MANGLE', known: false, textKey: 'capabilities.unknown.text', params: { tag: 'MANGLE' } });
    expect(describeCapability('LOGIN-DELAY soon')).toMatchObject({ tag: 'LOGIN-DELAY', known: false, textKey: 'capabilities.unknown.malformed', params: { tag: 'LOGIN-DELAY', value: 'soon' } });
    expect(describeCapabilities(['TOP', '', '  ', 'UIDL']).map((item) => item.tag)).toEqual(['TOP', 'UIDL']);
  });
});

describe('the CAPA lines of a session', () => {
  it('takes the latest answer from the transcript, in order', async () => {
    const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(readSampleMailbox()), seed: 3 });
    try {
      expect(capaLines(session.entries, undefined)).toEqual([]);
      await session.send({ verb: 'CAPA' });
      const before = capaLines(session.entries, session.engine.capabilities);
      expect(before).toEqual(session.engine.capabilities!.lines);
      expect(before).toContain('USER');
      expect(before).not.toContain('.');
      await session.send({ verb: 'USER', name: 'demo' });
      await session.send({ verb: 'PASS', password: 'demo' });
      await session.send({ verb: 'CAPA' });
      const after = capaLines(session.entries, session.engine.capabilities);
      expect(after).not.toContain('USER');
      expect(after.some((line) => line.startsWith('IMPLEMENTATION'))).toBe(true);
      const tags = describeCapabilities(after, 'transaction').map((item) => item.tag);
      expect(tags).toContain('PIPELINING');
      expect(describeCapabilities(after, 'transaction').every((item) => item.known)).toBe(true);
    } finally {
      session.close();
    }
  });

  it('falls back to the lines the engine kept when the transcript has none', () => {
    const caps = { lines: ['TOP', 'UIDL'] } as unknown as Parameters<typeof capaLines>[1];
    expect(capaLines([], caps)).toEqual(['TOP', 'UIDL']);
  });

  it('undoes dot-stuffing and leaves out the terminating dot', () => {
    const entry = (index: number, text: string, handle = 4) => ({ index, from: 'server' as const, kind: 'listing' as const, text, verb: 'CAPA' as const, handle });
    expect(capaLines([entry(0, 'TOP', 2), entry(1, '.', 2), entry(2, 'UIDL'), entry(3, '..X-DOT'), entry(4, '.')], undefined)).toEqual(['UIDL', '.X-DOT']);
  });
});
