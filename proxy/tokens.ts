/**
 * Short-lived signed tokens that bind a connection to one target.
 *
 * The page's backend, which knows the user, signs `{ target, expiresAt }` with a secret it shares with the
 * proxy and hands the token to the page; the page passes it as `?token=`. The proxy then only opens
 * connections that a backend allowed, to the target it allowed, for a few minutes.
 *
 * Format: `base64url(JSON payload) "." base64url(HMAC-SHA256(secret, first part))`, payload
 * `{"t":"HOST:PORT","e":<expiry, ms since the epoch>}`. The signature is compared in constant time.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';

/** What a token grants. */
export interface TokenClaims {
  /** The target as the page names it in `?target=` (`HOST:PORT`, exactly as in the allowlist). */
  readonly target: string;
  /** When the token stops being valid: a Date or milliseconds since the epoch. Keep it minutes away. */
  readonly expiresAt: Date | number;
}

/** Why a token was not accepted. */
export type TokenProblem = 'token-missing' | 'token-invalid' | 'token-expired' | 'token-wrong-target';

function mac(secret: string | Uint8Array, data: string): Buffer {
  return createHmac('sha256', secret).update(data).digest();
}

/**
 * Signs a token for the page's backend to give to the page. `secret` is the same bytes the proxy reads from
 * its `--token-secret` file (at least 32 bytes).
 */
export function signToken(claims: TokenClaims, secret: string | Uint8Array): string {
  const expiresAt = typeof claims.expiresAt === 'number' ? claims.expiresAt : claims.expiresAt.getTime();
  if (!Number.isSafeInteger(expiresAt)) throw new TypeError('expiresAt must be a valid time');
  const payload = Buffer.from(JSON.stringify({ t: claims.target, e: expiresAt })).toString('base64url');
  return `${payload}.${mac(secret, payload).toString('base64url')}`;
}

/** What verifyToken needs besides the token. */
export interface TokenCheck {
  readonly secret: Uint8Array;
  /** The target the connection asks for, as the page named it. */
  readonly target: string;
  readonly now: number;
  /** Expired by at most this long still passes (clock skew). */
  readonly skewMs: number;
  /** Expiring further in the future than this fails: the token is not short-lived. */
  readonly maxLifetimeMs: number;
}

/** Checks a token; returns undefined when it is good, or what is wrong with it. */
export function verifyToken(token: string | null | undefined, check: TokenCheck): TokenProblem | undefined {
  if (!token) return 'token-missing';
  const dot = token.indexOf('.');
  if (dot === -1 || token.length > 4096) return 'token-invalid';
  const payload = token.slice(0, dot);
  const given = Buffer.from(token.slice(dot + 1), 'base64url');
  const expected = mac(check.secret, payload);
  // timingSafeEqual needs equal lengths; the length of a SHA-256 MAC is public anyway.
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'token-invalid';
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return 'token-invalid';
  }
  const { t, e } = (claims ?? {}) as { t?: unknown; e?: unknown };
  if (typeof t !== 'string' || typeof e !== 'number') return 'token-invalid';
  if (e + check.skewMs < check.now) return 'token-expired';
  // A token valid for longer than any backend should issue is treated as forged or misconfigured.
  if (e > check.now + check.maxLifetimeMs) return 'token-invalid';
  // Compared like the allowlist compares targets: host names are case-insensitive.
  if (t.toLowerCase() !== check.target.toLowerCase()) return 'token-wrong-target';
  return undefined;
}

/**
 * Reads a token secret from a file: its bytes, less one trailing line end (so `openssl rand -hex 32 > FILE`
 * works). Throws when the file holds fewer than 32 bytes.
 */
export async function readTokenSecret(file: string): Promise<Uint8Array> {
  const text = await readFile(file);
  let end = text.length;
  if (text[end - 1] === 0x0a) end--;
  if (text[end - 1] === 0x0d) end--;
  const secret = text.subarray(0, end);
  if (secret.length < 32) throw new Error(`the token secret in ${file} must be at least 32 bytes`);
  return secret;
}
