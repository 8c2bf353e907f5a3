import { describe, expect, it } from 'vitest';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.js';
import { SaslError } from '../../core/errors.js';
import { xoauth2 } from '../../core/sasl/xoauth2.js';
import { Secret } from '../../core/secret.js';

// The example of Google's XOAUTH2 protocol page (developers.google.com/gmail/imap/xoauth2-protocol).
const GOOGLE = {
  username: 'someuser@example.com',
  accessToken: 'ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg',
  message: 'dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==',
  error: 'eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K',
};

describe('XOAUTH2', () => {
  it("builds Google's example as the initial response", () => {
    const mechanism = xoauth2({ username: GOOGLE.username, accessToken: new Secret(GOOGLE.accessToken) });
    expect(mechanism.name).toBe('XOAUTH2');
    expect(toBase64(mechanism.initialResponse()!)).toBe(GOOGLE.message);
  });

  it('sends the message in answer to an empty first challenge when it sent no initial response (Office 365)', () => {
    const mechanism = xoauth2(GOOGLE);
    expect(toBase64(mechanism.respond(new Uint8Array(0)))).toBe(GOOGLE.message);
  });

  it("answers the server's JSON error with an empty response and keeps the error", () => {
    const mechanism = xoauth2(GOOGLE);
    mechanism.initialResponse();
    expect(mechanism.error).toBeUndefined();
    expect(mechanism.respond(fromBase64(GOOGLE.error)!)).toEqual(new Uint8Array(0));
    expect(mechanism.error).toMatchObject({ status: '401', schemes: 'bearer mac', scope: 'https://mail.google.com/' });
  });

  it('treats an empty challenge after the message as an error too', () => {
    const mechanism = xoauth2(GOOGLE);
    mechanism.respond(new Uint8Array(0));
    expect(mechanism.respond(new Uint8Array(0))).toEqual(new Uint8Array(0));
    expect(mechanism.error).toEqual({ raw: '' });
  });

  it('keeps a challenge that is not JSON as raw text', () => {
    const mechanism = xoauth2(GOOGLE);
    mechanism.initialResponse();
    mechanism.respond(utf8('denied'));
    expect(mechanism.error).toEqual({ raw: 'denied' });
  });

  it('throws SaslError on a second error challenge', () => {
    const mechanism = xoauth2(GOOGLE);
    mechanism.initialResponse();
    mechanism.respond(fromBase64(GOOGLE.error)!);
    expect(() => mechanism.respond(fromBase64(GOOGLE.error)!)).toThrow(SaslError);
  });

  it('throws SaslError on a non-empty challenge before the message was sent', () => {
    expect(() => xoauth2(GOOGLE).respond(utf8('{}'))).toThrow(SaslError);
  });

  it('rejects 0x01 in the user name or the token', () => {
    expect(() => xoauth2({ username: 'a\x01b', accessToken: 't' })).toThrow(SaslError);
    expect(() => xoauth2({ username: 'a', accessToken: 't\x01auth=x' })).toThrow(SaslError);
  });

  it('puts the user and token where the format says', () => {
    expect(fromUtf8(xoauth2({ username: 'u@x', accessToken: 'tok' }).initialResponse()!)).toBe('user=u@x\x01auth=Bearer tok\x01\x01');
  });
});
