import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { apopDigest, apopTimestamp } from '../core/apop.js';
import { Secret } from '../core/secret.js';

/** The C: and S: lines of a real-server fixture, without prefix and CRLF. */
function transcript(server: string, name: string): { client: string[]; server: string[] } {
  const text = readFileSync(new URL(`./fixtures/real-servers/${server}/${name}`, import.meta.url), 'latin1');
  const lines = text.split('\r\n');
  const side = (prefix: string) => lines.filter((line) => line.startsWith(prefix)).map((line) => line.slice(3));
  return { client: side('C: '), server: side('S: ') };
}

describe('APOP', () => {
  it('computes the RFC 1939 section 7 example', () => {
    const timestamp = apopTimestamp('+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>');
    expect(timestamp).toBe('<1896.697170952@dbc.mtview.ca.us>');
    expect(apopDigest(timestamp!, 'tanstaaf')).toBe('c4c9334bac560ecc979e58001b3e22fb');
    expect(apopDigest(timestamp!, new Secret('tanstaaf'))).toBe('c4c9334bac560ecc979e58001b3e22fb');
  });

  it.each(['dovecot', 'cyrus', 'mailutils'])('reproduces the %s APOP line from its greeting', (server) => {
    const { client, server: replies } = transcript(server, 'apop.txt');
    const timestamp = apopTimestamp(replies[0]!.slice('+OK '.length));
    expect(timestamp).toBeDefined();
    expect(`APOP alice ${apopDigest(timestamp!, 'alice-pw')}`).toBe(client[0]);
  });

  it('finds no timestamp in a greeting without one (Courier)', () => {
    const greeting = transcript('courier', 'greeting.txt').server[0]!;
    expect(apopTimestamp(greeting)).toBeUndefined();
  });

  it('takes the last bracketed msg-id with an @', () => {
    expect(apopTimestamp('<a@b> ready <1.2@host> <no-at-sign>')).toBe('<1.2@host>');
    expect(apopTimestamp('<see <1.2@host>')).toBe('<1.2@host>');
  });

  it('rejects candidates with spaces, control characters or an empty side', () => {
    expect(apopTimestamp('ready <1.2 @host>')).toBeUndefined();
    expect(apopTimestamp('ready <1.2\t@host>')).toBeUndefined();
    expect(apopTimestamp('ready <1.2@ho\x00st>')).toBeUndefined();
    expect(apopTimestamp('ready <@host>')).toBeUndefined();
    expect(apopTimestamp('ready <1.2@>')).toBeUndefined();
    expect(apopTimestamp('ready <1.2@h\u00e9>')).toBeUndefined();
    expect(apopTimestamp('<1@a> then <bad one@b>')).toBe('<1@a>');
  });

  it('hashes the password as UTF-8', () => {
    const utf8Digest = createHash('md5').update('<1@a>p\u00e4ss', 'utf8').digest('hex');
    expect(utf8Digest).not.toBe(createHash('md5').update('<1@a>p\u00e4ss', 'latin1').digest('hex'));
    expect(apopDigest('<1@a>', 'p\u00e4ss')).toBe(utf8Digest);
  });
});
