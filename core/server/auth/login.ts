import { utf8 } from '../../bytes.js';
import { Secret } from '../../secret.js';
import { type Authenticator, challenge, failure, lookup, outOfOrder, strictUtf8, success } from './authenticator.js';
import { passwordMatches } from './password.js';

/**
 * LOGIN (draft-murchison-sasl-login): the server prompts `Username:` then `Password:`, and the client answers
 * each. Some clients send the user name as an initial response; the exchange then starts at the password.
 * Obsolete, and the password crosses as is: offered for old clients.
 */
export function loginAuthenticator(): Authenticator {
  let step: 'start' | 'user' | 'password' | 'lookup' | 'over' = 'start';
  let user = '';
  let given = new Secret('');

  const userName = (bytes: Uint8Array) => {
    const name = strictUtf8(bytes);
    if (name === undefined || name === '') return over(failure('LOGIN: malformed user name'));
    user = name;
    step = 'password';
    return challenge(PASSWORD_PROMPT);
  };
  const over = <T>(result: T): T => ((step = 'over'), result);

  return {
    mechanism: 'LOGIN',
    start(initial) {
      if (step !== 'start') return outOfOrder('LOGIN');
      if (initial !== undefined) return userName(initial);
      step = 'user';
      return challenge(USER_PROMPT);
    },
    respond(response) {
      if (step === 'user') return userName(response);
      if (step !== 'password') return over(outOfOrder('LOGIN'));
      const password = strictUtf8(response);
      if (password === undefined) return over(failure('LOGIN: malformed password'));
      given = new Secret(password);
      step = 'lookup';
      return lookup(user);
    },
    password(stored) {
      if (step !== 'lookup') return over(outOfOrder('LOGIN'));
      step = 'over';
      if (stored === undefined) return failure('unknown user');
      return passwordMatches(given.reveal(), stored) ? success(user) : failure('wrong password');
    },
  };
}

const USER_PROMPT = utf8('Username:');
const PASSWORD_PROMPT = utf8('Password:');
