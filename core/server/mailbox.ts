/**
 * What the POP3 server needs from storage, as two small interfaces, so that memory, Maildir or anything else
 * can back it. Everything is async because real storage is; the server engine itself stays sans-IO and the
 * session that drives it awaits these calls.
 */

/** One message as a POP3 session sees it. */
export interface MailboxMessage {
  /** A unique id that never changes for this message (RFC 1939 UIDL: 1 to 70 characters 0x21 to 0x7E). */
  readonly uid: string;
  /** The size in octets as sent by RETR, with CRLF line ends and before dot-stuffing (RFC 1939 LIST). */
  readonly size: number;
}

/**
 * One user's mailbox, opened and locked for one session. Message n of the session is `messages[n - 1]`,
 * fixed for the whole session (RFC 1939: numbering does not change until the session ends).
 */
export interface Mailbox {
  /** The messages, as they were when the mailbox was opened. */
  readonly messages: readonly MailboxMessage[];
  /**
   * The content of a message with CRLF line ends, in pieces; the server dot-stuffs it on the way out, so
   * memory stays bounded for any size.
   */
  read(uid: string): AsyncIterable<Uint8Array>;
  /** Remove these messages for good. Called once, at QUIT in the TRANSACTION state (the UPDATE state). */
  delete(uids: readonly string[]): Promise<void>;
  /** Release the lock. Called exactly once when the session ends, however it ends. */
  close(): Promise<void>;
}

/** The users and their mailboxes. */
export interface MailStore {
  /**
   * The user's password, or undefined for an unknown user. The server needs the password itself (not a
   * hash) because APOP, CRAM-MD5 and SCRAM-SHA-256 compute with it.
   */
  password(user: string): Promise<string | undefined>;
  /**
   * Open and lock the user's mailbox. Resolve to `in-use` when another session holds the lock: the server
   * then answers `-ERR [IN-USE]` (RFC 2449).
   */
  open(user: string): Promise<Mailbox | 'in-use'>;
}
