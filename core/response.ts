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
