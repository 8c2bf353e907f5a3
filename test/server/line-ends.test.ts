/** CRLF normalisation (core/server/line-ends.ts), against a one-line reference model, in any slicing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CrlfNormalizer, crlfLength, toCrlf } from '../../core/server/line-ends.js';
import { byteArray, byteString, concatBytes, sliceAt } from '../support/transcript.js';

/** The model: every line end (CRLF, bare LF, bare CR) becomes one CRLF. */
const model = (text: string): string => text.replace(/\r\n|\r|\n/g, '\r\n');

function streamed(bytes: Uint8Array, cuts: readonly number[]): string {
  const normalizer = new CrlfNormalizer();
  return byteString(concatBytes([...sliceAt(bytes, cuts).map((chunk) => normalizer.push(chunk)), normalizer.end()]));
}

describe('line ends', () => {
  it.each([
    ['a\nb', 'a\r\nb'],
    ['a\rb', 'a\r\nb'],
    ['a\r\nb\r\n', 'a\r\nb\r\n'],
    ['\r', '\r\n'],
    ['\n', '\r\n'],
    ['\r\r\n', '\r\n\r\n'],
    ['\n\r', '\r\n\r\n'],
    ['', ''],
  ])('%j becomes %j', (input, output) => {
    expect(byteString(toCrlf(byteArray(input)))).toBe(output);
    expect(crlfLength(byteArray(input))).toBe(output.length);
  });

  it('passes a chunk that needs nothing through as the same array', () => {
    const chunk = byteArray('a\r\nb');
    expect(new CrlfNormalizer().push(chunk)).toBe(chunk);
  });

  it('completes a CR that ended one chunk, whatever starts the next', () => {
    const normalizer = new CrlfNormalizer();
    expect(byteString(normalizer.push(byteArray('a\r')))).toBe('a\r');
    expect(byteString(normalizer.push(byteArray('\nb\r')))).toBe('\nb\r');
    expect(byteString(normalizer.push(byteArray('c')))).toBe('\nc');
    expect(byteString(normalizer.push(byteArray('\r')))).toBe('\r');
    expect(byteString(normalizer.end())).toBe('\n');
    expect(normalizer.end().length).toBe(0);
  });

  it('matches the model in any slicing, and crlfLength predicts the length', () => {
    const text = fc.string({ unit: fc.constantFrom('a', '.', ' ', '\r', '\n', '\r\n', 'é'), maxLength: 200 });
    fc.assert(
      fc.property(text, fc.array(fc.nat({ max: 220 }), { maxLength: 12 }), (input, cuts) => {
        const bytes = byteArray(input);
        const expected = model(input);
        expect(streamed(bytes, cuts)).toBe(expected);
        expect(byteString(toCrlf(bytes))).toBe(expected);
        expect(crlfLength(bytes)).toBe(expected.length);
      }),
      { numRuns: 500 },
    );
  });
});
