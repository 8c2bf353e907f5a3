/**
 * Remote errors: a server that breaks the protocol ends the session with a typed RemoteProtocolError that
 * sticks (every pending command fails with it, every later call throws it, later input is ignored). A -ERR
 * is not one of them: it is a ServerError attached to its command, with its response code.
 */
import { describe, expect, it } from 'vitest';
import { type ClientEngineOptions, Pop3ClientEngine, type Pop3Event } from '../../core/client-engine.js';
import { ErrorCode, LocalProtocolError, Pop3Error, RemoteProtocolError, ServerError } from '../../core/errors.js';
import { plain } from '../../core/sasl/index.js';
import { drain, greeted, serve, thrown, written } from '../support/engine.js';

const encoder = new TextEncoder();

function inTransaction(options?: ClientEngineOptions): Pop3ClientEngine {
  const engine = greeted(options);
  engine.user('alice');
  engine.pass('pw');
  serve(engine, '+OK\r\n+OK\r\n');
  written(engine);
  drain(engine);
  return engine;
}

/** Feeds `reply` to `engine` (whole, then again byte by byte on a twin) and returns the error it ends with. */
function failure(make: () => Pop3ClientEngine, reply: string, code: string = ErrorCode.Protocol): Pop3Error {
  const errors: Pop3Error[] = [];
  for (const split of [false, true]) {
    const engine = make();
    const bytes = encoder.encode(reply);
    if (split) for (let i = 0; i < bytes.length; i++) engine.receive(bytes.subarray(i, i + 1));
    else engine.receive(bytes);
    const events = drain(engine);
    const closed = events.at(-1);
    expect(closed?.type).toBe('closed');
    const error = (closed as Extract<Pop3Event, { type: 'closed' }>).error!;
    expect(error).toBeInstanceOf(Pop3Error);
    expect(error.code).toBe(code);
    expect(engine.state).toBe('failed');
    expect(engine.error).toBe(error);
    errors.push(error);
  }
  expect(errors[1]!.message).toBe(errors[0]!.message);
  return errors[0]!;
}

describe('the failure is sticky', () => {
  /** A transaction-state session broken by a garbage line while STAT was in flight. */
  function broken(greeting = '+OK ready <1.2@host>\r\n'): Pop3ClientEngine {
    const engine = new Pop3ClientEngine();
    serve(engine, greeting);
    engine.user('alice');
    engine.pass('pw');
    serve(engine, '+OK\r\n+OK\r\n');
    engine.stat();
    serve(engine, 'garbage\r\n');
    expect(engine.state).toBe('failed');
    return engine;
  }

  it('every command method throws the very same error object', () => {
    const engine = broken();
    const error = engine.error!;
    expect(error).toBeInstanceOf(RemoteProtocolError);
    const calls: [string, () => unknown][] = [
      ['user', () => engine.user('alice')],
      ['pass', () => engine.pass('pw')],
      ['apop', () => engine.apop('alice', 'pw')],
      ['auth', () => engine.auth(plain({ username: 'alice', password: 'pw' }))],
      ['stat', () => engine.stat()],
      ['list', () => engine.list()],
      ['list n', () => engine.list(1)],
      ['uidl', () => engine.uidl()],
      ['uidl n', () => engine.uidl(1)],
      ['retr', () => engine.retr(1)],
      ['top', () => engine.top(1, 0)],
      ['dele', () => engine.dele(1)],
      ['noop', () => engine.noop()],
      ['rset', () => engine.rset()],
      ['quit', () => engine.quit()],
      ['capa', () => engine.capa()],
      ['stls', () => engine.stls()],
      ['utf8', () => engine.utf8()],
      ['lang', () => engine.lang()],
      ['lang tag', () => engine.lang('en')],
      ['raw', () => engine.raw('NOOP')],
    ];
    for (const [name, call] of calls) expect(thrown(call), name).toBe(error);
    expect(engine.takeOutgoing()).toBeUndefined();
    expect(engine.pending).toBe(0);
  });

  it('apop throws the same error even when the greeting had no timestamp', () => {
    const engine = broken('+OK ready\r\n');
    expect(thrown(() => engine.apop('alice', 'pw'))).toBe(engine.error);
  });

  it('input after the failure is ignored: no events, no exception, same state and error', () => {
    const engine = broken();
    const error = engine.error;
    drain(engine);
    serve(engine, '+OK 1 2\r\n+OK\r\n');
    serve(engine, 'more garbage');
    engine.receiveEnd();
    engine.receiveEnd();
    expect(engine.nextEvent()).toBeUndefined();
    expect(engine.state).toBe('failed');
    expect(engine.error).toBe(error);
  });

  it('every pending command, in flight or queued, gets a failed event with the error, then closed', () => {
    const engine = inTransaction({ pipelining: false });
    const stat = engine.stat();
    const list = engine.list();
    const retr = engine.retr(1);
    serve(engine, 'garbage\r\n');
    const events = drain(engine);
    const error = engine.error;
    expect(events).toEqual([
      { type: 'failed', handle: stat, error },
      { type: 'failed', handle: list, error },
      { type: 'failed', handle: retr, error },
      { type: 'closed', error },
    ]);
  });

  it('bytes not yet taken are dropped: nothing more is written to a broken server', () => {
    const engine = inTransaction({ pipelining: false });
    engine.noop();
    serve(engine, 'garbage\r\n');
    expect(engine.takeOutgoing()).toBeUndefined();
  });
});

