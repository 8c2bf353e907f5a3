/**
 * The SASL exchange of AUTH (RFC 5034) as the engine runs it: initial responses and the 255-octet line,
 * challenges answered by the mechanism, cancelling with `*`, and a server that must prove itself (SCRAM).
 */
import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../core/bytes.js';
import type { Pop3Event } from '../../core/client-engine.js';
import { ErrorCode, LocalProtocolError, RemoteProtocolError, SaslError, ServerError } from '../../core/errors.js';
import { oauthbearer, plain, type SaslMechanism, scramSha256, xoauth2 } from '../../core/sasl/index.js';
import { drain, greeted, serve, written } from '../support/engine.js';

const decoder = new TextDecoder();

function b64(text: string): string {
  return toBase64(utf8(text));
}

/** A mechanism with a fixed initial response and scripted answers; records the challenges it saw. */
function scripted(name: string, initial: Uint8Array | undefined, answers: (Uint8Array | Error)[] = []): SaslMechanism & { seen: string[] } {
  const seen: string[] = [];
  return {
    name,
    seen,
    initialResponse: () => initial,
    respond(challenge) {
      seen.push(decoder.decode(challenge));
      const answer = answers.shift();
      if (answer === undefined) throw new SaslError(`${name}: no answer left`);
      if (answer instanceof Error) throw answer;
      return answer;
    },
    complete() {},
  };
}

