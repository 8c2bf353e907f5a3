import { describe, expect, it } from 'vitest';
import { fromUtf8, utf8 } from '../../core/bytes.js';
import { SaslError } from '../../core/errors.js';
import { login } from '../../core/sasl/login.js';
import { Secret } from '../../core/secret.js';

describe('LOGIN', () => {
  it('has no initial response', () => {
    expect(login({ username: 'alice', password: 'alice-pw' }).initialResponse()).toBeUndefined();
  });

  it('answers the user name, then the password', () => {
    const mechanism = login({ username: 'alice', password: 'alice-pw' });
    expect(fromUtf8(mechanism.respond(utf8('Username:')))).toBe('alice');
    expect(fromUtf8(mechanism.respond(utf8('Password:')))).toBe('alice-pw');
    expect(() => mechanism.complete()).not.toThrow();
  });

  it('follows the step order, not the prompt text', () => {
    const mechanism = login({ username: 'alice', password: new Secret('alice-pw') });
    expect(fromUtf8(mechanism.respond(utf8('Password:')))).toBe('alice');
    expect(fromUtf8(mechanism.respond(new Uint8Array(0)))).toBe('alice-pw');
  });

  it('throws SaslError on a third challenge', () => {
    const mechanism = login({ username: 'alice', password: 'alice-pw' });
    mechanism.respond(utf8('Username:'));
    mechanism.respond(utf8('Password:'));
    expect(() => mechanism.respond(utf8('Password:'))).toThrow(SaslError);
  });
});
