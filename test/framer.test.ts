import { describe, expect, it } from 'vitest';
import { ErrorCode, RemoteProtocolError } from '../core/errors.js';
import { bodyChunk, DotUnstuffer, LineAssembler } from '../core/framer.js';
import { loadBodyReadingWith } from './support/without-webassembly.js';

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('latin1');
const bytes = (value: string): Uint8Array => new Uint8Array(Buffer.from(value, 'latin1'));

interface Kind {
  wrap: (piece: Uint8Array) => Uint8Array;
  DotUnstuffer: typeof DotUnstuffer;
  bodyChunk: typeof bodyChunk;
}

const withoutWebAssembly = await loadBodyReadingWith(undefined);
const asBuffer = (piece: Uint8Array) => Buffer.from(piece);
const asPlain = (piece: Uint8Array) => new Uint8Array(piece);

/** The ways a body can reach the engine; each takes a different search path inside DotUnstuffer. */
const kinds: Record<string, Kind> = {
  'Node Buffer (WebAssembly SIMD search)': { wrap: asBuffer, DotUnstuffer, bodyChunk },
  'plain Uint8Array (WebAssembly SIMD search)': { wrap: asPlain, DotUnstuffer, bodyChunk },
  'Node Buffer, no WebAssembly (native sequence search)': { wrap: asBuffer, ...withoutWebAssembly },
  'plain Uint8Array, no WebAssembly (latin1 string search)': { wrap: asPlain, ...withoutWebAssembly },
};

/** Decode `wire` cut into pieces of `size`; returns the body and what followed the terminator. */
function decode(wire: string, size: number, { wrap, DotUnstuffer }: Kind) {
  const unstuffer = new DotUnstuffer();
  const all = bytes(wire);
  const pieces: string[] = [];
  for (let offset = 0; offset < all.length; offset += size) {
    const chunk = wrap(all.subarray(offset, offset + size));
    const end = unstuffer.decode(chunk, 0, (piece) => pieces.push(text(piece)));
    if (end !== -1) return { body: pieces.join(''), rest: text(chunk.subarray(end)) + wire.slice(offset + size) };
  }
  return { body: pieces.join(''), rest: undefined };
}

const cases: [name: string, wire: string, body: string][] = [
  ['an empty body', '.\r\n', ''],
  ['plain lines', 'a\r\nb\r\n.\r\n', 'a\r\nb\r\n'],
  ['stuffed dots at every depth', '..\r\n...\r\n..x\r\n.. y\r\n.\r\n', '.\r\n..\r\n.x\r\n. y\r\n'],
  ['a first line that starts with a dot', '..hidden\r\n.\r\n', '.hidden\r\n'],
  ['bare LF line ends and terminator', 'a\n..b\n.\n', 'a\n.b\n'],
  ['a dot then CR without LF is content', 'x\r\n.\rz\r\n.\r\n', 'x\r\n\rz\r\n'],
  ['a terminator-like sequence mid-line', 'a.\r\n.b\r\n.\r\n', 'a.\r\nb\r\n'],
  ['blank lines', '\r\n\r\n.\r\n', '\r\n\r\n'],
];

