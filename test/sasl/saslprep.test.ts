import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { SaslError } from '../../core/errors.js';
import { saslprep } from '../../core/sasl/saslprep.js';

describe('saslprep', () => {
  it.each([
    ['I\u00adX', 'IX'], // soft hyphen mapped to nothing
    ['user', 'user'],
    ['USER', 'USER'], // case is preserved
    ['\u00aa', 'a'], // NFKC
    ['\u2168', 'IX'], // NFKC
  ])('maps the RFC 4013 section 3 example %j to %j', (input, output) => {
    expect(saslprep(input)).toBe(output);
  });

  it.each([
    ['\u0007', 'an ASCII control character (RFC 4013 example)'],
    ['\u0627\u0031', 'right-to-left text ending in a digit (RFC 4013 example)'],
  ])('rejects %j: %s', (input) => {
    expect(() => saslprep(input)).toThrow(SaslError);
  });

  it('maps non-ASCII spaces to a space and the B.1 characters to nothing', () => {
    expect(saslprep('a\u00a0b\u2003c\u3000d')).toBe('a b c d');
    expect(saslprep('a\u200bb\u200dc\ufeffd\ufe0fe\u034f')).toBe('abcde');
  });

  it('normalises with NFKC', () => {
    expect(saslprep('\ufb01')).toBe('fi');
    expect(saslprep('e\u0301')).toBe('\u00e9');
    expect(saslprep('\uff21')).toBe('A');
  });

  it('returns printable ASCII unchanged, without normalising it (the fast path)', () => {
    const normalize = vi.spyOn(String.prototype, 'normalize');
    try {
      expect(saslprep(' !"#~pass word~')).toBe(' !"#~pass word~');
      expect(saslprep('')).toBe('');
      expect(normalize).not.toHaveBeenCalled();
    } finally {
      normalize.mockRestore();
    }
  });

  it.each([
    ['\u0000', 'NUL (C.2.1)'],
    ['a\u007f', 'DEL (C.2.1)'],
    ['\u0085', 'a C1 control (C.2.2)'],
    ['a\u2028b', 'the line separator (C.2.2)'],
    ['\u{1d173}', 'a musical format character (C.2.2)'],
    ['\ue000', 'private use (C.3)'],
    ['\u{10fffd}', 'supplementary private use (C.3)'],
    ['\ufdd0', 'a non-character (C.4)'],
    ['\u{1fffe}', 'a supplementary non-character (C.4)'],
    ['a\ud800', 'a lone high surrogate (C.5)'],
    ['\udc00b', 'a lone low surrogate (C.5)'],
    ['\ufffd', 'the replacement character (C.6)'],
    ['\u2ff0', 'an ideographic description character (C.7)'],
    ['a\u200e', 'the left-to-right mark (C.8)'],
    ['\u202e', 'the right-to-left override (C.8)'],
    ['\u{e0001}', 'the language tag (C.9)'],
    ['\u{e0041}', 'a tag character (C.9)'],
  ])('rejects %j: %s', (input) => {
    expect(() => saslprep(input)).toThrow(SaslError);
  });

  it('checks C.8 after normalisation, which turns the deprecated U+0340 into U+0300', () => {
    expect(saslprep('a\u0340')).toBe('\u00e0');
  });

  it('accepts a supplementary code point that is allowed', () => {
    expect(saslprep('\u{1f600}')).toBe('\u{1f600}');
  });

  describe('bidi rule (script approximation)', () => {
    it('accepts right-to-left text that starts and ends with a right-to-left letter', () => {
      expect(saslprep('\u05d0\u05d1')).toBe('\u05d0\u05d1');
      expect(saslprep('\u0627\u0031\u0628')).toBe('\u0627\u0031\u0628');
      expect(saslprep('\u0710 \u0712')).toBe('\u0710 \u0712');
    });

    it('rejects right-to-left text that mixes in a left-to-right letter', () => {
      expect(() => saslprep('\u05d0a\u05d1')).toThrow(/mixes/);
    });

    it('rejects right-to-left text that starts or ends with something else', () => {
      expect(() => saslprep('1\u05d0')).toThrow(/start and end/);
      expect(() => saslprep('\u0627\u064e')).toThrow(/start and end/); // ends with a combining mark (NSM)
      expect(() => saslprep('\u0627\u0661')).toThrow(/start and end/); // ends with an Arabic-Indic digit (AN)
    });

    it('leaves left-to-right text with digits and marks alone', () => {
      expect(saslprep('\u00e9t\u00e9 2024')).toBe('\u00e9t\u00e9 2024');
    });
  });

  // Any code point, lone surrogates included, weighted towards the ranges where the tables live.
  const codePoint = fc
    .oneof(fc.integer({ min: 0, max: 0x7f }), fc.integer({ min: 0x80, max: 0x3100 }), fc.integer({ min: 0xd800, max: 0xffff }), fc.integer({ min: 0, max: 0x10ffff }))
    .map((cp) => String.fromCodePoint(cp));

  it('throws nothing but SaslError, whatever the input', () => {
    fc.assert(
      fc.property(fc.string({ unit: codePoint }), (input) => {
        try {
          saslprep(input);
        } catch (error) {
          expect(error).toBeInstanceOf(SaslError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('is idempotent', () => {
    fc.assert(
      fc.property(fc.string({ unit: codePoint }), (input) => {
        let once: string;
        try {
          once = saslprep(input);
        } catch {
          return;
        }
        expect(saslprep(once)).toBe(once);
      }),
      { numRuns: 2000 },
    );
  });
});
