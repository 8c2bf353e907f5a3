/**
 * The session state table (RFC 1939 section 3, RFC 2595 for STLS): which command is allowed when, how the
 * engine moves between states, and what happens to commands queued behind one that fails.
 */
import { describe, expect, it } from 'vitest';
import { apopDigest } from '../../core/apop.js';
import { type ClientEngineOptions, Pop3ClientEngine, type Pop3Event } from '../../core/client-engine.js';
import { ErrorCode, LocalProtocolError, ServerError } from '../../core/errors.js';
import { plain } from '../../core/sasl/index.js';
import { drain, greeted as greetedWith, serve, thrown, written } from '../support/engine.js';

const decoder = new TextDecoder();

/** Greeted with an APOP timestamp, which the APOP tests below use. */
function greeted(options?: ClientEngineOptions, greeting = '+OK POP3 ready <7.42@mail.example>\r\n'): Pop3ClientEngine {
  return greetedWith(options, greeting);
}

function inTransaction(options?: ClientEngineOptions): Pop3ClientEngine {
  const engine = greeted(options);
  engine.user('alice');
  engine.pass('pw');
  serve(engine, '+OK\r\n+OK 2 messages\r\n');
  expect(written(engine)).toBe('USER alice\r\nPASS pw\r\n');
  expect(engine.state).toBe('transaction');
  drain(engine);
  return engine;
}

/** Expects `call` to throw WrongState and to add nothing: no bytes, no events, no pending command. */
function expectWrongState(engine: Pop3ClientEngine, call: () => unknown): void {
  engine.takeOutgoing();
  drain(engine);
  const pending = engine.pending;
  const error = thrown(call);
  expect(error).toBeInstanceOf(LocalProtocolError);
  expect((error as LocalProtocolError).code).toBe(ErrorCode.WrongState);
  expect(engine.takeOutgoing()).toBeUndefined();
  expect(engine.nextEvent()).toBeUndefined();
  expect(engine.pending).toBe(pending);
}

describe('AUTHORIZATION-only and TRANSACTION-only commands', () => {
  it('TRANSACTION commands before login are refused: STAT, LIST, UIDL, RETR, TOP, DELE, NOOP, RSET', () => {
    const engine = greeted();
    expectWrongState(engine, () => engine.stat());
    expectWrongState(engine, () => engine.list());
    expectWrongState(engine, () => engine.list(1));
    expectWrongState(engine, () => engine.uidl());
    expectWrongState(engine, () => engine.uidl(1));
    expectWrongState(engine, () => engine.retr(1));
    expectWrongState(engine, () => engine.top(1, 0));
    expectWrongState(engine, () => engine.dele(1));
    expectWrongState(engine, () => engine.noop());
    expectWrongState(engine, () => engine.rset());
    expect(engine.state).toBe('authorization');
  });

  it('STAT before the greeting is refused too (the session will start in AUTHORIZATION)', () => {
    const engine = new Pop3ClientEngine();
    expect(engine.state).toBe('connecting');
    expectWrongState(engine, () => engine.stat());
  });

  it('AUTHORIZATION commands after login are refused: USER, PASS, APOP, AUTH, STLS, UTF8', () => {
    const engine = inTransaction();
    expectWrongState(engine, () => engine.user('bob'));
    expectWrongState(engine, () => engine.pass('pw'));
    expectWrongState(engine, () => engine.apop('bob', 'pw'));
    expectWrongState(engine, () => engine.auth(plain({ username: 'bob', password: 'pw' })));
    expectWrongState(engine, () => engine.stls());
    expectWrongState(engine, () => engine.utf8());
  });

  it('CAPA, LANG, QUIT and raw lines are allowed in both states', () => {
    const engine = greeted({ pipelining: false });
    engine.capa();
    expect(written(engine)).toBe('CAPA\r\n');
    serve(engine, '+OK\r\nUSER\r\n.\r\n');
    engine.lang();
    serve(engine, '+OK\r\nen English\r\n.\r\n');
    engine.raw('XTND XMIT');
    serve(engine, '-ERR unknown\r\n');
    expect(written(engine)).toBe('LANG\r\nXTND XMIT\r\n');
    engine.user('alice');
    engine.pass('pw');
    serve(engine, '+OK\r\n+OK\r\n');
    written(engine);
    engine.capa();
    serve(engine, '+OK\r\nTOP\r\n.\r\n');
    engine.lang('en');
    serve(engine, '+OK en\r\n');
    engine.raw('XTND XMIT');
    serve(engine, '-ERR unknown\r\n');
    engine.quit();
    expect(written(engine)).toBe('CAPA\r\nLANG en\r\nXTND XMIT\r\nQUIT\r\n');
    expect(engine.state).toBe('update');
  });
});