describe('DotUnstuffer', () => {
  for (const [kindName, kind] of Object.entries(kinds)) {
    const { wrap, DotUnstuffer } = kind;
    describe(kindName, () => {
      for (const [name, wire, body] of cases) {
        it(`${name}, at every chunk size`, () => {
          for (let size = 1; size <= wire.length + 1; size++) {
            expect(decode(wire + '+OK next', size, kind), `chunk size ${size}`).toEqual({ body, rest: '+OK next' });
          }
        });
      }

      it('finds the terminator after a large chunk of plain lines (the fast path)', () => {
        const line = 'The quick brown fox jumps over the lazy dog.\r\n';
        const plain = line.repeat(4000);
        const wire = `${plain}..dot\r\n${plain}.\r\n+OK`;
        expect(decode(wire, 64 * 1024, kind)).toEqual({ body: `${plain}.dot\r\n${plain}`, rest: '+OK' });
      });

      it('decodes a large chunk from an offset, as after a status line in the same chunk', () => {
        const plain = 'The quick brown fox jumps over the lazy dog.\r\n'.repeat(100);
        const chunk = wrap(bytes(`+OK 1 octets\r\n${plain}..dot\r\n.\r\n+OK`));
        const pieces: string[] = [];
        const end = new DotUnstuffer().decode(chunk, 14, (piece) => pieces.push(text(piece)));
        expect(pieces.join('')).toBe(`${plain}.dot\r\n`);
        expect(text(chunk.subarray(end))).toBe('+OK');
      });
    });
  }

  for (const [name, { wrap, DotUnstuffer, bodyChunk }] of Object.entries(kinds)) {
    it(`reads many bodies packed in one large chunk, wherever their stuffed lines fall: ${name}`, () => {
      // The latin1 search window grows from 512 octets; put stuffed lines on and around its edges.
      for (const at of [505, 506, 507, 508, 509, 510, 511, 512, 1020, 1022, 2046]) {
        const bodies = Array.from({ length: 40 }, (_, n) => `${'x'.repeat(at - 2 + (n % 3))}\r\n.dot ${n}\r\nend\r\n`);
        const stuffed = bodies.map((body) => body.replace('\r\n.dot', '\r\n..dot') + '.\r\n');
        const received = wrap(bytes(stuffed.join('')));
        // As the engine reads a chunk: made ready once (one search) for all its bodies.
        const chunk = bodyChunk(received);
        let pos = 0;
        for (const body of bodies) {
          const pieces: Uint8Array[] = [];
          const end = new DotUnstuffer().decodeBody(chunk, pos, (piece) => pieces.push(piece));
          expect(pieces.map(text).join(''), `stuffed line near ${at}`).toBe(body);
          for (const piece of pieces) {
            expect(piece.constructor).toBe(Uint8Array);
            expect(piece.buffer).toBe(received.buffer);
          }
          pos = end;
        }
        expect(pos).toBe(received.length);
      }
    });
  }

  it('hands out views of the input, never copies, and never more than one chunk', () => {
    const unstuffer = new DotUnstuffer();
    const chunk = Buffer.from('line one\r\nline two\r\n');
    const pieces: Uint8Array[] = [];
    expect(unstuffer.decode(chunk, 0, (piece) => pieces.push(piece))).toBe(-1);
    expect(pieces).toHaveLength(1);
    expect(pieces[0]!.buffer).toBe(chunk.buffer);
    expect(unstuffer.midLine).toBe(false);
  });

  it('reports a cut in the middle of a line', () => {
    const unstuffer = new DotUnstuffer();
    unstuffer.decode(bytes('half a li'), 0, () => {});
    expect(unstuffer.midLine).toBe(true);
  });

  it('starts decoding at the given position', () => {
    const unstuffer = new DotUnstuffer();
    const pieces: string[] = [];
    const chunk = bytes('+OK\r\nbody\r\n.\r\n');
    expect(unstuffer.decode(chunk, 5, (piece) => pieces.push(text(piece)))).toBe(chunk.length);
    expect(pieces.join('')).toBe('body\r\n');
  });
});

describe('LineAssembler', () => {
  /** Finish with the line that ends at the first LF of `chunk` from `start`. */
  const finish = (assembler: LineAssembler, chunk: Uint8Array, max: number, start = 0) =>
    assembler.finish(chunk, start, chunk.indexOf(0x0a, start), max, 'a status line');

  it('returns a complete line as a view without its CRLF or LF', () => {
    const assembler = new LineAssembler();
    const chunk = bytes('xx+OK hello\r\nnext');
    const line = finish(assembler, chunk, 100, 2);
    expect(text(line)).toBe('+OK hello');
    expect(line.buffer).toBe(chunk.buffer);
    expect(text(finish(assembler, bytes('+OK bare\n'), 100))).toBe('+OK bare');
    expect(text(finish(assembler, bytes('\n'), 100))).toBe('');
    expect(text(finish(assembler, bytes('\r\n'), 100))).toBe('');
  });

  it('joins pieces and counts the pending bytes', () => {
    const assembler = new LineAssembler();
    assembler.append(bytes('+O'), 100, 'a status line');
    assembler.append(bytes('K fi'), 100, 'a status line');
    expect(assembler.pending).toBe(6);
    expect(text(finish(assembler, bytes('ne\r\n'), 100))).toBe('+OK fine');
    expect(assembler.pending).toBe(0);
  });

  it('refuses a line over the limit, whether it arrives whole or in pieces', () => {
    const whole = new LineAssembler();
    expect(() => finish(whole, bytes(`${'x'.repeat(20)}\r\n`), 21)).toThrow(RemoteProtocolError);
    expect(text(finish(whole, bytes(`${'x'.repeat(19)}\r\n`), 21))).toBe('x'.repeat(19));
    const pieces = new LineAssembler();
    pieces.append(bytes('x'.repeat(20)), 21, 'a status line');
    let error: unknown;
    try {
      pieces.append(bytes('xx'), 21, 'a status line');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as RemoteProtocolError).code).toBe(ErrorCode.LineTooLong);
    expect((error as RemoteProtocolError).message).toBe('a status line longer than 21 octets');
  });

  it('accepts a line of exactly the limit, line end included', () => {
    const assembler = new LineAssembler();
    assembler.append(bytes('x'.repeat(19)), 21, 'a status line');
    expect(text(finish(assembler, bytes('\r\n'), 21))).toBe('x'.repeat(19));
    // The CR held with the earlier piece still ends the line.
    assembler.append(bytes(`${'y'.repeat(5)}\r`), 21, 'a status line');
    expect(text(finish(assembler, bytes('\n'), 21))).toBe('y'.repeat(5));
  });
});
