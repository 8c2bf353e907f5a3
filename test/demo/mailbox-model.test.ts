/**
 * The mailbox model: what the page knows about the mailbox, from the outcomes of a session's commands alone.
 * Most tests run a real session against the page's offline server (the sample mailbox) and feed the model
 * every `outcome` event, as the mailbox view does; a few give it hand-made outcomes for the rare answers.
 */
import { describe, expect, it } from 'vitest';
import { fromBase64 } from '../../core/bytes.js';
import type { CommandHandle, CommandResult } from '../../core/client-engine.js';
import { type Pop3Error, ServerError } from '../../core/errors.js';
import { ConnectionError } from '../../core/client/errors.js';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { MailboxModel, messageNumberOf } from '../../demo/page/mailbox-model.js';
import { summarizeHeaders } from '../../demo/page/message.js';
import { OfflineServer } from '../../demo/page/offline-server.js';
import { type DemoCommand, DemoSession, type Outcome } from '../../demo/page/session.js';

const sample = readSampleMailbox();
/** The sample's messages as the server stores them (CRLF line ends, so LIST sizes match). */
const stored = sample.messages.map((message) => {
  const lf = fromBase64(message.content)!;
  const text = Buffer.from(lf).toString('latin1').replace(/\r?\n/g, '\r\n');
  const crlf = Buffer.from(text.endsWith('\r\n') ? text : `${text}\r\n`, 'latin1');
  return { uid: message.uid, size: crlf.length, subject: summarizeHeaders(lf).subject };
});
const numberOf = (subject: RegExp) => stored.findIndex((message) => subject.test(message.subject ?? '')) + 1;

/** A logged-in session on a fresh offline server whose outcomes go into a fresh model. */
async function loggedIn(server = new OfflineServer(sample)) {
  const model = new MailboxModel();
  const session = await DemoSession.open({ kind: 'offline', server, seed: 7 }, (event) => {
    if (event.type === 'outcome') model.apply(event.command, event.outcome);
    if (event.type === 'closed') model.close();
  });
  await session.sendAll([
    { verb: 'USER', name: sample.user },
    { verb: 'PASS', password: sample.password },
  ]);
  return { model, session, server };
}

