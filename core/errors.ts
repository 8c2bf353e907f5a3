/**
 * Every error pop3kit raises is a Pop3Error with a stable `code`, so callers can branch on codes rather than
 * on message text. Three families matter:
 *
 * - LocalProtocolError: the caller misused the engine (bad argument, wrong state). Nothing was sent and the
 *   session is unchanged; fix the call and carry on.
 * - RemoteProtocolError: the server broke the protocol (unframeable reply, oversize line, stream cut short).
 *   The session is dead and every later call reports this same error.
 * - ServerError: the server answered -ERR. Not a protocol error: it is a reply, with its RFC 3206 / 2449 code.
 */

/** Stable error codes. The string values never change between releases. */
export const ErrorCode = {
  /** An argument contains CR, LF or NUL, is empty where it must not be, or is otherwise malformed. */
  BadArgument: 'POP3_ERR_BAD_ARGUMENT',
  /** The command line would exceed the RFC 2449 limit of 255 octets. */
  CommandTooLong: 'POP3_ERR_COMMAND_TOO_LONG',
  /** The command is not valid in the session's (projected) state. */
  WrongState: 'POP3_ERR_WRONG_STATE',
  /** The server did not advertise what the command needs (e.g. STLS, a SASL mechanism). */
  NotSupported: 'POP3_ERR_NOT_SUPPORTED',
  /** The session has ended; no further commands are possible. */
  SessionClosed: 'POP3_ERR_SESSION_CLOSED',
  /** A command was never sent, or never answered, because an earlier event ended its chance. */
  Cancelled: 'POP3_ERR_CANCELLED',
  /** A SASL mechanism could not continue (bad challenge, server not authenticated, unusable credentials). */
  Sasl: 'POP3_ERR_SASL',
  /** The server sent something that cannot be framed or parsed as POP3. */
  Protocol: 'POP3_ERR_PROTOCOL',
  /** A status line or listing line exceeded its configured limit. */
  LineTooLong: 'POP3_ERR_LINE_TOO_LONG',
  /** A listing (LIST, UIDL, CAPA, LANG) exceeded the configured number of entries or octets. */
  ListingTooLarge: 'POP3_ERR_LISTING_TOO_LARGE',
  /** The stream ended before a reply was complete. */
  UnexpectedEnd: 'POP3_ERR_UNEXPECTED_END',
  /** Bytes arrived between the +OK to STLS and the TLS handshake (STARTTLS injection). */
  TlsInjection: 'POP3_ERR_TLS_INJECTION',
  /** The server answered -ERR. */
  Server: 'POP3_ERR_SERVER',
  /** The connection could not be made, or was lost (reset, refused, host not found). */
  Connection: 'POP3_ERR_CONNECTION',
  /** The TLS handshake failed, e.g. the server's certificate could not be verified. */
  Tls: 'POP3_ERR_TLS',
  /** Credentials would have been sent without TLS, and TLS was required but impossible (no STLS offered). */
  TlsRequired: 'POP3_ERR_TLS_REQUIRED',
  /** A connect or idle timeout expired. */
  Timeout: 'POP3_ERR_TIMEOUT',
  /** The caller aborted the operation (an AbortSignal fired, or a callback of the caller's threw). */
  Aborted: 'POP3_ERR_ABORTED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Base class of every error pop3kit throws or reports. */
export class Pop3Error extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(message);
    this.name = new.target.name;
    this.code = code;
  }
}

/** The caller misused the API; nothing was sent, nothing changed. */
export class LocalProtocolError extends Pop3Error {}

/** The server broke the protocol or the stream ended early; the session is unusable from now on. */
export class RemoteProtocolError extends Pop3Error {}

/** A SASL exchange failed on the client side (e.g. the server's SCRAM signature is wrong). */
export class SaslError extends Pop3Error {
  constructor(message: string) {
    super(ErrorCode.Sasl, message);
  }
}

/**
 * The JSON error a server sends when it refuses an OAuth token (RFC 7628 section 3.2.2; XOAUTH2 uses the same
 * shape with `schemes`). Fields the server left out, or sent as something other than a string, are absent.
 * It lives here rather than with the mechanisms because ServerError carries it, and this file imports nothing.
 */
export interface OAuthError {
  /** Why the token was refused, e.g. `invalid_token` (RFC 7628) or an HTTP-like `401` (XOAUTH2). */
  status?: string;
  /** The scope the token needs. */
  scope?: string;
  /** XOAUTH2: the accepted authentication schemes, e.g. `Bearer`. */
  schemes?: string;
  /** RFC 7628: where to discover the OpenID provider (the JSON `openid-configuration`). */
  openidConfiguration?: string;
  /** The challenge as text, for whatever the fields above do not capture. */
  raw: string;
}

/**
 * The server answered -ERR. `responseCode` is the bracketed code (RFC 2449 / 3206 / 6856) when present,
 * e.g. `IN-USE`, `LOGIN-DELAY`, `SYS/TEMP`, `SYS/PERM`, `AUTH`, `UTF8`.
 */
export class ServerError extends Pop3Error {
  readonly responseCode: string | undefined;
  readonly text: string;
  /** The command the server refused, redacted (e.g. `PASS [redacted]`). */
  readonly command: string;
  /**
   * AUTH with an OAuth mechanism (XOAUTH2, OAUTHBEARER): the JSON error the server sent before its -ERR, so
   * that a caller can tell an expired token (`status` `invalid_token` or `401`: refresh it and retry) from
   * other failures. Undefined for every other refusal, and when the server sent -ERR without a JSON error.
   * It is not part of the message: the server's text already says why, and the JSON is there to be read.
   */
  readonly oauth: OAuthError | undefined;
  constructor(command: string, responseCode: string | undefined, text: string, oauth?: OAuthError) {
    const code = responseCode === undefined ? '' : ` [${responseCode}]`;
    super(ErrorCode.Server, `${command} failed:${code} ${text}`.trimEnd());
    this.command = command;
    this.responseCode = responseCode;
    this.text = text;
    this.oauth = oauth;
  }
  /** The mailbox is locked by another session (RFC 2449 `IN-USE`). */
  get inUse(): boolean {
    return this.responseCode === 'IN-USE';
  }
  /** Logged in too soon after the last login (RFC 2449 `LOGIN-DELAY`). */
  get loginDelay(): boolean {
    return this.responseCode === 'LOGIN-DELAY';
  }
  /** Credentials were wrong (RFC 3206 `AUTH`). */
  get authFailed(): boolean {
    return this.responseCode === 'AUTH';
  }
  /** A temporary system problem: try again later (RFC 3206 `SYS/TEMP`). */
  get temporary(): boolean {
    return this.responseCode === 'SYS/TEMP' || this.responseCode?.startsWith('SYS/TEMP/') === true;
  }
  /** A permanent system problem: do not retry (RFC 3206 `SYS/PERM`). */
  get permanent(): boolean {
    return this.responseCode === 'SYS/PERM' || this.responseCode?.startsWith('SYS/PERM/') === true;
  }
}
