/**
 * The server's defences against hostile clients: bounded command lines (skipped, never buffered whole), a
 * limit on bad commands, control characters and CR/LF injection refused and never reflected, client input
 * never echoed, passwords and SASL payloads never in an event or trace. Every case runs at every slicing of
 * its input, so no defence depends on where a chunk ends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { toBase64 } from '../../core/bytes.js';
import { runServer, type ServerDriver } from '../support/server-transcript.js';
import { byteArray, sliceAt, splitEvenly } from '../support/transcript.js';

const LOGIN = 'USER alice\r\nPASS alice-pw\r\n';

/** Feed `input` (a byte string) in the given slicing to a fresh server; return the driver. */
function serve(input: string, slicing: (bytes: Uint8Array) => Uint8Array[] = (bytes) => [bytes], options = {}): ServerDriver {
  const driver = runServer({ trace: true, ...options });
  for (const chunk of slicing(byteArray(input))) driver.receive(chunk);
  return driver;
}

/** The server's replies after the greeting, as lines without CRLF. */
function replies(driver: ServerDriver): string[] {
  return driver.output.join('').split('\r\n').slice(1, -1);
}

/** The same output at every split point and byte by byte; returns the one-chunk replies. */
function everySplit(input: string, options = {}): string[] {
  const expected = serve(input, undefined, options).output.join('');
  const bytes = byteArray(input);
  for (let point = 1; point < bytes.length; point++) {
    expect(serve(input, (b) => sliceAt(b, [point]), options).output.join(''), `split at ${point}`).toBe(expected);
  }
  expect(serve(input, (b) => splitEvenly(b, 1), options).output.join(''), 'byte by byte').toBe(expected);
  return replies(serve(input, undefined, options));
}

describe('command line length (RFC 2449: 255 octets with CRLF)', () => {
  it('takes a line of exactly 255 octets and refuses one of 256, then carries on', () => {
    const fits = `NOOP ${'x'.repeat(255 - 7)}\r\n`;
    const over = `NOOP ${'x'.repeat(256 - 7)}\r\n`;
    expect(fits.length).toBe(255);
    expect(over.length).toBe(256);
    expect(everySplit(`${LOGIN}${fits}${over}NOOP\r\n`)).toEqual([
      '+OK send PASS',
      '+OK maildrop has 4 messages (193 octets)',
      '-ERR wrong number of arguments for NOOP',
      '-ERR line too long (the limit is 255 octets)',
      '+OK',
    ]);
  });

  it('counts a bare LF line end as one octet', () => {
    expect(everySplit(`${LOGIN}NOOP ${'x'.repeat(255 - 6)}\nNOOP\n`).slice(2)).toEqual(['-ERR wrong number of arguments for NOOP', '+OK']);
  });

  it('answers a line that never ends as soon as it is too long, and skips it as it streams', () => {
    const driver = runServer();
    driver.receive(byteArray(LOGIN));
    const junk = new Uint8Array(64 * 1024).fill(0x41);
    for (let i = 0; i < 160; i++) {
      driver.receive(junk); // 10 MiB in all, without a line end
      expect(driver.engine.wantsInput, 'the skipped bytes are not held').toBe(true);
    }
    expect(replies(driver).slice(2)).toEqual(['-ERR line too long (the limit is 255 octets)']);
    driver.receive(byteArray('still the same line\r\nSTAT\r\n'));
    expect(replies(driver).slice(3)).toEqual(['+OK 4 193']);
  });

  it('allows long SASL answers (maxSaslLine), which RFC 5034 exempts from the limit', () => {
    const answer = `AUTH PLAIN\r\n${toBase64(byteArray('\0alice\0alice-pw'))}\r\n`;
    expect(everySplit(answer)).toEqual(['+ ', '+OK maildrop has 4 messages (193 octets)']);
    // A 12288-octet answer is read; a longer one ends the exchange as a bad command.
    const long = `AUTH PLAIN\r\n${'A'.repeat(12286)}\r\nAUTH PLAIN\r\n${'A'.repeat(12287)}\r\nNOOP\r\n`;
    expect(replies(serve(long))).toEqual([
      '+ ',
      '-ERR [AUTH] authentication failed',
      '+ ',
      '-ERR line too long (the limit is 12288 octets)',
      '-ERR NOOP is not valid in the AUTHORIZATION state',
    ]);
  });

  it('has a configurable limit', () => {
    expect(replies(serve('NOOP 1234567890123\r\nQUIT\r\n', undefined, { limits: { maxCommandLine: 16 } }))).toEqual([
      '-ERR line too long (the limit is 16 octets)',
      '+OK bye',
    ]);
  });
});

