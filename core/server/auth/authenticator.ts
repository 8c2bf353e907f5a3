/**
 * The server side of one login exchange, as a small synchronous state machine: USER/PASS, APOP and each
 * SASL mechanism (RFC 4422 as profiled for POP3 by RFC 5034) implement the same interface, so the engine
 * drives them all the same way and never does I/O:
 *
 *   start(initial response) ─► challenge ─► respond(client line) ─► ... ─► lookup(user)
 *   password(from the store) ─► challenge ... ─► success | failure
 *
 * A `lookup` step asks the engine for the user's password (the engine asks its driver, which asks the store);
 * the exchange continues with `password()`. Mechanisms compute with the password itself, which is why the
 * store hands it over rather than checking it.
 *
 * Failure reasons are for the server's logs only (the client is told `-ERR [AUTH]` whatever the reason) and
 * never contain a password or any other secret.
 */

/** What the exchange needs next, or how it ended. */
export type AuthStep =
  /** Send this challenge (`+ base64`) and pass the client's answer to respond(). */
  | { readonly kind: 'challenge'; readonly challenge: Uint8Array }
  /** Find this user's password and pass it (undefined for an unknown user) to password(). */
  | { readonly kind: 'lookup'; readonly user: string }
  /** The client proved it is `user`. */
  | { readonly kind: 'success'; readonly user: string }
  /** The login failed; `reason` is for logs. */
  | { readonly kind: 'failure'; readonly reason: string };

/** One login exchange on the server side. Each method returns the next step; out-of-order calls fail. */
export interface Authenticator {
  /** `USER`, `APOP`, or the SASL mechanism name. */
  readonly mechanism: string;
  /** Begin, with the SASL initial response if the client sent one (always undefined for USER/PASS and APOP). */
  start(initialResponse: Uint8Array | undefined): AuthStep;
  /** The client's answer to the last challenge, base64-decoded. */
  respond(response: Uint8Array): AuthStep;
  /** The password of the user of the last `lookup` step, or undefined when there is no such user. */
  password(password: string | undefined): AuthStep;
}

/** Send a challenge. */
export function challenge(bytes: Uint8Array): AuthStep {
  return { kind: 'challenge', challenge: bytes };
}

/** Ask for a user's password. */
export function lookup(user: string): AuthStep {
  return { kind: 'lookup', user };
}

/** The exchange proved the client is `user`. */
export function success(user: string): AuthStep {
  return { kind: 'success', user };
}

/** The exchange failed; `reason` is for logs. */
export function failure(reason: string): AuthStep {
  return { kind: 'failure', reason };
}

/** The step for a call the exchange did not expect at this point. */
export function outOfOrder(mechanism: string): AuthStep {
  return failure(`${mechanism}: unexpected step in the exchange`);
}

const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/** UTF-8 text of a SASL payload, or undefined when it is not valid UTF-8. */
export function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8Strict.decode(bytes);
  } catch {
    return undefined;
  }
}