describe('lines that are not replies', () => {
  it('an unsolicited line with nothing in flight', () => {
    const error = failure(() => inTransaction(), '+OK surprise\r\n');
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect(error.message).toContain('unsolicited');
  });

  it('an unsolicited -ERR with nothing in flight', () => {
    failure(() => inTransaction(), '-ERR going away\r\n');
  });

  it.each([
    ['free text', 'hello there\r\n'],
    ['"+OKAY"', '+OKAY\r\n'],
    ['lower-case "+ok" (RFC 1939 section 3: the indicators are upper case)', '+ok 1 2\r\n'],
    ['"-ERROR"', '-ERROR\r\n'],
    ['an empty line', '\r\n'],
    ['a leading space', ' +OK 1 2\r\n'],
  ])('a status line that is %s', (_name, line) => {
    const error = failure(() => {
      const engine = inTransaction();
      engine.stat();
      return engine;
    }, line);
    expect(error).toBeInstanceOf(RemoteProtocolError);
  });

  it('a "+ " challenge outside AUTH', () => {
    const error = failure(() => {
      const engine = inTransaction();
      engine.noop();
      return engine;
    }, '+ \r\n');
    expect(error.message).toContain('not a POP3 status line');
  });

  it('a "+ " challenge as the greeting', () => {
    failure(() => new Pop3ClientEngine(), '+ ready\r\n');
  });

  it('a "+ " challenge while AUTH is queued behind another command', () => {
    failure(() => {
      const engine = greeted({ pipelining: true });
      engine.capa();
      engine.auth(plain({ username: 'alice', password: 'pw' }));
      return engine;
    }, '+ \r\n');
  });
});

