// The `name:password` users file (core/node/users-file.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseUsers, readUsersFile } from '../../core/node/users-file.js';

describe('parseUsers', () => {
  it('reads name:password lines, skipping comments and blank lines', () => {
    const users = parseUsers('# the team\nalice:wonder land\n\n   \n  # indented comment\nbob:s3cret\r\n');
    expect([...users]).toEqual([
      ['alice', 'wonder land'],
      ['bob', 's3cret'],
    ]);
  });

  it('keeps every colon after the first in the password', () => {
    expect(parseUsers('carol:a:b::c').get('carol')).toBe('a:b::c');
  });

  it.each([
    ['no colon', 'alice', /users line 1: expected name:password/],
    ['an empty name', ':password', /users line 1: empty user name/],
    ['an empty password', '\nalice:', /users line 2: empty password/],
    ['a name twice', 'alice:one\nalice:two', /users line 2: user "alice" appears twice/],
  ])('rejects %s, naming the line', (_what, text, message) => {
    expect(() => parseUsers(text, 'users')).toThrow(message);
  });

  it('never quotes a password in an error', () => {
    expect(() => parseUsers('alice:one\nalice:topsecret', 'users')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('topsecret') }));
    expect(() => parseUsers('topsecret-without-colon', 'users')).toThrow(expect.objectContaining({ message: expect.not.stringContaining('topsecret') }));
  });
});

describe('readUsersFile', () => {
  it('reads the sample mailbox users', async () => {
    const users = await readUsersFile(path.join(import.meta.dirname, '../../demo/sample-mailbox/users'));
    expect([...users]).toEqual([['demo', 'demo']]);
  });

  it('names the file in errors', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'pop3kit-users-'));
    try {
      const file = path.join(dir, 'users');
      writeFileSync(file, 'oops\n');
      await expect(readUsersFile(file)).rejects.toThrow(`${file} line 1: expected name:password`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
