import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../core/bytes.js';
import { ConnectionError, TimeoutError } from '../../core/client/errors.js';
import type { Transport } from '../../core/client/transport.js';
import { ServerError } from '../../core/errors.js';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { App, type AppEvent } from '../../demo/page/app.js';
import { transcriptText } from '../../demo/page/export.js';
import { OfflineServer } from '../../demo/page/offline-server.js';
import { DemoSession, type DemoSessionEvent, type Endpoint, type TranscriptEntry } from '../../demo/page/session.js';

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

/** A transport under the test's control: `push` delivers server bytes; `fail` makes the pending read reject. */
function scriptedTransport(options: { write?: (bytes: Uint8Array) => Promise<void> } = {}) {
  let reader: { resolve: (chunk: Uint8Array | undefined) => void; reject: (error: Error) => void } | undefined;
  const inbox: (Uint8Array | Error | undefined)[] = [];
  let closed = false;
  const written: string[] = [];
  const wake = () => {
    if (reader === undefined || inbox.length === 0) return;
    const next = inbox.shift();
    const { resolve, reject } = reader;
    reader = undefined;
    if (next instanceof Error) reject(next);
    else resolve(next);
  };
  const transport: Transport = {
    secure: false,
    local: true,
    read: () =>
      new Promise((resolve, reject) => {
        if (closed) return resolve(undefined);
        reader = { resolve, reject };
        wake();
      }),
    write: (bytes) => {
      written.push(fromUtf8(bytes));
      return options.write ? options.write(bytes) : Promise.resolve();
    },
    close: () => {
      closed = true;
      inbox.push(undefined);
      wake();
    },
  };
  return {
    transport,
    written,
    get closed() {
      return closed;
    },
    push: (text: string) => {
      inbox.push(new TextEncoder().encode(text));
      wake();
    },
    fail: (error: Error) => {
      inbox.push(error);
      wake();
    },
  };
}

/** An offline endpoint whose "server" is the given transport. */
const endpointFor = (transport: Transport): Endpoint => ({ kind: 'offline', server: { connect: () => transport } as unknown as OfflineServer });
const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('DemoSession: how it ends', () => {
  it('a read that rejects ends the session with the transport error, and every outcome resolves', async () => {
    const wire = scriptedTransport();
    wire.push('+OK hello\r\n');
    const session = await DemoSession.open(endpointFor(wire.transport));
    const pending = session.send({ verb: 'USER', name: 'demo' });
    wire.fail(new ConnectionError('the proxy went away'));
    const outcome = await pending;
    expect(!outcome.ok && outcome.error.message).toBe('the proxy went away');
    await tick();
    expect(session.closed).toBe(true);
    expect(session.closeError?.message).toBe('the proxy went away');
    expect(session.entries.at(-1)?.note).toEqual({ key: 'lost', params: { reason: 'the proxy went away' } });
    expect(wire.closed).toBe(true);
  });

  it('a write that fails ends the session with the write error (not a misleading "closed by the server")', async () => {
    const wire = scriptedTransport({ write: () => Promise.reject(new ConnectionError('the WebSocket is closed')) });
    wire.push('+OK hello\r\n');
    const session = await DemoSession.open(endpointFor(wire.transport));
    const outcome = await session.send({ verb: 'USER', name: 'demo' });
    expect(!outcome.ok && outcome.error.message).toBe('the WebSocket is closed');
    expect(wire.written).toEqual(['USER demo\r\n']);
    await tick();
    expect(session.closed).toBe(true);
    expect(session.closeError?.message).toBe('the WebSocket is closed');
  });

  it('a write that throws (instead of rejecting) is a failure too: send() still resolves', async () => {
    const wire = scriptedTransport({
      write: () => {
        throw new ConnectionError('send() threw');
      },
    });
    wire.push('+OK hello\r\n');
    const session = await DemoSession.open(endpointFor(wire.transport));
    const outcome = await session.send({ verb: 'USER', name: 'demo' });
    expect(!outcome.ok && outcome.error.message).toBe('send() threw');
    await tick();
    expect(session.closeError?.message).toBe('send() threw');
  });

  it('says nothing after `closed`: not after QUIT, not for a command sent later', async () => {
    const events: DemoSessionEvent['type'][] = [];
    const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 3 }, (event) => events.push(event.type));
    await session.send({ verb: 'QUIT' });
    await tick();
    expect(session.closed).toBe(true);
    const late = await session.send({ verb: 'NOOP' });
    expect(late.ok).toBe(false);
    session.drop();
    await tick();
    expect(events.at(-1)).toBe('closed');
    expect(events.filter((type) => type === 'closed')).toHaveLength(1);
    expect(session.recorded.map((c) => c.verb)).toEqual(['QUIT']);
  });

  it('gives up on a server that never greets, and closes the connection', async () => {
    const wire = scriptedTransport();
    const opening = DemoSession.open(endpointFor(wire.transport), undefined, { greetingTimeout: 50 });
    await expect(opening).rejects.toBeInstanceOf(TimeoutError);
    expect(wire.closed).toBe(true);
  });

  it('gives up when its signal is aborted before the greeting, and closes the connection', async () => {
    const wire = scriptedTransport();
    const controller = new AbortController();
    const opening = DemoSession.open(endpointFor(wire.transport), undefined, { signal: controller.signal });
    await tick();
    controller.abort();
    await expect(opening).rejects.toMatchObject({ code: 'POP3_ERR_ABORTED' });
    expect(wire.closed).toBe(true);
  });

  it('shows the body of a multi-line raw command in the transcript, as on the wire', async () => {
    const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 3 });
    const outcome = await session.send({ verb: 'RAW', line: 'CAPA', multiline: true });
    expect(outcome.ok).toBe(true);
    const body = session.entries.find((e) => e.kind === 'body');
    expect(body?.verb).toBe('RAW');
    expect(fromUtf8(body!.wire!)).toMatch(/^TOP\r\n(.*\r\n)*USER\r\n(.*\r\n)*\.\r\n$/);
    expect(transcriptText(session.entries)).toMatch(/^S: USER$/m);
    session.close();
  });
});

