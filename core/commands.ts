/**
 * Building commands: every argument is validated here, the wire bytes are made here, and the redacted form
 * that logs and errors may show is decided here (never later, in a logger). A command that fails validation
 * throws LocalProtocolError and nothing is queued.
 */
import { toBase64, utf8Length } from './bytes.js';
import { ErrorCode, LocalProtocolError } from './errors.js';
import type { SaslMechanism } from './sasl/mechanism.js';
import { REDACTED, revealText, Secret, type SecretText } from './secret.js';

export type Verb =
  | 'USER'
  | 'PASS'
  | 'APOP'
  | 'AUTH'
  | 'STAT'
  | 'LIST'
  | 'RETR'
  | 'DELE'
  | 'NOOP'
  | 'RSET'
  | 'QUIT'
  | 'TOP'
  | 'UIDL'
  | 'CAPA'
  | 'STLS'
  | 'UTF8'
  | 'LANG'
  | 'RAW';

/**
 * What follows a +OK: nothing (`single`), a parsed listing (`listing`: LIST, UIDL, CAPA, LANG without an
 * argument) or a streamed body (`body`: RETR, TOP, and multi-line raw commands). AUTH is `sasl`: its +OK
 * may be preceded by challenges. A -ERR is always a single line.
 */
export type ReplyShape = 'single' | 'listing' | 'body' | 'sasl';

/** A validated command, ready to send. */
export interface Command {
  readonly verb: Verb;
  /** The wire text, CRLF included. For AUTH without its initial response this is just `AUTH MECH`. */
  readonly line: string;
  /** The length of `line` in UTF-8: what it will take on the wire. */
  readonly octets: number;
  /** The command as logs may show it, secrets replaced by `[redacted]`, no CRLF. */
  readonly redacted: string;
  readonly shape: ReplyShape;
  /** The message number argument, for commands that take one. */
  readonly message: number | undefined;
  /** AUTH only: the mechanism driving the exchange. */
  readonly mechanism: SaslMechanism | undefined;
  /** AUTH only: an initial response too long for the command line, to send after the first empty challenge. */
  readonly deferredInitialResponse: Uint8Array | undefined;
}

/** A string argument, or a Secret that must never be shown. */
export type Argument = SecretText;

/** Makes validated commands, one method per verb, checking every line against the length limit. */
export class CommandBuilder {
  constructor(private readonly maxLine: number) {}

  user(name: string): Command {
    return this.#simple('USER', [text('user name', name)]);
  }

  pass(password: Argument): Command {
    return this.#simple('PASS', [secret('password', password)], 'single', undefined, true);
  }

  apop(name: string, digest: string): Command {
    // The digest is redacted too: with the greeting's timestamp it lets anyone who sees it guess the
    // password offline.
    return this.#simple('APOP', [text('user name', name, true), token('digest', digest)], 'single', undefined, true);
  }

  stat(): Command {
    return this.#simple('STAT', []);
  }

  list(message?: number): Command {
    return this.#optionalMessage('LIST', message);
  }

  uidl(message?: number): Command {
    return this.#optionalMessage('UIDL', message);
  }

  retr(message: number): Command {
    return this.#numbered('RETR', message, 'body');
  }

  top(message: number, lines: number): Command {
    return this.#simple('TOP', [messageNumber(message), count('line count', lines)], 'body', message);
  }

  dele(message: number): Command {
    return this.#numbered('DELE', message, 'single');
  }

  noop(): Command {
    return this.#simple('NOOP', []);
  }

  rset(): Command {
    return this.#simple('RSET', []);
  }

  quit(): Command {
    return this.#simple('QUIT', []);
  }

  capa(): Command {
    return this.#simple('CAPA', [], 'listing');
  }

  stls(): Command {
    return this.#simple('STLS', []);
  }

  utf8(): Command {
    return this.#simple('UTF8', []);
  }

  /** LANG lists the server's languages; LANG tag (or `*`) selects one (RFC 6856 section 3). */
  lang(tag?: string): Command {
    if (tag === undefined) return this.#simple('LANG', [], 'listing');
    return this.#simple('LANG', [token('language tag', tag)]);
  }

  /**
   * AUTH with the mechanism's initial response when it fits the line limit (RFC 5034 section 4); otherwise,
   * or when `sendInitialResponse` is false, the response waits for the server's first, empty challenge.
   */
  auth(mechanism: SaslMechanism, sendInitialResponse: boolean): Command {
    const name = token('SASL mechanism', mechanism.name).toUpperCase();
    const bare = `AUTH ${name}`;
    const initial = mechanism.initialResponse();
    const encoded = initial === undefined ? undefined : encodeSaslResponse(initial);
    const withInitial = encoded === undefined ? undefined : `${bare} ${encoded}\r\n`;
    const fits = sendInitialResponse && withInitial !== undefined && withInitial.length <= this.maxLine;
    const line = fits ? withInitial : `${bare}\r\n`;
    return {
      verb: 'AUTH',
      line,
      octets: this.#checkLength(line, bare),
      redacted: fits ? `${bare} ${REDACTED}` : bare,
      shape: 'sasl',
      message: undefined,
      mechanism,
      deferredInitialResponse: fits ? undefined : initial,
    };
  }

