/**
 * The octet count a server may give in its +OK to RETR ("+OK 120 octets", RFC 1939 section 7): the `status`
 * event carries it, and Pop3Client sizes the body's memory from it. Only a count followed by the word
 * "octets" counts; anything else gives undefined.
 */
import { describe, expect, it } from 'vitest';
import type { Pop3Event } from '../../core/client-engine.js';
import { drain, greeted, serve } from '../support/engine.js';

/** The `octets` of the status event for a RETR answered with `+OK ${text}`. */
function announced(text: string): number | undefined {
  const engine = greeted();
  engine.user('alice');
  serve(engine, '+OK\r\n');
  engine.pass('pw');
  serve(engine, '+OK\r\n');
  drain(engine);
  engine.retr(1);
  serve(engine, `+OK${text}\r\nbody\r\n.\r\n`);
  const status = drain(engine).find((event): event is Extract<Pop3Event, { type: 'status' }> => event.type === 'status');
  expect(status).toBeDefined();
  return status!.octets;
}

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