describe('App', () => {
  /** An App whose offline place connects to the transports given, in turn. */
  class ScriptedApp extends App {
    readonly wires: ReturnType<typeof scriptedTransport>[] = [];
    constructor() {
      super(undefined, sample);
    }
    override endpoint(): Endpoint {
      const wire = scriptedTransport();
      this.wires.push(wire);
      return endpointFor(wire.transport);
    }
  }

  it('two quick connects: the older attempt is aborted and never becomes the session, even if greeted last', async () => {
    const app = new ScriptedApp();
    const sessions: (DemoSession | undefined)[] = [];
    const failures: AppEvent[] = [];
    app.on((event) => {
      if (event.type === 'session') sessions.push(event.session);
      if (event.type === 'connect-failed') failures.push(event);
    });
    const first = app.connect({ kind: 'offline' });
    const second = app.connect({ kind: 'offline' });
    const [older, newer] = app.wires;
    newer!.push('+OK second\r\n');
    older!.push('+OK first\r\n');
    const [a, b] = await Promise.allSettled([first, second]);
    expect(a.status).toBe('rejected');
    expect(a.status === 'rejected' && a.reason.code).toBe('POP3_ERR_ABORTED');
    expect(b.status).toBe('fulfilled');
    expect(older!.closed).toBe(true);
    expect(app.session).toBe(b.status === 'fulfilled' ? b.value : undefined);
    expect(app.session?.entries.find((e) => e.kind === 'greeting')?.text).toBe('+OK second');
    expect(sessions.filter((s) => s !== undefined)).toEqual([app.session]);
    expect(failures).toEqual([]);
  });

  it('forwards no event of a session it dropped, not even while the next one is being opened', async () => {
    const app = new ScriptedApp();
    const seen: { session: DemoSession; type: DemoSessionEvent['type'] }[] = [];
    app.on((event) => event.type === 'session-event' && seen.push({ session: event.session, type: event.event.type }));
    const first = app.connect({ kind: 'offline' });
    app.wires[0]!.push('+OK first\r\n');
    const dropped = await first;
    const second = app.connect({ kind: 'offline' });
    // The first session closes now, before the second is greeted: its `closed` must not reach the views.
    await tick();
    expect(dropped.closed).toBe(true);
    app.wires[1]!.push('+OK second\r\n');
    const current = await second;
    expect(seen.filter((event) => event.session === dropped && event.type === 'closed')).toEqual([]);
    expect(seen.filter((event) => event.session === current).length).toBeGreaterThan(0);
  });

  it('disconnect() while connecting gives up the attempt and says so', async () => {
    const app = new ScriptedApp();
    const events: string[] = [];
    app.on((event) => events.push(event.type === 'session' ? `session:${event.session === undefined ? 'none' : 'some'}` : event.type));
    const opening = app.connect({ kind: 'offline' });
    app.disconnect();
    await expect(opening).rejects.toMatchObject({ code: 'POP3_ERR_ABORTED' });
    expect(app.wires[0]!.closed).toBe(true);
    expect(app.session).toBeUndefined();
    // (The attempt's own `connected` note came as a session-event while it was the latest.)
    expect(events.filter((type) => type !== 'session-event')).toEqual(['connecting', 'session:none']);
  });

  it('resetMailbox: at once false for a server it cannot reset; the event names the place reset', async () => {
    const app = new App(undefined, sample);
    const started = Date.now();
    const target = { target: 'pop.example.org:995', label: 'x', embedded: false, tls: true };
    expect(await app.resetMailbox({ kind: 'proxy', target })).toBe(false);
    expect(Date.now() - started).toBeLessThan(100);
    const resets: AppEvent[] = [];
    app.on((event) => event.type === 'mailbox-reset' && resets.push(event));
    expect(await app.resetMailbox({ kind: 'offline' })).toBe(true);
    expect(resets).toEqual([{ type: 'mailbox-reset', place: { kind: 'offline' } }]);
  });
});

