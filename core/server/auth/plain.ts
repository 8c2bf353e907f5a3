import { Secret } from '../../secret.js';
import { type Authenticator, challenge, failure, lookup, outOfOrder, strictUtf8, success } from './authenticator.js';
import { passwordMatches } from './password.js';

/**
 * PLAIN (RFC 4616): one message, `authzid NUL authcid NUL password`, as the initial response or in answer to
 * an empty challenge. Acting for another user (an authzid other than the authcid) is not supported.
 */
export function plainAuthenticator(): Authenticator {
  let step: 'start' | 'message' | 'lookup' | 'over' = 'start';
  let user = '';
  let given = new Secret('');

  const message = (bytes: Uint8Array) => {
    const fields = strictUtf8(bytes)?.split('\0');
    if (fields === undefined || fields.length !== 3) return over(failure('PLAIN: malformed message'));
    const [authzid, authcid, password] = fields as [string, string, string];
    if (authcid === '') return over(failure('PLAIN: empty user name'));
    if (authzid !== '' && authzid !== authcid) return over(failure('PLAIN: acting as another user is not supported'));
    user = authcid;
    given = new Secret(password);
    step = 'lookup';
    return lookup(user);
  };
  const over = <T>(result: T): T => ((step = 'over'), result);

  return {
    mechanism: 'PLAIN',
    start(initial) {
      if (step !== 'start') return outOfOrder('PLAIN');
      if (initial !== undefined) return message(initial);
      step = 'message';
      return challenge(new Uint8Array(0));
    },
    respond(response) {
      return step === 'message' ? message(response) : over(outOfOrder('PLAIN'));
    },
    password(stored) {
      if (step !== 'lookup') return over(outOfOrder('PLAIN'));
      step = 'over';
      if (stored === undefined) return failure('unknown user');
      return passwordMatches(given.reveal(), stored) ? success(user) : failure('wrong password');
    },
  };
}
