import { hmac } from '@noble/hashes/hmac.js';
import { md5 } from '@noble/hashes/legacy.js';
import { toHex, utf8 } from '../bytes.js';
import { SaslError } from '../errors.js';
import { revealText, type SecretText } from '../secret.js';
import type { SaslMechanism } from './mechanism.js';

/**
 * CRAM-MD5 (RFC 2195): the server sends a unique challenge, the client answers
 * `username SP hex(HMAC-MD5(password, challenge))`. The password never crosses the wire, but the server
 * does not prove anything about itself and an eavesdropper can brute-force the password offline.
 */

/** Options for {@link cramMd5}. */
export interface CramMd5Options {
  /** The user name, sent in clear. */
  username: string;
  /** The password, the HMAC key. */
  password: SecretText;
}

/** A CRAM-MD5 client mechanism. It has no initial response; a second challenge is a SaslError. */
export function cramMd5(options: CramMd5Options): SaslMechanism {
  const password = revealText(options.password);
  let answered = false;
  return {
    name: 'CRAM-MD5',
    initialResponse: () => undefined,
    respond(challenge) {
      if (answered) throw new SaslError('CRAM-MD5: unexpected second server challenge');
      answered = true;
      return utf8(`${options.username} ${toHex(hmac(md5, utf8(password), challenge))}`);
    },
    complete() {},
  };
}
