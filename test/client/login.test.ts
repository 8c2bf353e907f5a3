/**
 * Logging in: which method `auto` picks, the method asked for, a full SCRAM-SHA-256 exchange, and TLS:
 * requireTls never sends credentials in plaintext, upgrades with STLS when it can, and the STARTTLS
 * injection class fails the session.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { apopDigest } from '../../core/apop.js';
import type { Capabilities } from '../../core/capabilities.js';
import { parseCapabilities } from '../../core/capabilities.js';
import type { Greeting } from '../../core/client-engine.js';
import { chooseLogin } from '../../core/client/login.js';
import { memoryTransportPair } from '../../core/client/memory-transport.js';
import { Pop3Client } from '../../core/client/pop3-client.js';
import type { Transport } from '../../core/client/transport.js';
import { ErrorCode, ServerError } from '../../core/errors.js';
import { plain } from '../../core/sasl/plain.js';
import { capaReply, FakeServer, GREETING, scripted } from '../support/fake-server.js';

const caps = (...lines: string[]): Capabilities => parseCapabilities(lines, 'authorization');
const greeting = (timestamp?: string): Greeting => ({ ok: true, text: 'ready', code: undefined, timestamp });
const password = { username: 'alice', password: 'secret' };

describe('chooseLogin', () => {
  const choose = (capabilities: Capabilities | undefined, options: { secure?: boolean; timestamp?: string; accessToken?: string; password?: string } = {}) =>
    chooseLogin('auto', { username: 'alice', password: options.password, accessToken: options.accessToken }, {
      capabilities,
      greeting: greeting(options.timestamp),
      secure: options.secure ?? false,
    }).name;

  it('prefers SCRAM-SHA-256, then CRAM-MD5, whatever the order offered', () => {
    expect(choose(caps('SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256', 'USER'), { password: 'pw', timestamp: '<1@x>' })).toBe('SCRAM-SHA-256');
    expect(choose(caps('SASL PLAIN CRAM-MD5', 'USER'), { password: 'pw', timestamp: '<1@x>' })).toBe('CRAM-MD5');
  });

  it('without TLS prefers APOP to methods that send the password', () => {
    expect(choose(caps('SASL PLAIN LOGIN', 'USER'), { password: 'pw', timestamp: '<1@x>' })).toBe('APOP');
    expect(choose(caps('USER'), { password: 'pw', timestamp: '<1@x>' })).toBe('APOP');
  });

  it('under TLS prefers PLAIN, then USER, to APOP', () => {
    expect(choose(caps('SASL PLAIN LOGIN', 'USER'), { password: 'pw', timestamp: '<1@x>', secure: true })).toBe('PLAIN');
    expect(choose(caps('USER'), { password: 'pw', timestamp: '<1@x>', secure: true })).toBe('USER');
    expect(choose(caps('TOP'), { password: 'pw', timestamp: '<1@x>', secure: true })).toBe('APOP');
  });

  it('uses USER/PASS when CAPA lists USER or there is no CAPA', () => {
    expect(choose(caps('USER'), { password: 'pw' })).toBe('USER');
    expect(choose(undefined, { password: 'pw' })).toBe('USER');
  });

  it('uses a token with OAUTHBEARER, then XOAUTH2', () => {
    expect(choose(caps('SASL PLAIN XOAUTH2 OAUTHBEARER'), { accessToken: 't', password: 'pw' })).toBe('OAUTHBEARER');
    expect(choose(caps('SASL PLAIN XOAUTH2'), { accessToken: 't' })).toBe('XOAUTH2');
  });

  it('fails when nothing suits, naming what is offered', () => {
    expect(() => choose(caps('SASL GSSAPI'), { password: 'pw' })).toThrow(/offered: SASL GSSAPI/);
    expect(() => choose(caps('SASL PLAIN', 'USER'), { accessToken: 't' })).toThrow(expect.objectContaining({ code: ErrorCode.NotSupported }));
  });

  it('takes the method asked for', () => {
    const server = { capabilities: caps('SASL SCRAM-SHA-256'), greeting: greeting('<1@x>'), secure: false };
    expect(chooseLogin('APOP', password, server).kind).toBe('APOP');
    expect(chooseLogin('USER', password, server).kind).toBe('USER');
    expect(chooseLogin('plain', password, server).name).toBe('PLAIN');
    const mechanism = plain(password);
    expect(chooseLogin(mechanism, password, server)).toEqual({ kind: 'SASL', name: 'PLAIN', mechanism });
    expect(() => chooseLogin('USER', { username: 'alice', accessToken: 't' }, server)).toThrow(/needs a password/);
    expect(() => chooseLogin('XOAUTH2', password, server)).toThrow(/cannot log in with XOAUTH2/);
  });
});

describe('login', () => {
  it('auto: a full SCRAM-SHA-256 exchange, then CAPA again', async () => {
    const { client, server } = await scripted({ capa: ['SASL PLAIN SCRAM-SHA-256', 'USER', 'PIPELINING'] });
    const login = client.login({ username: 'alice', password: 'pencil' });
    await scramServer(server, 'alice', 'pencil');
    await server.expect('CAPA');
    void server.send(capaReply(['TOP', 'UIDL', 'PIPELINING']));
    expect(await login).toEqual({ mechanism: 'SCRAM-SHA-256' });
    expect(client.state).toBe('transaction');
    expect(client.capabilities?.state).toBe('transaction');
  });

  it('APOP when asked', async () => {
    const { client, server } = await scripted();
    const login = client.login({ username: 'alice', password: 'tanstaaf', mechanism: 'APOP' });
    await server.expect(`APOP alice ${apopDigest('<1896.697170952@fake.example>', 'tanstaaf')}`);
    void server.send('+OK maildrop has 1 message\r\n');
    await server.expect('CAPA');
    void server.send('-ERR\r\n');
    expect(await login).toEqual({ mechanism: 'APOP' });
  });

  it('a refused login is a ServerError with its code, and another attempt is possible', async () => {
    const { client, server } = await scripted();
    const first = client.login({ username: 'alice', password: 'wrong', mechanism: 'USER' });
    await server.expect('USER alice');
    await server.expect('PASS wrong');
    void server.send('+OK\r\n-ERR [AUTH] invalid password\r\n');
    const error = await first.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).authFailed).toBe(true);
    expect((error as ServerError).message).not.toContain('wrong');
    expect(client.state).toBe('authorization');

    const second = client.login({ username: 'alice', password: 'right', mechanism: 'USER' });
    await server.expect('USER alice');
    await server.expect('PASS right');
    void server.send('+OK\r\n-ERR [IN-USE] mailbox locked\r\n');
    expect(await second.catch((e: ServerError) => e.inUse)).toBe(true);
  });

  it('a refused USER is the error reported; the PASS behind it is cancelled', async () => {
    const { client, server } = await scripted({ capa: ['USER'] }); // no pipelining: PASS waits for USER
    const login = client.login({ username: 'nobody', password: 'x', mechanism: 'USER' });
    await server.expect('USER nobody');
    void server.send('-ERR [AUTH] no such user\r\n');
    await expect(login).rejects.toMatchObject({ command: 'USER nobody', responseCode: 'AUTH' });
    expect(server.received).not.toContain('PASS x');
  });

  it('[LOGIN-DELAY] and [SYS/TEMP] are there to branch on', async () => {
    const { client, server } = await scripted();
    const login = client.login({ username: 'alice', password: 'pw', mechanism: 'PLAIN' });
    await server.expect(/^AUTH PLAIN /);
    void server.send('-ERR [LOGIN-DELAY] wait 5 minutes\r\n');
    expect(await login.catch((e: ServerError) => e.loginDelay)).toBe(true);
    const again = client.login({ username: 'alice', password: 'pw', mechanism: 'PLAIN' });
    await server.expect(/^AUTH PLAIN /);
    void server.send('-ERR [SYS/TEMP] backend down\r\n');
    expect(await again.catch((e: ServerError) => e.temporary)).toBe(true);
  });
});

describe('requireTls', () => {
  it('refuses plaintext credentials when STLS is not offered, sending nothing', async () => {
    const { client, server } = await remoteSession({ capa: ['USER', 'SASL PLAIN'], startTls: true });
    const error = await client.login({ username: 'alice', password: 'secret' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.TlsRequired, message: expect.stringMatching(/does not offer STLS/) });
    expect(server.received).toEqual(['CAPA']);
    expect(client.state).toBe('authorization');
  });

  it('refuses when the transport cannot start TLS', async () => {
    const { client, server } = await remoteSession({ capa: ['USER', 'STLS'], startTls: false });
    await expect(client.login({ username: 'alice', password: 'secret' })).rejects.toMatchObject({ code: ErrorCode.TlsRequired });
    expect(server.received).toEqual(['CAPA']);
  });

  it('also applies on a loopback transport when asked', async () => {
    const { client, server } = await scripted({ capa: ['USER'] });
    await expect(client.login({ username: 'alice', password: 'secret', requireTls: true })).rejects.toMatchObject({ code: ErrorCode.TlsRequired });
    expect(server.received).toEqual(['CAPA']);
  });

  it('upgrades with STLS when offered, fetches CAPA again over TLS, then logs in', async () => {
    const { client, server, transport } = await remoteSession({ capa: ['USER', 'STLS', 'PIPELINING'], startTls: true });
    const login = client.login({ username: 'alice', password: 'secret' });
    await server.expect('STLS');
    void server.send('+OK begin TLS\r\n');
    await server.expect('CAPA');
    expect(transport.secure).toBe(true);
    void server.send(capaReply(['USER', 'SASL PLAIN', 'PIPELINING']));
    await server.expect(/^AUTH PLAIN /);
    void server.send('+OK\r\n');
    await server.expect('CAPA');
    void server.send(capaReply(['TOP', 'UIDL']));
    expect(await login).toEqual({ mechanism: 'PLAIN' });
    expect(client.secure).toBe(true);
  });

  it('plaintext login is allowed when requireTls is false', async () => {
    const { client, server } = await remoteSession({ capa: ['USER'], startTls: false });
    const login = client.login({ username: 'alice', password: 'secret', requireTls: false, mechanism: 'USER' });
    await server.expect('USER alice');
    void server.send('+OK\r\n');
    await server.expect('PASS secret');
    void server.send('+OK\r\n');
    await server.expect('CAPA');
    void server.send('-ERR\r\n');
    await login;
  });
});

describe('STLS', () => {
  it('startTls() refuses, sending nothing, when STLS is not offered', async () => {
    const { client, server } = await remoteSession({ capa: ['USER'], startTls: true });
    await expect(client.startTls()).rejects.toMatchObject({ code: ErrorCode.NotSupported });
    expect(server.received).toEqual(['CAPA']);
  });

  it('a refused STLS is a ServerError; the session stays in plaintext', async () => {
    const { client, server } = await remoteSession({ capa: ['STLS'], startTls: true });
    const upgrade = client.startTls();
    await server.expect('STLS');
    void server.send('-ERR [SYS/TEMP] TLS not available now\r\n');
    await expect(upgrade).rejects.toBeInstanceOf(ServerError);
    expect(client.secure).toBe(false);
    // login() tries STLS again, and a second refusal fails it: credentials never go out in plaintext.
    const login = client.login({ username: 'alice', password: 'x' });
    await server.expect('STLS');
    void server.send('-ERR still no TLS\r\n');
    await expect(login).rejects.toBeInstanceOf(ServerError);
    expect(server.received).toEqual(['CAPA', 'STLS', 'STLS']);
  });

  it('injection in the same chunk as the +OK fails the session with POP3_ERR_TLS_INJECTION', async () => {
    const { client, server } = await remoteSession({ capa: ['STLS', 'USER'], startTls: true });
    const login = client.login({ username: 'alice', password: 'secret' });
    await server.expect('STLS');
    void server.send('+OK begin TLS\r\n-ERR injected\r\n');
    await expect(login).rejects.toMatchObject({ code: ErrorCode.TlsInjection });
    expect(client.state).toBe('failed');
    expect(await server.next()).toBeUndefined();
    expect(server.received).toEqual(['CAPA', 'STLS']);
  });

  it('injection in a later chunk, unread when the upgrade starts, fails it the same way', async () => {
    const { client, server, transport } = await remoteSession({ capa: ['STLS', 'USER'], startTls: true });
    const login = client.login({ username: 'alice', password: 'secret' });
    await server.expect('STLS');
    void server.send('+OK begin TLS\r\n');
    void server.send('+OK injected CAPA\r\n.\r\n');
    await expect(login).rejects.toMatchObject({ code: ErrorCode.TlsInjection });
    expect(transport.secure).toBe(false);
    expect(server.received).toEqual(['CAPA', 'STLS']);
  });
});

/** A client on a transport that says it is not local (as a remote TCP server would be). */
async function remoteSession(options: { capa: readonly string[]; startTls: boolean }) {
  const pair = memoryTransportPair({ startTls: options.startTls });
  const inner = pair.client;
  const transport: Transport = {
    read: () => inner.read(),
    write: (bytes) => inner.write(bytes),
    close: () => inner.close(),
    ...(inner.startTls === undefined ? {} : { startTls: () => inner.startTls!() }),
    get secure() {
      return inner.secure;
    },
    local: false,
  };
  const server = new FakeServer(pair.server);
  const client = new Pop3Client(transport);
  void server.send(GREETING);
  const connected = client.connect();
  await server.expect('CAPA');
  void server.send(capaReply(options.capa));
  await connected;
  return { client, server, transport };
}

