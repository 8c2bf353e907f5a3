/**
 * The sample mailbox read into memory: the users file and each user's Maildir, laid out as `pop3kit serve`
 * reads them (DIR/users, DIR/<name>/{cur,new}), with the messages numbered and named as MaildirStore
 * (core/node/maildir.ts) would number and name them, so that the embedded server and `pop3kit serve` over the
 * same folder show the same mailbox:
 *
 * - files in cur/ and new/ whose names do not start with a dot, regular files only (never a symbolic link);
 * - the UID is `uidOf` of the unique name's base (the part before `:`), which a move from new/ to cur/ keeps;
 * - delivery order: the leading seconds of the base, then the base.
 *
 * The folder is only read, never changed: the demo's deletions happen in memory (sample-store.ts).
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { hasErrorCode } from '../../core/node/errno.js';
import { byDelivery, isSafeMailboxName, uidOf } from '../../core/node/maildir.js';
import { readUsersFile } from '../../core/node/users-file.js';

/** One message of the sample, as stored on disk (the store converts line ends). */
export interface SampleMessage {
  readonly uid: string;
  readonly content: Uint8Array;
}

/** Every user of the sample with their password and messages. */
export interface SampleMailbox {
  /** User name → password, in the order of the users file. */
  readonly users: ReadonlyMap<string, string>;
  /** User name → messages, in the order POP3 numbers them. */
  readonly messages: ReadonlyMap<string, readonly SampleMessage[]>;
}

/** Reads DIR/users and every listed user's Maildir under DIR. A missing Maildir is an empty mailbox. */
export async function readSampleMailbox(dir: string): Promise<SampleMailbox> {
  const users = await readUsersFile(path.join(dir, 'users'));
  const messages = new Map<string, SampleMessage[]>();
  for (const user of users.keys()) {
    if (!isSafeMailboxName(user)) throw new Error(`${path.join(dir, 'users')}: ${JSON.stringify(user)} cannot name a Maildir`);
    messages.set(user, await readMaildir(path.join(dir, user)));
  }
  return { users, messages };
}

async function readMaildir(maildir: string): Promise<SampleMessage[]> {
  const files: { file: string; base: string }[] = [];
  for (const sub of ['cur', 'new']) {
    for (const entry of await listDir(path.join(maildir, sub))) {
      if (entry.name.startsWith('.') || !entry.isFile()) continue;
      files.push({ file: path.join(maildir, sub, entry.name), base: baseOf(entry.name) });
    }
  }
  files.sort(byDelivery); // MaildirStore's order
  const messages: SampleMessage[] = [];
  for (const { file, base } of files) {
    // MaildirStore would fall back to hashes of the whole file names; the sample has no reason to need that.
    if (messages.some((m) => m.uid === uidOf(base))) throw new Error(`${file}: two messages with the unique name ${base}`);
    messages.push({ uid: uidOf(base), content: await readFile(file) });
  }
  return messages;
}

async function listDir(dir: string): Promise<Dirent[]> {
  try {
    return await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return [];
    throw error;
  }
}

/** The unique name's base: the part before `:` (the info part holds flags, which change). */
function baseOf(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(0, colon);
}
