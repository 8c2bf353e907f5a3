/**
 * login() with a token the server refuses: the ServerError it rejects with carries the server's OAuth JSON
 * error (`oauth`), so the caller can refresh the token and log in again on the same connection.
 */
import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../core/bytes.js';
import { ServerError } from '../../core/errors.js';
import type { OAuthError } from '../../core/index.js';
import { capaReply, scripted } from '../support/fake-server.js';

const EXPIRED = 'ya29.expired-access-token';
const FRESH = 'ya29.fresh-access-token';
const XOAUTH2_JSON = '{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}';
const OAUTHBEARER_JSON = '{"status":"invalid_token","scope":"mail","openid-configuration":"https://example.com/.well-known/openid-configuration"}';

function b64(text: string): string {
  return toBase64(utf8(text));
}

/** The XOAUTH2 message for `token`, base64, as it goes on the wire. */
function xoauth2Message(token: string): string {
  return b64(`user=alice@example.com\x01auth=Bearer ${token}\x01\x01`);
}

describe('login with a refused token', () => {
  it('XOAUTH2: rejects with a ServerError whose oauth.status is "401"; a fresh token then logs in', async () => {
    const { client, server } = await scripted({ capa: ['SASL XOAUTH2', 'RESP-CODES', 'AUTH-RESP-CODE'] });
    const first = client.login({ username: 'alice@example.com', accessToken: EXPIRED, mechanism: 'XOAUTH2' });
    await server.expect(`AUTH XOAUTH2 ${xoauth2Message(EXPIRED)}`);
    void server.send(`+ ${b64(XOAUTH2_JSON)}\r\n`);
    await server.expect(''); // XOAUTH2 answers the error with an empty response
    void server.send('-ERR [AUTH] Invalid credentials (Failure)\r\n');
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    const refused = error as ServerError;
    expect(refused.authFailed).toBe(true);
    expect(refused.oauth?.status).toBe('401');
    expect(refused.oauth).toEqual<OAuthError>({ status: '401', schemes: 'Bearer', scope: 'https://mail.google.com/', raw: XOAUTH2_JSON });
    for (const shown of [refused.message, String(refused), JSON.stringify(refused)]) {
      expect(shown).not.toContain(EXPIRED);
      expect(shown).not.toContain(xoauth2Message(EXPIRED));
    }
    expect(client.state).toBe('authorization');

    // What the field is for: refresh the token and try again.
    const second = client.login({ username: 'alice@example.com', accessToken: FRESH, mechanism: 'XOAUTH2' });
    await server.expect(`AUTH XOAUTH2 ${xoauth2Message(FRESH)}`);
    void server.send('+OK welcome\r\n');
    await server.expect('CAPA');
    void server.send(capaReply(['TOP', 'UIDL']));
    expect(await second).toEqual({ mechanism: 'XOAUTH2' });
    expect(client.state).toBe('transaction');
  });

  it('XOAUTH2 in the two-step form (initialResponse: false) carries it too', async () => {
    const { client, server } = await scripted({ capa: ['SASL XOAUTH2'] });
    const login = client.login({ username: 'alice@example.com', accessToken: EXPIRED, mechanism: 'XOAUTH2', initialResponse: false });
    await server.expect('AUTH XOAUTH2');
    void server.send('+ \r\n');
    await server.expect(xoauth2Message(EXPIRED));
    void server.send(`+ ${b64(XOAUTH2_JSON)}\r\n`);
    await server.expect('');
    void server.send('-ERR [AUTH] AUTHENTICATE failed.\r\n');
    await expect(login).rejects.toMatchObject({ responseCode: 'AUTH', oauth: { status: '401', scope: 'https://mail.google.com/' } });
  });

  it('OAUTHBEARER chosen by auto: rejects with oauth.status "invalid_token"', async () => {
    const { client, server } = await scripted({ capa: ['SASL PLAIN OAUTHBEARER', 'USER'] });
    const login = client.login({ username: 'alice@example.com', accessToken: EXPIRED });
    await server.expect(/^AUTH OAUTHBEARER \S+$/);
    void server.send(`+ ${b64(OAUTHBEARER_JSON)}\r\n`);
    await server.expect('AQ=='); // a single 0x01 (RFC 7628 section 3.2.3)
    void server.send('-ERR [AUTH] token rejected\r\n');
    const error = (await login.catch((e: unknown) => e)) as ServerError;
    expect(error).toBeInstanceOf(ServerError);
    expect(error.oauth).toMatchObject({ status: 'invalid_token', scope: 'mail', openidConfiguration: 'https://example.com/.well-known/openid-configuration' });
    expect(error.message).not.toContain(EXPIRED);
  });

  it('a refusal without a JSON error, or of a password login, has no oauth', async () => {
    const { client, server } = await scripted({ capa: ['SASL XOAUTH2', 'USER'] });
    const token = client.login({ username: 'alice@example.com', accessToken: EXPIRED, mechanism: 'XOAUTH2' });
    await server.expect(/^AUTH XOAUTH2 /);
    void server.send('-ERR [SYS/TEMP] backend down\r\n');
    const error = (await token.catch((e: unknown) => e)) as ServerError;
    expect(error).toBeInstanceOf(ServerError);
    expect(error.temporary).toBe(true);
    expect(error.oauth).toBeUndefined();

    const password = client.login({ username: 'alice', password: 'wrong', mechanism: 'USER' });
    await server.expect('USER alice');
    void server.send('+OK\r\n');
    await server.expect('PASS wrong');
    void server.send('-ERR [AUTH] invalid password\r\n');
    await expect(password).rejects.toMatchObject({ responseCode: 'AUTH', oauth: undefined });
  });
});
