import { fromUtf8, utf8 } from '../bytes.js';
import { type OAuthError, SaslError } from '../errors.js';
import { revealText, type SecretText } from '../secret.js';
import type { SaslMechanism } from './mechanism.js';
import { escapeSaslName } from './scram-sha-256.js';

/**
 * OAUTHBEARER (RFC 7628): an OAuth 2.0 bearer token in a GS2-style message,
 *
 *   n,a=user,^Ahost=imap.example.com^Aport=995^Aauth=Bearer TOKEN^A^A      (^A is 0x01)
 *
 * On failure the server sends a JSON error as a challenge; the client must answer a single ^A and the
 * server then fails the command (RFC 7628 section 3.2.3).
 */

/** Options for {@link oauthbearer}. */
export interface OAuthBearerOptions {
  /** The user the token belongs to, sent as the GS2 authzid (`a=`). */
  username: string;
  /** The OAuth 2.0 access token. */
  accessToken: SecretText;
  /** The server's host name, if the token issuer binds tokens to it. */
  host?: string;
  /** The server's port, if the token issuer binds tokens to it. */
  port?: number;
}

/** A SASL mechanism that carries an OAuth token and keeps the server's JSON error, if any. */
export interface OAuthMechanism extends SaslMechanism {
  /**
   * The error the server sent before failing the command, or undefined if there was none. The engine puts it
   * on the ServerError of the refused AUTH (`oauth`), so a caller of login() need not keep the mechanism.
   */
  readonly error: OAuthError | undefined;
}

/** An OAUTHBEARER client mechanism. Throws SaslError if a field contains 0x01 or the port is out of range. */
export function oauthbearer(options: OAuthBearerOptions): OAuthMechanism {
  const token = revealText(options.accessToken);
  if ([options.username, options.host ?? '', token].some((field) => field.includes('\x01'))) {
    throw new SaslError('OAUTHBEARER: the user name, host and token must not contain 0x01');
  }
  const { port } = options;
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) {
    throw new SaslError('OAUTHBEARER: the port must be an integer from 1 to 65535');
  }
  const authzid = options.username === '' ? '' : `a=${escapeSaslName(options.username)}`;
  const host = options.host === undefined ? '' : `host=${options.host}\x01`;
  const portField = port === undefined ? '' : `port=${port}\x01`;

  let sent = false;
  let error: OAuthError | undefined;
  const message = (): Uint8Array => {
    sent = true;
    return utf8(`n,${authzid},\x01${host}${portField}auth=Bearer ${token}\x01\x01`);
  };
  return {
    name: 'OAUTHBEARER',
    get error() {
      return error;
    },
    initialResponse: message,
    respond(challenge) {
      // RFC 4422 section 5: without an initial response, the server's empty challenge asks for it.
      if (!sent && challenge.length === 0) return message();
      if (!sent || error !== undefined) throw new SaslError('OAUTHBEARER: unexpected server challenge');
      error = parseOAuthError(challenge);
      return Uint8Array.of(0x01);
    },
    complete() {},
  };
}

/** Read the JSON error challenge of OAUTHBEARER or XOAUTH2; text that is not a JSON object keeps only `raw`. */
export function parseOAuthError(challenge: Uint8Array): OAuthError {
  const raw = fromUtf8(challenge);
  const error: OAuthError = { raw };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return error;
  }
  if (typeof parsed !== 'object' || parsed === null) return error;
  const fields = parsed as Record<string, unknown>;
  const text = (key: string): string | undefined => (typeof fields[key] === 'string' ? fields[key] : undefined);
  const status = text('status');
  const scope = text('scope');
  const schemes = text('schemes');
  const openidConfiguration = text('openid-configuration');
  if (status !== undefined) error.status = status;
  if (scope !== undefined) error.scope = scope;
  if (schemes !== undefined) error.schemes = schemes;
  if (openidConfiguration !== undefined) error.openidConfiguration = openidConfiguration;
  return error;
}
