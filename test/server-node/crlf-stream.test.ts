// A Maildir file's bytes as the server sends them (core/node/crlf-stream.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crlfSize, crlfStream } from '../../core/node/crlf-stream.js';

async function* source(pieces: string[]): AsyncGenerator<Uint8Array> {
  for (const piece of pieces) yield new Uint8Array(Buffer.from(piece, 'latin1'));
}

/** The output for `pieces`, as latin1 text; checks that crlfSize counts it right. */
async function run(pieces: string[]): Promise<string> {
  let out = '';
  for await (const chunk of crlfStream(source(pieces))) out += Buffer.from(chunk).toString('latin1');
  expect(await crlfSize(source(pieces))).toBe(out.length);
  return out;
}

describe('crlfStream', () => {
  it.each([
    ['bare LF becomes CRLF', 'a\nb\n', 'a\r\nb\r\n'],
    ['CRLF stays', 'a\r\nb\r\n', 'a\r\nb\r\n'],
    ['mixed line ends', 'a\r\nb\nc\r\n', 'a\r\nb\r\nc\r\n'],
    ['a bare CR becomes CRLF too (the engine would not let it reach the wire)', 'a\rb\n', 'a\r\nb\r\n'],
    ['a missing final line end is added', 'a\nb', 'a\r\nb\r\n'],
    ['a final bare CR ends the last line', 'a\r', 'a\r\n'],
    ['an empty message stays empty', '', ''],
    ['blank lines', '\na\n\n', '\r\na\r\n\r\n'],
  ])('%s', async (_name, input, expected) => {
    expect(await run([input])).toBe(expected);
  });

  it('passes a chunk that needs no change through as is', async () => {
    const chunk = new Uint8Array(Buffer.from('network\r\nform\r\n'));
    const out: Uint8Array[] = [];
    for await (const piece of crlfStream((async function* () {
      yield chunk;
    })())) out.push(piece);
    expect(out).toEqual([chunk]);
    expect(out[0]).toBe(chunk);
  });

  it('gives the same bytes for any slicing, CRLF only, ending with a line end, and crlfSize counts them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.stringMatching(/^[ab.\r\n]*$/), fc.array(fc.nat()), async (input, cuts) => {
        const points = [...new Set(cuts.map((c) => c % (input.length + 1)))].sort((a, b) => a - b);
        const pieces = [...points, input.length].map((end, i) => input.slice(i === 0 ? 0 : points[i - 1], end));
        const whole = await run([input]);
        expect(await run(pieces)).toBe(whole);
        expect(whole.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
        expect(whole === '' || whole.endsWith('\r\n')).toBe(true);
      }),
      { numRuns: 500 },
    );
  });
});
