/** utf8(): the ASCII fast path must give exactly what TextEncoder gives, for every kind of string. */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../core/bytes.js';

const encoder = new TextEncoder();

describe('utf8', () => {
  it.each([
    ['empty', ''],
    ['a command line', 'RETR 12345\r\n'],
    ['every ASCII code unit', Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('')],
    ['Latin-1', 'USER jos\u00e9\r\n'],
    ['non-ASCII at the end of a short string', `${'a'.repeat(200)}\u00ff`],
    ['a surrogate pair', 'PASS \u{1F511}\r\n'],
    ['a lone surrogate (U+FFFD)', 'x\ud800y'],
    ['long ASCII (past the fast path)', 'a'.repeat(5000)],
    ['long non-ASCII', '\u00e9'.repeat(5000)],
  ])('%s', (_, text) => {
    const bytes = utf8(text);
    expect(bytes.constructor).toBe(Uint8Array);
    expect([...bytes]).toEqual([...encoder.encode(text)]);
  });
});
