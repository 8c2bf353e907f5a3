/**
 * Temporary Maildir trees for the Node server tests: copies of the sample mailbox (demo/sample-mailbox), made
 * per test so that deletions and new/ → cur/ moves never touch the repository, and the bytes each message
 * should arrive as.
 */
import { copyFileSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The sample mailbox folder in the repository (DIR of `pop3kit serve`). */
export const SAMPLE_ROOT = fileURLToPath(new URL('../../demo/sample-mailbox', import.meta.url));
/** The sample user's Maildir message folder. */
export const SAMPLE_CUR = path.join(SAMPLE_ROOT, 'demo', 'cur');

/** The sample's file names in cur/, in delivery order (the order the server numbers them). */
export function sampleFileNames(): string[] {
  return readdirSync(SAMPLE_CUR).sort((a, b) => Number(a.split('.')[0]) - Number(b.split('.')[0]));
}

/**
 * The sample messages as POP3 must send them: CRLF line ends, in delivery order. Written independently of
 * core/node/line-ends.ts (every sample file ends with a line end, so a regular expression suffices).
 */
export function sampleMessages(): Buffer[] {
  return sampleFileNames().map((name) => Buffer.from(readFileSync(path.join(SAMPLE_CUR, name), 'latin1').replace(/\r?\n/g, '\r\n'), 'latin1'));
}

/** A temporary folder and a function that removes it. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), `pop3kit-${prefix}-`));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Fills `root` with a Maildir per user, each holding the sample messages in cur/, and writes `root/users`
 * with `name:password` lines. Files are hard links of one copy (they are never modified, only unlinked),
 * so even hundreds of users cost almost nothing.
 */
export function writeSampleMaildirs(root: string, users: Record<string, string>): string {
  const master = path.join(root, '.sample');
  mkdirSync(master, { recursive: true });
  for (const name of sampleFileNames()) copyFileSync(path.join(SAMPLE_CUR, name), path.join(master, name));
  for (const user of Object.keys(users)) {
    for (const sub of ['cur', 'new', 'tmp']) mkdirSync(path.join(root, user, sub), { recursive: true });
    for (const name of sampleFileNames()) linkSync(path.join(master, name), path.join(root, user, 'cur', name));
  }
  const usersFile = path.join(root, 'users');
  writeFileSync(usersFile, Object.entries(users).map(([user, password]) => `${user}:${password}\n`).join(''));
  return usersFile;
}
