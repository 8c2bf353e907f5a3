/**
 * Randomness for the server. The engine takes it as an option so that it stays deterministic (tests pass a
 * seeded source and get the same bytes every run); drivers pass `secureRandom`.
 */
import { toHex } from '../bytes.js';

/** A source of random bytes: `length` fresh ones per call. */
export type RandomSource = (length: number) => Uint8Array;

/** Random bytes from the platform's cryptographic generator (Web Crypto: browsers, workers, Node, Deno, Bun). */
export const secureRandom: RandomSource = (length) => crypto.getRandomValues(new Uint8Array(length));

/**
 * A fresh APOP timestamp in msg-id form, `<hex@hostname>` (RFC 1939 section 7 suggests process id and clock;
 * what matters is that no two greetings share one, which 96 random bits ensure).
 */
export function randomTimestamp(random: RandomSource, hostname: string): string {
  return `<${toHex(random(12))}@${hostname}>`;
}