describe('malformed replies to commands with required fields', () => {
  function sending(command: (engine: Pop3ClientEngine) => unknown): () => Pop3ClientEngine {
    return () => {
      const engine = inTransaction();
      command(engine);
      return engine;
    };
  }

  it.each([
    ['no numbers', '+OK\r\n'],
    ['words', '+OK two messages\r\n'],
    ['one number', '+OK 2\r\n'],
    ['a negative size', '+OK 2 -320\r\n'],
    ['glued text', '+OK 2 320octets\r\n'],
  ])('STAT with %s', (_name, reply) => {
    failure(sending((engine) => engine.stat()), reply);
  });

  it('STAT with text after the two numbers is fine', () => {
    const engine = inTransaction();
    const stat = engine.stat();
    serve(engine, '+OK 2 320 (maildrop)\r\n');
    expect(drain(engine)).toEqual([expect.objectContaining({ type: 'done', handle: stat, result: { verb: 'STAT', count: 2, size: 320 } })]);
  });

  it.each([
    ['no fields', '+OK\r\n'],
    ['no size', '+OK 2\r\n'],
    ['words', '+OK two 200\r\n'],
  ])('LIST n with %s', (_name, reply) => {
    failure(sending((engine) => engine.list(2)), reply);
  });

  it.each([
    ['no fields', '+OK\r\n'],
    ['no unique id', '+OK 2\r\n'],
    ['a unique id with a space in it', '+OK 2 abc def\r\n'],
    ['a control character in the unique id', '+OK 2 abc\x01def\r\n'],
  ])('UIDL n with %s', (_name, reply) => {
    failure(sending((engine) => engine.uidl(2)), reply);
  });

  it('LIST n answered for another message', () => {
    const error = failure(sending((engine) => engine.list(2)), '+OK 3 200\r\n');
    expect(error.message).toContain('LIST 2 was answered for message 3');
  });

  it('UIDL n answered for another message', () => {
    failure(sending((engine) => engine.uidl(2)), '+OK 1 QhdPYR:00WBw1Ph7x7\r\n');
  });

  it('a malformed line inside a LIST listing', () => {
    failure(sending((engine) => engine.list()), '+OK\r\n1 120\r\ntwo 200\r\n.\r\n');
  });

  it('a malformed line inside a UIDL listing', () => {
    failure(sending((engine) => engine.uidl()), '+OK\r\n1 abc\r\n2\r\n.\r\n');
  });
});

describe('the greeting', () => {
  it('-ERR ends the session with a ServerError carrying the response code', () => {
    const engine = new Pop3ClientEngine();
    serve(engine, '-ERR [SYS/TEMP] too many connections\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['greeting', 'closed']);
    expect(events[0]).toMatchObject({ greeting: { ok: false, text: 'too many connections', code: 'SYS/TEMP' } });
    const error = engine.error;
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).responseCode).toBe('SYS/TEMP');
    expect((error as ServerError).temporary).toBe(true);
    expect(events[1]).toEqual({ type: 'closed', error });
    expect(engine.state).toBe('failed');
    expect(thrown(() => engine.capa())).toBe(error);
  });

  it('the stream ending before the greeting is an unexpected end', () => {
    const engine = new Pop3ClientEngine();
    serve(engine, '+OK rea');
    engine.receiveEnd();
    expect(engine.error).toMatchObject({ code: ErrorCode.UnexpectedEnd });
    expect(engine.error?.message).toContain('before the greeting');
  });
});

describe('the stream ending early', () => {
  it('in the middle of a body: the RETR fails with POP3_ERR_UNEXPECTED_END, saying where', () => {
    const engine = inTransaction();
    const retr = engine.retr(1);
    serve(engine, '+OK 120 octets\r\nSubject: cut\r\n\r\nhalf a li');
    engine.receiveEnd();
    const events = drain(engine);
    const failed = events.find((event) => event.type === 'failed');
    expect(failed).toMatchObject({ handle: retr, error: { code: ErrorCode.UnexpectedEnd } });
    expect(engine.error?.message).toContain('body of RETR 1');
  });

  it('in the middle of a listing', () => {
    const engine = inTransaction();
    engine.list();
    serve(engine, '+OK\r\n1 120\r\n');
    engine.receiveEnd();
    expect(engine.error?.message).toContain('LIST listing after 1 lines');
  });

  it('while waiting for a reply', () => {
    const engine = inTransaction();
    engine.noop();
    engine.receiveEnd();
    expect(engine.error).toBeInstanceOf(RemoteProtocolError);
    expect(engine.error?.code).toBe(ErrorCode.UnexpectedEnd);
  });

  it('with nothing pending', () => {
    const engine = inTransaction();
    engine.receiveEnd();
    expect(engine.state).toBe('failed');
    expect(engine.error?.code).toBe(ErrorCode.UnexpectedEnd);
  });
});

