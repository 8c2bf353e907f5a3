/**
 * The search for lines that start with a dot, in WebAssembly SIMD: 64 octets per step, where a native
 * byte-sequence search (memchr for LF, then a look at the next byte) stops at every line. On bench bodies
 * of 64-octet lines it takes about 60% of the time of Node's Buffer.indexOf, copy included, and it runs the
 * same in browsers, where the alternative is a string search through a latin1 decoding.
 *
 * The module is assembled below from its instructions (253 octets), so there is no binary to trust
 * and no build step. Where WebAssembly or its SIMD is missing, or a Content Security Policy forbids
 * compiling it, there is no SIMD search and the caller uses another.
 *
 * The search runs in the module's memory, so a chunk is copied in, a window of up to 64 KiB at a time,
 * unless it was read there in the first place: a transport may read into slots of that memory
 * (takeReadSlot), and a chunk in a slot is searched where it lies. The copy is ~30% of the search's cost.
 *
 * The memory, in 64 KiB pages: the copy window; READ_SLOTS read slots; a last page that is room for the
 * reads of the last step past the end of the window or of the last slot (whatever they find there is
 * ignored, as is what a step finds in the next slot).
 */

const PAGE = 64 * 1024;
const WINDOW = PAGE;
/** Enough for the three reused buffers (read-buffers.ts) of each of three connections at once. */
const READ_SLOTS = 9;
const PAGES = 1 + READ_SLOTS + 1;

/** find(from, end): the first p in [from, end - 1) where memory[p] is LF and memory[p + 1] is `.`, or -1. */
type Find = (from: number, end: number) => number;

interface Search {
  readonly memory: Uint8Array<ArrayBuffer>;
  readonly find: Find;
  /** The finder whose window the memory holds. */
  owner: object | undefined;
  /** The read slots not taken, by index. */
  readonly freeSlots: number[];
}

let search: Search | undefined | null;

function searchModule(): Search | null {
  if (search === undefined) search = instantiate();
  return search;
}

/**
 * A function giving the index of the next LF followed by `.` in `chunk` at or after `from` (-1 when there
 * is none), or undefined when this runtime has no WebAssembly SIMD. Made once per chunk: each window of the
 * chunk is copied into the module's memory once, however many bodies the chunk holds, and a chunk in a
 * read slot is not copied at all.
 */
export function simdDotLineFinder(chunk: Uint8Array): ((from: number) => number) | undefined {
  const shared = searchModule();
  if (shared === null) return undefined;
  const { memory, find } = shared;
  if (inReadSlot(chunk)) {
    const offset = chunk.byteOffset;
    const end = offset + chunk.length;
    return (from) => {
      const found = find(offset + from, end);
      return found === -1 ? -1 : found - offset;
    };
  }
  const owner = {};
  let base = 0; // chunk[base, base + loaded) is in memory from 0, while shared.owner is this finder's
  let loaded = 0;
  return (from) => {
    for (;;) {
      if (from + 1 >= chunk.length) return -1;
      // Another chunk's finder may have used the memory since (they share it; every call is synchronous).
      if (shared.owner !== owner || from < base || from + 1 >= base + loaded) {
        base = from;
        loaded = Math.min(WINDOW, chunk.length - from);
        memory.set(chunk.subarray(base, base + loaded));
        shared.owner = owner;
      }
      const found = find(from - base, loaded);
      if (found !== -1) return base + found;
      if (base + loaded === chunk.length) return -1;
      from = base + loaded - 1; // the window's last octet may be the LF of a dot line across its end
    }
  };
}

/**
 * A 64 KiB slot of the search's memory to read into, so that the chunks read there are searched without a
 * copy; undefined when every slot is taken or there is no SIMD search (read into memory of your own then).
 * Give it back with releaseReadSlot() once nothing reads into it or holds a chunk of it.
 */
export function takeReadSlot(): Uint8Array<ArrayBuffer> | undefined {
  const shared = searchModule();
  const index = shared?.freeSlots.pop();
  if (index === undefined) return undefined;
  return new Uint8Array(shared!.memory.buffer, WINDOW + index * PAGE, PAGE);
}

/** Give back a slot from takeReadSlot(). Giving one back twice does nothing (else two readers could share it). */
export function releaseReadSlot(slot: Uint8Array): void {
  const { freeSlots } = search!;
  const index = (slot.byteOffset - WINDOW) / PAGE;
  if (!freeSlots.includes(index)) freeSlots.push(index);
}

/** Whether `bytes` lie in a read slot (takeReadSlot), where they are searched without a copy. */
export function inReadSlot(bytes: Uint8Array): boolean {
  return search?.memory.buffer === bytes.buffer;
}

function instantiate(): Search | null {
  try {
    if (typeof WebAssembly !== 'object') return null;
    const module = new WebAssembly.Module(moduleBytes());
    const { exports } = new WebAssembly.Instance(module);
    const memory = new Uint8Array((exports.memory as WebAssembly.Memory).buffer);
    const freeSlots = Array.from({ length: READ_SLOTS }, (_, i) => READ_SLOTS - 1 - i);
    return { memory, find: exports.find as Find, owner: undefined, freeSlots };
  } catch {
    return null; // no SIMD, or compiling is forbidden here: the caller searches another way
  }
}

