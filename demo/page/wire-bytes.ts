/**
 * The exact bytes of a transcript line, made visible: each line end as ␍␊ (or a bare ␊ / ␍ where a server
 * was sloppy), the extra `.` of a dot-stuffed line, the terminating `.` line of a multi-line reply, and every
 * byte outside printable ASCII (controls, 8-bit bytes such as UTF-8 sequences) as hex. Long bodies are cut:
 * the first `limit` bytes, a gap that says how much is left out, and the last lines (so the terminator shows).
 *
 * `formatWire` is pure and returns rows of segments; explain-view.ts turns them into elements.
 */
import type { Framing } from './explain.js';

export type WireSegment =
  /** Printable ASCII, as it is. */
  | { readonly kind: 'text'; readonly text: string }
  /** CR LF: the line end POP3 requires. */
  | { readonly kind: 'crlf' }
  /** A LF without CR before it, or a CR without LF after it. */
  | { readonly kind: 'lf' }
  | { readonly kind: 'cr' }
  /** A run of bytes outside printable ASCII. */
  | { readonly kind: 'hex'; readonly bytes: readonly number[] }
  /** The `.` the sender added before a line that starts with `.` (removed by the reader). */
  | { readonly kind: 'stuffed-dot' }
  /** The `.` of the line that ends a multi-line reply. */
  | { readonly kind: 'terminator' };

export interface WireLine {
  readonly role: 'line' | 'stuffed' | 'terminator';
  readonly segments: readonly WireSegment[];
  /** Offset of the line's first byte. */
  readonly offset: number;
  /** The line was cut at the limit (it goes on in the gap). */
  readonly cut?: boolean;
}

/** Bytes left out between the head and the tail. */
export interface WireGap {
  readonly role: 'gap';
  readonly bytes: number;
  /** Line ends in the bytes left out. */
  readonly lines: number;
}

export interface WireView {
  readonly rows: readonly (WireLine | WireGap)[];
  /** All the bytes. */
  readonly total: number;
  /** Bytes not shown (0 when everything is). */
  readonly hidden: number;
}