describe('limits', () => {
  it('a status line over maxStatusLine ends the session with POP3_ERR_LINE_TOO_LONG', () => {
    // 32 octets, CRLF included, is the limit: "+OK " + 26 + CRLF = 32 passes, one more fails.
    const make = () => {
      const engine = inTransaction({ limits: { maxStatusLine: 32 } });
      engine.noop();
      return engine;
    };
    failure(make, `+OK ${'x'.repeat(27)}\r\n`, ErrorCode.LineTooLong);
    const engine = make();
    serve(engine, `+OK ${'x'.repeat(26)}\r\n`);
    expect(drain(engine)).toEqual([expect.objectContaining({ type: 'done' })]);
  });

  it('a status line that never ends fails as soon as it passes the limit, without waiting for LF', () => {
    const engine = inTransaction({ limits: { maxStatusLine: 64 } });
    engine.noop();
    serve(engine, '+OK ');
    for (let i = 0; i < 100 && engine.state !== 'failed'; i++) serve(engine, 'x');
    expect(engine.error?.code).toBe(ErrorCode.LineTooLong);
  });

  it('the default maxStatusLine is 8192', () => {
    const make = () => {
      const engine = inTransaction();
      engine.noop();
      return engine;
    };
    failure(make, `+OK ${'x'.repeat(8192 - 5)}\r\n`, ErrorCode.LineTooLong);
    const engine = make();
    serve(engine, `+OK ${'x'.repeat(8192 - 6)}\r\n`);
    expect(engine.state).toBe('transaction');
  });

  it('a greeting over maxStatusLine', () => {
    failure(() => new Pop3ClientEngine({ limits: { maxStatusLine: 16 } }), '+OK a greeting too long\r\n', ErrorCode.LineTooLong);
  });

  it('a listing line over maxListingLine', () => {
    const make = () => {
      const engine = inTransaction({ limits: { maxListingLine: 20 } });
      engine.uidl();
      return engine;
    };
    failure(make, `+OK\r\n1 ${'u'.repeat(17)}\r\n.\r\n`, ErrorCode.LineTooLong);
    const engine = make();
    serve(engine, `+OK\r\n1 ${'u'.repeat(16)}\r\n.\r\n`);
    expect(drain(engine)).toEqual([expect.objectContaining({ type: 'done' })]);
  });

  it('a listing over maxListingEntries ends the session with POP3_ERR_LISTING_TOO_LARGE', () => {
    const listing = (n: number) => `+OK\r\n${Array.from({ length: n }, (_, i) => `${i + 1} 100\r\n`).join('')}.\r\n`;
    const make = () => {
      const engine = inTransaction({ limits: { maxListingEntries: 16 } });
      engine.list();
      return engine;
    };
    const error = failure(make, listing(17), ErrorCode.ListingTooLarge);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    const engine = make();
    serve(engine, listing(16));
    const done = drain(engine)[0] as Extract<Pop3Event, { type: 'done' }>;
    expect(done.result.verb).toBe('LIST');
    expect(done.result.verb === 'LIST' && done.result.entries).toHaveLength(16);
  });

  it('a listing over maxListingOctets ends the session with POP3_ERR_LISTING_TOO_LARGE (line ends included)', () => {
    // 20 lines of "n uid-nn" + CRLF: 1..9 are 10 octets, 10..20 are 11: 9 * 10 + 11 * 11 = 211 octets.
    const lines = Array.from({ length: 20 }, (_, i) => `${i + 1} uid-${String(i + 1).padStart(2, '0')}\r\n`).join('');
    expect(lines).toHaveLength(211);
    const make = (maxListingOctets: number) => () => {
      const engine = inTransaction({ limits: { maxListingOctets } });
      engine.uidl();
      return engine;
    };
    failure(make(210), `+OK\r\n${lines}.\r\n`, ErrorCode.ListingTooLarge);
    const engine = make(211)();
    serve(engine, `+OK\r\n${lines}.\r\n`);
    expect(drain(engine)).toEqual([expect.objectContaining({ type: 'done', result: expect.objectContaining({ verb: 'UIDL' }) })]);
  });

  it('maxListingEntries applies to CAPA too', () => {
    const make = () => {
      const engine = greeted({ limits: { maxListingEntries: 16 } });
      engine.capa();
      return engine;
    };
    failure(make, `+OK\r\n${'X-TAG\r\n'.repeat(17)}.\r\n`, ErrorCode.ListingTooLarge);
  });

  it('body lines have no length limit', () => {
    const engine = inTransaction({ limits: { maxStatusLine: 16, maxListingLine: 16 } });
    const retr = engine.retr(1);
    const long = 'y'.repeat(100_000);
    serve(engine, `+OK\r\n${long}\r\n.\r\n`);
    const done = drain(engine).at(-1);
    expect(done).toMatchObject({ type: 'done', handle: retr, result: { octets: long.length + 2 } });
  });

  it('nonsense limits are refused when the engine is made', () => {
    expect(() => new Pop3ClientEngine({ limits: { maxStatusLine: 0 } })).toThrow(LocalProtocolError);
    expect(() => new Pop3ClientEngine({ limits: { maxListingEntries: 1.5 } })).toThrow(LocalProtocolError);
  });
});

