/** TOP msg n (core/server/top-filter.ts): the cut, against a line-based reference model, in any slicing. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TopFilter } from '../../core/server/top-filter.js';
import { byteArray, byteString, concatBytes, sliceAt } from '../support/transcript.js';

/** The model: the lines up to and including the first empty one, then `n` more (line ends kept). */
function model(message: string, n: number): string {
  const lines = message.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const blank = lines.findIndex((line) => line === '\n' || line === '\r\n');
  if (blank === -1) return message;
  return lines.slice(0, blank + 1 + n).join('');
}

function filtered(message: string, n: number, cuts: readonly number[]): string {
  const filter = new TopFilter(n);
  return byteString(concatBytes(sliceAt(byteArray(message), cuts).map((chunk) => filter.push(chunk))));
}

describe('TopFilter', () => {
  const message = 'A: 1\r\nB: 2\r\n\r\none\r\ntwo\r\nthree\r\n';

  it.each([
    [0, 'A: 1\r\nB: 2\r\n\r\n'],
    [1, 'A: 1\r\nB: 2\r\n\r\none\r\n'],
    [3, message],
    [9, message],
  ])('TOP n=%i', (n, expected) => {
    expect(filtered(message, n, [])).toBe(expected);
  });

  it('sends a message without a blank line whole, and takes a bare-LF blank line as the end of the header', () => {
    expect(filtered('A: 1\r\nB: 2\r\n', 0, [])).toBe('A: 1\r\nB: 2\r\n');
    expect(filtered('A: 1\n\nbody\n', 0, [])).toBe('A: 1\n\n');
  });

  it('is done once it has its lines, and drops everything after', () => {
    const filter = new TopFilter(0);
    expect(filter.done).toBe(false);
    const chunk = byteArray('A: 1\r\n\r\nbody');
    expect(byteString(filter.push(chunk))).toBe('A: 1\r\n\r\n');
    expect(filter.done).toBe(true);
    expect(filter.push(byteArray('more')).length).toBe(0);
  });

  it('matches the model for any message, n and slicing', () => {
    const line = fc.constantFrom('', 'x', '.', 'Subject: s', '\r', ' ');
    const ending = fc.constantFrom('\r\n', '\n');
    const message = fc.array(fc.tuple(line, ending), { maxLength: 12 }).map((lines) => lines.map(([text, end]) => text + end).join(''));
    fc.assert(
      fc.property(message, fc.nat({ max: 6 }), fc.array(fc.nat({ max: 100 }), { maxLength: 8 }), (text, n, cuts) => {
        expect(filtered(text, n, cuts)).toBe(model(text, n));
      }),
      { numRuns: 500 },
    );
  });
});
