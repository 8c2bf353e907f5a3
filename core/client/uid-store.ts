/**
 * Where the "nothing lost" helpers remember which messages the caller has stored, keyed by UIDL (RFC 1939
 * section 7: a unique id that never changes for a message). Back it with anything durable: a file, a
 * database table, browser storage.
 */

/** A set of UIDs. Each method may be synchronous or return a promise; a resolved `add` must be durable. */
export interface UidStore {
  has(uid: string): boolean | Promise<boolean>;
  add(uid: string): void | Promise<void>;
  delete(uid: string): void | Promise<void>;
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

  get size(): number {
    return this.#uids.size;
  }

  /** The UIDs, in the order they were added. */
  values(): IterableIterator<string> {
    return this.#uids.values();
  }
}
