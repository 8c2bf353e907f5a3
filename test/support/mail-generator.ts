/**
 * Mail for the interop tests: message files, Maildir folders for Dovecot users, and what a client must receive
 * for each file.
 *
 * Everything is deterministic (a seeded generator, no clock), so a failing comparison is reproducible. Files
 * use LF line ends like any Maildir on disk, except where a case is about other line ends; POP3 sends CRLF,
 * and `expectedWireBody` (below) says exactly what Dovecot turns a file into.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, writeFile } from 'node:fs/promises';
import path from 'node:path';

const LF = 0x0a;
const CR = 0x0d;
const CRLF = Uint8Array.of(CR, LF);
const NOTHING = new Uint8Array(0);

// ─── What the client must receive ─────────────────────────────────────────────────────────────────────────

/**
 * Dovecot 2.3's RETR output for a message file, incrementally (see `expectedWireBody` for the rules).
 * Any slicing of the input gives the same output; a 50 MB file can go through it in pieces.
 */
class WireForm {
  /** The last byte pushed so far, or -1 before the first. */
  #last = -1;

  /** The wire form of the next piece of the file. */
  push(piece: Uint8Array): Uint8Array {
    const bare: number[] = [];
    for (let i = piece.indexOf(LF); i !== -1; i = piece.indexOf(LF, i + 1)) {
      const before = i > 0 ? piece[i - 1] : this.#last;
      if (before !== CR) bare.push(i);
    }
    if (piece.length > 0) this.#last = piece[piece.length - 1]!;
    if (bare.length === 0) return piece;
    const out = new Uint8Array(piece.length + bare.length);
    let from = 0;
    let o = 0;
    for (const i of bare) {
      out.set(piece.subarray(from, i), o);
      o += i - from;
      out[o++] = CR;
      from = i; // the LF goes out with the next segment
    }
    out.set(piece.subarray(from), o);
    return out;
  }

  /** What Dovecot appends after the last piece. */
  end(): Uint8Array {
    return this.#last === LF ? NOTHING : CRLF;
  }
}

/**
 * The body a client must hand to its caller for RETR of a message stored as `fileBytes`: the bytes between
 * the `+OK` line and the terminating `.` line, dot-stuffing removed. This encodes what Dovecot 2.3 does
 * (src/pop3/pop3-commands.c, fetch_callback; checked byte for byte against 2.3.19.1 by the interop tests):
 *
 * - every LF not preceded by CR gets a CR in front of it, including an LF at the very start of the file;
 * - CRLF already in the file is sent unchanged (never CRCRLF), and a bare CR not followed by LF is content,
 *   sent unchanged;
 * - every other byte, 8-bit and NUL included, is sent unchanged (the `outlook-no-nuls` workaround is off);
 * - when the file does not end with LF (no final newline, or an empty file), Dovecot adds CRLF before the
 *   terminator. LIST and `+OK n octets` do not count those 2 octets: sizes are the CRLF form of the file
 *   only, so compare bodies, not sizes, for such messages;
 * - lines starting with `.` are dot-stuffed on the wire, and the client removes the stuffing, so it does not
 *   show here. One Dovecot quirk (from reading fetch_callback, not exercised here): a `.` as the very first
 *   byte of a file is not stuffed (its check looks at the previous byte, and there is none), so a file must
 *   not start with a dot; real messages start with a header field, and the generator never writes one.
 */
export function expectedWireBody(fileBytes: Uint8Array): Uint8Array {
  const form = new WireForm();
  return Buffer.concat([form.push(fileBytes), form.end()]);
}

/**
 * The size Dovecot announces for a message in LIST, STAT and `+OK n octets`: the CRLF form of the file,
 * without the CRLF that RETR adds after a file that does not end with LF.
 */
export function expectedListSize(fileBytes: Uint8Array): number {
  return new WireForm().push(fileBytes).length;
}

/**
 * The body a client must receive for `TOP n lines` of a message stored as `fileBytes`: the header, the empty
 * line that ends it, and the first `lines` lines of the body (RFC 1939), in wire form. Dovecot finds the end
 * of the header at the first empty line; a message without one is sent whole. (Dovecot also treats a line
 * that starts with a bare CR as empty; the generated messages have none in their headers.)
 */
