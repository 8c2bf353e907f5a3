/**
 * The JSON error a server sends when it refuses an OAuth token (RFC 7628 section 3.2.2; XOAUTH2 likewise)
 * travels with the -ERR that follows: the `rejected` event's ServerError carries it as `oauth`, so a caller
 * can tell an expired token from other failures without keeping the mechanism.
 */
import { describe, expect, it } from 'vitest';
import { toBase64, utf8 } from '../../core/bytes.js';
import type { Pop3ClientEngine, Pop3Event } from '../../core/client-engine.js';
import { Pop3Error, SaslError, ServerError } from '../../core/errors.js';
import type { OAuthError } from '../../core/index.js';
import { oauthbearer, plain, type SaslMechanism, xoauth2 } from '../../core/sasl/index.js';
import { drain, greeted, serve, written } from '../support/engine.js';

const TOKEN = 'ya29.secret-access-token';
const XOAUTH2_JSON = '{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}';
// RFC 7628 section 4.3.
const OAUTHBEARER_JSON =
  '{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}';

function b64(text: string): string {
  return toBase64(utf8(text));
}

type Rejected = Extract<Pop3Event, { type: 'rejected' }>;
type Failed = Extract<Pop3Event, { type: 'failed' }>;

/** The one `rejected` event among `events`. */
function rejection(events: Pop3Event[]): ServerError {
  const rejected = events.filter((event): event is Rejected => event.type === 'rejected');
  expect(rejected).toHaveLength(1);
  expect(rejected[0]!.error).toBeInstanceOf(ServerError);
  return rejected[0]!.error;
}

/** Neither the token nor any base64 form of the message carrying it shows in the error. */
function expectNoToken(error: Error, mechanism: () => SaslMechanism): void {
  const shown = `${error.message} ${String(error)} ${JSON.stringify(error)}`;
  expect(shown).not.toContain(TOKEN);
  expect(shown).not.toContain(toBase64(mechanism().initialResponse()!));
}

