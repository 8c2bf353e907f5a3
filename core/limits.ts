import { ErrorCode, LocalProtocolError } from './errors.js';

/**
 * Every limit the client engine enforces, in one place. Exceeding one ends the session with a
 * RemoteProtocolError (code POP3_ERR_LINE_TOO_LONG or POP3_ERR_LISTING_TOO_LARGE): parsing never continues
 * past a broken limit, and memory stays bounded whatever the server sends.
 *
 * Message bodies (RETR, TOP) have no line limit: they stream out in pieces as they arrive.
 */
export interface Limits {
  /**
   * Longest status line (greeting, +OK/-ERR, SASL challenge), CRLF included. RFC 2449 caps responses at
   * 512 octets, but SASL challenges and chatty servers go beyond it. Default 8192.
   */
  maxStatusLine: number;
  /** Longest line inside a parsed listing (CAPA, LIST, UIDL, LANG), line end included. Default 4096. */
  maxListingLine: number;
  /** Most entries in one listing (LIST, UIDL, CAPA, LANG). Default 1,000,000. */
  maxListingEntries: number;
  /**
   * Most octets in one listing, line ends included: what a listing can cost in memory before it is parsed.
   * Default 64 MiB (a million UIDL lines take about 30 MiB).
   */
  maxListingOctets: number;
  /** Longest command line the client sends, CRLF included (RFC 2449 section 4). Default 255. */
  maxCommandLine: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = Object.freeze({
  maxStatusLine: 8192,
  maxListingLine: 4096,
  maxListingEntries: 1_000_000,
  maxListingOctets: 64 * 1024 * 1024,
  maxCommandLine: 255,
});

/** Defaults overridden by whatever the caller gives; rejects nonsense values. */
export function resolveLimits(overrides: Partial<Limits> = {}): Limits {
  const limits = { ...DEFAULT_LIMITS, ...overrides };
  for (const [name, value] of Object.entries(limits)) {
    if (!Number.isSafeInteger(value) || value < 16) throw new LocalProtocolError(ErrorCode.BadArgument, `limit ${name} must be an integer >= 16`);
  }
  return limits;
}
