import { ErrorCode, LocalProtocolError } from '../errors.js';

/**
 * Every limit the server engine enforces, in one place (the client's are in core/limits.ts). They bound what
 * a client can make the server hold or do: a line too long is refused and discarded as it streams past, too
 * many bad commands or failed logins end the session, and buffered input and output have high-water marks
 * that tell the driver to stop reading.
 */
export interface ServerLimits {
  /**
   * Longest command line, CRLF included (RFC 2449 section 4: 255 octets). A longer line is answered -ERR
   * and skipped up to its line end without being buffered. Default 255.
   */
  maxCommandLine: number;
  /**
   * Longest line answering a SASL challenge, CRLF included. RFC 5034 exempts these from the 255-octet
   * limit (a client that cannot fit its initial response on the AUTH line sends it here, and OAuth tokens
   * are long), so they get the 12288 octets RFC 4954 asks SMTP servers to accept. Default 12288.
   */
  maxSaslLine: number;
  /**
   * Bad commands (unknown, malformed, too long, in the wrong state) a session may send; the one that
   * reaches the limit is answered -ERR and the session ends. Default 10.
   */
  maxBadCommands: number;
  /** Failed logins (USER/PASS, APOP, AUTH) a session may make; the last failure ends the session. Default 3. */
  maxAuthFailures: number;
  /**
   * Client bytes held unprocessed (pipelined commands waiting behind a reply in progress) above which
   * `wantsInput` turns false. The engine still accepts what it is given; the driver must stop reading.
   * Default 16384.
   */
  maxBufferedInput: number;
  /**
   * Reply bytes not yet taken with takeOutgoing() above which the engine stops starting new commands, so
   * a burst of cheap pipelined commands cannot make it build unbounded output. Default 65536.
   */
  maxBufferedOutput: number;
}

/** The limits a server engine uses unless told otherwise. */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = Object.freeze({
  maxCommandLine: 255,
  maxSaslLine: 12288,
  maxBadCommands: 10,
  maxAuthFailures: 3,
  maxBufferedInput: 16384,
  maxBufferedOutput: 65536,
});

/** Defaults overridden by whatever the caller gives; rejects nonsense values. */
export function resolveServerLimits(overrides: Partial<ServerLimits> = {}): ServerLimits {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    const minimum = name === 'maxBadCommands' || name === 'maxAuthFailures' ? 1 : 16;
    if (!Number.isSafeInteger(value) || value < minimum) {
      throw new LocalProtocolError(ErrorCode.BadArgument, `server limit ${name} must be an integer >= ${minimum}`);
    }
  }
  return limits;
}
