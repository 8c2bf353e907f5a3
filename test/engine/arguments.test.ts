/**
 * Argument validation at the engine's command methods: anything that cannot be sent (CR, LF, NUL, bad numbers,
 * lines over the RFC 2449 limit) is a LocalProtocolError, thrown before anything is queued or written.
 */
import { describe, expect, it } from 'vitest';
import { type ClientEngineOptions, Pop3ClientEngine } from '../../core/client-engine.js';
import { ErrorCode, LocalProtocolError } from '../../core/errors.js';
import { login } from '../../core/sasl/index.js';
import { Secret } from '../../core/secret.js';
import { drain, serve, written } from '../support/engine.js';

const encoder = new TextEncoder();

/** An engine past the greeting, with `CAPA` in flight so that "nothing changed" covers a pending command too. */
function busyInAuthorization(options?: ClientEngineOptions, greeting = '+OK POP3 ready <1.2@host>\r\n'): Pop3ClientEngine {
  const engine = new Pop3ClientEngine(options);
  serve(engine, greeting);
  engine.capa();
  expect(written(engine)).toBe('CAPA\r\n');
  drain(engine);
  return engine;
}

/** An engine in the TRANSACTION state with nothing pending. */
function inTransaction(options?: ClientEngineOptions): Pop3ClientEngine {
  const engine = new Pop3ClientEngine(options);
  serve(engine, '+OK ready\r\n');
  engine.user('alice');
  engine.pass('pw');
  serve(engine, '+OK\r\n+OK logged in\r\n');
  expect(written(engine)).toBe('USER alice\r\nPASS pw\r\n');
  expect(engine.state).toBe('transaction');
  drain(engine);
  return engine;
}

/** Runs `call`, expects a LocalProtocolError with `code`, and checks that the engine did nothing. */
function expectRefused(engine: Pop3ClientEngine, call: () => unknown, code: string): LocalProtocolError {
  const pending = engine.pending;
  const inFlight = engine.inFlight;
  const state = engine.state;
  let caught: unknown;
  try {
    call();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LocalProtocolError);
  expect((caught as LocalProtocolError).code).toBe(code);
  expect(engine.takeOutgoing()).toBeUndefined();
  expect(engine.nextEvent()).toBeUndefined();
  expect(engine.pending).toBe(pending);
  expect(engine.inFlight).toBe(inFlight);
  expect(engine.state).toBe(state);
  expect(engine.error).toBeUndefined();
  return caught as LocalProtocolError;
}

const FORBIDDEN = [
  ['CR', '\r'],
  ['LF', '\n'],
  ['NUL', '\0'],
] as const;

/** The forbidden byte at the start, in the middle and at the end of an otherwise fine value. */
function poisoned(char: string): string[] {
  return [`${char}alice`, `al${char}ice`, `alice${char}`];
}

describe('CR, LF and NUL are refused before anything is queued', () => {
  describe.each(FORBIDDEN)('%s', (_name, char) => {
    it('in a user name', () => {
      const engine = busyInAuthorization();
      for (const name of poisoned(char)) expectRefused(engine, () => engine.user(name), ErrorCode.BadArgument);
    });

    it('in a password, given as a string or as a Secret', () => {
      const engine = busyInAuthorization();
      engine.user('alice');
      drain(engine);
      for (const password of poisoned(char)) {
        expectRefused(engine, () => engine.pass(password), ErrorCode.BadArgument);
        expectRefused(engine, () => engine.pass(new Secret(password)), ErrorCode.BadArgument);
      }
    });

    it('in an APOP name', () => {
      const engine = busyInAuthorization();
      for (const name of poisoned(char)) expectRefused(engine, () => engine.apop(name, 'pw'), ErrorCode.BadArgument);
    });

    it('in a LANG tag', () => {
      const engine = busyInAuthorization();
      for (const tag of poisoned(char)) expectRefused(engine, () => engine.lang(tag), ErrorCode.BadArgument);
    });

    it('in a raw line, given as a string or as a Secret', () => {
      const engine = busyInAuthorization();
      for (const line of poisoned(char)) {
        expectRefused(engine, () => engine.raw(line), ErrorCode.BadArgument);
        expectRefused(engine, () => engine.raw(new Secret(line), { multiline: true }), ErrorCode.BadArgument);
      }
    });
  });

  it('a CRLF pair that would smuggle a second command is refused as a whole', () => {
    const engine = busyInAuthorization();
    expectRefused(engine, () => engine.user('alice\r\nDELE 1'), ErrorCode.BadArgument);
  });

  it('the session carries on normally after a refused argument', () => {
    const engine = busyInAuthorization();
    expectRefused(engine, () => engine.user('a\nb'), ErrorCode.BadArgument);
    serve(engine, '+OK\r\nUSER\r\n.\r\n');
    const handle = engine.user('alice');
    expect(written(engine)).toBe('USER alice\r\n');
    serve(engine, '+OK\r\n');
    expect(drain(engine).map((event) => event.type)).toEqual(['done', 'done']);
    expect(handle.verb).toBe('USER');
  });
});

