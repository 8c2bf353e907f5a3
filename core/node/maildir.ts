/**
 * A MailStore over Maildirs: DIR holds one Maildir per user, `DIR/<name>/{cur,new,tmp}`.
 *
 * Opening a mailbox for a session:
 * 1. checks the name (see `isSafeMailboxName`: it becomes a path) and creates the Maildir if it is missing;
 * 2. locks it (maildir-lock.ts), or answers `in-use`;
 * 3. moves new/ to cur/ as Maildir readers do, keeping the unique name and adding the `:2,` info;
 * 4. lists cur/ in delivery order (the leading seconds of the unique name, then the name) and measures each
 *    message as POP3 sends it, with CRLF line ends (crlf-stream.ts). Sizes are cached per user by file name,
 *    modification time and size, so a session costs a full read only of messages it has not seen before.
 *
 * UIDs (RFC 1939 UIDL) are the unique name's base, the part before `:`, which Maildir never changes when
 * flags change or the file moves from new/ to cur/, so they are stable across sessions and restarts. A base
 * that is not a valid UIDL (longer than 70 characters or outside 0x21 to 0x7E) is replaced by `sha256:` and
 * 60 hex digits of its hash; as a base cannot contain `:`, such a UID never equals another message's base.
 * Two files with the same base (a damaged Maildir) get the hash of their whole file names instead.
 *
 * Messages are read as streams in 64 KiB pieces. Deletions wait for QUIT (the session calls `delete` only
 * in the UPDATE state), so a dropped connection deletes nothing. Maildir files are immutable, but another
 * reader may rename one to change its flags: reading and deleting find it again by its base.
 */
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, readdir, realpath, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Mailbox, MailboxMessage, MailStore } from '../server/mailbox.js';
import { crlfSize, crlfStream } from './crlf-stream.js';
import { DEFAULT_STALE_LOCK_MS, lockMaildir, type MaildirLock } from './maildir-lock.js';
import { hasErrorCode } from './errno.js';

/** Options of a MaildirStore. */
export interface MaildirStoreOptions {
  /** DIR, the folder that holds one Maildir per user. */
  readonly root: string;
  /** The user's password, or undefined for an unknown user (e.g. from `readUsersFile`). */
  readonly password: (user: string) => string | undefined | Promise<string | undefined>;
  /** Age after which a lock file that cannot be checked is broken. Default 30 minutes (maildir-lock.ts). */
  readonly staleLockMs?: number;
}

/**
 * True when `name` may name a mailbox: 1 to 255 characters, no `/`, `\`, `..`, NUL or other control
 * character, and no leading dot (which would reach `.`, `..` or a hidden file). Anything else could leave DIR.
 */
export function isSafeMailboxName(name: string): boolean {
  return (
    name.length > 0 &&
    name.length <= 255 &&
    !name.startsWith('.') &&
    !name.includes('..') &&
    !/[/\\\x00-\x1f\x7f]/.test(name)
  );
}

/** A MailStore that keeps each user's mail in a Maildir under one folder. */
export class MaildirStore implements MailStore {
  readonly #root: string;
  readonly #password: MaildirStoreOptions['password'];
  readonly #staleLockMs: number;
  /** Per user: file name in cur/ → its CRLF size, valid while modification time and size match. */
  readonly #sizes = new Map<string, Map<string, CachedSize>>();

  constructor(options: MaildirStoreOptions) {
    this.#root = path.resolve(options.root);
    this.#password = options.password;
    this.#staleLockMs = options.staleLockMs ?? DEFAULT_STALE_LOCK_MS;
  }

  /** The user's password; undefined for unknown users and for names that are not safe mailbox names. */
  async password(user: string): Promise<string | undefined> {
    return isSafeMailboxName(user) ? this.#password(user) : undefined;
  }

