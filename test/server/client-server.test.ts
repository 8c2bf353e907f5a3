/**
 * The client engine and the server engine wired together in memory, the server answering from a
 * MemoryMailStore: every command, every SASL mechanism, APOP, the error paths, pipelined batches, STLS, and
 * a property test over random mailboxes and random slicings. Both engines are sans-IO and the server's
 * driver answers at once, so a whole session runs synchronously and deterministically.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type ClientEngineOptions, type CommandHandle, Pop3ClientEngine, type Pop3Event } from '../../core/client-engine.js';
import { ServerError } from '../../core/errors.js';
import { cramMd5, login, plain, type SaslMechanism, scramSha256 } from '../../core/sasl/index.js';
import { MemoryMailStore } from '../../core/server/memory-mailbox.js';
import type { ServerEngineOptions } from '../../core/server/server-engine.js';
import { fixtureStore, runServer, type ServerDriver } from '../support/server-transcript.js';
import { byteArray, byteString, concatBytes, sliceAt } from '../support/transcript.js';

/** A client engine and a server engine joined by a synchronous pipe. */
class Wire {
  readonly client: Pop3ClientEngine;
  readonly server: ServerDriver;
  readonly events: Pop3Event[] = [];
  /** Each takeOutgoing() of the client, as a byte string. */
  readonly writes: string[] = [];
  readonly #slice: (bytes: Uint8Array) => Uint8Array[];
  #epoch = 0;
  #forwarded = 0;
  #clientWantsTls = false;

  constructor(
    store: MemoryMailStore,
    options: { server?: Partial<ServerEngineOptions>; client?: ClientEngineOptions; slice?: (bytes: Uint8Array) => Uint8Array[] } = {},
  ) {
    this.server = runServer(options.server, store);
    this.client = new Pop3ClientEngine(options.client);
    this.#slice = options.slice ?? ((bytes) => [bytes]);
    this.pump();
  }