describe('the sample mailbox for the page', () => {
  it('reads the users file as `pop3kit serve` does (a password may hold `:`, CRLF line ends) and skips dot files', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'pop3kit-sample-'));
    try {
      writeFileSync(path.join(root, 'users'), '  # a comment\r\ndemo:pass:word\r\n');
      mkdirSync(path.join(root, 'demo', 'cur'), { recursive: true });
      writeFileSync(path.join(root, 'demo', 'cur', '1700000001.M1P1.host:2,S'), 'Subject: one\r\n\r\nhi\r\n');
      writeFileSync(path.join(root, 'demo', 'cur', '.hidden'), 'not a message');
      const read = readSampleMailbox(root);
      expect({ user: read.user, password: read.password }).toEqual({ user: 'demo', password: 'pass:word' });
      expect(read.messages.map((m) => m.uid)).toEqual(['1700000001.M1P1.host']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('DemoSession: passwords', () => {
  it('hands no password to its listeners: outcome events carry the command with `*`', async () => {
    const secret = 'hunter2-Geheimnis';
    const seen: string[] = [];
    const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 9 }, (event) =>
      seen.push(JSON.stringify(event, (_key, value: unknown) => (value instanceof Uint8Array ? fromUtf8(value) : value))),
    );
    await session.send({ verb: 'APOP', name: 'demo', password: secret });
    await session.send({ verb: 'AUTH', mechanism: 'PLAIN', name: 'demo', password: secret });
    await session.send({ verb: 'RAW', line: `PASS ${secret}` });
    await session.send({ verb: 'USER', name: 'demo' });
    await session.send({ verb: 'PASS', password: secret });
    // Refused by the engine (a password with a line break), so never sent: still no password in the event.
    await session.send({ verb: 'PASS', password: `${secret}\r\n` });
    session.close();
    expect(seen.length).toBeGreaterThan(10);
    expect(seen.join('\n')).not.toContain(secret);
    expect(JSON.stringify(session.recorded)).not.toContain(secret);
  });
});

describe('DemoSession: ended by the page', () => {
  const notes = (session: DemoSession) => session.entries.filter((e) => e.kind === 'note').map((e) => e.note!.key);

  it('notes a drop, or a close before QUIT, as dropped, never as a connection lost', async () => {
    for (const end of ['drop', 'close'] as const) {
      const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 3 });
      await session.send({ verb: 'USER', name: 'demo' });
      session[end]();
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(session.closed, end).toBe(true);
      expect(notes(session), end).toEqual(['connected', 'dropped']);
    }
  });

  it('notes a session ended by QUIT as closed, and close() afterwards adds nothing', async () => {
    const session = await DemoSession.open({ kind: 'offline', server: new OfflineServer(sample), seed: 4 });
    await session.send({ verb: 'QUIT' });
    await new Promise((resolve) => setTimeout(resolve, 10));
    session.close();
    expect(notes(session)).toEqual(['connected', 'closed']);
  });
});