// ─── The module ─────────────────────────────────────────────────────────────────────────────────────────
//
// (func (export "find") (param $from i32) (param $end i32) (result i32)
//   (local $lf v128) (local $dot v128) (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
//   $lf = all LF; $dot = all '.'
//   loop
//     if $from + 1 >= $end: return -1
//     $sK = (load16($from + 16K) == $lf) & (load16($from + 16K + 1) == $dot), for K = 0..3
//     if any lane of ($s0 | $s1 | $s2 | $s3) is set:
//       p = $from + count of trailing zeros of the 64 lane bits (bitmask $s0 .. $s3, lowest first)
//       return p + 1 < $end ? p : -1        (a hit at or past $end - 1 is in stale memory)
//     $from += 64
// )

const FROM = 0;
const END = 1;
const LF = 2;
const DOT = 3;
const STEP = [4, 5, 6, 7]; // $s0..$s3

const I32 = 0x7f;
const V128 = 0x7b;
const EMPTY_BLOCK = 0x40;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    const low = n & 0x7f;
    n >>>= 7;
    out.push(n === 0 ? low : low | 0x80);
  } while (n !== 0);
  return out;
};
const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const low = n & 0x7f;
    n >>= 7;
    const done = (n === 0 && (low & 0x40) === 0) || (n === -1 && (low & 0x40) !== 0);
    out.push(done ? low : low | 0x80);
    if (done) return out;
  }
};
const vector = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const name = (text: string): number[] => [text.length, ...Array.from(text, (c) => c.charCodeAt(0))];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const get = (local: number) => [0x20, local];
const set = (local: number) => [0x21, local];
const tee = (local: number) => [0x22, local];
const i32 = (value: number) => [0x41, ...sleb(value)];
const i64 = (value: number) => [0x42, ...sleb(value)];
const simd = (op: number, ...immediates: number[]) => [0xfd, ...uleb(op), ...immediates];
const load = (offset: number) => simd(0x00, 0 /* align 1 */, ...uleb(offset));
// Opcodes (SIMD ones after the 0xfd prefix).
const [LOOP, IF, END_OP, BR, RETURN, SELECT, UNREACHABLE] = [0x03, 0x04, 0x0b, 0x0c, 0x0f, 0x1b, 0x00];
const [I32_ADD, I32_LT_U, I32_GE_U, I32_WRAP] = [0x6a, 0x49, 0x4f, 0xa7];
const [I64_EXTEND_U, I64_SHL, I64_OR, I64_CTZ] = [0xad, 0x86, 0x84, 0x7a];
const [I8X16_SPLAT, I8X16_EQ, V128_AND, V128_OR, ANY_TRUE, I8X16_BITMASK] = [0x0f, 0x23, 0x4e, 0x50, 0x53, 0x64];

/** $sK: LF lanes at $from + offset followed by `.` lanes. */
const step = (offset: number) => [
  ...get(FROM), ...load(offset), ...get(LF), ...simd(I8X16_EQ),
  ...get(FROM), ...load(offset + 1), ...get(DOT), ...simd(I8X16_EQ),
  ...simd(V128_AND),
];

/** The 16 lane bits of $sK, shifted to their place among the 64 (as i64). */
const laneBits = (k: number) => [
  ...get(STEP[k]!), ...simd(I8X16_BITMASK), I64_EXTEND_U,
  ...(k === 0 ? [] : [...i64(16 * k), I64_SHL]),
];

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const body = [
    ...i32(0x0a /* LF */), ...simd(I8X16_SPLAT), ...set(LF),
    ...i32(0x2e /* . */), ...simd(I8X16_SPLAT), ...set(DOT),
    LOOP, EMPTY_BLOCK,
    ...get(FROM), ...i32(1), I32_ADD, ...get(END), I32_GE_U, IF, EMPTY_BLOCK, ...i32(-1), RETURN, END_OP,
    ...step(0), ...tee(STEP[0]!),
    ...step(16), ...tee(STEP[1]!), ...simd(V128_OR),
    ...step(32), ...tee(STEP[2]!), ...simd(V128_OR),
    ...step(48), ...tee(STEP[3]!), ...simd(V128_OR),
    ...simd(ANY_TRUE), IF, EMPTY_BLOCK,
    ...get(FROM),
    ...laneBits(0), ...laneBits(1), I64_OR, ...laneBits(2), I64_OR, ...laneBits(3), I64_OR,
    I64_CTZ, I32_WRAP, I32_ADD, ...tee(FROM), // p, kept in $from
    ...i32(-1),
    ...get(FROM), ...i32(1), I32_ADD, ...get(END), I32_LT_U,
    SELECT, RETURN,
    END_OP,
    ...get(FROM), ...i32(64), I32_ADD, ...set(FROM),
    BR, 0,
    END_OP,
    UNREACHABLE, // the loop only leaves by return
    END_OP,
  ];
  const code = [...vector([[6, V128]]), ...body];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // "\0asm", version 1
    ...section(1, vector([[0x60, ...vector([[I32], [I32]]), ...vector([[I32]])]])), // type: (i32, i32) -> i32
    ...section(3, vector([[0]])), // one function, of that type
    ...section(5, vector([[0x00, ...uleb(PAGES)]])), // memory: PAGES pages, no maximum (never grown)
    ...section(7, vector([[...name('memory'), 0x02, 0], [...name('find'), 0x00, 0]])), // exports
    ...section(10, vector([[...uleb(code.length), ...code]])),
  ]);
}
