/**
 * utf8(): the ASCII fast path must give exactly what TextEncoder gives, for every kind of string; and
 * utf8Length(), which the command line limit is checked with, must count exactly the octets it gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { utf8, utf8Length } from '../../core/bytes.js';

const encoder = new TextEncoder();

const kinds = [
    ['empty', ''],
    ['a command line', 'RETR 12345\r\n'],
    ['every ASCII code unit', Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('')],
    ['Latin-1', 'USER jos\u00e9\r\n'],
    ['non-ASCII at the end of a short string', `${'a'.repeat(200)}\u00ff`],
    ['a surrogate pair', 'PASS \u{1F511}\r\n'],
    ['a lone surrogate (U+FFFD)', 'x\ud800y'],
    ['long ASCII (past the fast path)', 'a'.repeat(5000)],
    ['long non-ASCII', '\u00e9'.repeat(5000)],
    ['three-octet characters', '\u20ac\u4e2d'],
    ['a lone low surrogate, and a high one at the end', '\udc00x\ud800'],
] as const;

describe('utf8', () => {
  it.each(kinds)('%s', (_, text) => {
    const bytes = utf8(text);
    expect(bytes.constructor).toBe(Uint8Array);
    expect([...bytes]).toEqual([...encoder.encode(text)]);
  });
});

describe('utf8Length', () => {
  it.each(kinds)('%s', (_, text) => {
    expect(utf8Length(text)).toBe(encoder.encode(text).length);
  });

  it('counts what TextEncoder encodes, for any string of UTF-16 code units', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: fc.integer({ min: 0xd7f0, max: 0xe010 }).map((code) => String.fromCharCode(code)) }), (a, b) => {
        const text = a + b + a;
        expect(utf8Length(text)).toBe(encoder.encode(text).length);
      }),
    );
  });
});
