import { utf8 } from '../bytes.js';
import { SaslError } from '../errors.js';
import { revealText, type SecretText } from '../secret.js';
import type { SaslMechanism } from './mechanism.js';

/**
 * PLAIN (RFC 4616): `authzid NUL username NUL password` in one message. The password crosses the wire as is,
 * so use it only over TLS.
 */

/** Options for {@link plain}. */
export interface PlainOptions {
  /** The authentication identity. */
  username: string;
  /** The password. */
  password: SecretText;
  /** Authorization identity, when acting on behalf of another user; omitted (empty) by default. */
  authzid?: string;
}

/** A PLAIN client mechanism. Throws SaslError if a field contains NUL, the message's separator. */
export function plain(options: PlainOptions): SaslMechanism {
  const password = revealText(options.password);
  const authzid = options.authzid ?? '';
  if ([authzid, options.username, password].some((field) => field.includes('\0'))) {
    throw new SaslError('PLAIN: the user name, password and authzid must not contain NUL');
  }
  let sent = false;
  const message = (): Uint8Array => {
    sent = true;
    return utf8(`${authzid}\0${options.username}\0${password}`);
  };
  return {
    name: 'PLAIN',
    initialResponse: message,
    respond(challenge) {
      // RFC 4422 section 5: without an initial response, the server's empty challenge asks for it.
      if (!sent && challenge.length === 0) return message();
      throw new SaslError('PLAIN: unexpected server challenge');
    },
    complete() {},
  };
}
