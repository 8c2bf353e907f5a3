import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concat, fromBase64, fromUtf8, toBase64, utf8 } from '../bytes.js';
import { SaslError } from '../errors.js';
import { revealText, type SecretText } from '../secret.js';
import type { SaslMechanism } from './mechanism.js';
import { saslprep } from './saslprep.js';

/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677) without channel binding: the client proves it knows the password
 * without sending it, and the server proves it knows the salted password too. The exchange is
 *
 *   C: n,,n=user,r=cnonce                         (initial response; `n,,` = no channel binding)
 *   S: r=cnonce+snonce,s=salt,i=iterations
 *   C: c=biws,r=cnonce+snonce,p=proof
 *   S: v=server-signature                          (in POP3 a `+ ` challenge; the client answers empty)
 *   S: +OK
 */

/** Options for {@link scramSha256}. */
export interface ScramSha256Options {
  /** The authentication identity; SASLprep'd, then escaped for the wire. */
  username: string;
  /** The password; SASLprep'd before hashing. */
  password: SecretText;
  /** Authorization identity, when acting on behalf of another user. */
  authzid?: string;
  /**
   * The client nonce, printable ASCII without `,`. Only for tests and fixtures: a fixed nonce lets a
   * recorded exchange be replayed. Default: 24 random bytes, base64.
   */
  nonce?: string;
}

/**
 * The most PBKDF2 iterations a server may ask for. Each costs two HMAC-SHA-256 computations; a hostile
 * server asking for billions would freeze the client. Real servers use 4096 to a few hundred thousand.
 */
export const SCRAM_MAX_ITERATIONS = 1_000_000;

/** A SCRAM-SHA-256 client mechanism. Throws SaslError if the user name or password fails SASLprep. */
export function scramSha256(options: ScramSha256Options): SaslMechanism {
  const password = saslprep(revealText(options.password));
  const clientNonce = options.nonce ?? toBase64(crypto.getRandomValues(new Uint8Array(24)));
  if (!NONCE.test(clientNonce)) throw new SaslError('SCRAM nonce must be printable ASCII without ","');

  const gs2Header = options.authzid === undefined ? 'n,,' : `n,a=${escapeSaslName(options.authzid)},`;
  const clientFirstBare = `n=${escapeSaslName(saslprep(options.username))},r=${clientNonce}`;

  let step: 'start' | 'first-sent' | 'final-sent' | 'verified' = 'start';
  let expectedServerSignature: Uint8Array | undefined;

  const clientFirst = (): Uint8Array => {
    step = 'first-sent';
    return utf8(gs2Header + clientFirstBare);
  };

  const clientFinal = (serverFirstBytes: Uint8Array): Uint8Array => {
    const { nonce, salt, iterations } = parseServerFirst(fromUtf8(serverFirstBytes), clientNonce);
    const clientFinalWithoutProof = `c=${toBase64(utf8(gs2Header))},r=${nonce}`;
    // The AuthMessage uses the server-first message exactly as received, so it is joined as bytes.
    const authMessage = concat([utf8(clientFirstBare + ','), serverFirstBytes, utf8(',' + clientFinalWithoutProof)]);

    const saltedPassword = pbkdf2(sha256, utf8(password), salt, { c: iterations, dkLen: 32 });
    const clientKey = hmac(sha256, saltedPassword, utf8('Client Key'));
    const clientSignature = hmac(sha256, sha256(clientKey), authMessage);
    const proof = clientKey.map((byte, i) => byte ^ clientSignature[i]!);
    expectedServerSignature = hmac(sha256, hmac(sha256, saltedPassword, utf8('Server Key')), authMessage);

    step = 'final-sent';
    return utf8(`${clientFinalWithoutProof},p=${toBase64(proof)}`);
  };

  const verifyServerFinal = (serverFinal: string): Uint8Array => {
    const attribute = serverFinal.split(',', 1)[0]!;
    if (attribute.startsWith('e=')) throw new SaslError(`SCRAM server error: ${attribute.slice(2)}`);
    const signature = attribute.startsWith('v=') ? fromBase64(attribute.slice(2)) : undefined;
    if (signature === undefined) throw new SaslError('SCRAM server-final message has no valid v= attribute');
    if (!equalBytes(signature, expectedServerSignature!)) throw new SaslError('SCRAM server signature is wrong: the server does not know the password');
    step = 'verified';
    return new Uint8Array(0);
  };

  return {
    name: 'SCRAM-SHA-256',
    initialResponse: clientFirst,
    respond(challenge) {
      switch (step) {
        case 'start':
          // RFC 4422 section 5: without an initial response, the server's empty challenge asks for it.
          if (challenge.length === 0) return clientFirst();
          throw new SaslError('SCRAM: the server sent a challenge before the client-first message');
        case 'first-sent':
          return clientFinal(challenge);
        case 'final-sent':
          return verifyServerFinal(fromUtf8(challenge));
        case 'verified':
          throw new SaslError('SCRAM: unexpected challenge after the server-final message');
      }
    },
    complete() {
      if (step !== 'verified') throw new SaslError('SCRAM: the server accepted the login without proving it knows the password');
    },
  };
}

/**
 * Escape a name for a SCRAM / GS2 `saslname` (RFC 5802 section 5.1): `=` becomes `=3D` and `,` becomes
 * `=2C`, so the name cannot end its attribute early.
 */
export function escapeSaslName(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}

/** Printable ASCII except `,` (RFC 5802 `printable`), the alphabet of SCRAM nonces. */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

interface ServerFirst {
  nonce: string;
  salt: Uint8Array;
  iterations: number;
}

/** Parse `r=...,s=...,i=...[,extensions]` (RFC 5802 section 7), checking every field a hostile server controls. */
function parseServerFirst(message: string, clientNonce: string): ServerFirst {
  const [r, s, i] = message.split(',');
  if (r?.startsWith('e=')) throw new SaslError(`SCRAM server error: ${r.slice(2)}`);
  // A mandatory extension (m=) is one we cannot understand, so RFC 5802 says to fail.
  if (r?.startsWith('m=')) throw new SaslError('SCRAM: the server requires an unsupported extension (m=)');
  if (r === undefined || s === undefined || i === undefined || !r.startsWith('r=') || !s.startsWith('s=') || !i.startsWith('i=')) {
    throw new SaslError('SCRAM server-first message is malformed (expected r=, s=, i=)');
  }
  const nonce = r.slice(2);
  if (!NONCE.test(nonce) || nonce.length <= clientNonce.length || !nonce.startsWith(clientNonce)) {
    throw new SaslError('SCRAM: the server nonce does not extend the client nonce');
  }
  const salt = fromBase64(s.slice(2));
  if (salt === undefined || salt.length === 0) throw new SaslError('SCRAM: the salt is empty or not valid base64');
  const count = i.slice(2);
  if (!/^[1-9][0-9]{0,9}$/.test(count)) throw new SaslError('SCRAM: the iteration count is not a positive integer');
  const iterations = Number(count);
  if (iterations > SCRAM_MAX_ITERATIONS) {
    throw new SaslError(`SCRAM: the server asks for ${iterations} iterations, more than the limit of ${SCRAM_MAX_ITERATIONS}`);
  }
  return { nonce, salt, iterations };
}

/** Compare without an early exit, so the time taken does not reveal how many leading bytes matched. */
function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a[i]! ^ b[i]!;
  return difference === 0;
}
