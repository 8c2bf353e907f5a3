/**
 * The server-side login exchanges (core/server/auth/), checked against what real clients sent to real
 * servers: given the same challenge, nonce and salt as Dovecot, Cyrus or Courier chose, each authenticator
 * must accept the captured client messages and (for SCRAM) produce the captured server messages byte for
 * byte. Plus the RFC test vectors and every way an exchange can fail.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apopTimestamp } from '../../core/apop.js';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.js';
import { apopAuthenticator } from '../../core/server/auth/apop.js';
import type { Authenticator, AuthStep } from '../../core/server/auth/authenticator.js';
import { cramMd5Authenticator } from '../../core/server/auth/cram-md5.js';
import { loginAuthenticator } from '../../core/server/auth/login.js';
import { passwordMatches } from '../../core/server/auth/password.js';
import { plainAuthenticator } from '../../core/server/auth/plain.js';
import { scramSha256Authenticator } from '../../core/server/auth/scram-sha-256.js';
import { userPassAuthenticator } from '../../core/server/auth/user-pass.js';
import { Secret } from '../../core/secret.js';

/** The C: and S: lines of a real-server fixture, without prefix and CRLF. */
function capture(server: string, name: string): { client: string[]; server: string[] } {
  const text = readFileSync(new URL(`../fixtures/real-servers/${server}/${name}`, import.meta.url), 'latin1');
  const lines = text.split('\r\n');
  const side = (prefix: string) => lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(3));
  return { client: side('C: '), server: side('S: ') };
}

const decode = (base64: string): Uint8Array => fromBase64(base64)!;
const challengeOf = (step: AuthStep): string => {
  expect(step.kind).toBe('challenge');
  return fromUtf8((step as Extract<AuthStep, { kind: 'challenge' }>).challenge);
};
const EMPTY = new Uint8Array(0);

/** Run an exchange to the lookup, answer it with `password`, return the step after. */
function throughLookup(auth: Authenticator, first: AuthStep, user: string, password: string | undefined): AuthStep {
  expect(first).toEqual({ kind: 'lookup', user });
  return auth.password(password);
}

