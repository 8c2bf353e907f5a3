import { describe, expect, it } from 'vitest';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.js';
import { SaslError } from '../../core/errors.js';
import { oauthbearer, parseOAuthError } from '../../core/sasl/oauthbearer.js';
import { Secret } from '../../core/secret.js';

// RFC 7628 section 4.1 (success) and 4.3 (failure).
const RFC = {
  token: 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==',
  message:
    'bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRjMk52YjNSbGNrQmhiSFJoZG1semRHRXVZMjl0Q2c9PQEB',
  error: '{"status":"invalid_token","scope":"example_scope","openid-configuration":"https://example.com/.well-known/openid-configuration"}',
};

describe('OAUTHBEARER', () => {
  it('builds the RFC 7628 section 4.1 initial response', () => {
    const mechanism = oauthbearer({ username: 'user@example.com', accessToken: new Secret(RFC.token), host: 'server.example.com', port: 143 });
    expect(mechanism.name).toBe('OAUTHBEARER');
    expect(toBase64(mechanism.initialResponse()!)).toBe(RFC.message);
  });

  it('leaves out host and port when not given', () => {
    const message = oauthbearer({ username: 'user@example.com', accessToken: 'tok' }).initialResponse()!;
    expect(fromUtf8(message)).toBe('n,a=user@example.com,\x01auth=Bearer tok\x01\x01');
  });

  it('escapes , and = in the user name', () => {
    const message = oauthbearer({ username: 'a,b=c', accessToken: 'tok' }).initialResponse()!;
    expect(fromUtf8(message).startsWith('n,a=a=2Cb=3Dc,\x01')).toBe(true);
  });

  it('answers an error challenge with a single 0x01 and keeps the error (RFC 7628 section 3.2.3)', () => {
    const mechanism = oauthbearer({ username: 'user@example.com', accessToken: RFC.token });
    mechanism.initialResponse();
    expect(mechanism.respond(utf8(RFC.error))).toEqual(Uint8Array.of(0x01));
    expect(mechanism.error).toEqual({
      status: 'invalid_token',
      scope: 'example_scope',
      openidConfiguration: 'https://example.com/.well-known/openid-configuration',
      raw: RFC.error,
    });
    expect(() => mechanism.respond(utf8(RFC.error))).toThrow(SaslError);
  });

  it('sends the message in answer to an empty first challenge when it sent no initial response', () => {
    const mechanism = oauthbearer({ username: 'user@example.com', accessToken: RFC.token, host: 'server.example.com', port: 143 });
    expect(toBase64(mechanism.respond(new Uint8Array(0)))).toBe(RFC.message);
    expect(mechanism.respond(utf8(RFC.error))).toEqual(Uint8Array.of(0x01));
  });

  it('throws SaslError on a non-empty challenge before the message was sent', () => {
    expect(() => oauthbearer({ username: 'u', accessToken: 't' }).respond(utf8(RFC.error))).toThrow(SaslError);
  });

  it('rejects 0x01 in a field and a port out of range', () => {
    expect(() => oauthbearer({ username: 'u', accessToken: 't\x01' })).toThrow(SaslError);
    expect(() => oauthbearer({ username: 'u', accessToken: 't', host: 'h\x01port=1' })).toThrow(SaslError);
    for (const port of [0, 65536, 1.5, Number.NaN]) {
      expect(() => oauthbearer({ username: 'u', accessToken: 't', port })).toThrow(SaslError);
    }
  });
});

describe('parseOAuthError', () => {
  it('keeps only string fields of a JSON object', () => {
    expect(parseOAuthError(utf8('{"status":401,"scope":"s","schemes":["x"]}'))).toEqual({ scope: 's', raw: '{"status":401,"scope":"s","schemes":["x"]}' });
  });

  it('keeps anything else as raw text', () => {
    for (const raw of ['not json', '"a string"', 'null', '[1]']) {
      expect(parseOAuthError(utf8(raw))).toEqual({ raw });
    }
  });

  it('reads the XOAUTH2 fields too', () => {
    const challenge = fromBase64('eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K')!;
    expect(parseOAuthError(challenge)).toMatchObject({ status: '401', schemes: 'bearer mac', scope: 'https://mail.google.com/' });
  });
});