  /** Opens and locks the user's Maildir (creating it if missing), or resolves to `in-use`. */
  async open(user: string): Promise<Mailbox | 'in-use'> {
    if (!isSafeMailboxName(user)) throw new Error('not a valid mailbox name');
    const named = path.join(this.#root, user);
    for (const sub of ['cur', 'new', 'tmp']) await mkdir(path.join(named, sub), { recursive: true, mode: 0o700 });
    const dir = await realpath(named);
    const lock = await lockMaildir(dir, this.#staleLockMs);
    if (!lock) return 'in-use';
    try {
      await moveNewToCur(dir);
      const messages = await this.#scan(user, path.join(dir, 'cur'));
      return new MaildirMailbox(path.join(dir, 'cur'), messages, lock);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  async #scan(user: string, cur: string): Promise<MaildirMessage[]> {
    const previous = this.#sizes.get(user) ?? new Map<string, CachedSize>();
    const sizes = new Map<string, CachedSize>(); // only what is there now, so the cache never outgrows the mailbox
    const files: { name: string; base: string; size: number }[] = [];
    for (const name of await readdir(cur)) {
      if (name.startsWith('.')) continue; // Maildir readers ignore dot files
      const file = path.join(cur, name);
      const info = await lstatIfExists(file);
      // Gone meanwhile (another reader deleted it), or not a message. A symbolic link is never one: it could
      // make the server read any file it can, on behalf of whoever can write to the Maildir.
      if (!info?.isFile()) continue;
      const cached = previous.get(name);
      const hit = cached && cached.mtimeMs === info.mtimeMs && cached.fileSize === info.size;
      const entry = hit ? cached : { mtimeMs: info.mtimeMs, fileSize: info.size, size: await sentSize(file) };
      sizes.set(name, entry);
      files.push({ name, base: baseOf(name), size: entry.size });
    }
    this.#sizes.set(user, sizes);

    files.sort(byDelivery);
    const bases = new Map<string, number>();
    for (const { base } of files) bases.set(base, (bases.get(base) ?? 0) + 1);
    return files.map(({ name, base, size }) => ({
      uid: bases.get(base) === 1 ? uidOf(base) : hashUid(name),
      size,
      base,
      name,
    }));
  }
}

/** The UID for a unique name's base (the part before `:`). */
export function uidOf(base: string): string {
  return /^[\x21-\x7e]{1,70}$/.test(base) ? base : hashUid(base);
}

interface CachedSize {
  readonly mtimeMs: number;
  readonly fileSize: number;
  /** The size with CRLF line ends. */
  readonly size: number;
}

interface MaildirMessage extends MailboxMessage {
  /** The unique name's base, by which the file is found again if renamed. */
  readonly base: string;
  /** The file name in cur/ when the mailbox was opened. */
  readonly name: string;
}

class MaildirMailbox implements Mailbox {
  readonly messages: readonly MaildirMessage[];
  readonly #cur: string;
  readonly #byUid: ReadonlyMap<string, MaildirMessage>;
  readonly #lock: MaildirLock;

  constructor(cur: string, messages: MaildirMessage[], lock: MaildirLock) {
    this.#cur = cur;
    this.messages = messages;
    this.#byUid = new Map(messages.map((m) => [m.uid, m]));
    this.#lock = lock;
  }

  async *read(uid: string): AsyncIterable<Uint8Array> {
    const handle = await this.#attempt(uid, openMessage);
    // The stream owns the handle: it closes it at the end, and when the reader stops early (TOP).
    yield* crlfStream(handle.createReadStream({ highWaterMark: CHUNK }));
  }

  async delete(uids: readonly string[]): Promise<void> {
    const failed: string[] = [];
    for (const uid of uids) {
      try {
        await this.#attempt(uid, (file) => unlink(file));
      } catch (error) {
        // Gone already is what was asked; anything else is reported once every other message is removed.
        if (!hasErrorCode(error, 'ENOENT')) failed.push(uid);
      }
    }
    if (failed.length > 0) throw new Error(`could not delete ${failed.length} of ${uids.length} messages`);
  }

  close(): Promise<void> {
    return this.#lock.release();
  }

  /** Runs `action` on the message's file, looking it up again by its base if it was renamed meanwhile. */
  async #attempt<T>(uid: string, action: (file: string) => Promise<T>): Promise<T> {
    const message = this.#byUid.get(uid);
    if (!message) throw new Error('no such message');
    try {
      return await action(path.join(this.#cur, message.name));
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error;
      const renamed = (await readdir(this.#cur)).find((name) => name !== message.name && baseOf(name) === message.base);
      if (renamed === undefined) throw error;
      return action(path.join(this.#cur, renamed));
    }
  }
}

const CHUNK = 64 * 1024;

/** Opens a message for reading; never through a symbolic link (one swapped in after the listing fails). */
function openMessage(file: string): Promise<FileHandle> {
  return open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
}

/** Moves every message in new/ to cur/, adding the `:2,` info (no flags) that marks it as seen by a reader. */
async function moveNewToCur(dir: string): Promise<void> {
  for (const name of await readdir(path.join(dir, 'new'))) {
    if (name.startsWith('.')) continue;
    const target = name.includes(':') ? name : `${name}:2,`;
    try {
      await rename(path.join(dir, 'new', name), path.join(dir, 'cur', target));
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error; // another reader moved it first
    }
  }
}

/** The size of a file as the server sends it (crlf-stream.ts), read in pieces. */
async function sentSize(file: string): Promise<number> {
  const handle = await openMessage(file);
  return crlfSize(handle.createReadStream({ highWaterMark: CHUNK }));
}

async function lstatIfExists(file: string): Promise<Stats | undefined> {
  try {
    return await lstat(file);
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}

function baseOf(name: string): string {
  const colon = name.indexOf(':');
  return colon === -1 ? name : name.slice(0, colon);
}

function hashUid(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex').slice(0, 60)}`;
}

/** Delivery order: the leading seconds of the unique name (Maildir names start with the delivery time), then the name. */
export function byDelivery(a: { base: string }, b: { base: string }): number {
  const seconds = leadingSeconds(a.base) - leadingSeconds(b.base);
  if (seconds !== 0 && !Number.isNaN(seconds)) return seconds;
  return a.base < b.base ? -1 : a.base > b.base ? 1 : 0;
}

function leadingSeconds(base: string): number {
  const digits = /^\d+/.exec(base);
  return digits ? Number(digits[0]) : Number.POSITIVE_INFINITY;
}