// RFC 7677 section 3.
const SCRAM = {
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  clientFirst: 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

function scram(): SaslMechanism {
  return scramSha256({ username: 'user', password: 'pencil', nonce: SCRAM.nonce });
}

describe('the initial response and the 255-octet command line', () => {
  it('an XOAUTH2 initial response with a 2 KB token goes after an empty challenge instead of on the AUTH line', () => {
    const engine = greeted();
    const token = 'T'.repeat(2048);
    const auth = engine.auth(xoauth2({ username: 'someone@example.com', accessToken: token }));
    expect(auth.command).toBe('AUTH XOAUTH2');
    expect(written(engine)).toBe('AUTH XOAUTH2\r\n');
    serve(engine, '+ \r\n');
    const payload = b64(`user=someone@example.com\x01auth=Bearer ${token}\x01\x01`);
    expect(payload.length).toBeGreaterThan(2048);
    expect(written(engine)).toBe(`${payload}\r\n`);
    serve(engine, '+OK Welcome\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['challenge', 'done']);
    expect((events[0] as Extract<Pop3Event, { type: 'challenge' }>).challenge.reveal()).toEqual(new Uint8Array(0));
    expect(engine.state).toBe('transaction');
  });

  it('an AUTH line of exactly 255 octets carries its initial response; one that would be 256+ does not', () => {
    // "AUTH XYZ " (9) + base64 + CRLF (2): 183 bytes encode to 244 characters, 255 in all; 184 bytes to 248.
    const fits = greeted();
    fits.auth(scripted('XYZ', new Uint8Array(183).fill(0x61)));
    const line = written(fits)!;
    expect(line).toHaveLength(255);
    expect(line.startsWith('AUTH XYZ YWFh')).toBe(true);

    const over = greeted();
    over.auth(scripted('XYZ', new Uint8Array(184).fill(0x61)));
    expect(written(over)).toBe('AUTH XYZ\r\n');
    serve(over, '+ \r\n');
    expect(written(over)).toBe(`${toBase64(new Uint8Array(184).fill(0x61))}\r\n`);
  });

  it('follows a lower maxCommandLine too', () => {
    const engine = greeted({ limits: { maxCommandLine: 32 } });
    engine.auth(plain({ username: 'alice', password: 'a-longer-password' }));
    expect(written(engine)).toBe('AUTH PLAIN\r\n');
  });

  it('`initialResponse: false` always waits for the empty challenge (the two-step form)', () => {
    const engine = greeted();
    engine.auth(xoauth2({ username: 'u@example.com', accessToken: 'tok' }), { initialResponse: false });
    expect(written(engine)).toBe('AUTH XOAUTH2\r\n');
    serve(engine, '+ \r\n');
    expect(written(engine)).toBe(`${b64('user=u@example.com\x01auth=Bearer tok\x01\x01')}\r\n`);
  });

  it('an empty initial response is sent as "="', () => {
    const engine = greeted();
    engine.auth(scripted('EXTERNAL', new Uint8Array(0)));
    expect(written(engine)).toBe('AUTH EXTERNAL =\r\n');
    serve(engine, '+OK\r\n');
    expect(engine.state).toBe('transaction');
  });

  it('an empty response to a challenge is an empty line, not "="', () => {
    const engine = greeted();
    const mechanism = scripted('X-TEST', undefined, [new Uint8Array(0)]);
    engine.auth(mechanism);
    expect(written(engine)).toBe('AUTH X-TEST\r\n');
    serve(engine, `+ ${b64('hello')}\r\n`);
    expect(mechanism.seen).toEqual(['hello']);
    expect(written(engine)).toBe('\r\n');
  });

  it('a mechanism without an initial response gets the first challenge', () => {
    const engine = greeted();
    const mechanism = scripted('X-TEST', undefined, [utf8('one'), utf8('two')]);
    engine.auth(mechanism);
    serve(engine, `+ ${b64('first')}\r\n+ ${b64('second')}\r\n`);
    expect(written(engine)).toBe(`AUTH X-TEST\r\n${b64('one')}\r\n${b64('two')}\r\n`);
    expect(mechanism.seen).toEqual(['first', 'second']);
  });

  it('a challenge line of "+" alone is an empty challenge', () => {
    const engine = greeted();
    engine.auth(plain({ username: 'alice', password: 'pw' }), { initialResponse: false });
    written(engine);
    serve(engine, '+\r\n');
    expect(written(engine)).toBe(`${b64('\0alice\0pw')}\r\n`);
  });

  it('a mechanism name that makes the bare AUTH line too long is refused locally', () => {
    const engine = greeted();
    expect(() => engine.auth(scripted('X'.repeat(250), undefined))).toThrow(LocalProtocolError);
    expect(engine.takeOutgoing()).toBeUndefined();
    expect(engine.pending).toBe(0);
  });
});

describe('cancelling with "*" (RFC 5034 section 4)', () => {
  it('a mechanism that throws SaslError makes the engine send "*"; the -ERR completes AUTH with that very error', () => {
    const engine = greeted();
    const failure = new SaslError('X-TEST: I do not like this challenge');
    const auth = engine.auth(scripted('X-TEST', undefined, [failure]));
    const stat = engine.stat();
    expect(written(engine)).toBe('AUTH X-TEST\r\n');
    serve(engine, `+ ${b64('weird')}\r\n`);
    expect(written(engine)).toBe('*\r\n');
    serve(engine, '-ERR AUTH cancelled\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['challenge', 'failed', 'failed']);
    expect(events[1]).toEqual({ type: 'failed', handle: auth, error: failure });
    expect(events[2]).toMatchObject({ handle: stat, error: { code: ErrorCode.Cancelled } });
    expect(engine.state).toBe('authorization');
    expect(engine.error).toBeUndefined();
    // The session goes on: another login may follow.
    engine.user('alice');
    expect(written(engine)).toBe('USER alice\r\n');
  });

  it('a challenge that is not valid base64 makes the engine send "*" and fail AUTH with a SaslError', () => {
    const engine = greeted();
    const mechanism = scripted('X-TEST', undefined, [utf8('never used')]);
    const auth = engine.auth(mechanism);
    written(engine);
    serve(engine, '+ not*base64!\r\n');
    expect(written(engine)).toBe('*\r\n');
    expect(mechanism.seen).toEqual([]);
    serve(engine, '-ERR cancelled\r\n');
    const failed = drain(engine).find((event) => event.type === 'failed') as Extract<Pop3Event, { type: 'failed' }>;
    expect(failed.handle).toBe(auth);
    expect(failed.error).toBeInstanceOf(SaslError);
    expect(failed.error.code).toBe(ErrorCode.Sasl);
    expect(engine.state).toBe('authorization');
  });

  it('a server that accepts the cancelled exchange with +OK breaks the protocol', () => {
    const engine = greeted();
    engine.auth(scripted('X-TEST', undefined, [new SaslError('no')]));
    serve(engine, `+ ${b64('x')}\r\n+OK welcome anyway\r\n`);
    expect(engine.state).toBe('failed');
    expect(engine.error).toBeInstanceOf(RemoteProtocolError);
    expect(engine.error?.code).toBe(ErrorCode.Protocol);
  });

  it('a server that sends another challenge after "*" breaks the protocol', () => {
    const engine = greeted();
    engine.auth(scripted('X-TEST', undefined, [new SaslError('no')]));
    serve(engine, `+ ${b64('x')}\r\n+ ${b64('y')}\r\n`);
    expect(engine.error).toBeInstanceOf(RemoteProtocolError);
  });

  it('a plain -ERR to AUTH, with no cancel, is a rejected event with the ServerError', () => {
    const engine = greeted();
    const auth = engine.auth(plain({ username: 'alice', password: 'pw' }));
    serve(engine, '-ERR [AUTH] Authentication failed\r\n');
    const events = drain(engine);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'rejected', handle: auth });
    const error = (events[0] as Extract<Pop3Event, { type: 'rejected' }>).error;
    expect(error).toBeInstanceOf(ServerError);
    expect(error.authFailed).toBe(true);
  });
});

describe('OAuth error challenges', () => {
  it('OAUTHBEARER: the JSON error challenge is answered with 0x01, then -ERR is a rejection', () => {
    const engine = greeted();
    const mechanism = oauthbearer({ username: 'user@example.com', accessToken: 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==', host: 'server.example.com', port: 110 });
    const auth = engine.auth(mechanism);
    written(engine);
    const json = '{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}';
    serve(engine, `+ ${b64(json)}\r\n`);
    expect(written(engine)).toBe('AQ==\r\n');
    serve(engine, '-ERR [AUTH] token rejected\r\n');
    expect(drain(engine).map((event) => event.type)).toEqual(['challenge', 'rejected']);
    expect(mechanism.error).toMatchObject({ status: 'invalid_token', scope: 'example_scope' });
    expect(engine.state).toBe('authorization');
    expect(auth.verb).toBe('AUTH');
  });

  it('XOAUTH2: the JSON error challenge is answered with an empty line, then -ERR', () => {
    const engine = greeted();
    const mechanism = xoauth2({ username: 'someone@gmail.com', accessToken: 'expired' });
    engine.auth(mechanism);
    written(engine);
    serve(engine, `+ ${b64('{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}')}\r\n`);
    expect(written(engine)).toBe('\r\n');
    serve(engine, '-ERR [AUTH] Invalid credentials (Failure)\r\n');
    expect(mechanism.error).toMatchObject({ status: '401' });
    expect(engine.state).toBe('authorization');
  });
});

describe('SCRAM-SHA-256: the server must prove it knows the password', () => {
  it('the RFC 7677 exchange succeeds', () => {
    const engine = greeted();
    engine.auth(scram());
    serve(engine, `+ ${b64(SCRAM.serverFirst)}\r\n+ ${b64(SCRAM.serverFinal)}\r\n+OK\r\n`);
    expect(written(engine)).toBe(`AUTH SCRAM-SHA-256 ${b64(SCRAM.clientFirst)}\r\n${b64(SCRAM.clientFinal)}\r\n\r\n`);
    expect(engine.state).toBe('transaction');
  });

  it('+OK without the server-final message fails the session with a SaslError', () => {
    const engine = greeted();
    const auth = engine.auth(scram());
    const stat = engine.stat();
    serve(engine, `+ ${b64(SCRAM.serverFirst)}\r\n+OK welcome\r\n`);
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['challenge', 'failed', 'failed', 'closed']);
    const error = engine.error;
    expect(error).toBeInstanceOf(SaslError);
    expect(engine.state).toBe('failed');
    expect(events[1]).toEqual({ type: 'failed', handle: auth, error });
    expect(events[2]).toEqual({ type: 'failed', handle: stat, error });
    expect(events[3]).toEqual({ type: 'closed', error });
    expect(() => engine.stat()).toThrow(error);
  });

  it('+OK straight after the AUTH line fails the session with a SaslError', () => {
    const engine = greeted();
    engine.auth(scram());
    serve(engine, '+OK\r\n');
    expect(engine.error).toBeInstanceOf(SaslError);
    expect(engine.state).toBe('failed');
  });

  it('a wrong server signature makes the engine cancel with "*", and the -ERR fails AUTH with a SaslError', () => {
    const engine = greeted();
    const auth = engine.auth(scram());
    const forged = `v=${toBase64(new Uint8Array(32).fill(7))}`;
    serve(engine, `+ ${b64(SCRAM.serverFirst)}\r\n+ ${b64(forged)}\r\n`);
    expect(written(engine)).toBe(`AUTH SCRAM-SHA-256 ${b64(SCRAM.clientFirst)}\r\n${b64(SCRAM.clientFinal)}\r\n*\r\n`);
    serve(engine, '-ERR authentication cancelled\r\n');
    const failed = drain(engine).find((event) => event.type === 'failed') as Extract<Pop3Event, { type: 'failed' }>;
    expect(failed.handle).toBe(auth);
    expect(failed.error).toBeInstanceOf(SaslError);
    expect(engine.state).toBe('authorization');
  });

  it('a wrong server signature followed by +OK fails the session', () => {
    const engine = greeted();
    engine.auth(scram());
    serve(engine, `+ ${b64(SCRAM.serverFirst)}\r\n+ ${b64(`v=${toBase64(new Uint8Array(32))}`)}\r\n`);
    // The client cancelled with "*" on the forged signature, so the +OK is a protocol error.
    expect(written(engine)!.endsWith('\r\n*\r\n')).toBe(true);
    serve(engine, '+OK\r\n');
    expect(engine.state).toBe('failed');
    expect(engine.error).toBeInstanceOf(RemoteProtocolError);
  });

  it('the challenge events carry the decoded server messages as Secrets', () => {
    const engine = greeted();
    engine.auth(scram());
    serve(engine, `+ ${b64(SCRAM.serverFirst)}\r\n`);
    const challenge = drain(engine)[0] as Extract<Pop3Event, { type: 'challenge' }>;
    expect(decoder.decode(challenge.challenge.reveal())).toBe(SCRAM.serverFirst);
    expect(String(challenge.challenge)).toBe('[redacted]');
    expect(written(engine)).toBe(`AUTH SCRAM-SHA-256 ${b64(SCRAM.clientFirst)}\r\n${b64(SCRAM.clientFinal)}\r\n`);
  });
});
