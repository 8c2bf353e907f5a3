/**
 * Finding the lines of a body that start with a dot: the stuffed lines and the terminator (RFC 1939
 * section 3). Every other octet of a body is passed on untouched, so this search is most of the cost of
 * reading one, and it is made the fastest way the runtime offers.
 */
import { indexOfLf } from './bytes.js';
import { simdDotLineFinder } from './simd-dot-line-search.js';

const LF = 0x0a;
const DOT = 0x2e;
const DOT_LINE = Uint8Array.of(LF, DOT);
const SHORT_SCAN = 512;
const latin1 = new TextDecoder('latin1');

/** Node's Buffer, seen without importing Node: its indexOf finds a byte sequence natively. */
interface SequenceSearchable {
  indexOf(sequence: Uint8Array, from: number): number;
}

/**
 * A function giving the index of the next LF followed by `.` in `chunk` at or after `from` (-1 when there
 * is none), asked with a `from` no smaller than the last. Tiny chunks are scanned for LF directly; larger
 * ones go to WebAssembly SIMD where the runtime has it; without it, a Node Buffer searches the two-octet
 * sequence natively, and anything else through a latin1 view (one char per octet, so indexes match) in the
 * JavaScript engine's string search. Made once per chunk, however many bodies the chunk holds.
 */
export function dotLineFinder(chunk: Uint8Array, pos = 0): (from: number) => number {
  if (chunk.length - pos <= SHORT_SCAN) return (from) => scanForDotLine(chunk, from);
  const simd = simdDotLineFinder(chunk);
  if (simd !== undefined) return simd;
  const isBuffer = (chunk.constructor as { isBuffer?: (value: unknown) => boolean }).isBuffer?.(chunk) === true;
  if (isBuffer) return (from) => (chunk as unknown as SequenceSearchable).indexOf(DOT_LINE, from);
  return latin1Search(chunk, pos);
}

/**
 * The search through a latin1 view of `chunk`, which covers a window that starts small and doubles while
 * nothing is found: a chunk holding many small bodies is then converted about once, not once per body.
 */
function latin1Search(chunk: Uint8Array, pos: number): (from: number) => number {
  let base = pos;
  let text = '';
  let window = SHORT_SCAN / 2;
  return (from) => {
    for (;;) {
      const found = text.indexOf('\n.', from - base);
      if (found !== -1) return found + base;
      if (base + text.length >= chunk.length) return -1;
      // Restart the window at `from`, which is never past an LF the last window ended on.
      window *= 2;
      base = from;
      text = latin1.decode(chunk.subarray(from, Math.min(chunk.length, from + window)));
    }
  };
}

function scanForDotLine(chunk: Uint8Array, from: number): number {
  for (let lf = indexOfLf(chunk, from); lf !== -1; lf = indexOfLf(chunk, lf + 1)) {
    if (chunk[lf + 1] === DOT) return lf;
  }
  return -1;
}