export function expectedTop(fileBytes: Uint8Array, lines: number): Uint8Array {
  const wire = expectedWireBody(fileBytes);
  const ends: number[] = []; // index just past each line's LF
  for (let i = wire.indexOf(LF); i !== -1; i = wire.indexOf(LF, i + 1)) ends.push(i + 1);
  const emptyLine = ends.findIndex((end, k) => end - (k === 0 ? 0 : ends[k - 1]!) === 2);
  if (emptyLine === -1 || emptyLine + lines >= ends.length) return wire;
  return wire.subarray(0, ends[emptyLine + lines]);
}

/** Size and SHA-256 of `expectedWireBody` for a file on disk, read in pieces (for the 50 MB message). */
export async function expectedWireDigest(file: string): Promise<{ size: number; sha256: string }> {
  const form = new WireForm();
  const hash = createHash('sha256');
  let size = 0;
  const add = (bytes: Uint8Array): void => {
    hash.update(bytes);
    size += bytes.length;
  };
  for await (const piece of createReadStream(file, { highWaterMark: 1 << 20 })) add(form.push(piece as Buffer));
  add(form.end());
  return { size, sha256: hash.digest('hex') };
}

// ─── Messages ─────────────────────────────────────────────────────────────────────────────────────────────

/** One generated message: a name for test titles and failure messages, and the exact bytes of its file. */
export interface GeneratedMessage {
  readonly name: string;
  readonly bytes: Uint8Array;
}

/** A deterministic pseudo-random generator (mulberry32): the same seed gives the same mail on every run. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ascii = (text: string): Buffer => Buffer.from(text, 'latin1');
const utf8 = (text: string): Buffer => Buffer.from(text, 'utf8');

function headers(n: number, subject: string, extra: string[] = []): string {
  return [
    'From: Interop Sender <sender@example.org>',
    'To: Test User <user@example.org>',
    `Subject: ${subject}`,
    `Date: Tue, 14 Nov 2023 22:13:${String(n % 60).padStart(2, '0')} +0000`,
    `Message-ID: <interop-${n}@pop3kit.test>`,
    ...extra,
    '',
    '',
  ].join('\n');
}

/** The 100 KB line of `edgeCaseMessages`: no line break inside, and it starts with a dot. */
const LONG_LINE_LENGTH = 100 * 1024;

/**
 * The awkward messages, each about one thing a client can get wrong. Every one of them is retrieved and
 * compared byte for byte with `expectedWireBody`.
 */
