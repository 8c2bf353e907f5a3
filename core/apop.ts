import { md5 } from '@noble/hashes/legacy.js';
import { toHex, utf8 } from './bytes.js';
import { revealText, type SecretText } from './secret.js';

/**
 * APOP (RFC 1939 section 7): a server that supports it puts a unique timestamp, in msg-id form
 * `<process-id.clock@hostname>`, in its greeting; the client logs in with `APOP user digest`, where digest is
 * the MD5 of the timestamp followed by the password. The password never crosses the wire, but MD5 of a
 * server-chosen prefix is weak (an active attacker can recover passwords): prefer SASL when offered.
 */

/**
 * A msg-id: printable ASCII other than `<` and `>` around an `@`. Spaces and control characters are
 * excluded, so a sloppy or hostile greeting cannot smuggle them into the digest input.
 */
const MSG_ID = /<[\x21-\x3b\x3d\x3f-\x7e]+@[\x21-\x3b\x3d\x3f-\x7e]+>/g;

/**
 * The APOP timestamp in a greeting's text (brackets included), or undefined if there is none. The last
 * msg-id wins: servers put it at the end, after text that may itself contain bracketed words.
 */
export function apopTimestamp(greetingText: string): string | undefined {
  let last: string | undefined;
  for (const match of greetingText.matchAll(MSG_ID)) last = match[0];
  return last;
}

/** The APOP digest: lower-case hex MD5 of the timestamp followed by the password, both UTF-8. */
export function apopDigest(timestamp: string, password: SecretText): string {
  const secret = revealText(password);
  return toHex(md5(utf8(timestamp + secret)));
}
