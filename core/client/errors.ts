/**
 * Errors the async client adds to the engine's (core/errors.ts): the ways a session ends that are not about
 * the protocol. Each has a stable code; every pending call of the session rejects with the same error, and so
 * does every later call.
 */
import { ErrorCode, Pop3Error } from '../errors.js';

/**
 * The connection could not be made or was lost (code POP3_ERR_CONNECTION), or the TLS handshake failed, for
 * instance because the server's certificate could not be verified (code POP3_ERR_TLS). `cause` is the
 * runtime's own error, when there is one.
 */
export class ConnectionError extends Pop3Error {
  constructor(message: string, options: { tls?: boolean; cause?: unknown } = {}) {
    super(options.tls === true ? ErrorCode.Tls : ErrorCode.Connection, message);
    if (options.cause !== undefined) this.cause = options.cause;
  }
}

/** A connect or idle timeout expired (code POP3_ERR_TIMEOUT); the message says which, and what was awaited. */
export class TimeoutError extends Pop3Error {
  constructor(message: string) {
    super(ErrorCode.Timeout, message);
  }
}

/**
 * The caller aborted (code POP3_ERR_ABORTED): an AbortSignal fired, or a callback threw. `cause` is the
 * signal's reason or the thrown value.
 */
export class AbortError extends Pop3Error {
  constructor(message: string, cause?: unknown) {
    super(ErrorCode.Aborted, message);
    if (cause !== undefined) this.cause = cause;
  }
}

/** What a transport threw, as a Pop3Error: Pop3Errors pass unchanged, anything else becomes a ConnectionError. */
export function toPop3Error(error: unknown): Pop3Error {
  if (error instanceof Pop3Error) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new ConnectionError(`the connection failed: ${detail}`, { cause: error });
}
