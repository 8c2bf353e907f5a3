import type { Secret } from '../../secret.js';
import { type Authenticator, failure, lookup, outOfOrder, success } from './authenticator.js';
import { passwordMatches } from './password.js';

/**
 * USER name, then PASS password (RFC 1939 section 7): the password crosses the wire as is, so it belongs
 * under TLS. The exchange has no challenge: it looks the user up and compares.
 */
export function userPassAuthenticator(user: string, password: Secret<string>): Authenticator {
  let looked = false;
  return {
    mechanism: 'USER',
    start() {
      looked = true;
      return lookup(user);
    },
    respond: () => outOfOrder('USER'),
    password(stored) {
      if (!looked) return outOfOrder('USER');
      looked = false;
      if (stored === undefined) return failure('unknown user');
      return passwordMatches(password.reveal(), stored) ? success(user) : failure('wrong password');
    },
  };
}
