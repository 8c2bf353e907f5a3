import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.js';
import { SaslError } from '../../core/errors.js';
import { escapeSaslName, scramSha256 } from '../../core/sasl/scram-sha-256.js';
import { Secret } from '../../core/secret.js';

/** The C: and S: lines of a real-server fixture, without prefix and CRLF. */
function transcript(server: string, name: string): { client: string[]; server: string[] } {
  const text = readFileSync(new URL(`../fixtures/real-servers/${server}/${name}`, import.meta.url), 'latin1');
  const lines = text.split('\r\n');
  const side = (prefix: string) => lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(3));
  return { client: side('C: '), server: side('S: ') };
}

/** The decoded payload of a `+ base64` challenge line. */
function challenge(line: string): Uint8Array {
  expect(line.startsWith('+ ')).toBe(true);
  return fromBase64(line.slice(2))!;
}

// RFC 7677 section 3.
const RFC = {
  nonce: 'rOprNGfwEbeRWgbNEkqO',
  serverFirst: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  clientFinal: 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=',
  serverFinal: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=',
};

/** The RFC 7677 client after its client-first message. */
function rfcClient(password: string = 'pencil') {
  const mechanism = scramSha256({ username: 'user', password, nonce: RFC.nonce });
  mechanism.initialResponse();
  return mechanism;
}