describe('SCRAM-SHA-256', () => {
  const scram = (nonce: string, salt: string) => scramSha256Authenticator({ nonce, salt: decode(salt), iterations: 4096 });

  it('reproduces the RFC 7677 section 3 exchange', () => {
    const auth = scram('%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0', 'W22ZaJ0SNY7soEsUEjb6gQ==');
    const serverFirst = throughLookup(auth, auth.start(utf8('n,,n=user,r=rOprNGfwEbeRWgbNEkqO')), 'user', 'pencil');
    expect(challengeOf(serverFirst)).toBe('r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096');
    const final = auth.respond(
      utf8('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='),
    );
    expect(challengeOf(final)).toBe('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=');
    expect(auth.respond(EMPTY)).toEqual({ kind: 'success', user: 'user' });
  });

  it.each(['dovecot', 'cyrus'])('answers the %s capture byte for byte, given its nonce and salt', (server) => {
    const { client, server: replies } = capture(server, 'auth-scram-sha-256.txt');
    const clientFirst = decode(client[0]!.slice('AUTH SCRAM-SHA-256 '.length));
    const serverFirst = fromUtf8(decode(replies[1]!.slice(2)));
    const clientNonce = /n=alice,r=(.*)$/.exec(fromUtf8(clientFirst))![1]!;
    const [, nonce, salt] = /^r=([^,]*),s=([^,]*),i=4096$/.exec(serverFirst)!;
    expect(nonce!.startsWith(clientNonce)).toBe(true);

    const auth = scram(nonce!.slice(clientNonce.length), salt!);
    expect(challengeOf(throughLookup(auth, auth.start(clientFirst), 'alice', 'alice-pw'))).toBe(serverFirst);
    expect(challengeOf(auth.respond(decode(client[1]!)))).toBe(fromUtf8(decode(replies[2]!.slice(2))));
    expect(client[2]).toBe('');
    expect(auth.respond(EMPTY)).toEqual({ kind: 'success', user: 'alice' });
  });

  /** Dovecot's capture, ready to fail at a chosen point. */
  function dovecot() {
    const { client, server: replies } = capture('dovecot', 'auth-scram-sha-256.txt');
    const serverFirst = fromUtf8(decode(replies[1]!.slice(2)));
    const [, nonce, salt] = /^r=([^,]*),s=([^,]*),/.exec(serverFirst)!;
    const auth = scram(nonce!.slice('cG9wM2tpdC1maXh0dXJlLW5vbmNl'.length), salt!);
    return { auth, clientFirst: decode(client[0]!.slice(19)), clientFinal: fromUtf8(decode(client[1]!)) };
  }

  it('refuses the proof of a wrong password, after the same server-first message', () => {
    const { auth, clientFirst, clientFinal } = dovecot();
    expect(throughLookup(auth, auth.start(clientFirst), 'alice', 'not-alice-pw').kind).toBe('challenge');
    expect(auth.respond(utf8(clientFinal))).toEqual({ kind: 'failure', reason: 'wrong password' });
  });

  it('does not tell an unknown user: a server-first message all the same, failure at the proof', () => {
    const { auth, clientFirst, clientFinal } = dovecot();
    const known = dovecot();
    const first = throughLookup(auth, auth.start(clientFirst), 'alice', undefined);
    expect(first).toEqual(throughLookup(known.auth, known.auth.start(known.clientFirst), 'alice', 'alice-pw'));
    expect(auth.respond(utf8(clientFinal))).toEqual({ kind: 'failure', reason: 'unknown user' });
  });

  it.each([
    ['a changed proof', (final: string) => final.replace(/p=.../, 'p=AAA')],
    ['a proof of the wrong length', (final: string) => final.replace(/,p=.*/, ',p=AAAA')],
    ['another nonce', (final: string) => final.replace('r=cG9w', 'r=xG9w')],
    ['other channel-binding data', (final: string) => final.replace('c=biws', 'c=eSws')],
    ['no proof', (final: string) => final.replace(/,p=.*/, '')],
  ])('refuses a client-final message with %s', (_, change) => {
    const { auth, clientFirst, clientFinal } = dovecot();
    throughLookup(auth, auth.start(clientFirst), 'alice', 'alice-pw');
    expect(auth.respond(utf8(change(clientFinal))).kind).toBe('failure');
  });

  it('refuses a non-empty answer to the server signature', () => {
    const { auth, clientFirst, clientFinal } = dovecot();
    throughLookup(auth, auth.start(clientFirst), 'alice', 'alice-pw');
    auth.respond(utf8(clientFinal));
    expect(auth.respond(utf8('x')).kind).toBe('failure');
  });

  it.each([
    ['p=tls-unique,,n=alice,r=abc', 'SCRAM: channel binding is not supported'],
    ['n,,m=ext,n=alice,r=abc', 'SCRAM: mandatory extensions are not supported'],
    ['n,,n=alice', 'SCRAM: malformed client-first message'],
    ['x,,n=alice,r=abc', 'SCRAM: malformed client-first message'],
    ['n,,n=al=2Xice,r=abc', 'SCRAM: malformed user name'],
    ['n,,n=alice,r=a,b', 'SCRAM: malformed client-first message'],
    ['n,,n=alice,r=', 'SCRAM: malformed nonce'],
    ['n,a=bob,n=alice,r=abc', 'SCRAM: acting as another user is not supported'],
  ])('refuses the client-first message %s', (message, reason) => {
    const auth = scram('xyz', 'c2FsdA==');
    expect(auth.start(utf8(message))).toEqual({ kind: 'failure', reason });
  });

  it('accepts an authzid naming the user itself, and unescapes =2C and =3D in names', () => {
    expect(scram('x', 'c2FsdA==').start(utf8('n,a=alice,n=alice,r=abc'))).toEqual({ kind: 'lookup', user: 'alice' });
    expect(scram('x', 'c2FsdA==').start(utf8('y,,n=a=2Cb=3Dc,r=abc'))).toEqual({ kind: 'lookup', user: 'a,b=c' });
  });

  it('asks for the client-first message with an empty challenge when there was no initial response', () => {
    const auth = scram('x', 'c2FsdA==');
    expect(challengeOf(auth.start(undefined))).toBe('');
    expect(auth.respond(utf8('n,,n=alice,r=abc'))).toEqual({ kind: 'lookup', user: 'alice' });
  });

  it('fails steps out of order', () => {
    const auth = scram('x', 'c2FsdA==');
    expect(auth.password('alice-pw').kind).toBe('failure');
    const other = scram('x', 'c2FsdA==');
    other.start(utf8('n,,n=alice,r=abc'));
    expect(other.respond(utf8('c=biws')).kind).toBe('failure');
  });
});