describe('other malformed text arguments', () => {
  it('an empty user name, password, LANG tag or raw line is refused', () => {
    const engine = busyInAuthorization();
    expectRefused(engine, () => engine.user(''), ErrorCode.BadArgument);
    expectRefused(engine, () => engine.lang(''), ErrorCode.BadArgument);
    expectRefused(engine, () => engine.raw(''), ErrorCode.BadArgument);
    engine.user('alice');
    drain(engine);
    expectRefused(engine, () => engine.pass(''), ErrorCode.BadArgument);
  });

  it('a space in an APOP name or a LANG tag is refused (it would split the arguments)', () => {
    const engine = busyInAuthorization();
    expectRefused(engine, () => engine.apop('alice smith', 'pw'), ErrorCode.BadArgument);
    expectRefused(engine, () => engine.lang('en US'), ErrorCode.BadArgument);
  });

  it('spaces inside a password are sent as they are (RFC 1939 PASS takes the rest of the line)', () => {
    const engine = busyInAuthorization();
    engine.user('alice');
    engine.pass('correct horse battery');
    serve(engine, '+OK\r\n.\r\n+OK\r\n');
    expect(written(engine)).toBe('USER alice\r\nPASS correct horse battery\r\n');
  });
});

describe('message numbers and line counts', () => {
  const BAD_NUMBERS: readonly [string, number][] = [
    ['0', 0],
    ['-1', -1],
    ['1.5', 1.5],
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['2**53', 2 ** 53],
  ];

  it.each(BAD_NUMBERS)('message number %s is refused by RETR, DELE, LIST n, UIDL n and TOP', (_name, value) => {
    const engine = inTransaction();
    engine.stat();
    expect(written(engine)).toBe('STAT\r\n');
    expectRefused(engine, () => engine.retr(value), ErrorCode.BadArgument);
    expectRefused(engine, () => engine.dele(value), ErrorCode.BadArgument);
    expectRefused(engine, () => engine.list(value), ErrorCode.BadArgument);
    expectRefused(engine, () => engine.uidl(value), ErrorCode.BadArgument);
    expectRefused(engine, () => engine.top(value, 0), ErrorCode.BadArgument);
  });

  it('the largest safe integer is a valid message number', () => {
    const engine = inTransaction();
    engine.retr(2 ** 53 - 1);
    expect(written(engine)).toBe('RETR 9007199254740991\r\n');
  });

  it.each([
    ['-1', -1],
    ['0.5', 0.5],
    ['NaN', Number.NaN],
    ['2**53', 2 ** 53],
  ] as const)('TOP with %s lines is refused', (_name, lines) => {
    const engine = inTransaction();
    expectRefused(engine, () => engine.top(1, lines), ErrorCode.BadArgument);
  });

  it('TOP with 0 lines is valid (headers only, RFC 1939 section 7)', () => {
    const engine = inTransaction();
    engine.top(1, 0);
    expect(written(engine)).toBe('TOP 1 0\r\n');
  });
});

