/**
 * The replies the client awaits, by command handle, in the order the commands were queued. The engine
 * answers commands in that order, so the reply asked for is nearly always the oldest: a batch's thousands
 * of replies then cost a comparison each, where a Map costs a hash insert, three lookups and a delete
 * (about 100 ns per message). A command that ends out of order (one the engine refused to send) is found by
 * a search. The entries taken are cut off the arrays once they are half of them, so a queue that never drains
 * (a batch refilling its window) holds about what it awaits, not every reply it ever awaited.
 */
import type { CommandHandle } from '../client-engine.js';

/** Taken entries are cut off no sooner than this many: each cut copies the entries still held. */
const COMPACT_AFTER = 1024;

export class ReplyQueue<R> {
  #handles: (CommandHandle | undefined)[] = [];
  #replies: (R | undefined)[] = [];
  /** Index of the oldest entry still held; entries before it are taken. */
  #head = 0;
  #size = 0;

  /** Replies held. */
  get size(): number {
    return this.#size;
  }

  add(handle: CommandHandle, reply: R): void {
    // Stores at the end rather than push(), as in Fifo.push.
    const handles = this.#handles;
    const replies = this.#replies;
    handles[handles.length] = handle;
    replies[replies.length] = reply;
    this.#size++;
  }

  /** The reply awaited for `handle`, if any. */
  get(handle: CommandHandle): R | undefined {
    const at = this.#indexOf(handle);
    return at === -1 ? undefined : this.#replies[at];
  }

  /** The reply awaited for `handle`, which is then no longer held. */
  take(handle: CommandHandle): R | undefined {
    const at = this.#indexOf(handle);
    if (at === -1) return undefined;
    const reply = this.#replies[at];
    this.#handles[at] = undefined;
    this.#replies[at] = undefined;
    this.#size--;
    while (this.#head < this.#handles.length && this.#handles[this.#head] === undefined) this.#head++;
    if (this.#head === this.#handles.length) this.#reset();
    else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#handles.length) {
      this.#handles = this.#handles.slice(this.#head);
      this.#replies = this.#replies.slice(this.#head);
      this.#head = 0;
    }
    return reply;
  }

  /** The handle of the oldest reply held. */
  oldest(): CommandHandle | undefined {
    return this.#handles[this.#head];
  }

  /** Every reply held, oldest first; none is held afterwards. */
  takeAll(): R[] {
    const replies = this.#replies.slice(this.#head).filter((reply): reply is R => reply !== undefined);
    this.#reset();
    return replies;
  }

  #indexOf(handle: CommandHandle): number {
    if (this.#handles[this.#head] === handle) return this.#head;
    return this.#handles.indexOf(handle, this.#head);
  }

  #reset(): void {
    this.#handles = [];
    this.#replies = [];
    this.#head = 0;
    this.#size = 0;
  }
}