describe('CRAM-MD5', () => {
  it.each(['dovecot', 'cyrus', 'courier'])('accepts the %s capture, given its challenge', (server) => {
    const { client, server: replies } = capture(server, 'auth-cram-md5.txt');
    const auth = cramMd5Authenticator(fromUtf8(decode(replies[1]!.slice(2))));
    expect(client[0]).toBe('AUTH CRAM-MD5');
    expect(toBase64(utf8(challengeOf(auth.start(undefined))))).toBe(replies[1]!.slice(2));
    expect(throughLookup(auth, auth.respond(decode(client[1]!)), 'alice', 'alice-pw')).toEqual({ kind: 'success', user: 'alice' });
  });

  it('refuses a wrong password, an unknown user, an initial response and a malformed answer', () => {
    const { client, server: replies } = capture('dovecot', 'auth-cram-md5.txt');
    const challenge = fromUtf8(decode(replies[1]!.slice(2)));
    const run = (password: string | undefined) => {
      const auth = cramMd5Authenticator(challenge);
      auth.start(undefined);
      return throughLookup(auth, auth.respond(decode(client[1]!)), 'alice', password);
    };
    expect(run('wrong')).toEqual({ kind: 'failure', reason: 'wrong digest' });
    expect(run(undefined)).toEqual({ kind: 'failure', reason: 'unknown user' });
    expect(cramMd5Authenticator(challenge).start(utf8('alice')).kind).toBe('failure');
    for (const answer of ['alice', 'alice 123', 'alice zz4fa703c797040160dfa620a2209be', ' ']) {
      const auth = cramMd5Authenticator(challenge);
      auth.start(undefined);
      expect(auth.respond(utf8(answer)).kind, answer).toBe('failure');
    }
  });

  it('takes the user name up to the last space (names may contain spaces)', () => {
    const auth = cramMd5Authenticator('<1@x>');
    auth.start(undefined);
    expect(auth.respond(utf8('john smith 0123456789abcdef0123456789ABCDEF'))).toEqual({ kind: 'lookup', user: 'john smith' });
  });
});

describe('APOP', () => {
  it.each(['dovecot', 'cyrus', 'mailutils'])('accepts the %s capture, given its greeting', (server) => {
    const { client, server: replies } = capture(server, 'apop.txt');
    const [, user, digest] = client[0]!.split(' ');
    const auth = apopAuthenticator(apopTimestamp(replies[0]!)!, user!, digest!);
    expect(throughLookup(auth, auth.start(undefined), 'alice', 'alice-pw')).toEqual({ kind: 'success', user: 'alice' });
  });

  it('accepts the RFC 1939 example in upper case, refuses a wrong password', () => {
    const timestamp = '<1896.697170952@dbc.mtview.ca.us>';
    const good = apopAuthenticator(timestamp, 'mrose', 'C4C9334BAC560ECC979E58001B3E22FB');
    expect(throughLookup(good, good.start(undefined), 'mrose', 'tanstaaf').kind).toBe('success');
    const bad = apopAuthenticator(timestamp, 'mrose', 'c4c9334bac560ecc979e58001b3e22fb');
    expect(throughLookup(bad, bad.start(undefined), 'mrose', 'tanstaafl')).toEqual({ kind: 'failure', reason: 'wrong digest' });
  });
});

