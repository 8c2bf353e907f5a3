/**
 * Where the "nothing lost" helpers remember which messages the caller has stored, keyed by UIDL (RFC 1939
 * section 7: a unique id that never changes for a message). Back it with anything durable: a file, a
 * database table, browser storage.
 *
 * A store remembers one mailbox. UIDs are unique only within a maildrop, and fetchNew forgets whatever the
 * mailbox it talks to no longer lists, so a store shared between mailboxes would forget the others' UIDs.
 */

/** A set of UIDs. Each method may be synchronous or return a promise; a resolved `add` must be durable. */
export interface UidStore {
  has(uid: string): boolean | Promise<boolean>;
  add(uid: string): void | Promise<void>;
  delete(uid: string): void | Promise<void>;
  /**
   * Optional: forget every UID not in `present`, and return how many were forgotten. fetchNew calls it after
   * a complete batch with the UIDs the server listed, so the store holds only messages still on the server
   * (a deleted message is never listed again: its UID would otherwise be kept forever). A store without it
   * keeps every UID it was given. The count is the store's to give because only it knows what it holds: a
   * SQL `DELETE ... WHERE uid NOT IN (...)` reports it as the affected rows.
   */
  retain?(present: ReadonlySet<string>): number | Promise<number>;
}

/** A UidStore in memory: for tests, and for sessions that need not survive the process. */
export class MemoryUidStore implements UidStore {
  readonly #uids: Set<string>;

  constructor(uids: Iterable<string> = []) {
    this.#uids = new Set(uids);
  }

  has(uid: string): boolean {
    return this.#uids.has(uid);
  }

  add(uid: string): void {
    this.#uids.add(uid);
  }

  delete(uid: string): void {
    this.#uids.delete(uid);
  }

  retain(present: ReadonlySet<string>): number {
    let forgotten = 0;
    // Deleting the current entry while iterating a Set is safe: iteration goes on with the next one.
    for (const uid of this.#uids) {
      if (!present.has(uid)) {
        this.#uids.delete(uid);
        forgotten++;
      }
    }
    return forgotten;
  }

  get size(): number {
    return this.#uids.size;
  }

  /** The UIDs, in the order they were added. */
  values(): IterableIterator<string> {
    return this.#uids.values();
  }
}