export function edgeCaseMessages(): GeneratedMessage[] {
  const random = seededRandom(1939);
  // Every byte value except the line ends, in 64-byte lines; a line may start with 0x2E (a dot) or NUL.
  const allBytes = Buffer.from(Array.from({ length: 256 }, (_, b) => b).filter((b) => b !== LF && b !== CR));
  const binaryLines: Buffer[] = [];
  for (let i = 0; i < allBytes.length; i += 64) binaryLines.push(allBytes.subarray(i, i + 64), ascii('\n'));
  const longLine = ascii('.' + Array.from({ length: LONG_LINE_LENGTH - 1 }, () => String.fromCharCode(97 + Math.floor(random() * 26))).join(''));

  return [
    {
      name: 'lines starting with dots',
      bytes: ascii(
        headers(1, 'Lines starting with dots') +
          ['The next line is a single dot:', '.', '..', '.leading dot', '...three dots', '. dot space', '', '.', 'last line:', '.'].join('\n') +
          '\n',
      ),
    },
    {
      name: 'UTF-8 and RFC 2047 headers',
      bytes: utf8(
        [
          'From: =?UTF-8?B?w4lsb8Ovc2UgTcO8bGxlcg==?= <eloise@example.org>',
          'To: Jürgen Groß <juergen@example.org>', // raw UTF-8 in a header (RFC 6532 style)
          'Subject: =?ISO-8859-1?Q?Gr=FC=DFe_aus_K=F6ln?= =?UTF-8?Q?_=E2=9C=89?=',
          'X-Raw-Subject: Grüße aus Köln ✉ 日本語 🦆',
          'Date: Tue, 14 Nov 2023 22:13:02 +0000',
          'Message-ID: <interop-2@pop3kit.test>',
          'MIME-Version: 1.0',
          'Content-Type: text/plain; charset=UTF-8',
          'Content-Transfer-Encoding: 8bit',
          '',
          'Ünïcödé body: ✉ 日本語 🦆',
          '.Ünïcödé after a dot',
          '',
        ].join('\n'),
      ),
    },
    {
      name: '8-bit body with every byte value',
      bytes: Buffer.concat([
        ascii(headers(3, '8-bit body', ['Content-Type: application/octet-stream', 'Content-Transfer-Encoding: 8bit'])),
        ascii('Latin-1, not UTF-8: \xe9t\xe9 \xff\xfe\n'),
        ...binaryLines,
      ]),
    },
    {
      name: 'a 100 KB line without a line break',
      bytes: Buffer.concat([ascii(headers(4, 'One very long line')), longLine, ascii('\nshort line after it\n')]),
    },
    {
      name: 'no final newline',
      bytes: ascii(headers(5, 'No final newline') + 'first line\n.the last line starts with a dot and has no line end'),
    },
    {
      name: 'CRLF and bare CR in the file',
      // Already in network form (must not become CRCRLF), with a bare CR inside a body line and a lone-dot line.
      bytes: ascii(headers(6, 'CRLF in the file').replaceAll('\n', '\r\n') + 'crlf line\r\nbare\rcarriage return\r\n.\r\nmixed: LF only\nend\r\n'),
    },
    { name: 'header only, no body', bytes: ascii(headers(7, 'Empty body')) },
    { name: 'empty file', bytes: NOTHING },
  ];
}

/**
 * `count` ordinary messages of 0.3 to 5 KB, realistic lines, some starting with a dot. Message i (from 1)
 * says its number in its Subject, so a mix-up shows in a failure message.
 */
export function numberedMessages(count: number, seed = 2449): GeneratedMessage[] {
  const random = seededRandom(seed);
  const messages: GeneratedMessage[] = [];
  for (let n = 1; n <= count; n++) {
    const lines: string[] = [];
    const lineCount = 3 + Math.floor(random() * 60);
    for (let l = 0; l < lineCount; l++) lines.push(randomLine(random, 72));
    messages.push({ name: `message ${n} of ${count}`, bytes: ascii(headers(n, `Message ${n} of ${count}`) + lines.join('\n') + '\n') });
  }
  return messages;
}

/** A line of 0 to `max` printable characters; one in twenty starts with a dot, one in a hundred is just `.`. */
function randomLine(random: () => number, max: number): string {
  const roll = random();
  if (roll < 0.01) return '.';
  const length = Math.floor(random() * (max + 1));
  let line = roll < 0.05 ? '.' : '';
  while (line.length < length) line += String.fromCharCode(32 + Math.floor(random() * 95));
  return line;
}

/**
 * Writes a message of exactly `size` bytes to `file`, streaming (a few MiB of memory for any size) and
 * deterministically: a header, then lines drawn from eight pre-generated 1 MiB blocks of realistic lines (one
 * in twenty starting with a dot, one in a hundred just `.`) in a seeded order, cut to size with a final LF.
 * Nothing is done per byte, so 56 MB take well under a second.
 */