describe('PLAIN', () => {
  it.each(['dovecot', 'cyrus', 'courier'])('accepts the %s capture', (server) => {
    const { client } = capture(server, 'auth-plain.txt');
    const auth = plainAuthenticator();
    const initial = decode(client[0]!.slice('AUTH PLAIN '.length));
    expect(throughLookup(auth, auth.start(initial), 'alice', 'alice-pw')).toEqual({ kind: 'success', user: 'alice' });
  });

  it.each([
    ['alice\0alice-pw', 'PLAIN: malformed message'],
    ['\0alice\0pw\0', 'PLAIN: malformed message'],
    ['\0\0alice-pw', 'PLAIN: empty user name'],
    ['bob\0alice\0alice-pw', 'PLAIN: acting as another user is not supported'],
  ])('refuses %j', (message, reason) => {
    expect(plainAuthenticator().start(utf8(message))).toEqual({ kind: 'failure', reason });
  });

  it('refuses invalid UTF-8, a wrong password and a second message', () => {
    expect(plainAuthenticator().start(Uint8Array.of(0, 0xff, 0, 0x41)).kind).toBe('failure');
    const auth = plainAuthenticator();
    expect(throughLookup(auth, auth.start(utf8('\0alice\0nope')), 'alice', 'alice-pw')).toEqual({ kind: 'failure', reason: 'wrong password' });
    const twice = plainAuthenticator();
    twice.start(utf8('\0alice\0alice-pw'));
    expect(twice.respond(utf8('\0alice\0alice-pw')).kind).toBe('failure');
  });
});

describe('LOGIN', () => {
  it('prompts for the user name and the password, or starts at the password after an initial response', () => {
    const auth = loginAuthenticator();
    expect(challengeOf(auth.start(undefined))).toBe('Username:');
    expect(challengeOf(auth.respond(utf8('alice')))).toBe('Password:');
    expect(throughLookup(auth, auth.respond(utf8('alice-pw')), 'alice', 'alice-pw')).toEqual({ kind: 'success', user: 'alice' });
    const quick = loginAuthenticator();
    expect(challengeOf(quick.start(utf8('alice')))).toBe('Password:');
    expect(throughLookup(quick, quick.respond(utf8('x')), 'alice', 'alice-pw')).toEqual({ kind: 'failure', reason: 'wrong password' });
  });

  it('refuses an empty user name and an unexpected answer', () => {
    expect(loginAuthenticator().start(EMPTY).kind).toBe('failure');
    const auth = loginAuthenticator();
    auth.start(utf8('alice'));
    auth.respond(utf8('pw'));
    expect(auth.respond(utf8('more')).kind).toBe('failure');
  });
});

describe('USER/PASS and password comparison', () => {
  it('compares SASLprep-ed passwords (RFC 4013)', () => {
    expect(passwordMatches('I\u00adX', 'IX')).toBe(true); // soft hyphen maps to nothing
    expect(passwordMatches('\u2168', 'IX')).toBe(true); // NFKC: the Roman numeral nine
    expect(passwordMatches('a\u00a0b', 'a b')).toBe(true); // non-ASCII space
    expect(passwordMatches('IX', 'Ix')).toBe(false);
    expect(passwordMatches('a\u0007b', 'a\u0007b')).toBe(false); // a prohibited given password never matches
    expect(passwordMatches('', '')).toBe(true);
  });

  it('looks the user up once and says why it failed', () => {
    const good = userPassAuthenticator('alice', new Secret('alice-pw'));
    expect(throughLookup(good, good.start(undefined), 'alice', 'alice-pw')).toEqual({ kind: 'success', user: 'alice' });
    expect(good.password('alice-pw').kind).toBe('failure');
    const unknown = userPassAuthenticator('nobody', new Secret('x'));
    expect(throughLookup(unknown, unknown.start(undefined), 'nobody', undefined)).toEqual({ kind: 'failure', reason: 'unknown user' });
    expect(unknown.respond(EMPTY).kind).toBe('failure');
  });
});
