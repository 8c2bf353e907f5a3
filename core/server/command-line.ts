/**
 * Reading one command line (already framed: its line end removed) into a keyword and arguments.
 *
 * The checks here are what keeps hostile input out of everything that follows: a line holding any control
 * character (a CR or NUL inside an argument, a TAB, DEL) or invalid UTF-8 is refused as a whole, so no
 * argument that reaches the engine, a trace or a store ever contains one.
 */

/** A command line split into its parts, or why it could not be. */
export type CommandLine =
  | {
      readonly ok: true;
      /** The first word, upper-cased (RFC 1939: keywords are case-insensitive). */
      readonly keyword: string;
      /** The words after the keyword; runs of spaces separate them, trailing spaces are ignored. */
      readonly args: readonly string[];
      /** Everything after the keyword's space, verbatim (PASS: a password may contain spaces). */
      readonly rest: string;
      /** The line has bytes above 0x7F (UTF-8), which only USER, PASS and APOP accept, in UTF8 mode. */
      readonly nonAscii: boolean;
    }
  | { readonly ok: false; readonly problem: 'empty' | 'control characters' | 'invalid UTF-8' };

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** Parse a command line (without its line end). */
export function parseCommandLine(line: Uint8Array): CommandLine {
  if (line.length === 0) return { ok: false, problem: 'empty' };
  let nonAscii = false;
  for (const byte of line) {
    if (byte < 0x20 || byte === 0x7f) return { ok: false, problem: 'control characters' };
    if (byte > 0x7f) nonAscii = true;
  }
  let text: string;
  try {
    text = utf8Strict.decode(line);
  } catch {
    return { ok: false, problem: 'invalid UTF-8' };
  }
  const space = text.indexOf(' ');
  const keyword = (space === -1 ? text : text.slice(0, space)).toUpperCase();
  const rest = space === -1 ? '' : text.slice(space + 1);
  const args = rest.split(' ').filter((word) => word !== '');
  return { ok: true, keyword, args, rest, nonAscii };
}
