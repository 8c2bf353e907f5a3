/**
 * The users file of `pop3kit serve --users FILE`: one `name:password` per line.
 *
 * - The name ends at the first `:`; the password is everything after it, so it may itself contain `:`
 *   (and spaces: nothing is trimmed but the line end, LF or CRLF).
 * - Lines whose first non-blank character is `#` are comments; blank lines are ignored.
 * - Passwords are stored in plain text because APOP, CRAM-MD5 and SCRAM-SHA-256 compute with the password
 *   itself: keep the file readable by the server's user only.
 *
 * Errors name the file and line number but never quote the line, which could hold a password.
 */
import { readFile } from 'node:fs/promises';

/** Parses users-file text into a map from user name to password. `source` names it in error messages. */
export function parseUsers(text: string, source = 'users file'): Map<string, string> {
  const users = new Map<string, string>();
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const colon = line.indexOf(':');
    const where = `${source} line ${i + 1}`;
    if (colon === -1) throw new Error(`${where}: expected name:password`);
    if (colon === 0) throw new Error(`${where}: empty user name`);
    const name = line.slice(0, colon);
    const password = line.slice(colon + 1);
    if (password === '') throw new Error(`${where}: empty password`);
    if (users.has(name)) throw new Error(`${where}: user ${JSON.stringify(name)} appears twice`);
    users.set(name, password);
  }
  return users;
}

/** Reads and parses a users file. Changes to the file take effect when it is read again. */
export async function readUsersFile(file: string): Promise<Map<string, string>> {
  return parseUsers(await readFile(file, 'utf8'), file);
}
