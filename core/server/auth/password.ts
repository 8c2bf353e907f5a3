/**
 * Comparing a password the client sent with the stored one. Both are SASLprep'd (RFC 4013; RFC 4616 asks
 * PLAIN servers to, RFC 6856 USER/PASS servers that accept UTF-8), so the same password typed on two
 * keyboards matches; the comparison takes the same time wherever the first difference is.
 */
import { utf8 } from '../../bytes.js';
import { SaslError } from '../../errors.js';
import { saslprep } from '../../sasl/saslprep.js';

/** Whether `given` (from the client) is the password `stored`. A given password SASLprep rejects never matches. */
export function passwordMatches(given: string, stored: string): boolean {
  const prepared = prepare(given);
  if (prepared === undefined) return false;
  // A stored password SASLprep rejects is compared as it is: the store's data is not the client's fault.
  return constantTimeEqual(utf8(prepared), utf8(prepare(stored) ?? stored));
}

/** SASLprep, or undefined for a string it prohibits. */
export function prepare(text: string): string | undefined {
  try {
    return saslprep(text);
  } catch (error) {
    if (error instanceof SaslError) return undefined;
    throw error;
  }
}

/** Byte equality without an early exit, so the time taken does not reveal how many leading bytes matched. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
