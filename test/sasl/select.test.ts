import { describe, expect, it } from 'vitest';
import { fromUtf8 } from '../../core/bytes.js';
import { selectMechanism } from '../../core/sasl/index.js';
import { Secret } from '../../core/secret.js';

const ALL = ['LOGIN', 'PLAIN', 'CRAM-MD5', 'SCRAM-SHA-256', 'XOAUTH2', 'OAUTHBEARER'];
const password = { username: 'alice', password: 'alice-pw' };
const token = { username: 'alice', accessToken: 'tok' };

describe('selectMechanism', () => {
  it('prefers SCRAM-SHA-256 > CRAM-MD5 > PLAIN > LOGIN for a password', () => {
    const offered = [...ALL];
    const chosen: string[] = [];
    for (let mechanism = selectMechanism(offered, password); mechanism; mechanism = selectMechanism(offered, password)) {
      chosen.push(mechanism.name);
      offered.splice(offered.indexOf(mechanism.name), 1);
    }
    expect(chosen).toEqual(['SCRAM-SHA-256', 'CRAM-MD5', 'PLAIN', 'LOGIN']);
  });

  it('prefers OAUTHBEARER > XOAUTH2 for a token, and nothing else', () => {
    expect(selectMechanism(ALL, token)?.name).toBe('OAUTHBEARER');
    expect(selectMechanism(['XOAUTH2', 'PLAIN'], token)?.name).toBe('XOAUTH2');
    expect(selectMechanism(['PLAIN', 'SCRAM-SHA-256'], token)).toBeUndefined();
  });

  it('uses the token first when given both, and falls back to the password', () => {
    const both = { username: 'alice', password: 'pw', accessToken: new Secret('tok') };
    expect(selectMechanism(ALL, both)?.name).toBe('OAUTHBEARER');
    expect(selectMechanism(['PLAIN'], both)?.name).toBe('PLAIN');
  });

  it('matches advertised names in any case', () => {
    expect(selectMechanism(['plain', 'Cram-Md5'], password)?.name).toBe('CRAM-MD5');
  });

  it('returns undefined when nothing fits', () => {
    expect(selectMechanism([], password)).toBeUndefined();
    expect(selectMechanism(['GSSAPI', 'NTLM'], password)).toBeUndefined();
    expect(selectMechanism(ALL, { username: 'alice' })).toBeUndefined();
  });

  it('with an authzid, chooses only mechanisms that carry it, and passes it on', () => {
    const withAuthzid = { ...password, authzid: 'bob' };
    expect(selectMechanism(['CRAM-MD5', 'LOGIN'], withAuthzid)).toBeUndefined();
    const mechanism = selectMechanism(['CRAM-MD5', 'PLAIN', 'LOGIN'], withAuthzid)!;
    expect(fromUtf8(mechanism.initialResponse()!)).toBe('bob\0alice\0alice-pw');
    expect(fromUtf8(selectMechanism(ALL, withAuthzid)!.initialResponse()!)).toMatch(/^n,a=bob,n=alice,r=/);
  });

  it('returns a mechanism built from the credentials', () => {
    expect(fromUtf8(selectMechanism(['PLAIN'], password)!.initialResponse()!)).toBe('\0alice\0alice-pw');
    expect(fromUtf8(selectMechanism(['XOAUTH2'], token)!.initialResponse()!)).toBe('user=alice\x01auth=Bearer tok\x01\x01');
  });
});
