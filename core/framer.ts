/**
 * Framing: finding where each server reply ends, before anything is parsed (the imap-codec lesson: a
 * malformed reply is then rejected cleanly instead of desynchronising the stream).
 *
 * POP3 has two shapes of reply. A status line ends at LF (CRLF on the wire; bare LF from sloppy servers is
 * accepted). A multi-line reply is a sequence of lines ended by a line holding a single `.`; lines that begin
 * with `.` carry an extra, "stuffed" dot that the reader removes (RFC 1939 section 3).
 *
 * `LineAssembler` collects one bounded line across chunks. `DotUnstuffer` streams a message body: it hands out
 * views into the caller's chunk between the rare stuffed dots and never holds the message, so memory is
 * bounded by nothing but the chunk size, whatever the message size.
 */
import { dotLineFinder } from './dot-line-search.js';
import { ErrorCode, RemoteProtocolError } from './errors.js';

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;

/** Collects the bytes of one line that arrives split across chunks, up to a maximum length. */
export class LineAssembler {
  #parts: Uint8Array[] = [];
  #length = 0;

  /** Bytes held for the unfinished line. */
  get pending(): number {
    return this.#length;
  }

  /** Keep a piece of a line that has not ended yet. */
  append(piece: Uint8Array, maxLength: number, what: string): void {
    this.#length += piece.length;
    if (this.#length > maxLength) throw lineTooLong(what, maxLength);
    // Copy: the caller may reuse its chunk once receive() returns. (Not slice(): on a Node Buffer that is a view.)
    this.#parts.push(new Uint8Array(piece));
  }

  /**
   * The whole line, given that its last piece is chunk[start..lf] (`lf` the index of its LF), without the
   * line end (LF or CRLF). Returns a view of `chunk` when nothing was held, so complete lines cost no copy.
   */
  finish(chunk: Uint8Array, start: number, lf: number, maxLength: number, what: string): Uint8Array {
    if (this.#length === 0) {
      if (lf + 1 - start > maxLength) throw lineTooLong(what, maxLength);
      return chunk.subarray(start, lf > start && chunk[lf - 1] === CR ? lf - 1 : lf);
    }
    const total = this.#length + lf + 1 - start;
    if (total > maxLength) throw lineTooLong(what, maxLength);
    const line = new Uint8Array(total);
    let offset = 0;
    for (const part of this.#parts) {
      line.set(part, offset);
      offset += part.length;
    }
    line.set(chunk.subarray(start, lf + 1), offset);
    this.#parts = [];
    this.#length = 0;
    let end = total - 1; // drop LF
    if (end > 0 && line[end - 1] === CR) end--;
    return line.subarray(0, end);
  }
}

function lineTooLong(what: string, maxLength: number): RemoteProtocolError {
  return new RemoteProtocolError(ErrorCode.LineTooLong, `${what} longer than ${maxLength} octets`);
}

/**
 * `chunk` as a plain Uint8Array over the same memory: the views cut from it cost a third of a Node Buffer's
 * (whose subarray() goes through its subclass's constructor), and a body's pieces are then plain Uint8Arrays
 * whatever the transport gave.
 */
export function plainView(chunk: Uint8Array): Uint8Array {
  return chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

const enum BodyState {
  /** At the first byte of a line. */
  LineStart,
  /** Inside a line. */
  MidLine,
  /** A line began with `.`; the next byte decides between terminator and stuffing. */
  Dot,
  /** A line began with `.` then CR; LF would make it the terminator. */
  DotCr,
}

/**
 * A chunk made ready for DotUnstuffer, once however many bodies it holds: a plain view of it, its memory
 * (pieces are cut as new views of it, half the cost of subarray(), and reading `buffer` is a runtime call
 * best made once), and the search for its dot lines.
 */
export interface BodyChunk {
  readonly bytes: Uint8Array;
  readonly buffer: ArrayBufferLike;
  readonly byteOffset: number;
  /** dotLineFinder() of the chunk. */
  readonly findDotLine: (from: number) => number;
}

/** `chunk` made ready for DotUnstuffer.decodeBody(), whose bodies start at `pos` or later. */
export function bodyChunk(chunk: Uint8Array, pos = 0): BodyChunk {
  const bytes = plainView(chunk);
  return { bytes, buffer: bytes.buffer, byteOffset: bytes.byteOffset, findDotLine: dotLineFinder(chunk, pos) };
}

/**
 * Streams one dot-stuffed multi-line body. Feed it chunks; it calls `emit` with unstuffed pieces (plain
 * Uint8Array views of the chunk's memory, valid until the caller reuses the chunk) and reports where the
 * terminating `.` line ended.
 */
export class DotUnstuffer {
  #state = BodyState.LineStart;

  /** True when the body so far ends mid-line or mid-terminator, i.e. a cut here would lose data. */
  get midLine(): boolean {
    return this.#state !== BodyState.LineStart;
  }

  /**
   * Decode `chunk` from `pos`. Returns the index just past the terminator line, or -1 when the chunk ended
   * before it (everything up to the end was emitted, except the undecided bytes of a possible terminator).
   */
  decode(chunk: Uint8Array, pos: number, emit: (piece: Uint8Array) => void): number {
    return this.decodeBody(bodyChunk(chunk, pos), pos, emit);
  }

  /** decode() of a chunk made ready once (bodyChunk) for all the bodies it holds. */
  decodeBody(body: BodyChunk, pos: number, emit: (piece: Uint8Array) => void): number {
    const { bytes: chunk, buffer, byteOffset, findDotLine } = body;
    const length = chunk.length;
    let state = this.#state; // a local: this loop is the hot path of every download
    let start = pos; // first byte not yet emitted
    let i = pos;
    while (i < length) {
      if (state === BodyState.MidLine) {
        // Only a line that starts with a dot needs attention, so jump straight to the next LF + dot.
        const lf = findDotLine(i);
        if (lf === -1) {
          i = length;
          state = chunk[length - 1] === LF ? BodyState.LineStart : BodyState.MidLine;
        } else {
          i = lf + 1;
          state = BodyState.LineStart;
        }
      } else if (state === BodyState.LineStart) {
        if (chunk[i] === DOT) {
          if (i > start) emit(new Uint8Array(buffer, byteOffset + start, i - start));
          i++;
          start = i;
          state = BodyState.Dot;
        } else {
          state = BodyState.MidLine;
        }
      } else if (state === BodyState.Dot) {
        const byte = chunk[i];
        if (byte === LF) return this.#end(i + 1);
        if (byte === CR) {
          i++;
          start = i;
          state = BodyState.DotCr;
        } else {
          // A stuffed dot: it was dropped; the line's content starts here.
          state = BodyState.MidLine;
        }
      } else {
        if (chunk[i] === LF) return this.#end(i + 1);
        // `.` CR then something else: not a terminator, so the held-back CR is content after all. It goes
        // out with the bytes that follow when it is in this chunk, else on its own in a fresh array (the
        // earlier chunk may already be reused by the caller).
        if (i > pos) start = i - 1;
        else emit(Uint8Array.of(CR));
        state = BodyState.MidLine;
      }
    }
    this.#state = state;
    // In the Dot and DotCr states `start` already points past the held-back bytes.
    if (i > start) emit(new Uint8Array(buffer, byteOffset + start, i - start));
    return -1;
  }

  #end(next: number): number {
    this.#state = BodyState.LineStart;
    return next;
  }
}
