/**
 * The command lines the client engine has produced and its driver has not yet taken. Everything a client
 * sends is text, so lines are kept as strings and encoded once, together, when taken: a batch queues
 * thousands of short lines, and encoding each on its own (an array per line, then a copy of each into the
 * write) cost more than building it.
 */
import { utf8, utf8Length } from './bytes.js';

export class OutgoingText {
  #lines: string[] = [];
  #length = 0;

  /** UTF-8 octets waiting to be taken. */
  get length(): number {
    return this.#length;
  }

  /** Keep a line (CRLF included), `octets` long in UTF-8, for the next take(). */
  push(line: string, octets = utf8Length(line)): void {
    const lines = this.#lines;
    lines[lines.length] = line; // rather than push(), as in Fifo.push
    this.#length += octets;
  }

  /** Everything waiting, encoded as one array, or undefined when nothing is. */
  take(): Uint8Array | undefined {
    if (this.#lines.length === 0) return undefined;
    const text = this.#lines.length === 1 ? this.#lines[0]! : this.#lines.join('');
    this.clear();
    return utf8(text);
  }

  /** Drop everything waiting (the connection it was meant for is gone). */
  clear(): void {
    this.#lines = [];
    this.#length = 0;
  }
}
