import { utf8 } from '../../bytes.js';
import { apopDigest } from '../../apop.js';
import { type Authenticator, failure, lookup, outOfOrder, success } from './authenticator.js';
import { constantTimeEqual } from './password.js';

/**
 * APOP name digest (RFC 1939 section 7): the digest is MD5 of the greeting's timestamp followed by the
 * password, so the server recomputes it from the stored password. The timestamp must be unique per greeting,
 * or a recorded APOP line could be replayed.
 */
export function apopAuthenticator(timestamp: string, user: string, digest: string): Authenticator {
  let looked = false;
  return {
    mechanism: 'APOP',
    start() {
      looked = true;
      return lookup(user);
    },
    respond: () => outOfOrder('APOP'),
    password(stored) {
      if (!looked) return outOfOrder('APOP');
      looked = false;
      if (stored === undefined) return failure('unknown user');
      const expected = utf8(apopDigest(timestamp, stored));
      return constantTimeEqual(expected, utf8(digest.toLowerCase())) ? success(user) : failure('wrong digest');
    },
  };
}
