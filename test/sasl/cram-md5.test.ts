import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromBase64, fromUtf8, toBase64, utf8 } from '../../core/bytes.js';
import { SaslError } from '../../core/errors.js';
import { cramMd5 } from '../../core/sasl/cram-md5.js';
import { Secret } from '../../core/secret.js';

/** The C: and S: lines of a real-server fixture, without prefix and CRLF. */
function transcript(server: string, name: string): { client: string[]; server: string[] } {
  const text = readFileSync(new URL(`../fixtures/real-servers/${server}/${name}`, import.meta.url), 'latin1');
  const lines = text.split('\r\n');
  const side = (prefix: string) => lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(3));
  return { client: side('C: '), server: side('S: ') };
}

describe('CRAM-MD5', () => {
  it('computes the RFC 2195 example', () => {
    const mechanism = cramMd5({ username: 'tim', password: 'tanstaaftanstaaf' });
    expect(mechanism.initialResponse()).toBeUndefined();
    const response = mechanism.respond(utf8('<1896.697170952@postoffice.reston.mci.net>'));
    expect(fromUtf8(response)).toBe('tim b913a602c7eda7a495b4e6e7334d3890');
    expect(toBase64(response)).toBe('dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw');
  });

  it.each(['dovecot', 'cyrus', 'courier'])('reproduces the %s response to its captured challenge', (server) => {
    const { client, server: replies } = transcript(server, 'auth-cram-md5.txt');
    expect(client[0]).toBe('AUTH CRAM-MD5');
    const challenge = fromBase64(replies[1]!.slice(2))!;
    const mechanism = cramMd5({ username: 'alice', password: new Secret('alice-pw') });
    expect(toBase64(mechanism.respond(challenge))).toBe(client[1]);
  });

  it('throws SaslError on a second challenge', () => {
    const mechanism = cramMd5({ username: 'tim', password: 'tanstaaftanstaaf' });
    mechanism.respond(utf8('<1@x>'));
    expect(() => mechanism.respond(utf8('<2@x>'))).toThrow(SaslError);
  });
});
