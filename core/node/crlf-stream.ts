/**
 * A message as the server sends it, from the bytes of a file. Maildir files usually end lines with a bare
 * LF; POP3 sends CRLF (RFC 1939 section 3), and LIST must report exactly what RETR sends. So the store
 * reads messages through `crlfStream` and measures them with `crlfSize`, which follow the same rules:
 *
 * - line ends become CRLF by the server engine's own rules (core/server/line-ends.ts: a bare LF or a bare
 *   CR becomes CRLF, CRLF stays), so the engine, which normalises what it sends too, changes nothing more;
 * - content that does not end with a line end gets a final CRLF. Otherwise the dot-stuffer would add one
 *   before the terminator, and RETR would send two octets more than LIST announced. An empty file stays empty.
 *
 * `crlfSize` counts what `crlfStream` yields without building it (test/server-node/crlf-stream.test.ts holds
 * the two to the same answer for any input and slicing): sizes are needed for every message at login, and a
 * count by native scans costs a fraction of a conversion.
 */
import { CrlfNormalizer } from '../server/line-ends.js';

const CR = 0x0d;
const LF = 0x0a;
const CRLF = Uint8Array.of(CR, LF);

/** The CRLF form of a stream of chunks, chunk by chunk (a chunk needing no change passes as is). */
export async function* crlfStream(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const normalizer = new CrlfNormalizer();
  let last = -1;
  for await (const chunk of chunks) {
    const out = normalizer.push(chunk);
    if (out.length === 0) continue;
    last = out[out.length - 1]!;
    yield out;
  }
  const tail = normalizer.end();
  if (tail.length > 0) {
    last = tail[tail.length - 1]!;
    yield tail;
  }
  if (last !== -1 && last !== LF) yield CRLF;
}

/** The number of bytes `crlfStream` yields for the same chunks. */
export async function crlfSize(chunks: AsyncIterable<Uint8Array>): Promise<number> {
  let size = 0;
  let last = -1;
  for await (const chunk of chunks) {
    if (chunk.length === 0) continue;
    size += chunk.length;
    // A CR that ended the previous chunk was bare unless this one starts with its LF.
    if (last === CR && chunk[0] !== LF) size++;
    for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
      if ((i > 0 ? chunk[i - 1] : last) !== CR) size++;
    }
    for (let i = chunk.indexOf(CR); i !== -1 && i + 1 < chunk.length; i = chunk.indexOf(CR, i + 1)) {
      if (chunk[i + 1] !== LF) size++;
    }
    last = chunk[chunk.length - 1]!;
  }
  if (last === CR) return size + 1; // the LF that completes a final bare CR
  return last === -1 || last === LF ? size : size + 2;
}