export interface WireOptions {
  /** How the bytes are framed: one line, one line of a listing, or a body with its terminator. */
  readonly framing: Framing;
  /** Show at most about this many bytes at the start (default 2048); Infinity shows all. */
  readonly limit?: number;
  /** Lines shown at the end of a cut body (default 2, so the terminator is seen). */
  readonly tailLines?: number;
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

export const DEFAULT_WIRE_LIMIT = 2048;
/** How far past the limit a line may go before it is cut. */
const LONG_LINE = 256;
/** The most the tail after a gap may hold. */
const TAIL_MAX = 512;

export function formatWire(wire: Uint8Array, options: WireOptions): WireView {
  const limit = options.limit ?? DEFAULT_WIRE_LIMIT;
  const total = wire.length;
  // Not worth cutting when the gap would be small.
  if (total <= limit + limit / 4) {
    return { rows: linesIn(wire, 0, total, options.framing, Infinity), total, hidden: 0 };
  }
  const head = linesIn(wire, 0, total, options.framing, limit);
  const last = head[head.length - 1];
  const headEnd = last === undefined ? 0 : last.offset + byteLength(last);
  const tailStart = Math.max(headEnd, startOfLastLines(wire, options.tailLines ?? 2));
  const tail = tailStart < total ? linesIn(wire, tailStart, total, options.framing, Infinity) : [];
  const gap: WireGap = { role: 'gap', bytes: tailStart - headEnd, lines: countLf(wire, headEnd, tailStart) };
  return { rows: gap.bytes > 0 ? [...head, gap, ...tail] : [...head, ...tail], total, hidden: gap.bytes };
}

/** The lines of wire[from, to), stopping once `budget` bytes are taken (the last line cut there if needed). */
function linesIn(wire: Uint8Array, from: number, to: number, framing: Framing, budget: number): WireLine[] {
  const lines: WireLine[] = [];
  const budgetEnd = from + budget;
  for (let start = from; start < to && start < budgetEnd; ) {
    const lf = wire.indexOf(LF, start);
    const end = lf === -1 || lf >= to ? to : lf + 1;
    // A line that crosses the budget is shown whole, unless it is much longer: then it is cut there.
    if (end - budgetEnd > LONG_LINE) {
      lines.push(formatLine(wire, start, budgetEnd, framing, false, true));
      break;
    }
    lines.push(formatLine(wire, start, end, framing, end === wire.length, false));
    start = end;
  }
  return lines;
}

/** One line: its role in the framing, and its bytes as segments. */
function formatLine(wire: Uint8Array, start: number, end: number, framing: Framing, last: boolean, cut: boolean): WireLine {
  const multiline = framing !== 'line';
  const bytes = wire.subarray(start, end);
  const dotFirst = multiline && bytes[0] === DOT;
  const terminator = dotFirst && !cut && isTerminator(bytes) && (framing === 'listing' || last);
  const segments: WireSegment[] = [];
  let i = 0;
  if (terminator) {
    segments.push({ kind: 'terminator' });
    i = 1;
  } else if (dotFirst && (bytes.length > 1 || cut) && bytes[1] !== CR && bytes[1] !== LF) {
    segments.push({ kind: 'stuffed-dot' });
    i = 1;
  }
  let text = '';
  let hex: number[] = [];
  const flush = () => {
    if (text !== '') segments.push({ kind: 'text', text });
    if (hex.length > 0) segments.push({ kind: 'hex', bytes: hex });
    text = '';
    hex = [];
  };
  for (; i < bytes.length; i++) {
    const byte = bytes[i]!;
    if (byte === CR || byte === LF) {
      flush();
      if (byte === CR && bytes[i + 1] === LF) {
        segments.push({ kind: 'crlf' });
        i++;
      } else {
        segments.push({ kind: byte === CR ? 'cr' : 'lf' });
      }
    } else if (byte >= 0x20 && byte <= 0x7e) {
      if (hex.length > 0) flush();
      text += String.fromCharCode(byte);
    } else {
      if (text !== '') {
        segments.push({ kind: 'text', text });
        text = '';
      }
      hex.push(byte);
    }
  }
  flush();
  const role = terminator ? 'terminator' : segments[0]?.kind === 'stuffed-dot' ? 'stuffed' : 'line';
  return cut ? { role, segments, offset: start, cut } : { role, segments, offset: start };
}

/** `.` CRLF, `.` LF or a lone `.`. */
function isTerminator(bytes: Uint8Array): boolean {
  return (
    (bytes.length === 1 && bytes[0] === DOT) ||
    (bytes.length === 2 && bytes[1] === LF) ||
    (bytes.length === 3 && bytes[1] === CR && bytes[2] === LF)
  );
}

/** The offset where the last `count` lines start, leaving out lines that would make the tail long. */
function startOfLastLines(wire: Uint8Array, count: number): number {
  let start = wire.length;
  // The search starts before the line end of the last line itself.
  let at = wire[wire.length - 1] === LF ? wire.length - 1 : wire.length;
  for (let seen = 0; seen < count && at > 0; seen++) {
    const lf = wire.lastIndexOf(LF, at - 1);
    const lineStart = lf + 1;
    if (wire.length - lineStart > TAIL_MAX) break;
    start = lineStart;
    if (lf === -1) break;
    at = lf;
  }
  return start;
}

function countLf(wire: Uint8Array, from: number, to: number): number {
  let count = 0;
  for (let at = wire.indexOf(LF, from); at !== -1 && at < to; at = wire.indexOf(LF, at + 1)) count++;
  return count;
}

/** How many bytes a formatted line covers. */
export function byteLength(line: WireLine): number {
  let length = 0;
  for (const segment of line.segments) {
    switch (segment.kind) {
      case 'text':
        length += segment.text.length;
        break;
      case 'hex':
        length += segment.bytes.length;
        break;
      case 'crlf':
        length += 2;
        break;
      default:
        length += 1;
    }
  }
  return length;
}

/** Hex bytes as the page shows them, e.g. `C3 A9`. */
export function hexText(bytes: readonly number[]): string {
  return bytes.map((byte) => byte.toString(16).toUpperCase().padStart(2, '0')).join(' ');
}