describe('the 255-octet command line limit (RFC 2449 section 4), CRLF included', () => {
  it('a raw line of exactly 255 octets is sent; 256 is refused', () => {
    const engine = busyInAuthorization();
    expectRefused(engine, () => engine.raw('X'.repeat(254)), ErrorCode.CommandTooLong);
    serve(engine, '+OK\r\n.\r\n');
    drain(engine);
    engine.raw('X'.repeat(253));
    const sent = written(engine)!;
    expect(sent).toHaveLength(255);
    expect(sent.endsWith('\r\n')).toBe(true);
  });

  it('USER with a 248-octet name is 255 octets and fits; one more octet does not', () => {
    const engine = busyInAuthorization();
    expectRefused(engine, () => engine.user('a'.repeat(249)), ErrorCode.CommandTooLong);
    engine.user('a'.repeat(248));
    serve(engine, '+OK\r\n.\r\n');
    expect(written(engine)).toBe(`USER ${'a'.repeat(248)}\r\n`);
  });

  it('counts octets, not characters: a name of two-octet characters fits at 124 characters, not 125', () => {
    const engine = busyInAuthorization();
    expectRefused(engine, () => engine.user('é'.repeat(125)), ErrorCode.CommandTooLong);
    engine.user('é'.repeat(124));
    serve(engine, '+OK\r\n.\r\n');
    expect(encoder.encode(written(engine)!)).toHaveLength(255);
  });

  it('outgoingBytes is the UTF-8 length of what takeOutgoing() returns', () => {
    const engine = new Pop3ClientEngine({ pipelining: true });
    serve(engine, '+OK ready\r\n');
    const taken = (): string => {
      const octets = engine.outgoingBytes;
      const bytes = engine.takeOutgoing()!;
      expect(bytes).toHaveLength(octets);
      expect(engine.outgoingBytes).toBe(0);
      return new TextDecoder().decode(bytes);
    };
    // Command lines, with two-, three- and four-octet characters.
    engine.auth(login({ username: 'é€😀x', password: 'pw' }));
    expect(taken()).toBe('AUTH LOGIN\r\n');
    // An answer to a challenge, which is no command line.
    serve(engine, '+ VXNlcm5hbWU6\r\n');
    expect(taken()).toBe(`${Buffer.from('é€😀x').toString('base64')}\r\n`);
    serve(engine, '-ERR no\r\n');
    engine.user('é€😀x');
    engine.pass(new Secret('pässwörd'));
    expect(taken()).toBe('USER é€😀x\r\nPASS pässwörd\r\n');
    serve(engine, '+OK\r\n+OK\r\n');
    engine.raw('XTND ünïcode');
    expect(taken()).toBe('XTND ünïcode\r\n');
  });

  it('a lower maxCommandLine limit is honoured', () => {
    const engine = busyInAuthorization({ limits: { maxCommandLine: 20 } });
    expectRefused(engine, () => engine.user('a'.repeat(14)), ErrorCode.CommandTooLong);
    engine.user('a'.repeat(13));
    serve(engine, '+OK\r\n.\r\n');
    expect(written(engine)).toHaveLength(20);
  });

  it('a lower maxCommandLine limit is honoured by the commands that take a message number', () => {
    const engine = inTransaction({ pipelining: true, limits: { maxCommandLine: 16 } });
    for (const send of [
      (n: number) => engine.retr(n),
      (n: number) => engine.dele(n),
      (n: number) => engine.list(n),
      (n: number) => engine.uidl(n),
    ]) {
      const error = expectRefused(engine, () => send(1234567890), ErrorCode.CommandTooLong);
      expect(error.message).toMatch(/^command "[A-Z]{4} 1234567890" is 17 octets; the limit is 16/);
      send(123456789);
      expect(written(engine)).toHaveLength(16);
    }
  });

  it('an APOP line over the limit is refused', () => {
    const engine = busyInAuthorization();
    // "APOP " + name + " " + 32 hex digits + CRLF = 40 + name.
    expectRefused(engine, () => engine.apop('a'.repeat(216), 'pw'), ErrorCode.CommandTooLong);
    engine.apop('a'.repeat(215), 'pw');
    serve(engine, '+OK\r\n.\r\n');
    expect(written(engine)).toHaveLength(255);
  });
});

describe('error messages never show the password', () => {
  const PASSWORD = 'hunter2-Zq9';

  it('not for a CR, LF or NUL in it', () => {
    const engine = busyInAuthorization();
    engine.user('alice');
    drain(engine);
    for (const [, char] of FORBIDDEN) {
      for (const password of [`${PASSWORD}${char}`, new Secret(`${char}${PASSWORD}`)]) {
        const error = expectRefused(engine, () => engine.pass(password), ErrorCode.BadArgument);
        expect(error.message).not.toContain(PASSWORD);
        expect(String(error)).not.toContain(PASSWORD);
        expect(error.stack ?? '').not.toContain(PASSWORD);
      }
    }
  });

  it('not for a password too long for the command line', () => {
    const engine = busyInAuthorization();
    engine.user('alice');
    drain(engine);
    const long = PASSWORD.repeat(30);
    const error = expectRefused(engine, () => engine.pass(long), ErrorCode.CommandTooLong);
    expect(error.message).not.toContain(PASSWORD);
    expect(error.message).toContain('PASS [redacted]');
  });

  it('not for a secret raw line too long for the command line', () => {
    const engine = busyInAuthorization();
    const error = expectRefused(engine, () => engine.raw(new Secret(`XSECRET ${PASSWORD.repeat(30)}`)), ErrorCode.CommandTooLong);
    expect(error.message).not.toContain(PASSWORD);
  });
});
