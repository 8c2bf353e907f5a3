/**
 * One POP3 session per mailbox (RFC 1939 section 8: the server locks the maildrop for the session).
 *
 * Two layers: an in-process registry, so sessions of one server exclude each other without touching the
 * disk, and a lock file `pop3kit.lock` inside the Maildir, created with O_EXCL, so pop3kit servers in other
 * processes (or on other hosts sharing the directory) do too. The file says who holds it:
 * `<pid> <hostname> <token>`. It only excludes pop3kit: Maildir itself needs no lock for delivery, and other
 * readers (Dovecot, a mail client) do not look at it.
 *
 * A lock left behind by a crash is stale and is broken:
 * - on this host, when its process no longer runs, or when it names this very process but the registry does
 *   not hold it (a restarted server that got the same pid, as is common for pid 1 in a container);
 * - from another host, or when unreadable, only once its file is older than `staleAfterMs` (default 30
 *   minutes, three times RFC 1939's minimum autologout time), since a remote process cannot be checked.
 * Breaking renames the file aside and checks it moved the very file it judged (same inode), so two servers
 * breaking the same stale lock at once cannot both win, and a fresh lock taken in between is put back.
 */
import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { hasErrorCode } from './errno.js';

/** The lock file's name inside a Maildir. */
export const LOCK_FILE = 'pop3kit.lock';

/** Default age after which a lock that cannot be checked (another host, unreadable) is stale. */
export const DEFAULT_STALE_LOCK_MS = 30 * 60 * 1000;

/** Lock files held by this process, by path. */
const held = new Set<string>();

/** A held lock. Release it exactly once. */
export interface MaildirLock {
  release(): Promise<void>;
}

/**
 * Locks the Maildir at `dir` (a real path, so that two names for one directory share one lock). Resolves to
 * undefined when another session holds it.
 */
export async function lockMaildir(dir: string, staleAfterMs = DEFAULT_STALE_LOCK_MS): Promise<MaildirLock | undefined> {
  const file = path.join(dir, LOCK_FILE);
  if (held.has(file)) return undefined;
  held.add(file); // reserve at once: the awaits below must not let a second session of this process in
  try {
    const content = `${process.pid} ${hostname()} ${randomBytes(12).toString('hex')}\n`;
    // Two attempts: the second follows breaking a stale lock.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (await create(file, content)) return new HeldLock(file, content);
      if (!(await breakIfStale(file, staleAfterMs))) break;
    }
    held.delete(file);
    return undefined;
  } catch (error) {
    held.delete(file);
    throw error;
  }
}

class HeldLock implements MaildirLock {
  readonly #file: string;
  readonly #content: string;
  #released = false;
  constructor(file: string, content: string) {
    this.#file = file;
    this.#content = content;
  }
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    try {
      // Remove only our own file: if another host broke our lock as stale and took it, the file is theirs.
      if ((await readFile(this.#file, 'utf8')) === this.#content) await unlink(this.#file);
    } catch (error) {
      if (!hasErrorCode(error, 'ENOENT')) throw error;
    } finally {
      held.delete(this.#file);
    }
  }
}

/** Creates the lock file with O_EXCL; false when it exists. */
async function create(file: string, content: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(file, 'wx', 0o600);
  } catch (error) {
    if (hasErrorCode(error, 'EEXIST')) return false;
    throw error;
  }
  try {
    await handle.writeFile(content);
  } finally {
    await handle.close();
  }
  return true;
}

/** Removes the lock file at `file` if it is stale. True when there is no lock file any more. */
async function breakIfStale(file: string, staleAfterMs: number): Promise<boolean> {
  let judged;
  let content;
  try {
    judged = await stat(file);
    content = await readFile(file, 'utf8');
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return true; // released meanwhile
    throw error;
  }
  if (!isStale(content, judged.mtimeMs, staleAfterMs)) return false;

  const aside = `${file}.stale-${process.pid}-${randomBytes(6).toString('hex')}`;
  try {
    await rename(file, aside);
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return true; // someone else broke it first
    throw error;
  }
  const moved = await stat(aside);
  if (moved.ino !== judged.ino || moved.dev !== judged.dev) {
    // A fresh lock was taken between judging and renaming: put it back (link fails only if yet another
    // lock exists, which then holds the mailbox just the same).
    await link(aside, file).catch(() => {});
    await unlink(aside);
    return false;
  }
  await unlink(aside);
  return true;
}

/** Whether a lock file with this content and modification time belongs to nobody any more. */
function isStale(content: string, mtimeMs: number, staleAfterMs: number): boolean {
  const match = /^(\d+) (\S+) \S+\n$/.exec(content);
  if (match && match[2] === hostname()) {
    const pid = Number(match[1]);
    if (pid === process.pid) return true; // the registry did not hold it, so no session of ours does
    return !isRunning(pid);
  }
  return Date.now() - mtimeMs > staleAfterMs;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0); // signal 0 only checks
    return true;
  } catch (error) {
    return !hasErrorCode(error, 'ESRCH'); // EPERM: it runs, as another user
  }
}
