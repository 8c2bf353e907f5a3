import { utf8 } from '../bytes.js';
import { SaslError } from '../errors.js';
import { revealText, type SecretText } from '../secret.js';
import type { SaslMechanism } from './mechanism.js';

/**
 * LOGIN (draft-murchison-sasl-login): the server prompts twice and the client answers the user name, then
 * the password. Servers word the prompts differently ("Username:", "User Name", localised text), so the
 * answers follow the step order, never the prompt text. Obsolete, and the password crosses as is: a last
 * resort, over TLS only.
 */

/** Options for {@link login}. */
export interface LoginOptions {
  /** The user name, sent in answer to the first challenge. */
  username: string;
  /** The password, sent in answer to the second challenge. */
  password: SecretText;
}

/** A LOGIN client mechanism. It has no initial response; a third challenge is a SaslError. */
export function login(options: LoginOptions): SaslMechanism {
  const password = revealText(options.password);
  let answered = 0;
  return {
    name: 'LOGIN',
    initialResponse: () => undefined,
    respond() {
      answered++;
      if (answered === 1) return utf8(options.username);
      if (answered === 2) return utf8(password);
      throw new SaslError('LOGIN: unexpected third server challenge');
    },
    complete() {},
  };
}