describe('bad commands', () => {
  it('end the session at the configured limit, the last one answered with the closing -ERR', () => {
    const driver = serve('A\r\nB\r\nC\r\nQUIT\r\n', undefined, { limits: { maxBadCommands: 3 } });
    expect(replies(driver)).toEqual(['-ERR unknown command', '-ERR unknown command', '-ERR too many bad commands, closing the connection']);
    expect(driver.engine.closeReason).toBe('too-many-bad-commands');
    expect(driver.events.at(-1)).toEqual({ type: 'closed', reason: 'too-many-bad-commands' });
  });

  it('count oversize lines and lines with control characters', () => {
    const input = `${'x'.repeat(300)}\r\nNO\0OP\r\n${'y'.repeat(300)}\r\n`;
    expect(everySplit(input, { limits: { maxBadCommands: 3 } })).toEqual([
      '-ERR line too long (the limit is 255 octets)',
      '-ERR invalid command line (control characters)',
      '-ERR too many bad commands, closing the connection',
    ]);
  });

  it('do not include a -ERR for a missing message, a deleted one, a failed login or [IN-USE]', () => {
    const input = `USER alice\r\nPASS no\r\n${LOGIN}LIST 9\r\nDELE 1\r\nDELE 1\r\nRETR 1\r\nQUIT\r\n`;
    const driver = serve(input, undefined, { limits: { maxBadCommands: 1 } });
    expect(driver.engine.closeReason).toBe('quit');
  });
});

describe('control characters and CR/LF injection', () => {
  // Each line smuggles a control character into an argument; none may be obeyed or reflected.
  const attempts = [
    'USER a\rb',
    'USER alice\rPASS alice-pw',
    'USER a\0b',
    'USER a\tb',
    'USER a\x7fb',
    'PASS x\rQUIT',
    'NOOP\r\r',
    'RETR 1\x0bQUIT',
    'USER \x1b[31mred',
    'USER \xff\xfe', // not UTF-8
  ];

  it.each(attempts.map((line) => [JSON.stringify(line), line]))('%s is refused whole', (_, line) => {
    const lines = everySplit(`${line}\r\nQUIT\r\n`);
    const problem = line.includes('\xff') ? 'invalid UTF-8' : 'control characters';
    expect(lines).toEqual([`-ERR invalid command line (${problem})`, '+OK bye']);
  });

  it('a CR alone does not end a command line (USER a CR PASS x is one bad line)', () => {
    const driver = serve(`USER alice\rPASS alice-pw\r\nSTAT\r\n`);
    expect(driver.events.some((event) => event.type === 'password')).toBe(false);
    expect(replies(driver)).toEqual(['-ERR invalid command line (control characters)', '-ERR STAT is not valid in the AUTHORIZATION state']);
  });

  it('random bytes never make the server throw, reply with a control character, or forge a line', () => {
    const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x0d, 0x0a, 0x2e, 0x20));
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 600 }), fc.array(fc.nat({ max: 600 }), { maxLength: 20 }), (input, cuts) => {
        const driver = serve(String.fromCharCode(...input), (bytes) => sliceAt(bytes, cuts), { limits: { maxBadCommands: 1000 } });
        const output = driver.output.join('');
        // Every reply line is a status line or a listing line, CRLF-terminated, with no control characters.
        expect(output.endsWith('\r\n')).toBe(true);
        for (const line of output.slice(0, -2).split('\r\n')) expect(line).not.toMatch(/[\x00-\x1f\x7f]/);
      }),
      { numRuns: 300 },
    );
  });
});

