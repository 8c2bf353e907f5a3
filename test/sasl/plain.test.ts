import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { fromUtf8, toBase64, utf8 } from '../../core/bytes.js';
import { SaslError } from '../../core/errors.js';
import { plain } from '../../core/sasl/plain.js';
import { Secret } from '../../core/secret.js';

/** The C: lines of a real-server fixture, without prefix and CRLF. */
function clientLines(server: string, name: string): string[] {
  const text = readFileSync(new URL(`../fixtures/real-servers/${server}/${name}`, import.meta.url), 'latin1');
  return text.split('\r\n').filter((line) => line.startsWith('C: ')).map((line) => line.slice(3));
}

describe('PLAIN', () => {
  it('builds the RFC 4616 section 4 examples', () => {
    expect(fromUtf8(plain({ username: 'tim', password: 'tanstaaftanstaaf' }).initialResponse()!)).toBe('\0tim\0tanstaaftanstaaf');
    expect(fromUtf8(plain({ username: 'Kurt', password: 'xipj3plmq', authzid: 'Ursel' }).initialResponse()!)).toBe('Ursel\0Kurt\0xipj3plmq');
  });

  it.each(['dovecot', 'cyrus', 'courier'])('reproduces the %s AUTH PLAIN line', (server) => {
    const mechanism = plain({ username: 'alice', password: 'alice-pw' });
    expect(`AUTH ${mechanism.name} ${toBase64(mechanism.initialResponse()!)}`).toBe(clientLines(server, 'auth-plain.txt')[0]);
  });

  it('accepts the password as a Secret', () => {
    expect(plain({ username: 'alice', password: new Secret('alice-pw') }).initialResponse()).toEqual(utf8('\0alice\0alice-pw'));
  });

  it('rejects a NUL in any field', () => {
    expect(() => plain({ username: 'a\0b', password: 'p' })).toThrow(SaslError);
    expect(() => plain({ username: 'a', password: 'p\0' })).toThrow(SaslError);
    expect(() => plain({ username: 'a', password: 'p', authzid: '\0' })).toThrow(SaslError);
  });

  it('answers an empty first challenge with the message when it sent no initial response', () => {
    const mechanism = plain({ username: 'alice', password: 'alice-pw' });
    expect(mechanism.respond(new Uint8Array(0))).toEqual(utf8('\0alice\0alice-pw'));
    expect(() => mechanism.respond(new Uint8Array(0))).toThrow(SaslError);
  });

  it('refuses any challenge after the initial response', () => {
    const mechanism = plain({ username: 'alice', password: 'alice-pw' });
    mechanism.initialResponse();
    expect(() => mechanism.respond(new Uint8Array(0))).toThrow(SaslError);
  });
});
