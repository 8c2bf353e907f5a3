/**
 * Line ends for the message bytes a server sends. POP3 transmits messages with CRLF line ends (RFC 1939
 * section 3), but stores often hold bare LF (Maildir files written on Unix) and a message may carry a stray
 * bare CR. Every bare LF and bare CR becomes CRLF: a bare CR must not survive, because a client that takes it
 * for a line end could read `CR . CR LF` inside a body as the end of the reply.
 *
 * The server engine normalises every body it sends, so a store may hand over its bytes as they are; its
 * sizes (LIST, STAT, `+OK n octets`) must still count CRLF line ends: `crlfLength` computes that size.
 */

const CR = 0x0d;
const LF = 0x0a;

/**
 * Streams bytes with any mix of line ends into CRLF line ends, in any slicing: push chunks, then call
 * `end()`. It never holds bytes back; a chunk that needs no change is returned as is.
 */
export class CrlfNormalizer {
  /** The previous chunk ended with CR: an LF at the start of the next one completes that CRLF. */
  #afterCr = false;

  /** The normalised form of the next chunk. */
  push(chunk: Uint8Array): Uint8Array {
    if (chunk.length === 0) return chunk;
    const afterCr = this.#afterCr;
    this.#afterCr = chunk[chunk.length - 1] === CR;
    const owedLf = afterCr && chunk[0] !== LF ? 1 : 0;
    const bareLf = countBareLf(chunk, afterCr);
    const bareCr = countBareCr(chunk);
    if (owedLf + bareLf + bareCr === 0) return chunk;

    const out = new Uint8Array(chunk.length + owedLf + bareLf + bareCr);
    let o = 0;
    if (owedLf === 1) out[o++] = LF;
    if (bareCr === 0) {
      // The common case (a Unix file): only LFs to fix, so copy the runs between them natively.
      let start = 0;
      for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
        if (lf === 0 ? afterCr : chunk[lf - 1] === CR) continue;
        out.set(chunk.subarray(start, lf), o);
        o += lf - start;
        out[o++] = CR;
        start = lf;
      }
      out.set(chunk.subarray(start), o);
      return out;
    }
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (byte === LF && (i === 0 ? !afterCr : chunk[i - 1] !== CR)) out[o++] = CR;
      out[o++] = byte;
      // A CR at the very end waits for the next chunk (or end()) to know whether an LF follows.
      if (byte === CR && i + 1 < chunk.length && chunk[i + 1] !== LF) out[o++] = LF;
    }
    return out;
  }

  /** What the stream still owes: the LF of a final bare CR. */
  end(): Uint8Array {
    const owed = this.#afterCr;
    this.#afterCr = false;
    return owed ? Uint8Array.of(LF) : EMPTY;
  }
}

const EMPTY = new Uint8Array(0);

/** LFs without a CR before them (`afterCr`: the previous chunk ended with CR). Native scans: most have none. */
function countBareLf(chunk: Uint8Array, afterCr: boolean): number {
  let count = 0;
  for (let lf = chunk.indexOf(LF); lf !== -1; lf = chunk.indexOf(LF, lf + 1)) {
    if (lf === 0 ? !afterCr : chunk[lf - 1] !== CR) count++;
  }
  return count;
}

/** CRs without an LF after them, but a final CR, which the next chunk decides. */
function countBareCr(chunk: Uint8Array): number {
  let count = 0;
  for (let cr = chunk.indexOf(CR); cr !== -1 && cr + 1 < chunk.length; cr = chunk.indexOf(CR, cr + 1)) {
    if (chunk[cr + 1] !== LF) count++;
  }
  return count;
}

/** The whole of `bytes` with CRLF line ends. */
export function toCrlf(bytes: Uint8Array): Uint8Array {
  const normalizer = new CrlfNormalizer();
  const body = normalizer.push(bytes);
  const tail = normalizer.end();
  if (tail.length === 0) return body === bytes ? bytes.slice() : body;
  const out = new Uint8Array(body.length + tail.length);
  out.set(body);
  out.set(tail, body.length);
  return out;
}

/** The size `bytes` will have with CRLF line ends, without building them: what LIST must report. */
export function crlfLength(bytes: Uint8Array): number {
  const finalBareCr = bytes.length > 0 && bytes[bytes.length - 1] === CR ? 1 : 0;
  return bytes.length + countBareLf(bytes, false) + countBareCr(bytes) + finalBareCr;
}
