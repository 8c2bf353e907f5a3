/**
 * The server's CAPA answer (RFC 2449 section 5). It differs by state, as RFC 2449 allows and Dovecot does:
 * the login capabilities (USER, SASL, STLS) are listed only in the AUTHORIZATION state, where they can be
 * used, and IMPLEMENTATION only after login, so an anonymous client learns less about the software.
 */

/** What the CAPA answer depends on. */
export interface CapaFacts {
  readonly state: 'authorization' | 'transaction';
  /** SASL mechanisms offered, in order. */
  readonly sasl: readonly string[];
  /** STLS can be used now: the driver can upgrade and TLS is not active yet. */
  readonly stls: boolean;
  /** RFC 2449 LOGIN-DELAY, in seconds. */
  readonly loginDelay: number | undefined;
  /** RFC 2449 EXPIRE, in days, or `never`. */
  readonly expire: number | 'never' | undefined;
  /** RFC 2449 IMPLEMENTATION text. */
  readonly implementation: string | undefined;
}

/** The capability lines, in the order sent. */
export function capabilityLines(facts: CapaFacts): string[] {
  const beforeLogin = facts.state === 'authorization';
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE'];
  if (beforeLogin) {
    lines.push('USER');
    if (facts.sasl.length > 0) lines.push(`SASL ${facts.sasl.join(' ')}`);
    if (facts.stls) lines.push('STLS');
  }
  // RFC 6856: UTF-8 user names and passwords are accepted once UTF8 is enabled.
  lines.push('UTF8 USER');
  if (facts.loginDelay !== undefined) lines.push(`LOGIN-DELAY ${facts.loginDelay}`);
  if (facts.expire !== undefined) lines.push(`EXPIRE ${facts.expire === 'never' ? 'NEVER' : facts.expire}`);
  if (!beforeLogin && facts.implementation !== undefined) lines.push(`IMPLEMENTATION ${facts.implementation}`);
  return lines;
}
