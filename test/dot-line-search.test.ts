import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { dotLineFinder } from '../core/dot-line-search.js';
import { inReadSlot, releaseReadSlot, simdDotLineFinder, takeReadSlot } from '../core/simd-dot-line-search.js';
import { forbiddenWebAssembly, loadBodyReadingWith } from './support/without-webassembly.js';

const withoutWebAssembly = await loadBodyReadingWith(undefined);
const forbidden = await loadBodyReadingWith(forbiddenWebAssembly);

/** The next LF followed by `.` at or after `from`, one octet at a time. */
function reference(chunk: Uint8Array, from: number): number {
  for (let i = Math.max(0, from); i + 1 < chunk.length; i++) if (chunk[i] === 0x0a && chunk[i + 1] === 0x2e) return i;
  return -1;
}

/**
 * Every answer along `chunk`, asked from each given start and after each hit, against the reference: one
 * search per start, as a search is only ever asked from a later place than before.
 */
function expectAllFound(chunk: Uint8Array, finder: (chunk: Uint8Array) => (from: number) => number, starts: number[]) {
  for (const start of starts) {
    const find = finder(chunk);
    for (let from = start, steps = 0; from <= chunk.length + 1 && steps < 10_000; steps++) {
      const expected = reference(chunk, from);
      expect(find(from), `from ${from} of ${chunk.length}`).toBe(expected);
      if (expected === -1) break;
      from = expected + 1;
    }
  }
}

const searches = {
  'WebAssembly SIMD, plain Uint8Array': (chunk: Uint8Array) => dotLineFinder(chunk),
  'WebAssembly SIMD, Node Buffer': (chunk: Uint8Array) => dotLineFinder(Buffer.from(chunk)),
  'no WebAssembly, Node Buffer (native sequence search)': (chunk: Uint8Array) => withoutWebAssembly.dotLineFinder(Buffer.from(chunk)),
  'no WebAssembly, plain Uint8Array (latin1 string search)': (chunk: Uint8Array) => withoutWebAssembly.dotLineFinder(chunk),
  'compiling forbidden, plain Uint8Array (latin1 string search)': (chunk: Uint8Array) => forbidden.dotLineFinder(chunk),
};

/** Octets where LF, `.` and CR are common, so that dot lines, near misses and runs of them all occur. */
const octets = (maxLength: number) =>
  fc.array(fc.constantFrom(0x0a, 0x2e, 0x0d, 0x61, 0x61, 0x61), { maxLength }).map((values) => Uint8Array.from(values));

/** A chunk larger than the SIMD window (64 KiB), with dot lines at chosen places, some on its edges. */
const large = fc
  .record({
    length: fc.integer({ min: 65_000, max: 140_000 }),
    at: fc.array(fc.oneof(fc.integer({ min: 65_530, max: 65_540 }), fc.integer({ min: 131_065, max: 131_075 }), fc.nat({ max: 140_000 })), { maxLength: 12 }),
  })
  .map(({ length, at }) => {
    const chunk = new Uint8Array(length).fill(0x61);
    // A dot line at the very end is cut to its LF.
    for (const i of at) if (i < length) chunk.set([0x0a, 0x2e].slice(0, length - i), i);
    return chunk;
  });

describe('dotLineFinder', () => {
  it('has WebAssembly SIMD in this runtime, and none when WebAssembly is missing or forbidden', () => {
    expect(simdDotLineFinder(new Uint8Array(1000))).toBeTypeOf('function');
    expect(withoutWebAssembly.simdDotLineFinder(new Uint8Array(1000))).toBeUndefined();
    expect(forbidden.simdDotLineFinder(new Uint8Array(1000))).toBeUndefined();
  });

  for (const [name, finder] of Object.entries(searches)) {
    describe(name, () => {
      it('finds every dot line, from any start, in chunks up to 3,000 octets', () => {
        fc.assert(
          fc.property(octets(3000), fc.array(fc.nat({ max: 3001 }), { maxLength: 4 }), (chunk, starts) => {
            expectAllFound(chunk, finder, [0, ...starts]);
          }),
          { numRuns: 300 },
        );
      });

      it('finds every dot line in chunks larger than a window, across its edges', () => {
        fc.assert(
          fc.property(large, fc.nat({ max: 140_000 }), (chunk, start) => {
            expectAllFound(chunk, finder, [0, start]);
          }),
          { numRuns: 40 },
        );
      });
    });
  }

  it('finds a dot line whose LF ends one window and whose dot begins the next', () => {
    for (const lf of [65_534, 65_535, 65_536, 131_069, 131_070]) {
      const chunk = new Uint8Array(200_000).fill(0x61);
      chunk.set([0x0a, 0x2e], lf);
      expect(dotLineFinder(chunk)(0), `LF at ${lf}`).toBe(lf);
      expect(dotLineFinder(chunk)(lf), `LF at ${lf}, from it`).toBe(lf);
      expect(dotLineFinder(chunk)(lf + 1), `LF at ${lf}, from past it`).toBe(-1);
    }
  });

  it('ignores what an earlier chunk left in the memory past the end of this one', () => {
    const earlier = new Uint8Array(1000).fill(0x61);
    earlier.set([0x0a, 0x2e], 599);
    expect(dotLineFinder(earlier)(0)).toBe(599);
    const chunk = new Uint8Array(600).fill(0x61);
    chunk[599] = 0x0a; // an LF at the very end: its next octet is not in this chunk
    expect(dotLineFinder(chunk)(0)).toBe(-1);
  });

  it('gives each chunk its own answers when the searches of two chunks take turns', () => {
    const first = new Uint8Array(100_000).fill(0x61);
    const second = new Uint8Array(100_000).fill(0x62);
    const hits = [700, 5_000, 65_535, 70_000, 99_000];
    for (const at of hits) first.set([0x0a, 0x2e], at);
    for (const at of hits) second.set([0x0a, 0x2e], at + 3);
    const findFirst = dotLineFinder(first);
    const findSecond = dotLineFinder(second);
    let a = 0;
    let b = 0;
    for (const at of hits) {
      a = findFirst(a);
      b = findSecond(b);
      expect([a, b]).toEqual([at, at + 3]);
      a++;
      b++;
    }
    expect([findFirst(a), findSecond(b)]).toEqual([-1, -1]);
  });
});

