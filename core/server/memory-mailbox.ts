/**
 * A MailStore held in memory: users with passwords, messages as bytes. For tests, the in-page demo, and
 * anyone who wants a throwaway POP3 server.
 *
 * Messages are stored with CRLF line ends (bare LF and bare CR are converted on delivery, and a message that
 * does not end with a line end gets a final CRLF, which the dot-stuffer would add anyway), so their sizes are
 * exactly what RETR sends. UIDs never change and are never reused. A user's mailbox is locked while a
 * session has it open; deletions happen only through `Mailbox.delete`, which the session calls at QUIT.
 *
 * Besides the async MailStore interface, every operation has a synchronous form (`passwordOf`, `lock`,
 * `MemoryMailbox.content`, `deleteNow`) for drivers that answer the engine without awaiting, such as tests.
 */
import { utf8 } from '../bytes.js';
import { ErrorCode, LocalProtocolError } from '../errors.js';
import { revealText, Secret, type SecretText } from '../secret.js';
import { toCrlf } from './line-ends.js';
import type { Mailbox, MailboxMessage, MailStore } from './mailbox.js';

/** A stored message. */
export interface MemoryMessage extends MailboxMessage {
  /** The message with CRLF line ends; `size` is its length. */
  readonly content: Uint8Array;
}

export interface MemoryMailStoreOptions {
  /** How many bytes each piece of `Mailbox.read` holds (small values exercise streaming). Default 65536. */
  readonly chunkSize?: number;
}

interface User {
  password: Secret<string>;
  messages: MemoryMessage[];
  locked: boolean;
}

/** UIDL: 1 to 70 characters from 0x21 to 0x7E (RFC 1939 section 7). */
const UID = /^[\x21-\x7e]{1,70}$/;

/** Users and their mailboxes, in memory. */
export class MemoryMailStore implements MailStore {
  readonly #users = new Map<string, User>();
  readonly #chunkSize: number;
  #lastUid = 0;

  constructor(options: MemoryMailStoreOptions = {}) {
    this.#chunkSize = options.chunkSize ?? 65536;
    if (!Number.isSafeInteger(this.#chunkSize) || this.#chunkSize < 1) {
      throw new LocalProtocolError(ErrorCode.BadArgument, 'chunkSize must be a positive integer');
    }
  }

  /** Add a user with an empty mailbox, or change an existing user's password. */
  addUser(user: string, password: SecretText): void {
    const existing = this.#users.get(user);
    if (existing !== undefined) existing.password = new Secret(revealText(password));
    else this.#users.set(user, { password: new Secret(revealText(password)), messages: [], locked: false });
  }

  /**
   * Store a message for a user (text is encoded as UTF-8; line ends become CRLF) and return its UID: the
   * one given, or a fresh one. A session that has the mailbox open does not see it until the next session.
   */
  deliver(user: string, message: string | Uint8Array, uid?: string): string {
    const account = this.#user(user);
    const id = uid ?? String(++this.#lastUid).padStart(8, '0');
    if (!UID.test(id)) throw new LocalProtocolError(ErrorCode.BadArgument, 'a UID is 1 to 70 printable ASCII characters');
    if (account.messages.some((stored) => stored.uid === id)) {
      throw new LocalProtocolError(ErrorCode.BadArgument, `${user} already has a message with UID ${id}`);
    }
    const content = withFinalCrlf(toCrlf(typeof message === 'string' ? utf8(message) : message));
    account.messages.push({ uid: id, size: content.length, content });
    return id;
  }

  /** The user's stored messages, oldest first, or undefined for an unknown user. */
  messages(user: string): readonly MemoryMessage[] | undefined {
    return this.#users.get(user)?.messages.slice();
  }

  /** Whether a session holds the user's mailbox. */
  isLocked(user: string): boolean {
    return this.#users.get(user)?.locked === true;
  }

  /** The user's password, or undefined for an unknown user (synchronous form of `password`). */
  passwordOf(user: string): string | undefined {
    return this.#users.get(user)?.password.reveal();
  }

  /** Open and lock the user's mailbox, or `in-use` (synchronous form of `open`). */
  lock(user: string): MemoryMailbox | 'in-use' {
    const account = this.#user(user);
    if (account.locked) return 'in-use';
    account.locked = true;
    return new OpenMailbox(account, this.#chunkSize);
  }

  async password(user: string): Promise<string | undefined> {
    return this.passwordOf(user);
  }

  async open(user: string): Promise<Mailbox | 'in-use'> {
    return this.lock(user);
  }

  #user(user: string): User {
    const account = this.#users.get(user);
    if (account === undefined) throw new LocalProtocolError(ErrorCode.BadArgument, `no user ${JSON.stringify(user)}`);
    return account;
  }
}

/** `content`, ending with CRLF unless empty: the form in which RETR sends exactly `content.length` octets. */
function withFinalCrlf(content: Uint8Array): Uint8Array {
  if (content.length === 0 || content[content.length - 1] === 0x0a) return content;
  const out = new Uint8Array(content.length + 2);
  out.set(content);
  out.set([0x0d, 0x0a], content.length);
  return out;
}

/** One session's view of a user's mailbox: the messages as they were when it was opened. */
export interface MemoryMailbox extends Mailbox {
  readonly messages: readonly MemoryMessage[];
  content(uid: string): Uint8Array;
  deleteNow(uids: readonly string[]): void;
  /** Release the lock (synchronous form of `close`; further calls do nothing). */
  closeNow(): void;
}

class OpenMailbox implements MemoryMailbox {
  readonly messages: readonly MemoryMessage[];
  readonly #account: User;
  readonly #chunkSize: number;
  #open = true;

  constructor(account: User, chunkSize: number) {
    this.#account = account;
    this.#chunkSize = chunkSize;
    this.messages = account.messages.slice();
  }

  content(uid: string): Uint8Array {
    const message = this.messages.find((candidate) => candidate.uid === uid);
    if (message === undefined) throw new LocalProtocolError(ErrorCode.BadArgument, `no message with UID ${uid} in this mailbox`);
    return message.content;
  }

  async *read(uid: string): AsyncIterable<Uint8Array> {
    const content = this.content(uid);
    for (let offset = 0; offset < content.length; offset += this.#chunkSize) {
      yield content.subarray(offset, offset + this.#chunkSize);
    }
  }

  deleteNow(uids: readonly string[]): void {
    if (!this.#open) throw new LocalProtocolError(ErrorCode.SessionClosed, 'the mailbox is closed');
    const doomed = new Set(uids);
    this.#account.messages = this.#account.messages.filter((message) => !doomed.has(message.uid));
  }

  async delete(uids: readonly string[]): Promise<void> {
    this.deleteNow(uids);
  }

  closeNow(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#account.locked = false;
  }

  async close(): Promise<void> {
    this.closeNow();
  }
}
