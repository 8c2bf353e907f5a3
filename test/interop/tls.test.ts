/**
 * TLS with a real Dovecot: STLS (RFC 2595) and implicit TLS (RFC 8314) with the test CA, and the typed
 * errors when the certificate cannot be verified (no CA given, or a name it is not valid for).
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ConnectionError, ErrorCode, type Pop3Client } from '../../core/index.js';
import { createUser, type TestUser } from '../support/dovecot.js';
import { rejectionOf, Sessions, within } from '../support/interop.js';
import { numberedMessages } from '../support/mail-generator.js';

const dovecot = inject('dovecot');
const sessions = new Sessions(dovecot);
afterEach(() => sessions.closeAll());

const freshUser = (label: string): Promise<TestUser> => createUser(dovecot, label, numberedMessages(2));

/** The session works over TLS: login, a listing and a message, then QUIT. */
async function expectWorkingSession(client: Pop3Client, user: TestUser): Promise<void> {
  expect(client.secure).toBe(true);
  await within(client.login({ username: user.user, password: user.password }), 'login');
  expect((await within(client.uidl(), 'UIDL')).map((entry) => entry.uid)).toEqual(user.messages.map((m) => m.uidl));
  expect((await within(client.retr(2), 'RETR 2')).length).toBeGreaterThan(0);
  await within(client.quit(), 'QUIT');
}

/** A certificate verification failure: ConnectionError with POP3_ERR_TLS, the OpenSSL reason in `cause`. */
function expectCertificateError(error: unknown, reason: string): void {
  expect(error).toBeInstanceOf(ConnectionError);
  expect((error as ConnectionError).code).toBe(ErrorCode.Tls);
  expect(((error as ConnectionError).cause as NodeJS.ErrnoException).code).toBe(reason);
}

describe('TLS with Dovecot', () => {
  it('upgrades with STLS, trusting the test CA, and forgets the plaintext capabilities', async () => {
    const user = await freshUser('tls-stls');
    const client = await sessions.open({ tls: 'starttls', ca: dovecot.ca });
    // Dovecot lists STLS only before TLS; a client that kept the old CAPA would still show it.
    expect(client.capabilities?.stls).toBe(false);
    expect(client.capabilities?.sasl).toContain('SCRAM-SHA-256');
    await expectWorkingSession(client, user);
  });

  it('upgrades by itself when login() must not send credentials in plaintext (requireTls)', async () => {
    const user = await freshUser('tls-require');
    const client = await sessions.open({ ca: dovecot.ca });
    expect(client.secure).toBe(false);
    await within(client.login({ username: user.user, password: user.password, mechanism: 'PLAIN', requireTls: true }), 'login');
    expect(client.secure).toBe(true);
    expect(await within(client.stat(), 'STAT')).toMatchObject({ count: 2 });
  });

  it('talks implicit TLS on the pop3s port, verifying the certificate for 127.0.0.1 and for localhost (SNI)', async () => {
    const user = await freshUser('tls-implicit');
    await expectWorkingSession(await sessions.open({ port: dovecot.tlsPort, tls: 'implicit', ca: dovecot.ca }), user);
    await expectWorkingSession(await sessions.open({ port: dovecot.tlsPort, tls: 'implicit', ca: dovecot.ca, servername: 'localhost' }), user);
  });

  it('fails implicit TLS with POP3_ERR_TLS when the CA is not trusted', async () => {
    const error = await rejectionOf(sessions.open({ port: dovecot.tlsPort, tls: 'implicit' }), 'connect without the CA');
    expectCertificateError(error, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('fails STLS with POP3_ERR_TLS when the CA is not trusted, and the session is over', async () => {
    const client = await sessions.open();
    const error = await rejectionOf(client.startTls(), 'STLS without the CA');
    expectCertificateError(error, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE');
    expect(client.state).toBe('failed');
    expect(await rejectionOf(client.stat(), 'STAT after the failed upgrade')).toBe(error);
  });

  it('fails with POP3_ERR_TLS when the certificate is not valid for the name asked for', async () => {
    const error = await rejectionOf(
      sessions.open({ port: dovecot.tlsPort, tls: 'implicit', ca: dovecot.ca, servername: 'pop.example.org' }),
      'connect with another server name',
    );
    expectCertificateError(error, 'ERR_TLS_CERT_ALTNAME_INVALID');
  });
});