  /**
   * Any command line, for extensions and experiments. It is sent as given (after the CR/LF/NUL check), in
   * any state; `multiline` says whether a +OK is followed by a dot-terminated body.
   */
  raw(line: Argument, multiline: boolean): Command {
    const isSecret = line instanceof Secret;
    const value = revealText(line);
    checkText('command line', value, false);
    const wire = `${value}\r\n`;
    const redacted = isSecret ? REDACTED : value;
    return {
      verb: 'RAW',
      line: wire,
      octets: this.#checkLength(wire, redacted),
      redacted,
      shape: multiline ? 'body' : 'single',
      message: undefined,
      mechanism: undefined,
      deferredInitialResponse: undefined,
    };
  }

  #optionalMessage(verb: 'LIST' | 'UIDL', message: number | undefined): Command {
    if (message === undefined) return this.#simple(verb, [], 'listing');
    return this.#numbered(verb, message, 'single');
  }

  /**
   * A command whose only argument is a message number, as every command of a batch is: built without the
   * general path's argument array and UTF-8 count (the line is ASCII, so its length is its octets).
   */
  #numbered(verb: 'RETR' | 'DELE' | 'LIST' | 'UIDL', message: number, shape: ReplyShape): Command {
    const redacted = `${verb} ${messageNumber(message)}`;
    const line = `${redacted}\r\n`;
    if (line.length > this.maxLine) this.#checkLength(line, redacted); // throws CommandTooLong
    return {
      verb,
      line,
      octets: line.length,
      redacted,
      shape,
      message,
      mechanism: undefined,
      deferredInitialResponse: undefined,
    };
  }

  #simple(
    verb: Verb,
    args: readonly string[],
    shape: ReplyShape = 'single',
    message?: number,
    lastArgIsSecret = false,
  ): Command {
    // Plain concatenation: a batch builds thousands of these, and array spreads and joins cost more.
    let redacted: string = verb;
    for (let i = 0; i < args.length; i++) redacted += ` ${lastArgIsSecret && i === args.length - 1 ? REDACTED : args[i]}`;
    const line = `${lastArgIsSecret ? `${verb} ${args.join(' ')}` : redacted}\r\n`;
    return {
      verb,
      line,
      octets: this.#checkLength(line, redacted),
      redacted,
      shape,
      message,
      mechanism: undefined,
      deferredInitialResponse: undefined,
    };
  }

  /** The UTF-8 length of `line`, refused if it exceeds the line limit (shown as `redacted` in the error). */
  #checkLength(line: string, redacted: string): number {
    const octets = utf8Length(line);
    if (octets > this.maxLine) {
      throw new LocalProtocolError(
        ErrorCode.CommandTooLong,
        `command "${redacted}" is ${octets} octets; the limit is ${this.maxLine} (RFC 2449 section 4)`,
      );
    }
    return octets;
  }

}

/** A SASL response on the wire: base64, or `=` for an empty initial response (RFC 5034 section 4). */
export function encodeSaslResponse(response: Uint8Array): string {
  return response.length === 0 ? '=' : toBase64(response);
}

/** A free-text argument such as a user name; `forbidSpace` where a space would split the arguments. */
function text(what: string, value: string, forbidSpace = false): string {
  checkText(what, value, forbidSpace);
  return value;
}

function secret(what: string, value: Argument): string {
  const plain = revealText(value);
  // Never echo the value itself in the error.
  checkText(what, plain, false);
  return plain;
}

/** A single word: no spaces at all. */
function token(what: string, value: string): string {
  checkText(what, value, true);
  return value;
}

function checkText(what: string, value: string, forbidSpace: boolean): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new LocalProtocolError(ErrorCode.BadArgument, `${what} must be a non-empty string`);
  }
  if (/[\r\n\0]/.test(value)) {
    throw new LocalProtocolError(ErrorCode.BadArgument, `${what} contains CR, LF or NUL, which cannot be sent`);
  }
  if (forbidSpace && /[ \t]/.test(value)) {
    throw new LocalProtocolError(ErrorCode.BadArgument, `${what} must not contain spaces`);
  }
}

/** RFC 1939 message numbers start at 1. */
function messageNumber(value: number): string {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new LocalProtocolError(ErrorCode.BadArgument, `message number must be a positive integer, not ${String(value)}`);
  }
  return String(value);
}

function count(what: string, value: number): string {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new LocalProtocolError(ErrorCode.BadArgument, `${what} must be a non-negative integer, not ${String(value)}`);
  }
  return String(value);
}
