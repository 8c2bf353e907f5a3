// The bench mailboxes: deterministic messages, so the server can build them and a client process can
// regenerate any message (or any part of one) to check what it downloaded without asking the server.
//
// Every message is a run of 64-octet lines (62 characters + CRLF), so its size is a multiple of 64 and the
// line covering any offset is known; line text depends on the message and line number. One line in fifty
// starts with a dot (which the server stuffs, RFC 1939 3), so bodies exercise dot-unstuffing.

export const LINE = 64;
const TEXT_LENGTH = 62;
const TEXT =
  'Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore ' +
  'et dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut ';
const TEXT2 = TEXT + TEXT;

/** The scenarios of the download bench: name, message count and message size (full and --quick). */
export function scenarios(quick) {
  const KiB = 1024;
  const MiB = 1024 * KiB;
  return [
    { name: 'a', label: quick ? '200 x 20 KiB' : '2,000 x 20 KiB', count: quick ? 200 : 2000, size: 20 * KiB },
    { name: 'b', label: quick ? '1 x 10 MiB' : '1 x 100 MiB', count: 1, size: (quick ? 10 : 100) * MiB },
    { name: 'c', label: quick ? '200 x 1 KiB' : '2,000 x 1 KiB', count: quick ? 200 : 2000, size: 1 * KiB },
  ];
}

/** Line `i` of message `m` (1-based), without its CRLF: 62 characters, a leading dot in one line of fifty. */
export function lineText(m, i) {
  const dot = (i + m) % 50 === 49 ? '.' : '';
  const head = `${dot}m${m}.${i} `;
  return head + TEXT2.substr((i * 7 + m * 13) % TEXT.length, TEXT_LENGTH - head.length);
}

/** Whether line `i` of message `m` starts with a dot (and is stuffed on the wire). */
export const isDotted = (m, i) => (i + m) % 50 === 49;

/** Message `m` (dot-unstuffed, as a client must deliver it) of `size` octets. */
export function messageBytes(m, size) {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0, offset = 0; offset < size; i++, offset += LINE) {
    out.latin1Write(lineText(m, i), offset);
    out[offset + 62] = 13;
    out[offset + 63] = 10;
  }
  return out;
}

/** `length` octets of message `m` from `offset` (for checking a stream piece by piece). */
export function messageSlice(m, offset, length) {
  const first = Math.floor(offset / LINE);
  const last = Math.floor((offset + length - 1) / LINE);
  const parts = [];
  for (let i = first; i <= last; i++) parts.push(`${lineText(m, i)}\r\n`);
  const text = parts.join('');
  const start = offset - first * LINE;
  return Buffer.from(text.slice(start, start + length), 'latin1');
}

/** Lines `from` to `to` (exclusive) of message `m` as sent: dot-stuffed, each with its CRLF, as a string. */
export function stuffedLines(m, from, to) {
  const parts = [];
  for (let i = from; i < to; i++) parts.push(`${isDotted(m, i) ? '.' : ''}${lineText(m, i)}\r\n`);
  return parts.join('');
}

/** Octets the stuffed body of message `m` has on the wire beyond its size (one per dotted line). */
export function stuffedExtra(m, size) {
  let extra = 0;
  for (let i = 0; i < size / LINE; i++) if (isDotted(m, i)) extra++;
  return extra;
}

/**
 * The whole RETR response of message `m` as the server sends it: status line, dot-stuffed body, terminator.
 * Built directly into one buffer, without an intermediate unstuffed copy.
 */
export function retrResponse(m, size) {
  const status = `+OK ${size} octets\r\n`;
  const out = Buffer.allocUnsafe(status.length + size + stuffedExtra(m, size) + 3);
  let offset = out.latin1Write(status, 0);
  for (let i = 0; i < size / LINE; i++) {
    if (isDotted(m, i)) out[offset++] = 46;
    offset += out.latin1Write(lineText(m, i), offset);
    out[offset++] = 13;
    out[offset++] = 10;
  }
  offset += out.latin1Write('.\r\n', offset);
  if (offset !== out.length) throw new Error(`message ${m}: built ${offset} octets, expected ${out.length}`);
  return out;
}

/**
 * What each client must count for a scenario: `octets`, the message sizes (what RETR delivers unstuffed);
 * `wire`, every octet of the RETR responses (what a raw reader receives); `stuffedBody`, the bodies as sent
 * (stuffed, without the terminator line).
 */
export function expectedTotals({ count, size }) {
  let extra = 0;
  let statusLines = 0;
  for (let m = 1; m <= count; m++) {
    extra += stuffedExtra(m, size);
    statusLines += `+OK ${size} octets\r\n`.length;
  }
  const octets = count * size;
  return { octets, stuffedBody: octets + extra, wire: statusLines + octets + extra + 3 * count };
}