describe('XOAUTH2: the refused token', () => {
  const make = () => xoauth2({ username: 'someone@gmail.com', accessToken: TOKEN });

  it('the JSON error challenge is answered with an empty line and rides on the -ERR', () => {
    const engine = greeted();
    const auth = engine.auth(make());
    expect(written(engine)).toMatch(/^AUTH XOAUTH2 \S+\r\n$/);
    serve(engine, `+ ${b64(XOAUTH2_JSON)}\r\n`);
    expect(written(engine)).toBe('\r\n');
    serve(engine, '-ERR [AUTH] Invalid credentials (Failure)\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['challenge', 'rejected']);
    expect((events[1] as Rejected).handle).toBe(auth);
    const error = rejection(events);
    expect(error.responseCode).toBe('AUTH');
    expect(error.authFailed).toBe(true);
    expect(error.oauth).toEqual<OAuthError>({
      status: '401',
      schemes: 'Bearer',
      scope: 'https://mail.google.com/',
      raw: XOAUTH2_JSON,
    });
    expect(error.message).toBe('AUTH XOAUTH2 [redacted] failed: [AUTH] Invalid credentials (Failure)');
    expectNoToken(error, make);
    expect(engine.state).toBe('authorization');
  });

  it('the same in the two-step form (empty challenge first, as Office 365 does)', () => {
    const engine = greeted();
    engine.auth(make(), { initialResponse: false });
    expect(written(engine)).toBe('AUTH XOAUTH2\r\n');
    serve(engine, '+ \r\n');
    expect(written(engine)).toBe(`${toBase64(make().initialResponse()!)}\r\n`);
    serve(engine, `+ ${b64(XOAUTH2_JSON)}\r\n`);
    expect(written(engine)).toBe('\r\n');
    serve(engine, '-ERR [AUTH] AUTHENTICATE failed.\r\n');
    const error = rejection(drain(engine));
    expect(error.oauth).toMatchObject({ status: '401', schemes: 'Bearer', scope: 'https://mail.google.com/' });
    expect(error.message).toBe('AUTH XOAUTH2 failed: [AUTH] AUTHENTICATE failed.');
    expectNoToken(error, make);
  });

  it('arriving in one chunk with the -ERR, byte by byte, gives the same error', () => {
    const engine = greeted();
    engine.auth(make());
    written(engine);
    const reply = utf8(`+ ${b64(XOAUTH2_JSON)}\r\n-ERR [AUTH] no\r\n`);
    for (const byte of reply) engine.receive(Uint8Array.of(byte));
    expect(written(engine)).toBe('\r\n');
    expect(rejection(drain(engine)).oauth?.status).toBe('401');
  });
});

describe('OAUTHBEARER: the refused token', () => {
  const make = () => oauthbearer({ username: 'user@example.com', accessToken: TOKEN, host: 'server.example.com', port: 110 });

  it('the JSON error challenge is answered with a single 0x01 and rides on the -ERR', () => {
    const engine = greeted();
    engine.auth(make());
    expect(written(engine)).toMatch(/^AUTH OAUTHBEARER \S+\r\n$/);
    serve(engine, `+ ${b64(OAUTHBEARER_JSON)}\r\n`);
    expect(written(engine)).toBe(`${toBase64(Uint8Array.of(0x01))}\r\n`); // "AQ=="
    serve(engine, '-ERR [AUTH] token rejected\r\n');
    const error = rejection(drain(engine));
    expect(error.responseCode).toBe('AUTH');
    expect(error.oauth).toEqual<OAuthError>({
      status: 'invalid_token',
      scope: 'example_scope',
      openidConfiguration: 'https://example.com/.well-known/openid-configuration',
      raw: OAUTHBEARER_JSON,
    });
    expectNoToken(error, make);
    expect(engine.state).toBe('authorization');
  });

  it('a later AUTH with a fresh mechanism is not given the earlier error', () => {
    const engine = greeted();
    engine.auth(make());
    serve(engine, `+ ${b64(OAUTHBEARER_JSON)}\r\n-ERR [AUTH] token rejected\r\n`);
    expect(rejection(drain(engine)).oauth?.status).toBe('invalid_token');
    engine.auth(make());
    serve(engine, '-ERR [SYS/TEMP] try later\r\n');
    expect(rejection(drain(engine)).oauth).toBeUndefined();
  });
});

describe('no OAuth error to carry', () => {
  it('-ERR straight after AUTH XOAUTH2 or OAUTHBEARER: oauth is undefined', () => {
    for (const mechanism of [xoauth2({ username: 'u', accessToken: TOKEN }), oauthbearer({ username: 'u', accessToken: TOKEN })]) {
      const engine = greeted();
      engine.auth(mechanism);
      serve(engine, '-ERR [AUTH] no\r\n');
      const error = rejection(drain(engine));
      expect(error.responseCode).toBe('AUTH');
      expect(error.oauth).toBeUndefined();
    }
  });

  it('other mechanisms and commands: oauth is undefined', () => {
    const engine = greeted();
    engine.auth(plain({ username: 'alice', password: 'pw' }));
    serve(engine, '-ERR [AUTH] no\r\n');
    expect(rejection(drain(engine)).oauth).toBeUndefined();
    engine.user('alice');
    engine.pass('pw');
    serve(engine, '+OK\r\n-ERR [AUTH] no\r\n');
    expect(rejection(drain(engine)).oauth).toBeUndefined();
  });

  it('a mechanism of the caller with an `error` of another kind: oauth is undefined', () => {
    for (const other of ['refused', { reason: 'x' }, null, 42]) {
      const engine = greeted();
      const mechanism = { name: 'X-OTHER', error: other, initialResponse: () => utf8('hi'), respond: () => new Uint8Array(0), complete() {} };
      engine.auth(mechanism);
      serve(engine, `+ ${b64('why')}\r\n-ERR no\r\n`);
      expect(rejection(drain(engine)).oauth).toBeUndefined();
    }
  });

  it("a mechanism of the caller's that keeps an OAuthError has it carried too", () => {
    const engine = greeted();
    let error: OAuthError | undefined;
    const mechanism = {
      name: 'X-TOKEN',
      get error() {
        return error;
      },
      initialResponse: () => utf8('token'),
      respond(challenge: Uint8Array) {
        error = { status: 'expired', raw: new TextDecoder().decode(challenge) };
        return new Uint8Array(0);
      },
      complete() {},
    };
    engine.auth(mechanism);
    serve(engine, `+ ${b64('expired')}\r\n-ERR [AUTH] no\r\n`);
    expect(rejection(drain(engine)).oauth).toEqual({ status: 'expired', raw: 'expired' });
  });
});

describe('malformed error challenges', () => {
  /** AUTH XOAUTH2 or OAUTHBEARER, the server's `challenge` line, then -ERR; the events. */
  function refuse(engine: Pop3ClientEngine, mechanism: SaslMechanism, challenge: string): { reply: string | undefined; events: Pop3Event[] } {
    engine.auth(mechanism);
    written(engine);
    serve(engine, `${challenge}\r\n`);
    const reply = written(engine);
    serve(engine, '-ERR [AUTH] no\r\n');
    return { reply, events: drain(engine) };
  }

  it('valid base64 that is not JSON is kept as raw text only, and answered as usual', () => {
    const engine = greeted();
    const { reply, events } = refuse(engine, xoauth2({ username: 'u', accessToken: TOKEN }), `+ ${b64('denied')}`);
    expect(reply).toBe('\r\n');
    expect(rejection(events).oauth).toEqual({ raw: 'denied' });

    const { reply: bearerReply, events: bearerEvents } = refuse(greeted(), oauthbearer({ username: 'u', accessToken: TOKEN }), `+ ${b64('[1,2]')}`);
    expect(bearerReply).toBe('AQ==\r\n');
    expect(rejection(bearerEvents).oauth).toEqual({ raw: '[1,2]' });
  });

  it('JSON with fields that are not strings keeps only the string ones', () => {
    const json = '{"status":401,"scope":"s","schemes":["Bearer"]}';
    const { events } = refuse(greeted(), xoauth2({ username: 'u', accessToken: TOKEN }), `+ ${b64(json)}`);
    expect(rejection(events).oauth).toEqual({ scope: 's', raw: json });
  });

  it('a challenge that is not base64 makes the engine cancel with "*": AUTH fails with a SaslError, not a ServerError', () => {
    for (const mechanism of [xoauth2({ username: 'u', accessToken: TOKEN }), oauthbearer({ username: 'u', accessToken: TOKEN })]) {
      const engine = greeted();
      const { reply, events } = refuse(engine, mechanism, '+ {"status":"401"}');
      expect(reply).toBe('*\r\n');
      expect(events.map((event) => event.type)).toEqual(['failed']);
      expect((events[0] as Failed).error).toBeInstanceOf(SaslError);
      expect(mechanism.error).toBeUndefined();
      expect(engine.state).toBe('authorization');
    }
  });

  it('a second error challenge makes the mechanism, and so the engine, cancel with "*"', () => {
    const engine = greeted();
    engine.auth(oauthbearer({ username: 'u', accessToken: TOKEN }));
    written(engine);
    serve(engine, `+ ${b64(OAUTHBEARER_JSON)}\r\n+ ${b64(OAUTHBEARER_JSON)}\r\n`);
    expect(written(engine)).toBe('AQ==\r\n*\r\n');
    serve(engine, '-ERR cancelled\r\n');
    const failed = drain(engine).filter((event): event is Failed => event.type === 'failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.error).toBeInstanceOf(SaslError);
  });

  it('garbage challenges never throw, and every error is one of ours', () => {
    const challenges = ['+ ', '+ ====', '+ %%%', `+ ${b64('\u0000\u00ff')}`, `+ ${toBase64(Uint8Array.of(0xff, 0xfe, 0x00))}`, `+ ${b64('{"status":')}`, `+ ${b64('{"__proto__":{"status":"x"}}')}`];
    for (const challenge of challenges) {
      for (const make of [() => xoauth2({ username: 'u', accessToken: TOKEN }), () => oauthbearer({ username: 'u', accessToken: TOKEN })]) {
        const engine = greeted();
        const { events } = refuse(engine, make(), challenge);
        for (const event of events) {
          if (event.type === 'rejected' || event.type === 'failed' || event.type === 'closed') {
            if (event.error !== undefined) expect(event.error).toBeInstanceOf(Pop3Error);
          }
        }
        const error = events.find((event): event is Rejected => event.type === 'rejected')?.error;
        if (error?.oauth !== undefined) expect(typeof error.oauth.raw).toBe('string');
      }
    }
  });
});
