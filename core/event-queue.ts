/**
 * The queue behind an engine's `nextEvent()`: events are pushed as input is processed and pulled by the
 * driver. Pulling advances an index instead of shifting the array, and the array is dropped once drained, so
 * a burst of thousands of events costs O(1) per event.
 */
export class EventQueue<T> {
  #items: T[] = [];
  #next = 0;

  push(item: T): void {
    this.#items.push(item);
  }

  /** The oldest event not yet taken, or undefined when there is none. */
  shift(): T | undefined {
    if (this.#next === this.#items.length) return undefined;
    const item = this.#items[this.#next++]!;
    if (this.#next === this.#items.length) {
      this.#items = [];
      this.#next = 0;
    }
    return item;
  }
}