describe('read slots (a chunk read into the search\'s memory is searched where it lies)', () => {
  /** Every free slot, taken: the caller gives them back. */
  const takeAll = () => {
    const slots: Uint8Array[] = [];
    for (let slot = takeReadSlot(); slot !== undefined; slot = takeReadSlot()) slots.push(slot);
    return slots;
  };

  it('hands out distinct 64 KiB slots until none is left, and takes them back', () => {
    const slots = takeAll();
    expect(slots.length).toBeGreaterThanOrEqual(3);
    expect(new Set(slots.map((slot) => slot.byteOffset)).size).toBe(slots.length);
    for (const slot of slots) {
      expect(slot.length).toBe(65_536);
      expect(inReadSlot(slot)).toBe(true);
      expect(inReadSlot(slot.subarray(10, 20))).toBe(true);
    }
    expect(inReadSlot(new Uint8Array(65_536))).toBe(false);
    expect(inReadSlot(Buffer.alloc(100))).toBe(false);
    for (const slot of slots) releaseReadSlot(slot);
    releaseReadSlot(slots[0]!); // twice: still one slot, not two
    const again = takeAll();
    expect(again.map((slot) => slot.byteOffset).sort()).toEqual(slots.map((slot) => slot.byteOffset).sort());
    for (const slot of again) releaseReadSlot(slot);
  });

  it('finds every dot line of a chunk in a slot, from any start, whatever lies in the slots around it', () => {
    const slots = takeAll();
    try {
      fc.assert(
        fc.property(
          fc.nat({ max: slots.length - 1 }),
          fc.integer({ min: 0, max: 65_536 }),
          fc.array(fc.oneof(fc.nat({ max: 65_535 }), fc.integer({ min: 65_400, max: 65_535 })), { maxLength: 12 }),
          fc.nat({ max: 65_536 }),
          (which, length, at, start) => {
            // Dot lines everywhere in the other slots, and an LF then a dot on each side of this one.
            for (const slot of slots) slot.fill(0x2e).set([0x0a], 0);
            for (const slot of slots) slot[slot.length - 1] = 0x0a;
            const slot = slots[which]!;
            slot.fill(0x61);
            for (const i of at) slot.set([0x0a, 0x2e].slice(0, slot.length - i), i);
            if (length < slot.length) slot[length - 1 < 0 ? 0 : length - 1] = 0x0a; // an LF whose dot is past the chunk
            const chunk = slot.subarray(0, length);
            expect(inReadSlot(chunk)).toBe(true);
            expectAllFound(chunk, (bytes) => dotLineFinder(bytes), [0, start]);
            expectAllFound(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length), (bytes) => simdDotLineFinder(bytes)!, [0, start]);
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      for (const slot of slots) releaseReadSlot(slot);
    }
  });

  it('finds a dot line in a chunk in the last slot, up to its last octets', () => {
    const slots = takeAll();
    try {
      const last = slots.reduce((a, b) => (a.byteOffset > b.byteOffset ? a : b));
      last.fill(0x61).set([0x0a, 0x2e], 65_534);
      expect(simdDotLineFinder(last)!(0)).toBe(65_534);
      expect(simdDotLineFinder(last.subarray(60_000))!(0)).toBe(5_534);
      expect(simdDotLineFinder(last.subarray(0, 65_535))!(0)).toBe(-1);
    } finally {
      for (const slot of slots) releaseReadSlot(slot);
    }
  });

  it('has no slots without WebAssembly, or where compiling it is forbidden', () => {
    expect(withoutWebAssembly.takeReadSlot()).toBeUndefined();
    expect(forbidden.takeReadSlot()).toBeUndefined();
    expect(withoutWebAssembly.inReadSlot(new Uint8Array(10))).toBe(false);
  });
});