export async function writeBigMessage(file: string, size: number): Promise<void> {
  const random = seededRandom(5034);
  // Lines are slices of a pool of random printable bytes: building them byte by byte would be slow.
  const pool = Buffer.from(Array.from({ length: 1 << 16 }, () => 32 + Math.floor(random() * 95)));
  const blocks = Array.from({ length: 8 }, () => {
    const block = Buffer.alloc(1 << 20);
    let at = 0;
    while (at < block.length) {
      const roll = random();
      const length = roll < 0.01 ? 0 : Math.floor(random() * 201);
      const start = Math.floor(random() * (pool.length - length));
      if (roll < 0.05) block[at++] = 0x2e; // a dot at the start of the line (the line is then just `.` or `.text`)
      at += pool.copy(block, at, start, start + length);
      if (at < block.length) block[at++] = LF;
    }
    // The block may end mid-line; the next one then continues that line, which is fine for a body.
    return block;
  });
  const head = ascii(headers(50, `A message of ${size} bytes`));
  if (size < head.length + 1) throw new Error(`writeBigMessage: ${size} bytes is too small for the header`);
  const handle = await open(file, 'w');
  try {
    await handle.write(head);
    let left = size - head.length - 1; // the final LF is written last
    while (left > 0) {
      const block = blocks[Math.floor(random() * blocks.length)]!;
      const piece = block.length <= left ? block : block.subarray(0, left);
      await handle.write(piece);
      left -= piece.length;
    }
    await handle.write(ascii('\n'));
  } finally {
    await handle.close();
  }
}

// ─── Maildir ─────────────────────────────────────────────────────────────────────────────────────────────

/** Dovecot's `pop3_uidl_format` for the test server: UID and UIDVALIDITY as 8 hex digits each. */
export const UIDL_FORMAT = '%08Xu%08Xv';

/** The UIDVALIDITY written into every generated dovecot-uidlist (0x6553F100, as in the captured fixtures). */
export const UID_VALIDITY = 1_700_000_000;

/**
 * The UIDL Dovecot reports for the message with this IMAP UID, given UIDL_FORMAT and UID_VALIDITY (Dovecot's
 * `%X` is lowercase hexadecimal, despite the capital).
 */
export function uidlOf(uid: number): string {
  const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
  return hex8(uid) + hex8(UID_VALIDITY);
}

/** A message to put in a Maildir: its bytes, or a function that writes its file (for the big one). */
export type MessageSource = GeneratedMessage | { readonly name: string; readonly write: (file: string) => Promise<void> };

/** A message as written to a Maildir. */
export interface StoredMessage {
  /** The POP3 message number in a fresh session (the order of the dovecot-uidlist, i.e. of `messages`). */
  readonly number: number;
  readonly name: string;
  /** The UIDL Dovecot reports for it. */
  readonly uidl: string;
  /**
   * The file name up to the `:2,` info part. Dovecot renames a file when its flags change (RETR marks it
   * seen: `:2,` becomes `:2,S`), so look files up by this base name, never by the full path.
   */
  readonly baseName: string;
  /** Where it was written (valid until Dovecot renames it). */
  readonly file: string;
}

/**
 * Writes a Maildir (cur/, new/, tmp/) holding `messages` in this order, with a dovecot-uidlist that gives
 * message i (from 1) the UID i, so UIDLs are known in advance and stable (`uidlOf`). Files go straight into
 * cur/ with an empty flag list, as if a delivery agent had put them there and a client had seen the folder.
 */
export async function writeMaildir(dir: string, messages: readonly MessageSource[]): Promise<StoredMessage[]> {
  await Promise.all(['cur', 'new', 'tmp'].map((sub) => mkdir(path.join(dir, sub), { recursive: true })));
  const stored = messages.map((message, i): StoredMessage => {
    const uid = i + 1;
    const baseName = `${UID_VALIDITY + uid}.M${uid}P1.pop3kit`;
    return { number: uid, name: message.name, uidl: uidlOf(uid), baseName, file: path.join(dir, 'cur', `${baseName}:2,`) };
  });
  // Sequential in slices: thousands of writeFile calls at once would only queue up in libuv's thread pool.
  for (let i = 0; i < messages.length; i += 64) {
    await Promise.all(
      messages.slice(i, i + 64).map((message, k) => {
        const file = stored[i + k]!.file;
        return 'bytes' in message ? writeFile(file, message.bytes) : message.write(file);
      }),
    );
  }
  // Version 3 of the uidlist: a header (V = UIDVALIDITY, N = next UID), then `UID :file name` per message.
  const uidlist = [`3 V${UID_VALIDITY} N${messages.length + 1}`, ...stored.map((m) => `${m.number} :${m.baseName}`)];
  await writeFile(path.join(dir, 'dovecot-uidlist'), uidlist.join('\n') + '\n');
  return stored;
}
