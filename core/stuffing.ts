/**
 * Dot-stuffing for the sending side of a multi-line reply (RFC 1939 section 3): every line that begins
 * with `.` gets one more, and the body ends with `.` CRLF. The reading side is DotUnstuffer in framer.ts.
 */

const LF = 0x0a;
const DOT = 0x2e;

/**
 * Streams a body into its dot-stuffed wire form. Feed it chunks in any slicing with `push`, then call
 * `end` for the terminator; the result is the same whatever the slicing.
 */
export class DotStuffer {
  #atLineStart = true;

  /** The stuffed form of the next piece of the body (the piece itself when nothing needs a dot). */
  push(chunk: Uint8Array): Uint8Array {
    if (chunk.length === 0) return chunk;
    const startsLine = this.#atLineStart;
    this.#atLineStart = chunk[chunk.length - 1] === LF;
    let dots = startsLine && chunk[0] === DOT ? 1 : 0;
    for (let i = chunk.indexOf(LF); i !== -1 && i + 1 < chunk.length; i = chunk.indexOf(LF, i + 1)) {
      if (chunk[i + 1] === DOT) dots++;
    }
    if (dots === 0) return chunk;
    const out = new Uint8Array(chunk.length + dots);
    let o = 0;
    let lineStart = startsLine;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (lineStart && byte === DOT) out[o++] = DOT;
      out[o++] = byte;
      lineStart = byte === LF;
    }
    return out;
  }

  /**
   * The terminator. A body that does not end with a line end gets CRLF first, since the terminator must
   * start a line (the body then reads back with that CRLF added, as real servers do).
   */
  end(): Uint8Array {
    const terminator = this.#atLineStart ? TERMINATOR : CRLF_TERMINATOR;
    this.#atLineStart = true;
    return terminator;
  }
}

const TERMINATOR = Uint8Array.of(0x2e, 0x0d, 0x0a);
const CRLF_TERMINATOR = Uint8Array.of(0x0d, 0x0a, 0x2e, 0x0d, 0x0a);

/** The whole dot-stuffed form of a body, terminator included. */
export function dotStuff(body: Uint8Array): Uint8Array {
  const stuffer = new DotStuffer();
  const stuffed = stuffer.push(body);
  const end = stuffer.end();
  const out = new Uint8Array(stuffed.length + end.length);
  out.set(stuffed);
  out.set(end, stuffed.length);
  return out;
}
