/**
 * Logging in to a real Dovecot with Pop3Client over the Node transport: every method Dovecot offers, the
 * automatic choice, and the refusals a real server gives ([AUTH] for wrong credentials, [IN-USE] for a
 * mailbox another session holds). Each test has its own user and mailbox.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { ErrorCode, Pop3Error, ServerError } from '../../core/index.js';
import { createUser, type TestUser } from '../support/dovecot.js';
import { rejectionOf, Sessions, within } from '../support/interop.js';
import { numberedMessages } from '../support/mail-generator.js';

const dovecot = inject('dovecot');
const sessions = new Sessions(dovecot);
afterEach(() => sessions.closeAll());

const SASL = ['PLAIN', 'LOGIN', 'CRAM-MD5', 'SCRAM-SHA-256'];
const EVERY_METHOD = ['USER', 'APOP', ...SASL];

const freshUser = (label: string): Promise<TestUser> => createUser(dovecot, label, numberedMessages(3));

/** Logged in for real: the session is in TRANSACTION and sees the user's own mailbox. */
async function expectLoggedIn(client: Awaited<ReturnType<Sessions['open']>>, user: TestUser): Promise<void> {
  expect(client.state).toBe('transaction');
  expect(await within(client.stat(), 'STAT')).toEqual({ count: 3, size: expect.any(Number) });
  expect((await within(client.uidl(), 'UIDL')).map((entry) => entry.uid)).toEqual(user.messages.map((m) => m.uidl));
  await within(client.quit(), 'QUIT');
  expect(client.state).toBe('closed');
}

describe('login to Dovecot', () => {
  it('finds what Dovecot offers: an APOP timestamp in the greeting, USER, STLS and four SASL mechanisms', async () => {
    const client = await sessions.open();
    expect(client.greeting?.timestamp).toMatch(/^<[^<>@]+@[^<>]+>$/);
    expect(client.capabilities).toMatchObject({ user: true, stls: true, pipelining: true, sasl: SASL });
  });

  it.each(EVERY_METHOD)('logs in with %s', async (mechanism) => {
    const user = await freshUser(`login-${mechanism}`);
    const client = await sessions.open();
    expect(await within(client.login({ username: user.user, password: user.password, mechanism }), 'login')).toEqual({ mechanism });
    await expectLoggedIn(client, user);
  });

  it.each(SASL)('logs in with %s waiting for the first challenge (no initial response)', async (mechanism) => {
    const user = await freshUser(`login-noir-${mechanism}`);
    const client = await sessions.open();
    await within(client.login({ username: user.user, password: user.password, mechanism, initialResponse: false }), 'login');
    await expectLoggedIn(client, user);
  });

  it.each(EVERY_METHOD)('logs in with %s when the password has spaces, symbols and UTF-8', async (mechanism) => {
    const user = await createUser(dovecot, `login-utf8-${mechanism}`, numberedMessages(3), { password: 'pä$$ wörd "✓" \\ end' });
    const client = await sessions.open();
    await within(client.login({ username: user.user, password: user.password, mechanism }), 'login');
    await expectLoggedIn(client, user);
  });

  it.each([
    ['plain TCP', {}],
    ['implicit TLS', { port: dovecot.tlsPort, tls: 'implicit', ca: dovecot.ca }],
  ] as const)("chooses SCRAM-SHA-256 with 'auto' over %s", async (_, options) => {
    const user = await freshUser('login-auto');
    const client = await sessions.open(options);
    expect(await within(client.login({ username: user.user, password: user.password }), 'login')).toEqual({ mechanism: 'SCRAM-SHA-256' });
    await expectLoggedIn(client, user);
  });

  it.each(EVERY_METHOD)('gets -ERR [AUTH] for a wrong password with %s, and may then log in on the same session', async (mechanism) => {
    const user = await freshUser(`login-wrong-${mechanism}`);
    const client = await sessions.open();
    const error = await rejectionOf(client.login({ username: user.user, password: 'not-the-password', mechanism }), 'login with a wrong password');
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).responseCode).toBe('AUTH');
    expect((error as ServerError).authFailed).toBe(true);
    expect(client.state).toBe('authorization');
    await within(client.login({ username: user.user, password: user.password, mechanism }), 'login after the failure');
    await expectLoggedIn(client, user);
  });

  it('gets -ERR [AUTH] for a user that does not exist', async () => {
    const client = await sessions.open();
    const error = await rejectionOf(client.login({ username: 'nobody-by-that-name', password: 'x', mechanism: 'USER' }), 'login');
    expect(error).toMatchObject({ responseCode: 'AUTH', authFailed: true });
  });

  it('gets -ERR [IN-USE] while another session holds the mailbox, and logs in once it is released', async () => {
    const user = await freshUser('login-in-use');
    const first = await sessions.loggedIn(user);
    const second = await sessions.open();
    // Dovecot waits 10 s (fixed) for the session lock before it answers [IN-USE].
    const login = second.login({ username: user.user, password: user.password, mechanism: 'USER' });
    const error = await rejectionOf(login, 'second login', 15_000);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).inUse).toBe(true);
    // Dovecot closes the connection after [IN-USE]: the second session is over, with a typed error. Which one
    // is a race: the end of stream if it arrives first, a reset if CAPA is written to the closed socket first.
    const closed = await rejectionOf(second.capa(), 'CAPA after [IN-USE]');
    expect(closed).toBeInstanceOf(Pop3Error);
    expect([ErrorCode.UnexpectedEnd, ErrorCode.Connection]).toContain((closed as Pop3Error).code);
    expect(second.state).toBe('failed');
    await within(first.quit(), 'QUIT of the first session');
    await expectLoggedIn(await sessions.loggedIn(user), user);
  });
});
