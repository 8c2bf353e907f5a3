/**
 * wire-bytes.ts: the exact bytes of a line as segments: CRLF made visible, bare CR/LF, hex for bytes outside
 * printable ASCII, the stuffed dot and the terminator of multi-line replies, and long bodies cut with a gap
 * that says how much is left out, the terminator still shown.
 */
import { describe, expect, it } from 'vitest';
import { utf8 } from '../../core/bytes.js';
import { dotStuff } from '../../core/stuffing.js';
import { byteLength, formatWire, hexText, type WireLine, type WireView } from '../../demo/page/wire-bytes.js';

/** The view as text: CRLF as ␍␊, bare ends as ␍ / ␊, hex as ‹C3 A9›, the stuffed dot as [.], the terminator as {.}. */
function show(view: WireView): string[] {
  return view.rows.map((row) => {
    if (row.role === 'gap') return `… ${row.bytes} bytes, ${row.lines} lines …`;
    return row.segments
      .map((segment) => {
        switch (segment.kind) {
          case 'text':
            return segment.text;
          case 'crlf':
            return '␍␊';
          case 'cr':
            return '␍';
          case 'lf':
            return '␊';
          case 'hex':
            return `‹${hexText(segment.bytes)}›`;
          case 'stuffed-dot':
            return '[.]';
          case 'terminator':
            return '{.}';
        }
      })
      .join('') + (row.cut ? '…' : '');
  });
}

describe('formatWire', () => {
  it('a command line: text and a visible CRLF', () => {
    const view = formatWire(utf8('RETR 1\r\n'), { framing: 'line' });
    expect(show(view)).toEqual(['RETR 1␍␊']);
    expect(view).toMatchObject({ total: 8, hidden: 0 });
    expect((view.rows[0] as WireLine).role).toBe('line');
  });

  it('bare LF and CR, controls and 8-bit bytes as hex runs', () => {
    expect(show(formatWire(utf8('+OK caf\u00e9\ttab\n'), { framing: 'line' }))).toEqual(['+OK caf‹C3 A9 09›tab␊']);
    expect(show(formatWire(new Uint8Array([0x41, 0x0d, 0x42, 0xff, 0x00, 0x0d, 0x0a]), { framing: 'line' }))).toEqual(['A␍B‹FF 00›␍␊']);
  });

  it('a listing line: the terminator, a stuffed line, a line that is just a dot-less text', () => {
    expect(show(formatWire(utf8('.\r\n'), { framing: 'listing' }))).toEqual(['{.}␍␊']);
    expect((formatWire(utf8('.\r\n'), { framing: 'listing' }).rows[0] as WireLine).role).toBe('terminator');
    expect(show(formatWire(utf8('..odd\r\n'), { framing: 'listing' }))).toEqual(['[.].odd␍␊']);
    expect((formatWire(utf8('..odd\r\n'), { framing: 'listing' }).rows[0] as WireLine).role).toBe('stuffed');
    // On a single line (a command, a status line) a dot is just a dot.
    expect(show(formatWire(utf8('.\r\n'), { framing: 'line' }))).toEqual(['.␍␊']);
  });

  it('a body: lines, stuffed dots where the message had a leading dot, the terminator last', () => {
    const body = utf8('Subject: hi\r\n\r\n.signature\r\n..two\r\nend\r\n');
    // dotStuff adds the terminator.
    const wire = dotStuff(body);
    const view = formatWire(wire, { framing: 'body' });
    expect(show(view)).toEqual(['Subject: hi␍␊', '␍␊', '[.].signature␍␊', '[.]..two␍␊', 'end␍␊', '{.}␍␊']);
    expect(view.rows.map((row) => row.role)).toEqual(['line', 'line', 'stuffed', 'stuffed', 'line', 'terminator']);
    expect(view.hidden).toBe(0);
    expect(view.rows.reduce((sum, row) => sum + (row.role === 'gap' ? row.bytes : byteLength(row)), 0)).toBe(wire.length);
  });

  it('a long body is cut after the limit: a gap with the bytes and lines left out, then the last lines', () => {
    const lines = Array.from({ length: 500 }, (_, i) => `line ${String(i).padStart(3, '0')} of the body\r\n`).join('');
    const wire = utf8(`${lines}.\r\n`);
    const view = formatWire(wire, { framing: 'body', limit: 200 });
    const shown = show(view);
    expect(shown[0]).toBe('line 000 of the body␍␊');
    const gapAt = view.rows.findIndex((row) => row.role === 'gap');
    expect(gapAt).toBeGreaterThan(0);
    expect(shown.slice(-2)).toEqual(['line 499 of the body␍␊', '{.}␍␊']);
    const gap = view.rows[gapAt]!;
    expect(gap.role === 'gap' && gap.bytes).toBe(view.hidden);
    // Every byte is either shown or counted in the gap.
    expect(view.rows.reduce((sum, row) => sum + (row.role === 'gap' ? row.bytes : byteLength(row)), 0)).toBe(wire.length);
    expect(gap.role === 'gap' && gap.lines).toBe(500 - (gapAt + 1));
    // The head stops at the first line end past the limit.
    const head = view.rows.slice(0, gapAt) as WireLine[];
    expect(head.reduce((sum, row) => sum + byteLength(row), 0)).toBeGreaterThanOrEqual(200);
    expect(head.reduce((sum, row) => sum + byteLength(row), 0)).toBeLessThan(200 + 30);
  });

  it('"show all" shows everything', () => {
    const wire = utf8(`${'x'.repeat(50)}\r\n`.repeat(200) + '.\r\n');
    const view = formatWire(wire, { framing: 'body', limit: Infinity });
    expect(view.hidden).toBe(0);
    expect(view.rows).toHaveLength(201);
  });

  it('a small overrun is not cut', () => {
    const wire = utf8(`${'y'.repeat(60)}\r\n`.repeat(36) + '.\r\n');
    expect(formatWire(wire, { framing: 'body', limit: 2048 }).hidden).toBe(0);
  });

  it('one huge line is cut at the limit and marked as going on', () => {
    const wire = utf8(`${'z'.repeat(10_000)}\r\n.\r\n`);
    const view = formatWire(wire, { framing: 'body', limit: 1000 });
    const first = view.rows[0] as WireLine;
    expect(first.cut).toBe(true);
    expect(byteLength(first)).toBe(1000);
    expect(show(view)).toEqual([`${'z'.repeat(1000)}…`, `… ${10_002 - 1000} bytes, 1 lines …`, '{.}␍␊']);
  });

  it('a body whose terminating line is stuffed-looking but last is still the terminator only when alone', () => {
    // ".." then the terminator: the first is a stuffed empty-looking line, the second the end.
    expect(show(formatWire(utf8('..\r\n.\r\n'), { framing: 'body' }))).toEqual(['[.].␍␊', '{.}␍␊']);
  });
});
