/**
 * Choosing how to log in: the strongest method the server offers for the credentials given, or the one the
 * caller named. The choice is pure (capabilities and greeting in, a plan out); Pop3Client carries it out.
 */
import type { Capabilities } from '../capabilities.js';
import type { Greeting } from '../client-engine.js';
import { ErrorCode, LocalProtocolError } from '../errors.js';
import { type SaslCredentials, type SaslMechanism, selectMechanism } from '../sasl/index.js';

/**
 * How to log in: `'auto'` (the default) picks the strongest method offered; `'USER'` is USER/PASS,
 * `'APOP'` is APOP (RFC 1939 section 7); any other string is a SASL mechanism name (e.g. `'PLAIN'`,
 * `'SCRAM-SHA-256'`, `'XOAUTH2'`); a SaslMechanism object is used as it is.
 */
export type LoginMechanism = 'auto' | 'USER' | 'APOP' | (string & {}) | SaslMechanism;

/** What {@link chooseLogin} decided. */
export type LoginPlan =
  | { readonly kind: 'USER'; readonly name: 'USER' }
  | { readonly kind: 'APOP'; readonly name: 'APOP' }
  | { readonly kind: 'SASL'; readonly name: string; readonly mechanism: SaslMechanism };

/** SASL mechanisms that never put the secret itself on the wire (or carry a token, the only way to use one). */
const PROTECTIVE = new Set(['SCRAM-SHA-256', 'CRAM-MD5', 'OAUTHBEARER', 'XOAUTH2']);

/**
 * The login plan for `credentials` on a server that sent `greeting` and advertised `capabilities`
 * (undefined when it does not answer CAPA). Throws LocalProtocolError (POP3_ERR_NOT_SUPPORTED) when nothing
 * fits. `'auto'` goes, in order:
 *
 * 1. the SASL mechanism `selectMechanism` picks, when it does not send the secret itself: SCRAM-SHA-256,
 *    CRAM-MD5, or a token mechanism (OAUTHBEARER, XOAUTH2);
 * 2. without TLS, APOP when the greeting offers it: the password does not cross the wire;
 * 3. SASL PLAIN or LOGIN;
 * 4. USER/PASS, when CAPA lists USER or the server has no CAPA;
 * 5. APOP (under TLS, it ranks after the methods that work whatever way the server stores passwords).
 */
export function chooseLogin(
  mechanism: LoginMechanism,
  credentials: SaslCredentials,
  server: { readonly capabilities: Capabilities | undefined; readonly greeting: Greeting | undefined; readonly secure: boolean },
): LoginPlan {
  if (typeof mechanism !== 'string') return { kind: 'SASL', name: mechanism.name, mechanism };
  const { password } = credentials;
  const name = mechanism.toUpperCase();
  if (name === 'USER' || name === 'APOP') {
    if (password === undefined) throw notSupported(`${name} needs a password`);
    return name === 'USER' ? { kind: 'USER', name } : { kind: 'APOP', name };
  }
  if (name !== 'AUTO') {
    // selectMechanism builds the named mechanism when the credentials suit it.
    const chosen = selectMechanism([name], credentials);
    if (chosen === undefined) throw notSupported(`cannot log in with ${name} using the credentials given`);
    return { kind: 'SASL', name, mechanism: chosen };
  }

  const { capabilities, greeting, secure } = server;
  const sasl = selectMechanism(capabilities?.sasl ?? [], credentials);
  const apop = password !== undefined && greeting?.timestamp !== undefined;
  if (sasl !== undefined && PROTECTIVE.has(sasl.name)) return { kind: 'SASL', name: sasl.name, mechanism: sasl };
  if (apop && !secure) return { kind: 'APOP', name: 'APOP' };
  if (sasl !== undefined) return { kind: 'SASL', name: sasl.name, mechanism: sasl };
  if (password !== undefined && (capabilities === undefined || capabilities.user)) return { kind: 'USER', name: 'USER' };
  if (apop) return { kind: 'APOP', name: 'APOP' };
  const offered = [...(capabilities?.sasl ?? []).map((m) => `SASL ${m}`), ...(capabilities?.user ? ['USER'] : [])];
  throw notSupported(
    `no login method offered by the server suits the credentials given (offered: ${offered.join(', ') || 'none'})`,
  );
}

function notSupported(message: string): LocalProtocolError {
  return new LocalProtocolError(ErrorCode.NotSupported, message);
}
