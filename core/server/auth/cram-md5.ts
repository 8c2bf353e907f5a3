import { hmac } from '@noble/hashes/hmac.js';
import { md5 } from '@noble/hashes/legacy.js';
import { toHex, utf8 } from '../../bytes.js';
import { type Authenticator, challenge as challengeStep, failure, lookup, outOfOrder, strictUtf8, success } from './authenticator.js';
import { constantTimeEqual } from './password.js';

/**
 * CRAM-MD5 (RFC 2195): the server sends a unique challenge in msg-id form, the client answers
 * `user SP hex(HMAC-MD5(password, challenge))`. The HMAC is keyed with the password itself, so the server
 * needs it in clear (no SASLprep: clients key with the raw bytes). The mechanism is server-first: an initial
 * response is a protocol error.
 */
export function cramMd5Authenticator(challenge: string): Authenticator {
  let step: 'start' | 'answer' | 'lookup' | 'over' = 'start';
  let user = '';
  let digest = '';
  const over = <T>(result: T): T => ((step = 'over'), result);
  return {
    mechanism: 'CRAM-MD5',
    start(initial) {
      if (step !== 'start') return outOfOrder('CRAM-MD5');
      if (initial !== undefined) return over(failure('CRAM-MD5: the client sent an initial response'));
      step = 'answer';
      return challengeStep(utf8(challenge));
    },
    respond(response) {
      if (step !== 'answer') return over(outOfOrder('CRAM-MD5'));
      const match = /^(.+) ([0-9a-fA-F]{32})$/s.exec(strictUtf8(response) ?? '');
      if (match === null) return over(failure('CRAM-MD5: malformed answer'));
      user = match[1]!;
      digest = match[2]!.toLowerCase();
      step = 'lookup';
      return lookup(user);
    },
    password(stored) {
      if (step !== 'lookup') return over(outOfOrder('CRAM-MD5'));
      step = 'over';
      if (stored === undefined) return failure('unknown user');
      const expected = toHex(hmac(md5, utf8(stored), utf8(challenge)));
      return constantTimeEqual(utf8(expected), utf8(digest)) ? success(user) : failure('wrong digest');
    },
  };
}