describe('SCRAM-SHA-256', () => {
  it('reproduces the RFC 7677 exchange', () => {
    const mechanism = scramSha256({ username: 'user', password: 'pencil', nonce: RFC.nonce });
    expect(mechanism.name).toBe('SCRAM-SHA-256');
    expect(fromUtf8(mechanism.initialResponse()!)).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(fromUtf8(mechanism.respond(utf8(RFC.serverFirst)))).toBe(RFC.clientFinal);
    expect(() => mechanism.complete()).toThrow(SaslError);
    expect(mechanism.respond(utf8(RFC.serverFinal))).toEqual(new Uint8Array(0));
    expect(() => mechanism.complete()).not.toThrow();
  });

  it.each(['dovecot', 'cyrus'])('reproduces the %s exchange byte for byte', (server) => {
    const { client, server: replies } = transcript(server, 'auth-scram-sha-256.txt');
    const mechanism = scramSha256({ username: 'alice', password: new Secret('alice-pw'), nonce: 'cG9wM2tpdC1maXh0dXJlLW5vbmNl' });
    expect(`AUTH SCRAM-SHA-256 ${toBase64(mechanism.initialResponse()!)}`).toBe(client[0]);
    expect(toBase64(mechanism.respond(challenge(replies[1]!)))).toBe(client[1]);
    expect(toBase64(mechanism.respond(challenge(replies[2]!)))).toBe(client[2]);
    expect(client[2]).toBe('');
    expect(replies[3]).toMatch(/^\+OK/);
    expect(() => mechanism.complete()).not.toThrow();
  });

  it('SASLprep-s the password and the user name', () => {
    const mechanism = scramSha256({ username: 'us\u00ader', password: 'pen\u00adcil', nonce: RFC.nonce });
    expect(fromUtf8(mechanism.initialResponse()!)).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(fromUtf8(mechanism.respond(utf8(RFC.serverFirst)))).toBe(RFC.clientFinal);
  });

  it('escapes the user name and the authzid, and binds the GS2 header in c=', () => {
    const mechanism = scramSha256({ username: 'a,b=c', password: 'pencil', authzid: 'x=y', nonce: RFC.nonce });
    expect(fromUtf8(mechanism.initialResponse()!)).toBe('n,a=x=3Dy,n=a=2Cb=3Dc,r=rOprNGfwEbeRWgbNEkqO');
    const clientFinal = fromUtf8(mechanism.respond(utf8(RFC.serverFirst)));
    expect(clientFinal.startsWith(`c=${toBase64(utf8('n,a=x=3Dy,'))},r=`)).toBe(true);
  });

  it('makes a fresh random nonce by default', () => {
    const nonceOf = () => /,r=(.*)$/.exec(fromUtf8(scramSha256({ username: 'u', password: 'p' }).initialResponse()!))![1]!;
    const first = nonceOf();
    expect(fromBase64(first)).toHaveLength(24);
    expect(nonceOf()).not.toBe(first);
  });

  it('answers an empty first challenge with the client-first message when it sent no initial response', () => {
    const mechanism = scramSha256({ username: 'user', password: 'pencil', nonce: RFC.nonce });
    expect(fromUtf8(mechanism.respond(new Uint8Array(0)))).toBe('n,,n=user,r=rOprNGfwEbeRWgbNEkqO');
    expect(fromUtf8(mechanism.respond(utf8(RFC.serverFirst)))).toBe(RFC.clientFinal);
  });

  describe('refuses', () => {
    it('a wrong server signature', () => {
      const mechanism = rfcClient();
      mechanism.respond(utf8(RFC.serverFirst));
      expect(() => mechanism.respond(utf8(`v=${toBase64(new Uint8Array(32))}`))).toThrow(/signature is wrong/);
      expect(() => mechanism.complete()).toThrow(SaslError);
    });

    it('the right signature for another password', () => {
      const mechanism = rfcClient('pencil2');
      mechanism.respond(utf8(RFC.serverFirst));
      expect(() => mechanism.respond(utf8(RFC.serverFinal))).toThrow(SaslError);
    });

    it('a server-final message without v=', () => {
      const mechanism = rfcClient();
      mechanism.respond(utf8(RFC.serverFirst));
      expect(() => mechanism.respond(utf8('x=1'))).toThrow(SaslError);
      expect(() => mechanism.respond(utf8('v=not base64!'))).toThrow(SaslError);
    });

    it('e= in the server-final message, with the server text', () => {
      const mechanism = rfcClient();
      mechanism.respond(utf8(RFC.serverFirst));
      expect(() => mechanism.respond(utf8('e=invalid-proof'))).toThrow(new SaslError('SCRAM server error: invalid-proof'));
    });

    it('e= in place of the server-first message', () => {
      expect(() => rfcClient().respond(utf8('e=other-error'))).toThrow(/other-error/);
    });

    it('+OK before the server proved itself', () => {
      expect(() => rfcClient().complete()).toThrow(SaslError);
      const mechanism = rfcClient();
      mechanism.respond(utf8(RFC.serverFirst));
      expect(() => mechanism.complete()).toThrow(SaslError);
    });

    it('a challenge after the server-final message', () => {
      const mechanism = rfcClient();
      mechanism.respond(utf8(RFC.serverFirst));
      mechanism.respond(utf8(RFC.serverFinal));
      expect(() => mechanism.respond(new Uint8Array(0))).toThrow(SaslError);
    });

    it('a non-empty challenge before the client-first message', () => {
      const mechanism = scramSha256({ username: 'user', password: 'pencil', nonce: RFC.nonce });
      expect(() => mechanism.respond(utf8(RFC.serverFirst))).toThrow(SaslError);
    });

    it.each([
      ['a nonce that does not start with ours', 'r=XOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', /nonce/],
      ['a nonce that adds nothing to ours', 'r=rOprNGfwEbeRWgbNEkqO,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', /nonce/],
      ['a missing salt', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,i=4096', /malformed/],
      ['a missing iteration count', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==', /malformed/],
      ['fields out of order', 's=W22ZaJ0SNY7soEsUEjb6gQ==,r=rOprNGfwEbeRWgbNEkqO%hvYD,i=4096', /malformed/],
      ['a salt that is not base64', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22Z*J0S,i=4096', /salt/],
      ['an empty salt', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,s=,i=4096', /salt/],
      ['i=0', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=0', /iteration/],
      ['a negative i', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-1', /iteration/],
      ['a non-numeric i', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096x', /iteration/],
      ['i over the limit', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=1000001', /limit/],
      ['a huge i', 'r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=99999999999999999999', /iteration/],
      ['a mandatory extension', 'm=ext,r=rOprNGfwEbeRWgbNEkqO%hvYD,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096', /m=/],
    ])('a server-first message with %s', (_, serverFirst, message) => {
      const error = (() => {
        try {
          rfcClient().respond(utf8(serverFirst));
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(SaslError);
      expect((error as SaslError).message).toMatch(message);
    });

    it('a nonce option outside the printable alphabet', () => {
      expect(() => scramSha256({ username: 'u', password: 'p', nonce: 'a,b' })).toThrow(SaslError);
      expect(() => scramSha256({ username: 'u', password: 'p', nonce: '' })).toThrow(SaslError);
    });

    it('a user name or password that fails SASLprep', () => {
      expect(() => scramSha256({ username: 'a\u0007', password: 'p' })).toThrow(SaslError);
      expect(() => scramSha256({ username: 'u', password: '\u0627\u0031' })).toThrow(SaslError);
    });
  });

  it('accepts extensions after the iteration count', () => {
    const mechanism = rfcClient();
    const clientFinal = fromUtf8(mechanism.respond(utf8(`${RFC.serverFirst},x=future`)));
    // The proof covers the server-first message as received, extension included, so it differs from the RFC's.
    expect(clientFinal.startsWith('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=')).toBe(true);
    expect(clientFinal).not.toBe(RFC.clientFinal);
  });
});

describe('escapeSaslName', () => {
  const unescape = (name: string) => name.replace(/=2C|=3D/g, (code) => (code === '=2C' ? ',' : '='));

  it('escapes = and , (RFC 5802 section 5.1)', () => {
    expect(escapeSaslName('a=b,c')).toBe('a=3Db=2Cc');
    expect(escapeSaslName('=2C')).toBe('=3D2C');
  });

  it('round-trips and never leaves a raw comma or a bare =', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('=', ',', '2', 'C', '3', 'D', 'a', 'é') }), (name) => {
        const escaped = escapeSaslName(name);
        expect(escaped).not.toContain(',');
        expect(escaped.replace(/=2C|=3D/g, '')).not.toContain('=');
        expect(unescape(escaped)).toBe(name);
      }),
    );
  });

  it('keeps the client-first message at four fields whatever the ASCII user name', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme-ascii' }), (username) => {
        const fields = fromUtf8(scramSha256({ username, password: 'p', nonce: 'abc' }).initialResponse()!).split(',');
        expect(fields).toHaveLength(4);
        expect(unescape(fields[2]!.slice(2))).toBe(username);
      }),
    );
  });
});
