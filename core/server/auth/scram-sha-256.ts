import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { fromBase64, toBase64, utf8 } from '../../bytes.js';
import { type Authenticator, challenge, failure, lookup, outOfOrder, strictUtf8, success } from './authenticator.js';
import { constantTimeEqual, prepare } from './password.js';

/**
 * SCRAM-SHA-256 (RFC 5802, RFC 7677), server side, without channel binding:
 *
 *   C: n,,n=user,r=cnonce                    (initial response, or the answer to an empty challenge)
 *   S: + r=cnonce+snonce,s=salt,i=iterations
 *   C: c=biws,r=cnonce+snonce,p=proof        (the server checks the proof against the stored password)
 *   S: + v=server-signature                  (the server proves it knows the password too)
 *   C: (empty line)
 *   S: +OK
 *
 * This is the exchange Dovecot and Cyrus run (test/fixtures/real-servers/{dovecot,cyrus}/auth-scram-sha-256.txt).
 * The store holds plain passwords, so the salt is fresh for every exchange and the salted password is
 * computed each time. An unknown user still gets a server-first message (and the same PBKDF2 work), so the
 * exchange does not tell who exists; it fails at the proof.
 */
export interface ScramServerOptions {
  /** The server's part of the nonce: printable ASCII without `,`. Fresh random for every exchange. */
  readonly nonce: string;
  /** The salt, fresh random for every exchange. */
  readonly salt: Uint8Array;
  /** PBKDF2 iterations; RFC 7677 asks for at least 4096. */
  readonly iterations: number;
}

/** A SCRAM-SHA-256 server exchange. */
export function scramSha256Authenticator(options: ScramServerOptions): Authenticator {
  let step: 'start' | 'client-first' | 'lookup' | 'client-final' | 'acknowledge' | 'over' = 'start';
  let first: ClientFirst | undefined;
  let nonce = '';
  let serverFirst = '';
  let saltedPassword: Uint8Array | undefined;
  const over = <T>(result: T): T => ((step = 'over'), result);

  const clientFirst = (bytes: Uint8Array) => {
    const parsed = parseClientFirst(strictUtf8(bytes) ?? '');
    if (typeof parsed === 'string') return over(failure(`SCRAM: ${parsed}`));
    first = parsed;
    nonce = parsed.nonce + options.nonce;
    serverFirst = `r=${nonce},s=${toBase64(options.salt)},i=${options.iterations}`;
    step = 'lookup';
    return lookup(parsed.user);
  };

  const clientFinal = (bytes: Uint8Array) => {
    const final = parseClientFinal(strictUtf8(bytes) ?? '');
    if (typeof final === 'string') return over(failure(`SCRAM: ${final}`));
    if (final.channelBinding !== toBase64(utf8(first!.gs2Header))) return over(failure('SCRAM: channel binding data does not match'));
    if (final.nonce !== nonce) return over(failure('SCRAM: the nonce does not match'));
    if (saltedPassword === undefined) return over(failure('unknown user'));

    const authMessage = utf8(`${first!.bare},${serverFirst},${final.withoutProof}`);
    const clientKeyExpected = hmac(sha256, saltedPassword, utf8('Client Key'));
    const storedKey = sha256(clientKeyExpected);
    const clientSignature = hmac(sha256, storedKey, authMessage);
    const clientKey = final.proof.map((byte, i) => byte ^ clientSignature[i]!);
    if (!constantTimeEqual(sha256(clientKey), storedKey)) return over(failure('wrong password'));

    const serverSignature = hmac(sha256, hmac(sha256, saltedPassword, utf8('Server Key')), authMessage);
    step = 'acknowledge';
    return challenge(utf8(`v=${toBase64(serverSignature)}`));
  };

  return {
    mechanism: 'SCRAM-SHA-256',
    start(initial) {
      if (step !== 'start') return outOfOrder('SCRAM-SHA-256');
      if (initial !== undefined) return clientFirst(initial);
      step = 'client-first';
      return challenge(new Uint8Array(0));
    },
    respond(response) {
      switch (step) {
        case 'client-first':
          return clientFirst(response);
        case 'client-final':
          return clientFinal(response);
        case 'acknowledge':
          // RFC 5034 section 4: the client answers the server-final challenge with an empty line.
          return over(response.length === 0 ? success(first!.user) : failure('SCRAM: non-empty answer to the server signature'));
        default:
          return over(outOfOrder('SCRAM-SHA-256'));
      }
    },
    password(stored) {
      if (step !== 'lookup') return over(outOfOrder('SCRAM-SHA-256'));
      // The same work for an unknown user (an empty password stands in), so timing does not tell either.
      const prepared = stored === undefined ? '' : prepare(stored);
      if (prepared === undefined) return over(failure('SCRAM: the stored password is not valid for SCRAM (SASLprep)'));
      const salted = pbkdf2(sha256, utf8(prepared), options.salt, { c: options.iterations, dkLen: 32 });
      saltedPassword = stored === undefined ? undefined : salted;
      step = 'client-final';
      return challenge(utf8(serverFirst));
    },
  };
}

