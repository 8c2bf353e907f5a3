/** Taken items are cut off the array no sooner than this many: each cut copies what is still queued. */
const COMPACT_AFTER = 1024;

/**
 * A first-in first-out queue with O(1) operations at both ends: the engines' events, and the client engine's
 * commands queued and in flight. Taking from the front advances an index instead of shifting the array (on
 * an array of a thousand pipelined commands, each shift() moves the rest: about 100 ns). The array is dropped
 * once drained, and the items taken are cut off it once they are half of it: a queue that never drains (a
 * batch keeps refilling its window of RETRs) would otherwise keep every command it ever held.
 */
export class Fifo<T> {
  #items: T[] = [];
  #next = 0;

  get length(): number {
    return this.#items.length - this.#next;
  }

  push(item: T): void {
    // A store at the end rather than push(): V8 inlines it, where push() on an array read from a field is a
    // call of its builtin.
    const items = this.#items;
    items[items.length] = item;
  }

  /** The oldest item, or undefined when there is none; it stays in the queue. */
  first(): T | undefined {
    return this.#next === this.#items.length ? undefined : this.#items[this.#next];
  }

  /** The newest item, or undefined when there is none. */
  last(): T | undefined {
    return this.#next === this.#items.length ? undefined : this.#items[this.#items.length - 1];
  }

  /** Take the oldest item, or undefined when there is none. */
  shift(): T | undefined {
    if (this.#next === this.#items.length) return undefined;
    const item = this.#items[this.#next++]!;
    if (this.#next === this.#items.length) this.clear();
    else if (this.#next >= COMPACT_AFTER && this.#next * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#next);
      this.#next = 0;
    }
    return item;
  }

  /** The items, oldest first, as a new array. */
  toArray(): T[] {
    return this.#items.slice(this.#next);
  }

  clear(): void {
    this.#items = [];
    this.#next = 0;
  }
}