describe('USER and PASS', () => {
  it('PASS without a USER is refused', () => {
    const engine = greeted();
    expectWrongState(engine, () => engine.pass('pw'));
  });

  it('USER and PASS may be queued together; without PIPELINING, PASS waits for the +OK to USER', () => {
    const engine = greeted();
    const user = engine.user('alice');
    const pass = engine.pass('pw');
    expect(engine.pending).toBe(2);
    expect(engine.inFlight).toBe(1);
    expect(written(engine)).toBe('USER alice\r\n');
    serve(engine, '+OK alice\r\n');
    expect(written(engine)).toBe('PASS pw\r\n');
    serve(engine, '+OK maildrop locked and ready\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type === 'done' && event.handle)).toEqual([user, pass]);
    expect(engine.state).toBe('transaction');
  });

  it('PASS after a USER that the server refused is refused', () => {
    const engine = greeted();
    engine.user('nobody');
    serve(engine, '-ERR never heard of nobody\r\n');
    drain(engine);
    expectWrongState(engine, () => engine.pass('pw'));
  });

  it('a PASS queued behind a USER that gets -ERR is not sent: it fails with POP3_ERR_CANCELLED', () => {
    const engine = greeted();
    const user = engine.user('nobody');
    const pass = engine.pass('pw');
    expect(written(engine)).toBe('USER nobody\r\n');
    serve(engine, '-ERR never heard of nobody\r\n');
    expect(written(engine)).toBeUndefined();
    const events = drain(engine);
    expect(events).toHaveLength(2);
    expect(events[0]).toMatchObject({ type: 'rejected', handle: user });
    expect(events[1]).toMatchObject({ type: 'failed', handle: pass });
    const error = (events[1] as Extract<Pop3Event, { type: 'failed' }>).error;
    expect(error).toBeInstanceOf(LocalProtocolError);
    expect(error.code).toBe(ErrorCode.Cancelled);
    expect(engine.pending).toBe(0);
  });

  it('after -ERR to PASS, the queued STAT and RETR are not sent and fail with POP3_ERR_CANCELLED', () => {
    const engine = greeted();
    engine.user('alice');
    const pass = engine.pass('wrong');
    const stat = engine.stat();
    const retr = engine.retr(1);
    serve(engine, '+OK\r\n');
    expect(written(engine)).toBe('USER alice\r\nPASS wrong\r\n');
    serve(engine, '-ERR [AUTH] invalid password\r\n');
    expect(written(engine)).toBeUndefined();
    const events = drain(engine).slice(1);
    expect(events.map((event) => event.type)).toEqual(['rejected', 'failed', 'failed']);
    expect(events[0]).toMatchObject({ handle: pass, error: { responseCode: 'AUTH' } });
    expect(events[1]).toMatchObject({ handle: stat, error: { code: ErrorCode.Cancelled } });
    expect(events[2]).toMatchObject({ handle: retr, error: { code: ErrorCode.Cancelled } });
    expect(engine.state).toBe('authorization');
    expect(engine.pending).toBe(0);
    // RFC 1939 section 7: after a failed PASS the client may start again with USER.
    engine.user('alice');
    expect(written(engine)).toBe('USER alice\r\n');
  });

  it('after -ERR to PASS, a queued QUIT is still sent (it is valid in AUTHORIZATION)', () => {
    const engine = greeted();
    engine.user('alice');
    engine.pass('wrong');
    engine.stat();
    const quit = engine.quit();
    serve(engine, '+OK\r\n-ERR [AUTH] no\r\n');
    expect(written(engine)).toBe('USER alice\r\nPASS wrong\r\nQUIT\r\n');
    expect(engine.state).toBe('authorization');
    serve(engine, '+OK bye\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['done', 'rejected', 'failed', 'done', 'closed']);
    expect(events[3]).toMatchObject({ handle: quit });
    expect(engine.state).toBe('closed');
  });
});

describe('QUIT', () => {
  it('a CAPA answered while QUIT is pipelined behind it still describes the TRANSACTION state', () => {
    const engine = inTransaction({ pipelining: true });
    const capa = engine.capa();
    engine.quit();
    expect(written(engine)).toBe('CAPA\r\nQUIT\r\n');
    expect(engine.state).toBe('update');
    serve(engine, '+OK\r\nTOP\r\nUIDL\r\n.\r\n');
    const done = drain(engine).find((event) => event.type === 'done' && event.handle === capa);
    expect(done?.type === 'done' && done.result.verb === 'CAPA' ? done.result.capabilities.state : undefined).toBe('transaction');
  });

  it('in TRANSACTION: the state is UPDATE once QUIT is sent, then closed at its +OK', () => {
    const engine = inTransaction();
    const quit = engine.quit();
    expect(engine.state).toBe('update');
    expect(written(engine)).toBe('QUIT\r\n');
    serve(engine, '+OK dewey POP3 server signing off (maildrop empty)\r\n');
    expect(engine.state).toBe('closed');
    expect(engine.error).toBeUndefined();
    expect(drain(engine)).toEqual([
      expect.objectContaining({ type: 'done', handle: quit, result: { verb: 'QUIT' } }),
      { type: 'closed', error: undefined },
    ]);
  });

  it('in TRANSACTION, held behind another command, it enters UPDATE only when it is sent', () => {
    const engine = inTransaction();
    engine.noop();
    engine.quit();
    expect(engine.state).toBe('transaction');
    expect(written(engine)).toBe('NOOP\r\n');
    serve(engine, '+OK\r\n');
    expect(engine.state).toBe('update');
    expect(written(engine)).toBe('QUIT\r\n');
  });

  it('in UPDATE, -ERR (some deleted messages not removed) still ends the session, with a rejected event', () => {
    const engine = inTransaction();
    const quit = engine.quit();
    serve(engine, '-ERR some deleted messages not removed\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['rejected', 'closed']);
    expect(events[0]).toMatchObject({ handle: quit, error: { text: 'some deleted messages not removed' } });
    expect(events[1]).toEqual({ type: 'closed', error: undefined });
    expect(engine.state).toBe('closed');
    expect(engine.error).toBeUndefined();
  });

  it('in AUTHORIZATION: closed directly, never UPDATE (nothing is deleted)', () => {
    const engine = greeted();
    engine.quit();
    expect(engine.state).toBe('authorization');
    serve(engine, '+OK bye\r\n');
    expect(engine.state).toBe('closed');
  });

  it('no command is accepted once QUIT is queued', () => {
    const engine = inTransaction();
    engine.quit();
    expectWrongState(engine, () => engine.noop());
    expectWrongState(engine, () => engine.stat());
    expectWrongState(engine, () => engine.quit());
    expectWrongState(engine, () => engine.capa());
  });

  it('no raw line is accepted once QUIT is queued either', () => {
    const engine = inTransaction();
    engine.quit();
    expectWrongState(engine, () => engine.raw('NOOP'));
  });

  it('every command after the session closed throws POP3_ERR_SESSION_CLOSED', () => {
    const engine = inTransaction();
    engine.quit();
    serve(engine, '+OK bye\r\n');
    drain(engine);
    written(engine);
    const calls: (() => unknown)[] = [
      () => engine.noop(),
      () => engine.stat(),
      () => engine.user('alice'),
      () => engine.quit(),
      () => engine.capa(),
      () => engine.raw('NOOP'),
      // A bad argument too: that the session is closed is said first.
      () => engine.retr(0),
      () => engine.user('al\r\nice'),
      () => engine.apop('alice', 'secret'),
    ];
    for (const call of calls) {
      const error = thrown(call);
      expect(error).toBeInstanceOf(LocalProtocolError);
      expect((error as LocalProtocolError).code).toBe(ErrorCode.SessionClosed);
    }
    expect(engine.takeOutgoing()).toBeUndefined();
  });

  it('bytes after the +OK to QUIT are ignored', () => {
    const engine = inTransaction();
    engine.quit();
    serve(engine, '+OK bye\r\n+OK extra\r\ngarbage');
    expect(drain(engine).map((event) => event.type)).toEqual(['done', 'closed']);
    serve(engine, 'more garbage\r\n');
    engine.receiveEnd();
    expect(engine.nextEvent()).toBeUndefined();
    expect(engine.state).toBe('closed');
    expect(engine.error).toBeUndefined();
  });
});

describe('STLS and TLS', () => {
  it('STLS on a connection that is already TLS (tls: true) is refused', () => {
    const engine = greeted({ tls: true });
    expect(engine.tls).toBe(true);
    expectWrongState(engine, () => engine.stls());
  });

  it('a second STLS queued behind the first is refused', () => {
    const engine = greeted();
    engine.stls();
    expectWrongState(engine, () => engine.stls());
  });

  it('tlsStarted() without a STLS is refused', () => {
    const engine = greeted();
    expectWrongState(engine, () => engine.tlsStarted());
  });

  it('tlsStarted() while STLS is only queued or in flight is refused', () => {
    const engine = greeted();
    engine.stls();
    expectWrongState(engine, () => engine.tlsStarted());
  });

  it('STLS resets USER: a PASS queued after USER and STLS is refused', () => {
    const engine = greeted();
    engine.user('alice');
    engine.stls();
    expectWrongState(engine, () => engine.pass('pw'));
  });

  it('STLS after login is refused', () => {
    const engine = inTransaction();
    expectWrongState(engine, () => engine.stls());
  });
});

describe('other ways into TRANSACTION', () => {
  it('APOP with the greeting timestamp', () => {
    const engine = greeted();
    const apop = engine.apop('mrose', 'tanstaaf');
    expect(written(engine)).toBe(`APOP mrose ${apopDigest('<7.42@mail.example>', 'tanstaaf')}\r\n`);
    serve(engine, '+OK\r\n');
    expect(drain(engine)).toEqual([expect.objectContaining({ type: 'done', handle: apop })]);
    expect(engine.state).toBe('transaction');
  });

  it('APOP is refused with POP3_ERR_NOT_SUPPORTED when the greeting has no timestamp, or before the greeting', () => {
    const early = new Pop3ClientEngine();
    expect(thrown(() => early.apop('mrose', 'pw'))).toMatchObject({ code: ErrorCode.NotSupported });
    const engine = greeted(undefined, '+OK no timestamp here\r\n');
    expect(thrown(() => engine.apop('mrose', 'pw'))).toMatchObject({ code: ErrorCode.NotSupported });
    expect(engine.takeOutgoing()).toBeUndefined();
  });

  it('AUTH +OK', () => {
    const engine = greeted();
    engine.auth(plain({ username: 'alice', password: 'pw' }));
    serve(engine, '+OK\r\n');
    expect(engine.state).toBe('transaction');
  });

  it('AUTH -ERR leaves the session in AUTHORIZATION and cancels what was queued for TRANSACTION', () => {
    const engine = greeted();
    engine.auth(plain({ username: 'alice', password: 'pw' }));
    const stat = engine.stat();
    serve(engine, '-ERR [AUTH] no\r\n');
    expect(engine.state).toBe('authorization');
    expect(drain(engine)[1]).toMatchObject({ type: 'failed', handle: stat, error: { code: ErrorCode.Cancelled } });
  });
});

describe('commands queued before the greeting', () => {
  it('are sent once the +OK greeting arrives', () => {
    const engine = new Pop3ClientEngine();
    engine.capa();
    expect(engine.takeOutgoing()).toBeUndefined();
    serve(engine, '+OK ready\r\n');
    expect(written(engine)).toBe('CAPA\r\n');
  });

  it('fail with the ServerError of a -ERR greeting', () => {
    const engine = new Pop3ClientEngine();
    const capa = engine.capa();
    serve(engine, '-ERR [SYS/TEMP] too busy\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['greeting', 'failed', 'closed']);
    expect(events[1]).toMatchObject({ handle: capa });
    expect((events[1] as Extract<Pop3Event, { type: 'failed' }>).error).toBeInstanceOf(ServerError);
    expect(engine.takeOutgoing()).toBeUndefined();
  });
});

describe('the state getters along a whole session', () => {
  it('connecting → authorization → starttls → authorization (TLS) → transaction → update → closed', () => {
    const engine = new Pop3ClientEngine({ trace: false });
    expect(engine.state).toBe('connecting');
    expect(engine.greeting).toBeUndefined();
    expect(engine.capabilities).toBeUndefined();
    expect(engine.tls).toBe(false);
    expect(engine.utf8Enabled).toBe(false);
    expect(engine.pending).toBe(0);

    serve(engine, '+OK POP3 ready <1896.697170952@dbc.mtview.ca.us>\r\n');
    expect(engine.state).toBe('authorization');
    expect(engine.greeting).toEqual({
      ok: true,
      text: 'POP3 ready <1896.697170952@dbc.mtview.ca.us>',
      code: undefined,
      timestamp: '<1896.697170952@dbc.mtview.ca.us>',
    });

    engine.capa();
    serve(engine, '+OK\r\nSTLS\r\nUTF8\r\nUSER\r\n.\r\n');
    expect(engine.capabilities).toMatchObject({ stls: true, user: true, utf8: { user: false }, state: 'authorization' });

    engine.stls();
    expect(engine.inFlight).toBe(1);
    serve(engine, '+OK begin TLS\r\n');
    expect(engine.state).toBe('starttls');
    expect(engine.tls).toBe(false);
    engine.tlsStarted();
    expect(engine.state).toBe('authorization');
    expect(engine.tls).toBe(true);
    expect(engine.capabilities).toBeUndefined();

    engine.utf8();
    serve(engine, '+OK UTF8 enabled\r\n');
    expect(engine.utf8Enabled).toBe(true);

    engine.user('alice');
    engine.pass('pw');
    expect(engine.pending).toBe(2);
    expect(engine.inFlight).toBe(1);
    serve(engine, '+OK\r\n+OK\r\n');
    expect(engine.state).toBe('transaction');
    expect(engine.pending).toBe(0);

    engine.capa();
    serve(engine, '+OK\r\nTOP\r\n.\r\n');
    expect(engine.capabilities).toMatchObject({ top: true, state: 'transaction' });

    engine.quit();
    expect(engine.state).toBe('update');
    serve(engine, '+OK bye\r\n');
    expect(engine.state).toBe('closed');
    expect(engine.error).toBeUndefined();
    expect(engine.pending).toBe(0);

    const types = drain(engine).map((event) => event.type);
    expect(types.filter((type) => type === 'starttls')).toHaveLength(1);
    expect(types.at(-1)).toBe('closed');
    expect(decoder.decode(engine.takeOutgoing())).toBe(
      'CAPA\r\nSTLS\r\nUTF8\r\nUSER alice\r\nPASS pw\r\nCAPA\r\nQUIT\r\n',
    );
  });
});

describe('refusalOf: what a command queued now would meet', () => {
  it('agrees with the command methods in every state, and changes nothing', () => {
    const engine = greeted();
    expect(engine.refusalOf('STAT')).toMatch(/not valid in the AUTHORIZATION state/);
    expect(engine.refusalOf('PASS')).toBe('PASS must follow a successful USER');
    expect(engine.refusalOf('USER')).toBeUndefined();
    engine.user('alice');
    // USER is queued: PASS may follow it, STAT not yet (the projection counts on USER and PASS succeeding).
    expect(engine.refusalOf('PASS')).toBeUndefined();
    expect(engine.refusalOf('STAT')).toMatch(/AUTHORIZATION/);
    engine.pass('pw');
    expect(engine.refusalOf('STAT')).toBeUndefined();
    expect(engine.refusalOf('USER')).toMatch(/not valid in the TRANSACTION state/);
    expect(engine.pending).toBe(2);
    engine.quit();
    expect(engine.refusalOf('NOOP')).toBe('NOOP after QUIT');
  });

  // RFC 1939 section 3 and the extensions: the state each verb belongs to; QUIT, CAPA, LANG and RAW in both.
  it.each([
    ['USER', true, false],
    ['PASS', true, false],
    ['APOP', true, false],
    ['AUTH', true, false],
    ['STLS', true, false],
    ['UTF8', true, false],
    ['STAT', false, true],
    ['LIST', false, true],
    ['RETR', false, true],
    ['DELE', false, true],
    ['NOOP', false, true],
    ['RSET', false, true],
    ['TOP', false, true],
    ['UIDL', false, true],
    ['QUIT', true, true],
    ['CAPA', true, true],
    ['LANG', true, true],
    ['RAW', true, true],
  ] as const)('%s: valid in AUTHORIZATION %s, in TRANSACTION %s', (verb, inAuthorization, inTransaction) => {
    const engine = greeted();
    const wrongState = /is not valid in the \w+ state/;
    expect(wrongState.test(engine.refusalOf(verb) ?? '')).toBe(!inAuthorization);
    engine.user('alice');
    engine.pass('pw');
    expect(wrongState.test(engine.refusalOf(verb) ?? '')).toBe(!inTransaction);
  });

  it('names the error of a failed session, and a closed session', () => {
    const failed = greeted();
    serve(failed, 'garbage without a status\r\n');
    expect(failed.state).toBe('failed');
    expect(failed.refusalOf('QUIT')).toBe(failed.error!.message);

    const closed = greeted();
    closed.quit();
    serve(closed, '+OK bye\r\n');
    expect(closed.state).toBe('closed');
    expect(closed.refusalOf('CAPA')).toBe('the session is closed');
  });
});