/** The server side of SCRAM-SHA-256 (RFC 5802), enough to check the client's proof and prove itself. */
async function scramServer(server: FakeServer, username: string, secret: string): Promise<void> {
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
  const unb64 = (text: string) => Buffer.from(text, 'base64').toString('utf8');
  const first = unb64((await server.expect(/^AUTH SCRAM-SHA-256 /)).slice('AUTH SCRAM-SHA-256 '.length));
  const [gs2, clientFirstBare] = [first.slice(0, 3), first.slice(3)];
  expect(gs2).toBe('n,,');
  expect(clientFirstBare).toMatch(new RegExp(`^n=${username},r=`));
  const nonce = `${clientFirstBare.split('r=')[1]}server-nonce`;
  const salt = new TextEncoder().encode('salty');
  const serverFirst = `r=${nonce},s=${b64(salt)},i=4096`;
  void server.send(`+ ${b64(new TextEncoder().encode(serverFirst))}\r\n`);
  const clientFinal = unb64(await server.expect(/^[A-Za-z0-9+/=]+$/));
  const withoutProof = clientFinal.slice(0, clientFinal.indexOf(',p='));
  expect(withoutProof).toBe(`c=biws,r=${nonce}`);
  const authMessage = new TextEncoder().encode(`${clientFirstBare},${serverFirst},${withoutProof}`);
  const salted = pbkdf2(sha256, new TextEncoder().encode(secret), salt, { c: 4096, dkLen: 32 });
  const clientKey = hmac(sha256, salted, new TextEncoder().encode('Client Key'));
  const signature = hmac(sha256, sha256(clientKey), authMessage);
  expect(clientFinal.slice(clientFinal.indexOf(',p=') + 3)).toBe(b64(clientKey.map((byte, i) => byte ^ signature[i]!)));
  const serverSignature = hmac(sha256, hmac(sha256, salted, new TextEncoder().encode('Server Key')), authMessage);
  void server.send(`+ ${b64(new TextEncoder().encode(`v=${b64(serverSignature)}`))}\r\n`);
  await server.expect('');
  void server.send('+OK logged in\r\n');
}