  /** Move bytes both ways, and through STLS, until neither side has anything to say. */
  pump(): this {
    for (let moved = true; moved; ) {
      moved = false;
      const out = this.client.takeOutgoing();
      if (out !== undefined) {
        moved = true;
        this.writes.push(byteString(out));
        for (const chunk of this.#slice(out)) this.server.receive(chunk);
      }
      const said = this.server.output[this.#epoch]!;
      if (said.length > this.#forwarded) {
        moved = true;
        this.client.receive(byteArray(said.slice(this.#forwarded)));
        this.#forwarded = said.length;
      }
      for (let event = this.client.nextEvent(); event !== undefined; event = this.client.nextEvent()) {
        moved = true;
        this.events.push(event);
        if (event.type === 'starttls') this.#clientWantsTls = true;
      }
      if (this.#clientWantsTls && this.server.starttlsPending) {
        // The simulated handshake: both sides switch, and a new epoch of server output begins.
        moved = true;
        this.#clientWantsTls = false;
        this.server.tlsStarted();
        this.client.tlsStarted();
        this.#epoch++;
        this.#forwarded = 0;
      }
    }
    return this;
  }

  /** The event that ended a command: done, rejected or failed. */
  outcome(handle: CommandHandle): Extract<Pop3Event, { type: 'done' | 'rejected' | 'failed' }> {
    const event = this.events.find(
      (candidate) => (candidate.type === 'done' || candidate.type === 'rejected' || candidate.type === 'failed') && candidate.handle === handle,
    );
    expect(event, `an outcome for ${handle.command}`).toBeDefined();
    return event as Extract<Pop3Event, { type: 'done' | 'rejected' | 'failed' }>;
  }

  result(handle: CommandHandle): unknown {
    const outcome = this.outcome(handle);
    expect(outcome.type, `${handle.command}: ${outcome.type === 'done' ? '' : outcome.error.message}`).toBe('done');
    return (outcome as Extract<Pop3Event, { type: 'done' }>).result;
  }

  /** The body of a RETR or TOP, as a byte string. */
  body(handle: CommandHandle): string {
    this.result(handle);
    return this.events.flatMap((event) => (event.type === 'data' && event.handle === handle ? [byteString(event.chunk)] : [])).join('');
  }

  serverError(handle: CommandHandle): ServerError {
    const outcome = this.outcome(handle);
    expect(outcome.type).toBe('rejected');
    return (outcome as Extract<Pop3Event, { type: 'rejected' }>).error;
  }
}

const content = (store: MemoryMailStore, user: string, n: number): string => byteString(store.messages(user)![n - 1]!.content);

/** A logged-in wire (CAPA first, so the client knows it may pipeline). */
function loggedIn(store = fixtureStore(), options: ConstructorParameters<typeof Wire>[1] = {}): Wire {
  const wire = new Wire(store, options);
  wire.client.capa();
  wire.client.user('alice');
  const pass = wire.client.pass('alice-pw');
  wire.pump();
  wire.result(pass);
  return wire;
}

describe('every command', () => {
  it('CAPA, USER, PASS, STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET, QUIT', () => {
    const store = fixtureStore();
    const wire = new Wire(store, { server: { implementation: 'pop3kit' } });
    const { client } = wire;
    expect(wire.events[0]).toMatchObject({ type: 'greeting', greeting: { ok: true, text: 'POP3 server ready' } });
    const capa = client.capa();
    wire.pump();
    expect(wire.result(capa)).toMatchObject({
      capabilities: { top: true, user: true, uidl: true, pipelining: true, respCodes: true, authRespCode: true, stls: false, sasl: ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256'], utf8: { user: true } },
    });
    client.user('alice');
    const pass = client.pass('alice-pw');
    const stat = client.stat();
    const list = client.list();
    const list2 = client.list(2);
    const uidl = client.uidl();
    const uidl3 = client.uidl(3);
    const retr = client.retr(2);
    const top = client.top(1, 1);
    const dele = client.dele(1);
    const statAfter = client.stat();
    const rset = client.rset();
    const noop = client.noop();
    const capaAfter = client.capa();
    const dele4 = client.dele(4);
    wire.pump();
    // QUIT in a later write: the client engine labels a CAPA answered after QUIT went out as AUTHORIZATION.
    const quit = client.quit();
    wire.pump();
    expect(wire.result(pass)).toEqual({ verb: 'PASS' });
    expect(wire.result(stat)).toEqual({ verb: 'STAT', count: 4, size: 193 });
    expect(wire.result(list)).toEqual({ verb: 'LIST', entries: [72, 62, 37, 22].map((size, i) => ({ message: i + 1, size })) });
    expect(wire.result(list2)).toEqual({ verb: 'LIST', entries: [{ message: 2, size: 62 }] });
    expect(wire.result(uidl)).toEqual({ verb: 'UIDL', entries: ['alice-1', 'alice-2', 'alice-3', 'alice-4'].map((uid, i) => ({ message: i + 1, uid })) });
    expect(wire.result(uidl3)).toEqual({ verb: 'UIDL', entries: [{ message: 3, uid: 'alice-3' }] });
    expect(wire.body(retr)).toBe(content(store, 'alice', 2));
    expect(wire.body(top)).toBe('From: bob@example.org\r\nSubject: hello\r\n\r\nHello Alice,\r\n');
    expect(wire.result(dele)).toEqual({ verb: 'DELE' });
    expect(wire.result(statAfter)).toEqual({ verb: 'STAT', count: 3, size: 121 });
    expect(wire.result(rset)).toEqual({ verb: 'RSET' });
    expect(wire.result(noop)).toEqual({ verb: 'NOOP' });
    expect(wire.result(capaAfter)).toMatchObject({ capabilities: { state: 'transaction', user: false, sasl: [], implementation: 'pop3kit' } });
    expect(wire.result(dele4)).toEqual({ verb: 'DELE' });
    expect(wire.result(quit)).toEqual({ verb: 'QUIT' });
    expect(client.state).toBe('closed');
    expect(wire.server.engine.closeReason).toBe('quit');
    // RSET undid DELE 1; DELE 4 stood; UPDATE applied it.
    expect(store.messages('alice')!.map((m) => m.uid)).toEqual(['alice-1', 'alice-2', 'alice-3']);
    expect(store.isLocked('alice')).toBe(false);
  });

  it('UTF8, then a UTF-8 login; LANG is not implemented and says so', () => {
    const store = fixtureStore();
    const wire = new Wire(store);
    const utf8 = wire.client.utf8();
    const lang = wire.client.lang();
    wire.client.user('jörg');
    const pass = wire.client.pass('pässwörd');
    const retr = wire.client.retr(1);
    wire.pump();
    expect(wire.result(utf8)).toEqual({ verb: 'UTF8' });
    expect(wire.client.utf8Enabled).toBe(true);
    expect(wire.serverError(lang).text).toBe('unknown command');
    expect(wire.result(pass)).toEqual({ verb: 'PASS' });
    expect(wire.body(retr)).toBe('Subject: grüße\r\n\r\nhallo\r\n'.replace(/[^\x00-\x7f]/g, (c) => byteString(new TextEncoder().encode(c))));
  });
});

describe('logging in', () => {
  const mechanisms: [string, () => SaslMechanism, boolean][] = [
    ['PLAIN', () => plain({ username: 'alice', password: 'alice-pw' }), true],
    ['PLAIN, two-step', () => plain({ username: 'alice', password: 'alice-pw' }), false],
    ['LOGIN', () => login({ username: 'alice', password: 'alice-pw' }), true],
    ['CRAM-MD5', () => cramMd5({ username: 'alice', password: 'alice-pw' }), true],
    ['SCRAM-SHA-256', () => scramSha256({ username: 'alice', password: 'alice-pw' }), true],
    ['SCRAM-SHA-256, two-step', () => scramSha256({ username: 'alice', password: 'alice-pw' }), false],
  ];

  it.each(mechanisms)('AUTH %s', (_, mechanism, initialResponse) => {
    const wire = new Wire(fixtureStore());
    const auth = wire.client.auth(mechanism(), { initialResponse });
    const stat = wire.client.stat();
    wire.pump();
    // For SCRAM, `done` means the client verified the server's signature (complete() would have thrown).
    expect(wire.result(auth)).toEqual({ verb: 'AUTH' });
    expect(wire.result(stat)).toEqual({ verb: 'STAT', count: 4, size: 193 });
  });

  it.each([
    ['PLAIN', () => plain({ username: 'alice', password: 'wrong' })],
    ['LOGIN', () => login({ username: 'alice', password: 'wrong' })],
    ['CRAM-MD5', () => cramMd5({ username: 'alice', password: 'wrong' })],
    ['SCRAM-SHA-256', () => scramSha256({ username: 'alice', password: 'wrong' })],
    ['SCRAM-SHA-256, unknown user', () => scramSha256({ username: 'nobody', password: 'x' })],
  ])('AUTH %s with wrong credentials: -ERR [AUTH]', (_, mechanism) => {
    const wire = new Wire(fixtureStore());
    const auth = wire.client.auth(mechanism());
    wire.pump();
    expect(wire.serverError(auth).authFailed).toBe(true);
    expect(wire.client.state).toBe('authorization');
  });

  it('APOP with the greeting timestamp', () => {
    const wire = new Wire(fixtureStore(), { server: { apopTimestamp: '<123.456@pop3kit.test>' } });
    expect(wire.client.greeting?.timestamp).toBe('<123.456@pop3kit.test>');
    const apop = wire.client.apop('mrose', 'tanstaaf');
    const wrong = new Wire(fixtureStore(), { server: { apopTimestamp: '<123.456@pop3kit.test>' } });
    const refused = wrong.client.apop('mrose', 'tanstaafl');
    wire.pump();
    wrong.pump();
    expect(wire.result(apop)).toEqual({ verb: 'APOP' });
    expect(wrong.serverError(refused).authFailed).toBe(true);
  });

  it('USER/PASS with a wrong password: -ERR [AUTH], then the right one', () => {
    const wire = new Wire(fixtureStore());
    wire.client.user('alice');
    const wrong = wire.client.pass('nope');
    wire.pump();
    expect(wire.serverError(wrong).authFailed).toBe(true);
    wire.client.user('alice');
    const right = wire.client.pass('alice-pw');
    wire.pump();
    expect(wire.result(right)).toEqual({ verb: 'PASS' });
  });

  it('[IN-USE] while another session on the same store holds the mailbox, and after it quits, success', () => {
    const store = fixtureStore();
    const first = loggedIn(store);
    const second = new Wire(store);
    second.client.user('alice');
    const refused = second.client.pass('alice-pw');
    second.pump();
    expect(second.serverError(refused).inUse).toBe(true);
    first.client.quit();
    first.pump();
    second.client.user('alice');
    const accepted = second.client.pass('alice-pw');
    second.pump();
    expect(second.result(accepted)).toEqual({ verb: 'PASS' });
  });
});

describe('errors the client sees', () => {
  it('a missing or deleted message is a rejection with the server text, not a protocol error', () => {
    const wire = loggedIn();
    const missing = wire.client.list(99);
    wire.client.dele(2);
    const deleted = wire.client.retr(2);
    const after = wire.client.noop();
    wire.pump();
    expect(wire.serverError(missing).text).toBe('no such message');
    expect(wire.serverError(deleted).text).toBe('message 2 is deleted');
    expect(wire.result(after)).toEqual({ verb: 'NOOP' });
  });

  it('a dropped connection deletes nothing', () => {
    const store = fixtureStore();
    const wire = loggedIn(store);
    const dele = wire.client.dele(1);
    wire.pump();
    expect(wire.result(dele)).toEqual({ verb: 'DELE' });
    wire.server.engine.terminate('connection-lost');
    wire.server.pump();
    wire.client.receiveEnd();
    expect(store.messages('alice')).toHaveLength(4);
    expect(store.isLocked('alice')).toBe(false);
  });
});

describe('pipelining', () => {
  it('500 RETRs in one write, bodies with dot lines byte for byte, replies in order', () => {
    const store = new MemoryMailStore();
    store.addUser('alice', 'alice-pw');
    const bodies: string[] = [];
    for (let i = 0; i < 500; i++) {
      const body = `Subject: ${i}\r\n\r\n.\r\n..${i}\r\n.\r\nline ${i}\r\n${'.'.repeat(i % 7)}\r\n...\r\n`;
      bodies.push(body);
      store.deliver('alice', body);
    }
    const wire = loggedIn(store);
    const handles = bodies.map((_, i) => wire.client.retr(i + 1));
    const quit = wire.client.quit();
    const before = wire.writes.length;
    wire.pump();
    expect(wire.writes[before]!.split('\r\n').length - 1).toBe(501); // every RETR and QUIT left in one write
    handles.forEach((handle, i) => expect(wire.body(handle), `message ${i + 1}`).toBe(bodies[i]));
    const order = wire.events.flatMap((event) => (event.type === 'done' && event.handle.verb === 'RETR' ? [event.handle.id] : []));
    expect(order).toEqual(handles.map((handle) => handle.id));
    expect(wire.result(quit)).toEqual({ verb: 'QUIT' });
  });
});

describe('STLS', () => {
  it('CAPA offers STLS; after the simulated handshake CAPA no longer does, and the session goes on over TLS', () => {
    const store = fixtureStore();
    const wire = new Wire(store, { server: { starttls: true } });
    const capa = wire.client.capa();
    wire.pump();
    expect(wire.result(capa)).toMatchObject({ capabilities: { stls: true } });
    const stls = wire.client.stls();
    wire.pump();
    expect(wire.result(stls)).toEqual({ verb: 'STLS' });
    expect(wire.events.some((event) => event.type === 'starttls')).toBe(true);
    expect(wire.client.tls).toBe(true);
    expect(wire.server.engine.tls).toBe(true);
    const again = wire.client.capa();
    wire.client.auth(scramSha256({ username: 'alice', password: 'alice-pw' }));
    const retr = wire.client.retr(2);
    wire.pump();
    expect(wire.result(again)).toMatchObject({ capabilities: { stls: false } });
    expect(wire.body(retr)).toBe(content(store, 'alice', 2));
    expect(wire.server.output).toHaveLength(2);
  });
});

describe('property: random mailboxes, random slicings', () => {
  const line = fc.oneof(
    fc.constantFrom('', '.', '..', '. ', '.x', 'From: a', 'Subject: s', ' ', '\t'),
    fc.string({ unit: fc.constantFrom('a', '.', ' ', 'é', '\x01'), maxLength: 20 }),
  );
  const ending = fc.constantFrom('\r\n', '\n', '\r');
  const body = fc
    .tuple(fc.array(fc.tuple(line, ending), { maxLength: 15 }), fc.oneof(fc.constant(''), line))
    .map(([lines, last]) => lines.map(([text, end]) => text + end).join('') + last);

  /** The model of what a client reads back: CRLF line ends, and a final CRLF when something lacks one. */
  const expected = (text: string): string => {
    const crlf = text.replace(/\r\n|\r|\n/g, '\r\n');
    return crlf === '' || crlf.endsWith('\r\n') ? crlf : `${crlf}\r\n`;
  };

  it('any slicing of the client stream gives the same server output, and every body comes back exactly', () => {
    fc.assert(
      fc.property(fc.array(body, { maxLength: 8 }), fc.array(fc.nat({ max: 400 }), { maxLength: 25 }), fc.nat({ max: 3 }), (texts, cuts, topLines) => {
        const session = (slice: (bytes: Uint8Array) => Uint8Array[]) => {
          const store = new MemoryMailStore();
          store.addUser('u', 'p');
          for (const text of texts) store.deliver('u', new TextEncoder().encode(text));
          const wire = new Wire(store, { slice });
          wire.client.capa();
          wire.client.user('u');
          wire.client.pass('p');
          const uidl = wire.client.uidl();
          const retrs = texts.map((_, i) => wire.client.retr(i + 1));
          const tops = texts.map((_, i) => wire.client.top(i + 1, topLines));
          wire.client.quit();
          wire.pump();
          return { wire, uidl, retrs, tops };
        };
        const whole = session((bytes) => [bytes]);
        const sliced = session((bytes) => sliceAt(bytes, cuts));
        expect(sliced.wire.server.output).toEqual(whole.wire.server.output);
        expect(sliced.wire.result(sliced.uidl)).toEqual(whole.wire.result(whole.uidl));
        texts.forEach((text, i) => {
          const model = expected(byteString(new TextEncoder().encode(text)));
          expect(sliced.wire.body(sliced.retrs[i]!)).toBe(model);
          expect(model.startsWith(sliced.wire.body(sliced.tops[i]!))).toBe(true);
        });
      }),
      { numRuns: 150 },
    );
  });

  it('random slicings of the server stream too (the client engine reads it in any slicing)', () => {
    fc.assert(
      fc.property(fc.array(body, { minLength: 1, maxLength: 5 }), fc.array(fc.nat({ max: 2000 }), { maxLength: 40 }), (texts, cuts) => {
        const store = new MemoryMailStore();
        store.addUser('u', 'p');
        for (const text of texts) store.deliver('u', text);
        const server = runServer({}, store);
        const client = new Pop3ClientEngine({ pipelining: true });
        const input = `USER u\r\nPASS p\r\n${texts.map((_, i) => `RETR ${i + 1}\r\n`).join('')}QUIT\r\n`;
        server.receive(byteArray(input));
        client.user('u');
        client.pass('p');
        const handles = texts.map((_, i) => client.retr(i + 1));
        client.quit();
        for (const chunk of sliceAt(byteArray(server.output[0]!), cuts)) client.receive(chunk);
        const events: Pop3Event[] = [];
        for (let event = client.nextEvent(); event !== undefined; event = client.nextEvent()) events.push(event);
        handles.forEach((handle, i) => {
          const data = events.flatMap((event) => (event.type === 'data' && event.handle === handle ? [event.chunk] : []));
          expect(byteString(concatBytes(data))).toBe(expected(byteString(new TextEncoder().encode(texts[i]!))));
        });
        expect(client.state).toBe('closed');
      }),
      { numRuns: 150 },
    );
  });
});