interface ClientFirst {
  /** `n,,` or `n,a=authzid,` (or with `y`): what the client-final `c=` must repeat, base64-encoded. */
  readonly gs2Header: string;
  /** client-first-message-bare, part of the AuthMessage. */
  readonly bare: string;
  readonly user: string;
  readonly nonce: string;
}

/** Printable ASCII except `,` (RFC 5802 `printable`), the alphabet of nonces. */
const NONCE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** Parse `gs2-header client-first-message-bare` (RFC 5802 section 7); a string says what is wrong. */
function parseClientFirst(text: string): ClientFirst | string {
  // gs2-cbind-flag: `n` (no channel binding) or `y` (client could, thinks we cannot); `p=` asks for it.
  const gs2 = /^([ny]),(a=[^,]*)?,/.exec(text);
  if (gs2 === null) return text.startsWith('p=') ? 'channel binding is not supported' : 'malformed client-first message';
  const bare = text.slice(gs2[0].length);
  const [n, r, ...extensions] = bare.split(',');
  if (n?.startsWith('m=')) return 'mandatory extensions are not supported';
  if (n === undefined || r === undefined || !n.startsWith('n=') || !r.startsWith('r=') || !extensions.every(isAttribute)) {
    return 'malformed client-first message';
  }
  const user = unescapeSaslName(n.slice(2));
  if (user === undefined || user === '') return 'malformed user name';
  if (gs2[2] !== undefined && unescapeSaslName(gs2[2].slice(2)) !== user) return 'acting as another user is not supported';
  const nonce = r.slice(2);
  if (!NONCE.test(nonce)) return 'malformed nonce';
  return { gs2Header: gs2[0], bare, user, nonce };
}

interface ClientFinal {
  readonly channelBinding: string;
  readonly nonce: string;
  readonly proof: Uint8Array;
  /** client-final-message-without-proof, part of the AuthMessage. */
  readonly withoutProof: string;
}

/** Parse `c=...,r=...[,extensions],p=...` (RFC 5802 section 7); a string says what is wrong. */
function parseClientFinal(text: string): ClientFinal | string {
  const proofAt = text.lastIndexOf(',p=');
  const attributes = text.slice(0, Math.max(proofAt, 0)).split(',');
  const [c, r] = attributes;
  if (proofAt === -1 || c === undefined || r === undefined || !c.startsWith('c=') || !r.startsWith('r=')) {
    return 'malformed client-final message';
  }
  const proof = fromBase64(text.slice(proofAt + 3));
  if (proof === undefined || proof.length !== 32) return 'malformed proof';
  return { channelBinding: c.slice(2), nonce: r.slice(2), proof, withoutProof: text.slice(0, proofAt) };
}

/** An RFC 5802 `attr-val`: a letter, `=`, a value. Optional extensions are allowed and ignored. */
function isAttribute(text: string): boolean {
  return /^[A-Za-z]=/.test(text);
}

/** Undo RFC 5802 saslname escaping (`=2C` is `,`, `=3D` is `=`); undefined for any other `=`. */
function unescapeSaslName(name: string): string | undefined {
  if (/=(?!2C|3D)/.test(name)) return undefined;
  return name.replace(/=2C/g, ',').replace(/=3D/g, '=');
}
