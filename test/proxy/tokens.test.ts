/** Signed tokens: the round trip, and every way a token can be wrong. */
import { createHmac } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readTokenSecret, signToken, verifyToken } from '../../proxy/tokens.js';

const secret = new TextEncoder().encode('0123456789abcdef0123456789abcdef');
const now = 1_800_000_000_000;
const check = { secret, target: 'pop.example.com:995', now, skewMs: 5_000, maxLifetimeMs: 600_000 };

describe('verifyToken', () => {
  it('accepts a token it signed, for its target, before it expires (with a Date or a number)', () => {
    expect(verifyToken(signToken({ target: 'pop.example.com:995', expiresAt: now + 60_000 }, secret), check)).toBeUndefined();
    expect(verifyToken(signToken({ target: 'POP.example.com:995', expiresAt: new Date(now + 60_000) }, secret), check)).toBeUndefined();
  });

  it('tolerates a small clock skew, and no more', () => {
    expect(verifyToken(signToken({ target: check.target, expiresAt: now - 5_000 }, secret), check)).toBeUndefined();
    expect(verifyToken(signToken({ target: check.target, expiresAt: now - 5_001 }, secret), check)).toBe('token-expired');
  });

  it.each([
    ['missing', undefined, 'token-missing'],
    ['empty', '', 'token-missing'],
    ['without a signature', 'abc', 'token-invalid'],
    ['with a truncated signature', signToken({ target: check.target, expiresAt: now + 1000 }, secret).slice(0, -2), 'token-invalid'],
    ['signed with another secret', signToken({ target: check.target, expiresAt: now + 1000 }, `${'x'.repeat(32)}`), 'token-invalid'],
    ['for another target', signToken({ target: 'pop.example.com:110', expiresAt: now + 1000 }, secret), 'token-wrong-target'],
    ['valid for too long', signToken({ target: check.target, expiresAt: now + 600_001 }, secret), 'token-invalid'],
    ['huge', 'a'.repeat(5000), 'token-invalid'],
  ])('refuses a token %s', (_, token, problem) => {
    expect(verifyToken(token, check)).toBe(problem);
  });

  it('refuses a correctly signed payload that is not claims', () => {
    const payload = Buffer.from('{"t":1}').toString('base64url');
    const token = `${payload}.${createHmac('sha256', secret).update(payload).digest('base64url')}`;
    expect(verifyToken(token, check)).toBe('token-invalid');
  });

  it('refuses a payload changed after signing', () => {
    const token = signToken({ target: 'pop.example.com:110', expiresAt: now + 1000 }, secret);
    const [, mac] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ t: check.target, e: now + 1000 })).toString('base64url');
    expect(verifyToken(`${forged}.${mac}`, check)).toBe('token-invalid');
  });
});

describe('readTokenSecret', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'pop3kit-secret-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the file less one trailing line end', async () => {
    const file = path.join(dir, 'secret');
    writeFileSync(file, `${'a'.repeat(64)}\r\n`);
    expect(new TextDecoder().decode(await readTokenSecret(file))).toBe('a'.repeat(64));
  });

  it('refuses a secret shorter than 32 bytes', async () => {
    const file = path.join(dir, 'short');
    writeFileSync(file, `${'a'.repeat(31)}\n`);
    await expect(readTokenSecret(file)).rejects.toThrow(/at least 32 bytes/);
  });
});
