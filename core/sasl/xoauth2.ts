import { utf8 } from '../bytes.js';
import { type OAuthError, SaslError } from '../errors.js';
import { revealText, type SecretText } from '../secret.js';
import { type OAuthMechanism, parseOAuthError } from './oauthbearer.js';

/**
 * XOAUTH2, the pre-standard OAuth mechanism of Google and Microsoft:
 *
 *   user=someone@example.com^Aauth=Bearer TOKEN^A^A      (^A is 0x01)
 *
 * Normally the initial response. Office 365 also accepts `AUTH XOAUTH2` alone, answers with an empty
 * challenge, and takes the message as the reply to it. When the server refuses the token it sends a JSON
 * error as a challenge; the client answers with an empty response and the server then sends -ERR.
 */

/** Options for {@link xoauth2}. */
export interface Xoauth2Options {
  /** The mailbox the token belongs to. */
  username: string;
  /** The OAuth 2.0 access token. */
  accessToken: SecretText;
}

/** An XOAUTH2 client mechanism. Throws SaslError if the user name or token contains 0x01. */
export function xoauth2(options: Xoauth2Options): OAuthMechanism {
  const token = revealText(options.accessToken);
  if (options.username.includes('\x01') || token.includes('\x01')) {
    throw new SaslError('XOAUTH2: the user name and token must not contain 0x01');
  }
  let sent = false;
  let error: OAuthError | undefined;
  const message = (): Uint8Array => {
    sent = true;
    return utf8(`user=${options.username}\x01auth=Bearer ${token}\x01\x01`);
  };
  return {
    name: 'XOAUTH2',
    get error() {
      return error;
    },
    initialResponse: message,
    respond(challenge) {
      // The two-step form: the empty challenge asks for the message that was not sent with AUTH.
      if (!sent && challenge.length === 0) return message();
      if (!sent || error !== undefined) throw new SaslError('XOAUTH2: unexpected server challenge');
      error = parseOAuthError(challenge);
      return new Uint8Array(0);
    },
    complete() {},
  };
}