describe('-ERR is a reply, not a protocol error', () => {
  /** The ServerError of a -ERR to NOOP carrying `code`. */
  function rejection(line: string): ServerError {
    const engine = inTransaction();
    const noop = engine.noop();
    serve(engine, line);
    const events = drain(engine);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'rejected', handle: noop });
    expect(engine.state).toBe('transaction');
    expect(engine.error).toBeUndefined();
    const error = (events[0] as Extract<Pop3Event, { type: 'rejected' }>).error;
    expect(error).toBeInstanceOf(ServerError);
    expect(error.code).toBe(ErrorCode.Server);
    expect(error.command).toBe('NOOP');
    return error;
  }

  const GETTERS = ['inUse', 'loginDelay', 'authFailed', 'temporary', 'permanent'] as const;
  function flags(error: ServerError): string[] {
    return GETTERS.filter((getter) => error[getter]);
  }

  it.each([
    ['[IN-USE]', 'IN-USE', ['inUse']],
    ['[LOGIN-DELAY]', 'LOGIN-DELAY', ['loginDelay']],
    ['[AUTH]', 'AUTH', ['authFailed']],
    ['[SYS/TEMP]', 'SYS/TEMP', ['temporary']],
    ['[SYS/PERM]', 'SYS/PERM', ['permanent']],
    ['[SYS/TEMP/QUOTA]', 'SYS/TEMP/QUOTA', ['temporary']],
    ['[SYS/PERMANENT]', 'SYS/PERMANENT', []],
    ['[in-use]', 'IN-USE', ['inUse']],
    ['[UTF8]', 'UTF8', []],
    ['[X-VENDOR/THING]', 'X-VENDOR/THING', []],
  ])('-ERR %s sets exactly the matching getters', (bracket, code, expected) => {
    const error = rejection(`-ERR ${bracket} some text\r\n`);
    expect(error.responseCode).toBe(code);
    expect(error.text).toBe('some text');
    expect(flags(error)).toEqual(expected);
    expect(error.message).toBe(`NOOP failed: [${code}] some text`);
  });

  it('-ERR without a code has no getter set', () => {
    const error = rejection('-ERR no\r\n');
    expect(error.responseCode).toBeUndefined();
    expect(flags(error)).toEqual([]);
    expect(error.message).toBe('NOOP failed: no');
  });

  it('a bare -ERR is fine', () => {
    expect(rejection('-ERR\r\n').text).toBe('');
  });

  it('a bracket that is not a response code stays in the text', () => {
    const error = rejection('-ERR [not a code] oops\r\n');
    expect(error.responseCode).toBeUndefined();
    expect(error.text).toBe('[not a code] oops');
  });
});