/** What "load list" sends: LIST and UIDL together, then TOP n 0 for each message. */
async function loadList(session: DemoSession): Promise<void> {
  const [list] = await session.sendAll([{ verb: 'LIST' }, { verb: 'UIDL' }]);
  if (!list?.ok || list.result.verb !== 'LIST') throw new Error('LIST failed');
  await session.sendAll(list.result.entries.map((entry): DemoCommand => ({ verb: 'TOP', message: entry.message, lines: 0 })));
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

let handles = 0;
function ok(command: DemoCommand, result: CommandResult, body?: Uint8Array): Outcome {
  const handle: CommandHandle = { id: ++handles, verb: command.verb, command: command.verb };
  return { ok: true, handle, result, text: '', code: undefined, ...(body ? { body } : {}) };
}
function err(command: DemoCommand, error: Pop3Error = new ServerError(command.verb, undefined, 'no such message')): Outcome {
  return { ok: false, handle: { id: ++handles, verb: command.verb, command: command.verb }, error };
}

describe('MailboxModel over a real session', () => {
  it('lists numbers, sizes (LIST), unique ids (UIDL) and decoded From/Subject/Date (TOP n 0)', async () => {
    const { model, session } = await loggedIn();
    await loadList(session);
    expect(model.listed).toBe(true);
    const messages = model.messages;
    expect(messages.map((message) => message.number)).toEqual(stored.map((_, index) => index + 1));
    expect(messages.map((message) => message.size)).toEqual(stored.map((message) => message.size));
    expect(messages.map((message) => message.uid)).toEqual(stored.map((message) => message.uid));
    expect(messages.every((message) => message.headers !== undefined && message.deletion === 'kept' && !message.retrieved)).toBe(true);

    // RFC 2047 encoded words: UTF-8 B and Q encodings, split over folded lines, and ISO-8859-1.
    const german = model.message(numberOf(/Sommerfest/))!.headers!;
    expect(german.from).toBe('Jürgen Müller');
    expect(german.fromAddress).toBe('juergen.mueller@example.net');
    expect(german.subject).toBe('Einladung zum Sommerfest – Grüße aus dem Büro');
    expect(german.dateValue).toBe(Date.parse('2023-11-14T23:13:22Z'));
    expect(model.message(numberOf(/Cenamos/))!.headers).toMatchObject({ from: 'Begoña Ruiz', subject: '¿Cenamos el viernes?' });
    expect(model.message(numberOf(/Réunion/))!.headers!.from).toBe('Élodie Lefèvre');
    expect(model.message(numberOf(/Zahlungserinnerung/))!.headers!.subject).toBe('Zahlungserinnerung: Rechnung Nr. 2023-1147 (Brötchen-Abo)');
    for (const message of messages) expect(message.headers!.subject).not.toContain('=?');
    session.close();
  });

  it('DELE strikes a message, RSET restores it, QUIT +OK has the server delete the marked ones', async () => {
    const { model, session, server } = await loggedIn();
    await loadList(session);
    await session.sendAll([
      { verb: 'DELE', message: 2 },
      { verb: 'DELE', message: 3 },
    ]);
    expect(model.message(2)!.deletion).toBe('marked');
    expect(model.message(3)!.deletion).toBe('marked');
    expect(model.marked).toBe(2);

    // The server now refuses the marked message; the model keeps it marked.
    const again = await session.send({ verb: 'RETR', message: 2 });
    expect(again.ok).toBe(false);
    expect(model.message(2)!.deletion).toBe('marked');
    // A LIST after DELE leaves marked messages out; they stay marked.
    await session.send({ verb: 'LIST' });
    expect(model.message(2)!.deletion).toBe('marked');

    await session.send({ verb: 'RSET' });
    expect(model.marked).toBe(0);
    expect(model.message(2)!.deletion).toBe('kept');

    await session.send({ verb: 'DELE', message: 1 });
    await session.send({ verb: 'QUIT' });
    await settle();
    expect(session.closed).toBe(true);
    expect(model.phase).toBe('committed');
    expect(model.settled).toBe(1);
    expect(model.message(1)!.deletion).toBe('deleted');
    expect(model.messages.filter((message) => message.deletion === 'deleted')).toHaveLength(1);
    expect(server.messageCount).toBe(stored.length - 1);
  });

  it('a session that ends without QUIT deletes nothing: the marks are dropped', async () => {
    const { model, session, server } = await loggedIn();
    await loadList(session);
    await session.send({ verb: 'DELE', message: 4 });
    await session.send({ verb: 'DELE', message: 5 });
    session.drop();
    await settle();
    expect(session.closed).toBe(true);
    expect(model.phase).toBe('dropped');
    expect(model.settled).toBe(2);
    expect(model.marked).toBe(0);
    expect(model.message(4)!.deletion).toBe('kept');
    expect(server.messageCount).toBe(stored.length);
  });

  it('closing with nothing marked is just closed; QUIT with nothing marked commits nothing', async () => {
    const first = await loggedIn();
    first.session.close();
    await settle();
    expect(first.model.phase).toBe('closed');
    const second = await loggedIn();
    await second.session.send({ verb: 'QUIT' });
    await settle();
    expect(second.model.phase).toBe('committed');
    expect(second.model.settled).toBe(0);
  });

  it('RETR marks the message retrieved, with its headers, and knows its size from LIST for the progress bar', async () => {
    const { model, session } = await loggedIn();
    const large = stored.findIndex((message) => message.size > 1_000_000) + 1;
    expect(large).toBeGreaterThan(0);
    await session.send({ verb: 'LIST' });
    expect(model.expectedSize(large)).toBe(stored[large - 1]!.size);
    const retr = await session.send({ verb: 'RETR', message: large });
    expect(retr.ok && retr.body?.length).toBe(stored[large - 1]!.size);
    expect(model.message(large)).toMatchObject({ retrieved: true, deletion: 'kept' });
    expect(model.message(large)!.headers!.subject).toMatch(/Access log/);
    expect(model.lastRetrieved).toBe(large);
    session.close();
  });

  it('STAT gives the count and size', async () => {
    const { model, session } = await loggedIn();
    await session.send({ verb: 'STAT' });
    expect(model.stat).toEqual({ count: stored.length, size: stored.reduce((sum, message) => sum + message.size, 0) });
    expect(model.listed).toBe(false);
    session.close();
  });
});

describe('MailboxModel, hand-made outcomes', () => {
  it('ignores failures, except -ERR to QUIT with messages marked (UPDATE failed: deletion uncertain)', () => {
    const model = new MailboxModel();
    const dele: DemoCommand = { verb: 'DELE', message: 3 };
    expect(model.apply(dele, err(dele))).toBeUndefined();
    expect(model.messages).toEqual([]);
    model.apply(dele, ok(dele, { verb: 'DELE' }));
    expect(model.message(3)!.deletion).toBe('marked');
    const quit: DemoCommand = { verb: 'QUIT' };
    // A local refusal or a lost connection is not the server's answer in UPDATE.
    expect(model.apply(quit, err(quit, new ConnectionError('gone')))).toBeUndefined();
    expect(model.phase).toBe('open');
    expect(model.apply(quit, err(quit))).toBe('all');
    expect(model.phase).toBe('commit-failed');
    expect(model.message(3)!.deletion).toBe('uncertain');
    model.close();
    expect(model.phase).toBe('commit-failed');
  });

  it('follows DELE, RSET and QUIT typed as raw commands', () => {
    const model = new MailboxModel();
    const raw = (line: string): DemoCommand => ({ verb: 'RAW', line });
    model.apply(raw('dele 7'), ok(raw('dele 7'), { verb: 'RAW', octets: undefined }));
    expect(model.message(7)!.deletion).toBe('marked');
    model.apply(raw('RSET'), ok(raw('RSET'), { verb: 'RAW', octets: undefined }));
    expect(model.message(7)!.deletion).toBe('kept');
    model.apply(raw('DELE 7'), ok(raw('DELE 7'), { verb: 'RAW', octets: undefined }));
    model.apply(raw('QUIT'), ok(raw('QUIT'), { verb: 'RAW', octets: undefined }));
    expect(model.phase).toBe('committed');
    expect(model.message(7)!.deletion).toBe('deleted');
  });

  it('LIST n and UIDL n update one message; TOP with a head gives its headers', () => {
    const model = new MailboxModel();
    const list: DemoCommand = { verb: 'LIST', message: 2 };
    model.apply(list, ok(list, { verb: 'LIST', entries: [{ message: 2, size: 120 }] }));
    expect(model.listed).toBe(false);
    const uidl: DemoCommand = { verb: 'UIDL', message: 2 };
    model.apply(uidl, ok(uidl, { verb: 'UIDL', entries: [{ message: 2, uid: 'abc' }] }));
    const top: DemoCommand = { verb: 'TOP', message: 2, lines: 0 };
    const head = new TextEncoder().encode('From: =?utf-8?q?Zo=C3=AB?= <zoe@example.org>\r\nSubject: Hi\r\n there\r\nDate: nonsense\r\n\r\n');
    expect(model.apply(top, ok(top, { verb: 'TOP', message: 2, octets: head.length }, head))).toEqual([2]);
    expect(model.message(2)).toMatchObject({ number: 2, size: 120, uid: 'abc', retrieved: false, deletion: 'kept' });
    expect(model.message(2)!.headers).toMatchObject({ from: 'Zoë', fromAddress: 'zoe@example.org', subject: 'Hi there', date: 'nonsense', dateValue: undefined });
  });

  it('starts over on reset', () => {
    const model = new MailboxModel();
    const dele: DemoCommand = { verb: 'DELE', message: 1 };
    model.apply(dele, ok(dele, { verb: 'DELE' }));
    model.close();
    expect(model.phase).toBe('dropped');
    model.reset();
    expect(model.messages).toEqual([]);
    expect(model.phase).toBe('open');
    expect(model.settled).toBe(0);
    expect(model.stat).toBeUndefined();
  });

  it('finds the message number in a command as the engine shows it', () => {
    expect(messageNumberOf('RETR 14')).toBe(14);
    expect(messageNumberOf('TOP 3 0')).toBe(3);
    expect(messageNumberOf('LIST')).toBeUndefined();
  });
});