describe('never echo client input', () => {
  it('no argument of any command comes back, known or unknown, valid or not', () => {
    const canary = 'C4NARY';
    const commands = [
      `XYZZY ${canary}`,
      `${canary}`,
      `USER ${canary}`,
      `PASS ${canary}`,
      `APOP ${canary} ${canary}`,
      `AUTH ${canary}`,
      `AUTH PLAIN ${canary}`,
      `LIST ${canary}`,
      `STAT ${canary}`,
    ];
    const driver = serve(`${commands.join('\r\n')}\r\n`, undefined, { limits: { maxBadCommands: 100, maxAuthFailures: 100 } });
    expect(driver.output.join('')).not.toContain(canary);
    expect(driver.output.join('')).not.toContain(canary.toLowerCase());
  });

  it('no random printable argument comes back either', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('XYZZY', 'USER', 'PASS', 'APOP', 'AUTH', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'CAPA', 'stat'),
        fc.stringMatching(/^[A-Za-z]{12,30}$/),
        (verb, argument) => {
          const driver = serve(`${verb} ${argument}\r\n${LOGIN}${verb} ${argument}\r\n`, undefined, { limits: { maxBadCommands: 100 } });
          expect(driver.output.join('')).not.toContain(argument);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('secrets', () => {
  const password = 'alice-pw';
  const leaks = (driver: ServerDriver): string => {
    const events = driver.events.map((event) => `${JSON.stringify(event)} ${String(event)}`).join('\n');
    return [events, driver.output.join('')].join('\n');
  };

  it('PASS, AUTH initial responses and SASL answers are redacted in traces; passwords never appear', () => {
    const plain = toBase64(byteArray(`\0alice\0${password}`));
    const login = toBase64(byteArray(password));
    const input = `USER alice\r\nPASS ${password}x\r\nAUTH PLAIN ${plain}\r\nQUIT\r\n`;
    const driver = serve(input);
    const second = serve(`AUTH LOGIN\r\n${toBase64(byteArray('alice'))}\r\n${login}\r\nQUIT\r\n`);
    for (const run of [driver, second]) {
      const text = leaks(run);
      expect(text).not.toContain(password);
      expect(text).not.toContain(plain);
      expect(text).not.toContain(login);
    }
    const traced = driver.events.flatMap((event) => (event.type === 'trace' ? [`${event.from}: ${event.line}`] : []));
    expect(traced).toContain('client: PASS [redacted]');
    expect(traced).toContain('client: AUTH PLAIN [redacted]');
    expect(second.events.flatMap((event) => (event.type === 'trace' ? [event.line] : []))).toContain('[redacted]');
  });

  it('a mistyped PASS is not traced with its argument', () => {
    const driver = serve(`PAS ${password}\r\n`);
    expect(leaks(driver)).not.toContain(password);
    expect(driver.events).toContainEqual({ type: 'trace', from: 'client', line: 'PAS [arguments not shown]' });
  });

  it('failed-login events say why without the password', () => {
    const driver = serve(`USER alice\r\nPASS ${password}-wrong\r\n`);
    expect(driver.events).toContainEqual({ type: 'login-failed', user: 'alice', mechanism: 'USER', reason: 'wrong password' });
    expect(leaks(driver)).not.toContain(password);
  });

  it('the traced form of an over-long or invalid line says what it was, not what it held', () => {
    const driver = serve(`USER ${'p'.repeat(300)}\r\nUSER a\rb\r\n`);
    const lines = driver.events.flatMap((event) => (event.type === 'trace' && event.from === 'client' ? [event.line] : []));
    expect(lines).toEqual(['[a line longer than 255 octets, discarded]', '[a line with control characters, 8 octets]']);
  });
});
