/**
 * explain.ts: every kind of transcript line gets an explanation with its RFC section, from a real session
 * with the page's offline server and from lines that session does not produce (greeting -ERR, stuffed
 * listing lines, odd CAPA tags). Every key an explanation uses must exist in the English strings.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { utf8 } from '../../core/bytes.js';
import { readLocales, readSampleMailbox } from '../../demo/assets.mjs';
import {
  CAPA_TAGS,
  type Explanation,
  explainEntry,
  MECHANISMS,
  type Message,
  RESPONSE_CODE_IDS,
  responseCodeInfo,
  responseCodeMessages,
  rfcUrl,
  VERBS,
} from '../../demo/page/explain.js';
import { OfflineServer } from '../../demo/page/offline-server.js';
import { DemoSession, type TranscriptEntry } from '../../demo/page/session.js';

const strings = readLocales().en as Record<string, unknown>;
function lookup(key: string): unknown {
  let node: unknown = strings;
  for (const part of key.split('.')) node = node !== null && typeof node === 'object' && Object.hasOwn(node, part) ? (node as Record<string, unknown>)[part] : undefined;
  return node;
}
const exists = (key: string) => typeof lookup(key) === 'string';
/** Every message of an explanation names a string, and its placeholders are all given. */
function checkMessages(explanation: Explanation): void {
  const messages: Message[] = [explanation.title, ...explanation.paragraphs, ...explanation.terms.map((term) => term.text)];
  if (explanation.noWire) messages.push(explanation.noWire);
  for (const message of messages) {
    expect(exists(message.key), message.key).toBe(true);
    const placeholders = [...(lookup(message.key) as string).matchAll(/\{(\w+)\}/g)].map((match) => match[1]!);
    for (const name of placeholders) expect(message.params ?? {}, `${message.key} {${name}}`).toHaveProperty(name);
  }
}
const keys = (explanation: Explanation) => explanation.paragraphs.map((message) => message.key);
const sections = (explanation: Explanation) => explanation.rfcs.map((ref) => `${ref.rfc}${ref.section ? `#${ref.section}` : ''}`);

let entries: readonly TranscriptEntry[] = [];
let apopEntries: readonly TranscriptEntry[] = [];
beforeAll(async () => {
  const server = new OfflineServer(readSampleMailbox());
  const session = await DemoSession.open({ kind: 'offline', server, seed: 7 });
  await session.send({ verb: 'CAPA' });
  await session.send({ verb: 'UTF8' });
  await session.send({ verb: 'AUTH', mechanism: 'SCRAM-SHA-256', name: 'demo', password: 'demo' });
  await session.send({ verb: 'STAT' });
  await session.sendAll([{ verb: 'LIST' }, { verb: 'LIST', message: 2 }, { verb: 'UIDL' }, { verb: 'UIDL', message: 1 }, { verb: 'TOP', message: 1, lines: 2 }]);
  await session.send({ verb: 'RETR', message: 1 });
  await session.send({ verb: 'DELE', message: 1 });
  await session.send({ verb: 'DELE', message: 99 });
  await session.send({ verb: 'RSET' });
  await session.send({ verb: 'NOOP' });
  await session.send({ verb: 'LANG' });
  await session.send({ verb: 'RAW', line: 'XYZZY now' });
  await session.send({ verb: 'RAW', line: 'noop' });
  await session.send({ verb: 'USER', name: 'late' });
  await session.send({ verb: 'QUIT' });
  await new Promise((resolve) => setTimeout(resolve, 0));
  entries = session.entries;

  const second = await DemoSession.open({ kind: 'offline', server, seed: 7 });
  await second.send({ verb: 'USER', name: 'demo' });
  await second.send({ verb: 'PASS', password: 'wrong' });
  await second.send({ verb: 'APOP', name: 'demo', password: 'demo' });
  await second.send({ verb: 'QUIT' });
  second.drop();
  await new Promise((resolve) => setTimeout(resolve, 0));
  apopEntries = second.entries;
});

const find = (list: readonly TranscriptEntry[], test: (entry: TranscriptEntry) => boolean) => {
  const found = list.find(test);
  if (!found) throw new Error('no such entry');
  return found;
};

describe('explainEntry over a real session', () => {
  it('explains every line with known strings, an RFC section, and the command a reply answers', () => {
    expect(entries.length).toBeGreaterThan(40);
    for (const entry of [...entries, ...apopEntries]) {
      const explanation = explainEntry(entry, { entries: entry.index < entries.length && entries[entry.index] === entry ? entries : apopEntries });
      checkMessages(explanation);
      if (entry.from !== 'local' || ['connected', 'dropped', 'closed', 'lost'].includes(entry.note!.key)) expect(explanation.rfcs.length, entry.text).toBeGreaterThan(0);
      if (entry.from === 'server' && entry.kind !== 'greeting') expect(explanation.answers, entry.text).toBeTypeOf('number');
      expect(explanation.noWire === undefined, entry.text).toBe(entry.from !== 'local' && entry.wire !== undefined);
    }
  });

  it('the greeting: its APOP timestamp, RFC 1939 sections 4 and 7', () => {
    const greeting = explainEntry(entries.find((entry) => entry.kind === 'greeting')!, { entries });
    expect(greeting.title.key).toBe('explain.titles.greeting');
    const apop = greeting.paragraphs.find((message) => message.key === 'explain.greeting.apop')!;
    expect(String(apop.params!.timestamp)).toMatch(/^<[^>]+@offline\.pop3kit\.invalid>$/);
    expect(sections(greeting)).toEqual(['1939#4', '1939#3', '1939#7']);
  });

  it('commands by verb, with their arguments and sections', () => {
    const command = (text: string) => explainEntry(find(entries, (entry) => entry.from === 'client' && entry.text === text), { entries });
    const list = command('LIST');
    expect(list.title).toEqual({ key: 'explain.titles.command', params: { verb: 'LIST' } });
    expect(keys(list)).toContain('explain.commands.LIST.all');
    expect(sections(list)[0]).toBe('1939#5');
    expect(command('LIST 2').paragraphs).toContainEqual({ key: 'explain.commands.LIST.one', params: { message: '2' } });
    expect(command('TOP 1 2').paragraphs).toContainEqual({ key: 'explain.commands.TOP.detail', params: { message: '1', lines: '2' } });
    expect(sections(command('TOP 1 2'))[0]).toBe('1939#7');
    expect(sections(command('CAPA'))[0]).toBe('2449#5');
    expect(sections(command('UTF8'))[0]).toBe('6856#2');
    expect(sections(command('LANG'))[0]).toBe('6856#3');
    const quit = command('QUIT');
    expect(keys(quit)).toContain('explain.commands.QUIT.update');
    expect(sections(quit)[0]).toBe('1939#6');
  });

  it('AUTH: the mechanism and its RFC, challenges and responses redacted and explained by step', () => {
    const auth = explainEntry(find(entries, (entry) => entry.kind === 'command' && entry.verb === 'AUTH'), { entries });
    expect(auth.terms.map((term) => term.term)).toEqual(['SCRAM-SHA-256']);
    expect(sections(auth)).toContain('5034#4');
    expect(sections(auth)).toContain('7677');
    expect(auth.noWire?.key).toBe('explain.noWire.sasl');
    expect(keys(auth)).toContain('explain.commands.AUTH.initial');
    const challenges = entries.filter((entry) => entry.kind === 'challenge').map((entry) => explainEntry(entry, { entries }));
    expect(challenges.length).toBe(2);
    expect(challenges[1]!.paragraphs[0]).toEqual({ key: 'explain.challenge.text', params: { n: 2 } });
    expect(keys(challenges[0]!)).toContain('explain.mechanisms.SCRAM-SHA-256.challenge');
    expect(challenges[0]!.noWire?.key).toBe('explain.noWire.sasl');
    const response = explainEntry(find(entries, (entry) => entry.kind === 'sasl-response'), { entries });
    expect(keys(response)).toContain('explain.mechanisms.SCRAM-SHA-256.response');
  });

  it('PASS and APOP: no bytes, and why', () => {
    const pass = explainEntry(find(apopEntries, (entry) => entry.verb === 'PASS' && entry.from === 'client'), { entries: apopEntries });
    expect(pass.noWire?.key).toBe('explain.noWire.password');
    const apop = explainEntry(find(apopEntries, (entry) => entry.verb === 'APOP' && entry.from === 'client'), { entries: apopEntries });
    expect(apop.noWire?.key).toBe('explain.noWire.apop');
    expect(apop.paragraphs).toContainEqual({ key: 'explain.commands.APOP.detail', params: { name: 'demo' } });
    const refused = explainEntry(find(apopEntries, (entry) => entry.verb === 'PASS' && entry.from === 'server'), { entries: apopEntries });
    expect(refused.title).toEqual({ key: 'explain.titles.err', params: { verb: 'PASS' } });
    expect(keys(refused)).toContain('explain.status.errBy.PASS');
  });

  it('status lines by the verb they answer, with what their text says', () => {
    const reply = (verb: string, test: (entry: TranscriptEntry) => boolean = () => true) =>
      explainEntry(find(entries, (entry) => entry.from === 'server' && entry.kind === 'status' && entry.verb === verb && test(entry)), { entries });
    const stat = reply('STAT');
    expect(stat.paragraphs).toContainEqual({ key: 'explain.status.detail.stat', params: { count: String(readSampleMailbox().messages.length), octets: expect.stringMatching(/^\d+$/) } });
    expect(entries[stat.answers!]!.text).toBe('STAT');
    expect(keys(reply('LIST', (entry) => entry.text.startsWith('+OK 2 ')))).toContain('explain.status.detail.scan');
    expect(keys(reply('LIST', (entry) => !entry.text.startsWith('+OK 2 ')))).toContain('explain.status.followsListing');
    expect(keys(reply('RETR'))).toContain('explain.status.followsBody');
    const dele = reply('DELE', (entry) => entry.ok === false);
    expect(keys(dele)).toEqual(['explain.status.err', 'explain.status.errBy.DELE']);
    expect(entries[dele.answers!]!.text).toBe('DELE 99');
    const raw = reply('RAW', (entry) => entry.ok === false);
    expect(raw.title).toEqual({ key: 'explain.titles.err', params: { verb: 'XYZZY' } });
  });

  it('listing lines: LIST, UIDL, each CAPA tag, and the terminator', () => {
    const listing = (verb: string, test: (entry: TranscriptEntry) => boolean) =>
      explainEntry(find(entries, (entry) => entry.kind === 'listing' && entry.verb === verb && test(entry)), { entries });
    expect(listing('LIST', (entry) => entry.text.startsWith('1 ')).paragraphs[0]).toEqual({ key: 'explain.listing.LIST', params: { message: '1', octets: expect.any(String) } });
    expect(listing('UIDL', (entry) => entry.text.startsWith('1 ')).paragraphs[0]!.key).toBe('explain.listing.UIDL');
    const end = listing('UIDL', (entry) => entry.text === '.');
    expect(end.title.key).toBe('explain.titles.terminator');
    expect(end.framing).toBe('listing');
    expect(sections(end)).toEqual(['1939#3']);
    const sasl = listing('CAPA', (entry) => entry.text.startsWith('SASL '));
    expect(sasl.title).toEqual({ key: 'explain.titles.capability', params: { tag: 'SASL' } });
    expect(sasl.terms.map((term) => term.term)).toEqual(['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256']);
    expect(sasl.terms[0]!.rfc).toEqual({ rfc: 4616, section: '2' });
    expect(sections(sasl)).toContain('2449#6.3');
    const utf8User = listing('CAPA', (entry) => entry.text === 'UTF8 USER');
    expect(keys(utf8User)).toEqual(['explain.listing.CAPA', 'explain.capa.UTF8', 'explain.capa.args.utf8User']);
    expect(sections(listing('CAPA', (entry) => entry.text === 'PIPELINING'))).toContain('2449#6.6');
  });

  it('bodies: size, lines, stuffing, terminator, 8-bit bytes', () => {
    const retr = explainEntry(find(entries, (entry) => entry.kind === 'body' && entry.verb === 'RETR'), { entries });
    expect(retr.framing).toBe('body');
    expect(retr.title).toEqual({ key: 'explain.titles.body', params: { verb: 'RETR', message: '1' } });
    expect(keys(retr)).toContain('explain.body.terminator');
    expect(sections(retr)).toEqual(['1939#3', '1939#5', '1939#10']);
    const top = explainEntry(find(entries, (entry) => entry.kind === 'body' && entry.verb === 'TOP'), { entries });
    expect(top.paragraphs).toContainEqual({ key: 'explain.body.TOP', params: { lines: '2' } });
    expect(sections(top)[1]).toBe('1939#7');

    const body = utf8('Subject: caf\u00e9\r\n\r\n.hidden\r\nok\r\n');
    const wire = utf8('Subject: caf\u00e9\r\n\r\n..hidden\r\nok\r\n.\r\n');
    const synthetic = explainEntry({ index: 0, from: 'server', kind: 'body', text: '', verb: 'RETR', body, wire });
    expect(synthetic.paragraphs).toContainEqual({ key: 'explain.body.stuffed', params: { stuffed: 1 } });
    expect(synthetic.paragraphs).toContainEqual({ key: 'explain.body.eightBit', params: { count: 2 } });
    expect(synthetic.paragraphs).toContainEqual({ key: 'explain.body.wire', params: { wire: wire.length, octets: body.length, stuffed: 1 } });
    checkMessages(synthetic);
  });

  it('pipelined commands get the in-flight paragraph and RFC 2449 section 6.6', () => {
    const pipelined = find(entries, (entry) => entry.from === 'client' && (entry.inFlight ?? 0) > 1);
    const explanation = explainEntry(pipelined, { entries });
    expect(explanation.paragraphs).toContainEqual({ key: 'explain.pipelined', params: { n: pipelined.inFlight!, before: pipelined.inFlight! - 1 } });
    expect(sections(explanation)).toContain('2449#6.6');
  });

  it('raw lines: a known verb is explained as that verb', () => {
    const noop = explainEntry(find(entries, (entry) => entry.text === 'noop'), { entries });
    expect(noop.title.params).toEqual({ verb: 'NOOP' });
    expect(keys(noop)).toEqual(['explain.commands.RAW.text', 'explain.commands.RAW.detail', 'explain.commands.RAW.known', 'explain.commands.NOOP.text']);
    const unknown = explainEntry(find(entries, (entry) => entry.text === 'XYZZY now'), { entries });
    expect(keys(unknown)).toContain('explain.commands.RAW.unknown');
  });

  it('local notes: their session string as title, no bytes, RFC 1939 section 6 for endings', () => {
    const refused = explainEntry(find(entries, (entry) => entry.note?.key === 'refused-locally'), { entries });
    expect(refused.title.key).toBe('session.refused-locally');
    expect(refused.paragraphs[0]!.params).toMatchObject({ command: 'USER late' });
    expect(refused.noWire?.key).toBe('explain.noWire.note');
    const dropped = explainEntry(find(apopEntries, (entry) => entry.note?.key === 'closed' || entry.note?.key === 'dropped'), { entries: apopEntries });
    expect(sections(dropped)).toEqual(['1939#6']);
    const connected = explainEntry(entries[0]!, { entries });
    expect(connected.title).toEqual({ key: 'session.connected', params: { where: 'offline' } });
    expect(keys(connected)[0]).toBe('explain.notes.connected.offline');
  });
});

describe('explainEntry for lines the offline server does not send', () => {
  const line = (entry: Partial<TranscriptEntry>): TranscriptEntry => ({ index: 5, from: 'server', kind: 'listing', text: '', ...entry });

  it('a greeting -ERR with a code', () => {
    const explanation = explainEntry(line({ kind: 'greeting', text: '-ERR [SYS/TEMP] overloaded', ok: false, code: 'SYS/TEMP' }));
    expect(keys(explanation)).toEqual(['explain.greeting.err', 'codes.sysTemp.text']);
    expect(sections(explanation)).toContain('3206#4');
    checkMessages(explanation);
  });

  it('a greeting without timestamp says APOP is not offered', () => {
    expect(keys(explainEntry(line({ kind: 'greeting', text: '+OK ready', ok: true })))).toContain('explain.greeting.noApop');
  });

  it('a -ERR [IN-USE] to PASS', () => {
    const explanation = explainEntry(line({ kind: 'status', text: '-ERR [IN-USE] locked', ok: false, code: 'IN-USE', verb: 'PASS' }));
    expect(keys(explanation)).toContain('codes.inUse.text');
    expect(sections(explanation)).toEqual(['2449#8.1.2', '1939#7', '1939#3']);
  });

  it('a stuffed listing line, and CAPA tags with arguments', () => {
    expect(keys(explainEntry(line({ verb: 'RAW', text: '..odd' })))).toContain('explain.listing.stuffed');
    const capa = (text: string) => explainEntry(line({ verb: 'CAPA', text }));
    expect(capa('LOGIN-DELAY 900 USER').paragraphs).toContainEqual({ key: 'explain.capa.args.loginDelay', params: { seconds: '900' } });
    expect(keys(capa('LOGIN-DELAY 900 USER'))).toContain('explain.capa.args.perUser');
    expect(keys(capa('EXPIRE NEVER'))).toContain('explain.capa.args.expireNever');
    expect(keys(capa('EXPIRE 0'))).toContain('explain.capa.args.expireZero');
    expect(capa('EXPIRE 31').paragraphs).toContainEqual({ key: 'explain.capa.args.expireDays', params: { days: '31' } });
    expect(capa('IMPLEMENTATION Shlemazle Plotz v302').paragraphs).toContainEqual({ key: 'explain.capa.args.implementation', params: { name: 'Shlemazle Plotz v302' } });
    expect(sections(capa('STLS'))).toContain('2595#4');
    expect(sections(capa('AUTH-RESP-CODE'))).toContain('3206#5');
    expect(capa('X-FOO bar').paragraphs).toContainEqual({ key: 'explain.capa.unknown', params: { tag: 'X-FOO' } });
    expect(capa('SASL XOAUTH2 NEWTHING').terms.map((term) => term.text.key)).toEqual(['explain.mechanisms.XOAUTH2.text', 'explain.mechanisms.unknown']);
    for (const tag of Object.keys(CAPA_TAGS)) checkMessages(capa(`${tag} 1`));
  });

  it('a LANG listing line, a QUIT before login, a STLS command', () => {
    expect(explainEntry(line({ verb: 'LANG', text: 'de Deutsch' })).paragraphs[0]).toEqual({ key: 'explain.listing.LANG', params: { tag: 'de', description: 'Deutsch' } });
    const quit = explainEntry(line({ from: 'client', kind: 'command', verb: 'QUIT', text: 'QUIT', wire: utf8('QUIT\r\n') }), { entries: [] });
    expect(keys(quit)).toContain('explain.commands.QUIT.authorization');
    expect(sections(quit)[0]).toBe('1939#4');
    expect(sections(explainEntry(line({ from: 'client', kind: 'command', verb: 'STLS', text: 'STLS' })))[0]).toBe('2595#4');
    const quitErr = explainEntry(line({ kind: 'status', verb: 'QUIT', ok: false, text: '-ERR some deleted messages not removed' }));
    expect(keys(quitErr)).toContain('explain.status.quitErr');
  });

  it('every verb, mechanism and code has its strings', () => {
    for (const verb of VERBS) {
      expect(exists(`explain.commands.${verb}.text`), verb).toBe(true);
      expect(exists(`explain.status.okBy.${verb}`), verb).toBe(true);
      expect(exists(`explain.status.errBy.${verb}`), verb).toBe(true);
      checkMessages(explainEntry(line({ from: 'client', kind: 'command', verb, text: `${verb} 1 2` })));
    }
    for (const mechanism of Object.keys(MECHANISMS)) {
      for (const part of ['text', 'challenge', 'response']) expect(exists(`explain.mechanisms.${mechanism}.${part}`), mechanism).toBe(true);
    }
    for (const id of RESPONSE_CODE_IDS) for (const part of ['title', 'text', 'action']) expect(exists(`codes.${id}.${part}`), id).toBe(true);
  });
});

describe('response codes', () => {
  it('known codes, case-insensitive, hierarchical with the known prefix', () => {
    expect(responseCodeInfo('in-use')).toMatchObject({ code: 'IN-USE', id: 'inUse', rest: '', rfc: { rfc: 2449, section: '8.1.2' } });
    expect(responseCodeInfo('LOGIN-DELAY').rfc).toEqual({ rfc: 2449, section: '8.1.1' });
    expect(responseCodeInfo('SYS/TEMP').id).toBe('sysTemp');
    expect(responseCodeInfo('SYS/PERM').id).toBe('sysPerm');
    expect(responseCodeInfo('AUTH').rfc).toEqual({ rfc: 3206, section: '5' });
    expect(responseCodeInfo('UTF8').rfc).toEqual({ rfc: 6856, section: '5' });
    expect(responseCodeInfo('SYS/TEMP/DISK-FULL')).toMatchObject({ id: 'sysTemp', known: 'SYS/TEMP', rest: 'DISK-FULL' });
    expect(responseCodeInfo('SYS/OTHER')).toMatchObject({ id: 'sys', known: 'SYS', rest: 'OTHER' });
    expect(responseCodeInfo('X-VENDOR/THING')).toMatchObject({ id: 'unknown', known: undefined, rfc: { rfc: 2449, section: '8' } });
    expect(responseCodeMessages('SYS/TEMP/DISK')).toEqual([
      { key: 'codes.sysTemp.text', params: { code: 'SYS/TEMP/DISK' } },
      { key: 'codes.refined', params: { code: 'SYS/TEMP/DISK', known: 'SYS/TEMP', rest: 'DISK' } },
    ]);
  });

  it('RFC links go to the RFC Editor', () => {
    expect(rfcUrl({ rfc: 1939, section: '7' })).toBe('https://www.rfc-editor.org/rfc/rfc1939#section-7');
    expect(rfcUrl({ rfc: 2195 })).toBe('https://www.rfc-editor.org/rfc/rfc2195');
  });
});

describe('the views use only keys that exist', () => {
  it('every full key literal in the transcript and explain sources is an English string', () => {
    const files = ['transcript-view.ts', 'explain-view.ts', 'explain.ts', 'response-codes.ts'];
    let checked = 0;
    for (const file of files) {
      const source = readFileSync(new URL(`../../demo/page/${file}`, import.meta.url), 'utf8');
      for (const match of source.matchAll(/'((?:explain|transcript|codes|errors|session)\.[A-Za-z0-9.-]+)'/g)) {
        const key = match[1]!;
        // Prefixes completed in code (`explain.commands.${verb}.text`) end with a dot and are checked above.
        if (key.endsWith('.')) continue;
        expect(exists(key), `${file}: ${key}`).toBe(true);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(60);
  });
});
