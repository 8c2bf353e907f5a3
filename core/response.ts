/**
 * Parsing of one status line: `+OK`, `-ERR` or a SASL continuation `+ `, with the optional bracketed
 * response code of RFC 2449 section 8 (extended by RFC 3206 and RFC 6856).
 */

export interface StatusLine {
  /** `ok` for +OK, `err` for -ERR, `continue` for a SASL challenge (`+` followed by space or nothing). */
  readonly kind: 'ok' | 'err' | 'continue';
  /** The response code without brackets, e.g. `SYS/TEMP`, when the text starts with one. */
  readonly code: string | undefined;
  /** The human-readable text after the status indicator and code (for `continue`: the base64 challenge). */
  readonly text: string;
}

// resp-code = "[" resp-level *("/" resp-level) "]"; resp-level = 1*<printable ASCII except "/" and "]">.
const RESPONSE_CODE = /^\[([\x21-\x2e\x30-\x5c\x5e-\x7e]+(?:\/[\x21-\x2e\x30-\x5c\x5e-\x7e]+)*)\]/;

/** Parse a status line (without its line end); undefined when it is none of the three shapes. */
export function parseStatusLine(line: string): StatusLine | undefined {
  if (line.startsWith('+OK')) return withCode('ok', line, 3);
  if (line.startsWith('-ERR')) return withCode('err', line, 4);
  if (line === '+' || line.startsWith('+ ')) return { kind: 'continue', code: undefined, text: line.slice(2).trim() };
  return undefined;
}

function withCode(kind: 'ok' | 'err', line: string, indicatorLength: number): StatusLine | undefined {
  let rest = line.slice(indicatorLength);
  // "+OKAY" is not "+OK": the indicator must end the line or be followed by a space (tabs tolerated).
  if (rest !== '' && rest[0] !== ' ' && rest[0] !== '\t') return undefined;
  rest = rest.trim();
  const match = RESPONSE_CODE.exec(rest);
  if (match === null) return { kind, code: undefined, text: rest };
  return { kind, code: match[1]!.toUpperCase(), text: rest.slice(match[0].length).trim() };
}

/**
 * The octet count at the start of a +OK's text ("120 octets", RFC 1939 section 7): digits, blanks, and the
 * word "octets" in any case; undefined for any other text. octetsStatusLine() below reads the common exact
 * form straight from the bytes.
 */
export function announcedOctets(text: string): number | undefined {
  // By hand rather than with a regular expression: this runs for every message of a batch.
  let value = 0;
  let i = 0;
  for (; i < text.length && i < 16; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  if (i === 0 || i > 15) return undefined;
  let word = i;
  while (word < text.length && (text[word] === ' ' || text[word] === '\t')) word++;
  if (word === i || text.slice(word, word + 6).toLowerCase() !== 'octets') return undefined;
  const next = text[word + 6]; // "octets" must be a whole word
  return next !== undefined && /\w/.test(next) ? undefined : value;
}

/**
 * The count of a status line that is exactly `+OK <n> octets` (the answer to RETR of Dovecot, Courier and
 * most servers), read from the bytes `line[start..lf]`, `lf` the index of its LF; -1 for any other line,
 * which parseStatusLine() then reads. This spares the reply to every RETR of a batch a decode and a parse.
 * The count is in canonical form (no leading zero), so its text is exactly `${n} octets`.
 */
export function octetsStatusLine(line: Uint8Array, start: number, lf: number): number {
  const end = lf > start && line[lf - 1] === 0x0d ? lf - 1 : lf;
  // Byte by byte against literals: the loop over constant arrays this replaced made the engine's receive of
  // a 1 KiB body 5% slower.
  const ok = line[start] === 0x2b && line[start + 1] === 0x4f && line[start + 2] === 0x4b && line[start + 3] === 0x20; // "+OK "
  if (!ok) return -1;
  const digits = start + 4;
  let i = digits;
  let value = 0;
  for (; i < end && i - digits < 16; i++) {
    const digit = line[i]! - 0x30;
    if (digit < 0 || digit > 9) break;
    value = value * 10 + digit;
  }
  const count = i - digits;
  if (count === 0 || count > 15 || (count > 1 && line[digits] === 0x30)) return -1;
  const octets =
    end - i === 7 &&
    line[i] === 0x20 && // " octets"
    line[i + 1] === 0x6f &&
    line[i + 2] === 0x63 &&
    line[i + 3] === 0x74 &&
    line[i + 4] === 0x65 &&
    line[i + 5] === 0x74 &&
    line[i + 6] === 0x73;
  return octets ? value : -1;
}
