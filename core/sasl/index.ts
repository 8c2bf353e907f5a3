/**
 * The SASL mechanisms pop3kit speaks for POP3 AUTH (RFC 5034): one factory per mechanism, each taking a plain
 * options object, and `selectMechanism` to pick the strongest one a server offers.
 */
import type { SecretText } from '../secret.js';
import { cramMd5 } from './cram-md5.js';
import { login } from './login.js';
import type { SaslMechanism } from './mechanism.js';
import { oauthbearer } from './oauthbearer.js';
import { plain } from './plain.js';
import { scramSha256 } from './scram-sha-256.js';
import { xoauth2 } from './xoauth2.js';

export type { SaslMechanism } from './mechanism.js';
export { cramMd5, type CramMd5Options } from './cram-md5.js';
export { login, type LoginOptions } from './login.js';
export { oauthbearer, parseOAuthError, type OAuthBearerOptions, type OAuthMechanism } from './oauthbearer.js';
export { plain, type PlainOptions } from './plain.js';
export { saslprep } from './saslprep.js';
export { escapeSaslName, SCRAM_MAX_ITERATIONS, scramSha256, type ScramSha256Options } from './scram-sha-256.js';
export { xoauth2, type Xoauth2Options } from './xoauth2.js';

/** What the caller can log in with; give a password, an access token, or both. */
export interface SaslCredentials {
  /** The user name (the mailbox). */
  username: string;
  /** The password, for the password mechanisms. */
  password?: SecretText;
  /** An OAuth 2.0 access token, for the token mechanisms. */
  accessToken?: SecretText;
  /** Authorization identity; limits the choice to the mechanisms that carry one (SCRAM-SHA-256, PLAIN). */
  authzid?: string;
}

/**
 * The strongest mechanism that the server advertises (its CAPA `SASL` names, any case) and the credentials
 * allow, ready to use; undefined if there is none.
 *
 * Tokens: OAUTHBEARER (the standard, RFC 7628), then XOAUTH2 (Google's and Microsoft's older form). With
 * both a token and a password, the token is tried first: a caller who went to the trouble of getting one
 * means to use it.
 *
 * Passwords, strongest first:
 * - SCRAM-SHA-256: the password never crosses the wire, and the server proves it knows it too.
 * - CRAM-MD5: the password never crosses the wire, but the server proves nothing and MD5 is weak. It ranks
 *   above PLAIN for sessions without TLS, where PLAIN would expose the password; under TLS the two are about
 *   equal, and one fixed order keeps the choice predictable.
 * - PLAIN: the password as is (safe only under TLS); standard, one round trip.
 * - LOGIN: the same exposure as PLAIN, non-standard, two round trips: the last resort.
 *
 * With an `authzid`, only the mechanisms that can carry it (SCRAM-SHA-256, PLAIN) qualify, so the session
 * never silently logs in as the wrong identity.
 */
export function selectMechanism(advertised: readonly string[], credentials: SaslCredentials): SaslMechanism | undefined {
  const offered = new Set(advertised.map((name) => name.toUpperCase()));
  const { username, password, accessToken, authzid } = credentials;
  if (accessToken !== undefined && authzid === undefined) {
    if (offered.has('OAUTHBEARER')) return oauthbearer({ username, accessToken });
    if (offered.has('XOAUTH2')) return xoauth2({ username, accessToken });
  }
  if (password !== undefined) {
    if (offered.has('SCRAM-SHA-256')) return scramSha256({ username, password, authzid });
    if (authzid === undefined && offered.has('CRAM-MD5')) return cramMd5({ username, password });
    if (offered.has('PLAIN')) return plain({ username, password, authzid });
    if (authzid === undefined && offered.has('LOGIN')) return login({ username, password });
  }
  return undefined;
}
