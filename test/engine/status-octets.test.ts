/**
 * The octet count a server may give in its +OK to RETR ("+OK 120 octets", RFC 1939 section 7): the `status`
 * event carries it, and Pop3Client sizes the body's memory from it. Only a count followed by the word
 * "octets" counts; anything else gives undefined.
 *
 * The engine reads a line that is exactly `+OK <n> octets` straight from its bytes (octetsStatusLine), and
 * every other line through the general parser; both must give the same events. A traced engine always takes
 * the general path, so tracing is the reference here.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Pop3Event } from '../../core/client-engine.js';
import { announcedOctets, octetsStatusLine, parseStatusLine } from '../../core/response.js';
import { drain, greeted, serve } from '../support/engine.js';

/** The events of a RETR answered with `+OK${text}` and a short body, with or without tracing (trace events left out). */
function retrEvents(text: string, trace = false): Pop3Event[] {
  const engine = greeted({ trace });
  engine.user('alice');
  serve(engine, '+OK\r\n');
  engine.pass('pw');
  serve(engine, '+OK\r\n');
  drain(engine);
  engine.retr(1);
  serve(engine, `+OK${text}\r\nbody\r\n.\r\n`);
  return drain(engine).filter((event) => event.type !== 'trace');
}

/** The `octets` of the status event for a RETR answered with `+OK ${text}`. */
function announced(text: string): number | undefined {
  const status = retrEvents(text).find((event): event is Extract<Pop3Event, { type: 'status' }> => event.type === 'status');
  expect(status).toBeDefined();
  return status!.octets;
}

const latin1 = (text: string) => Uint8Array.from(text, (char) => char.charCodeAt(0));

describe('the octet count of a +OK to RETR', () => {
  it.each([
    [' 120 octets', 120],
    [' 0 octets', 0],
    [' 120 OCTETS', 120],
    [' 120\toctets follow', 120],
    [' 120   octets.', 120],
    [' 999999999999999 octets', 999_999_999_999_999],
  ])('+OK%s gives %s', (text, octets) => {
    expect(announced(text)).toBe(octets);
  });

  it.each([[''], [' octets'], [' 120'], [' 120 bytes'], [' 120 octetsx'], [' 120octets'], [' x120 octets'], [' 1234567890123456 octets'], [' -5 octets']])(
    '+OK%s gives none',
    (text) => {
      expect(announced(text)).toBeUndefined();
    },
  );
});

describe('the status line read from its bytes', () => {
  it.each([
    ['+OK 120 octets\r\n', 120],
    ['+OK 0 octets\n', 0],
    ['+OK 999999999999999 octets\r\n', 999_999_999_999_999],
  ])('%j is read as %s', (line, octets) => {
    const bytes = latin1(`xx${line}yy`);
    expect(octetsStatusLine(bytes, 2, bytes.indexOf(0x0a))).toBe(octets);
  });

  it.each([
    ['+OK 0120 octets\r\n'],
    ['+OK 120 octets \r\n'],
    ['+OK  120 octets\r\n'],
    ['+OK\t120 octets\r\n'],
    ['+OK 120 OCTETS\r\n'],
    ['+OK 120 octetsx\r\n'],
    ['+OK 120 octet\r\n'],
    ['+OK 120\r\n'],
    ['+OK octets\r\n'],
    ['+OK 1234567890123456 octets\r\n'],
    ['+OK [IN-USE] 120 octets\r\n'],
    ['-ERR 120 octets\r\n'],
    ['+OK 120 octets\r\r\n'],
    ['+OK\r\n'],
  ])('%j is left to the general parser', (line) => {
    const bytes = latin1(line);
    expect(octetsStatusLine(bytes, 0, bytes.indexOf(0x0a))).toBe(-1);
  });

  it('reads only lines that the general parser reads the same way', () => {
    const alphabet = fc.constantFrom('+', 'O', 'K', ' ', '\t', '0', '1', '9', 'o', 'c', 't', 'e', 's', '[', ']', '\r', '-');
    const line = fc.oneof(
      fc.string({ unit: alphabet, maxLength: 24 }),
      fc.tuple(fc.string({ unit: alphabet, maxLength: 3 }), fc.nat(), fc.string({ unit: alphabet, maxLength: 3 })).map(([a, n, b]) => `+OK ${a}${n}${b} octets`),
      fc.nat().map((n) => `+OK ${n} octets`),
    );
    fc.assert(
      fc.property(line, (text) => {
        const bytes = latin1(`${text}\n`);
        const octets = octetsStatusLine(bytes, 0, bytes.length - 1);
        if (octets === -1) return;
        const status = parseStatusLine(text.endsWith('\r') ? text.slice(0, -1) : text);
        expect(status).toEqual({ kind: 'ok', code: undefined, text: `${octets} octets` });
        expect(announcedOctets(status!.text)).toBe(octets);
      }),
    );
  });

  it.each([[' 120 octets'], [' 0 octets'], [' 0120 octets'], [' 120 octets '], ['  120 octets'], [' [IN-USE] 120 octets'], [' 120 OCTETS'], [''], [' 120']])(
    'a RETR answered +OK%j gives the same events as the general path',
    (text) => {
      expect(retrEvents(text)).toEqual(retrEvents(text, true));
    },
  );
});
