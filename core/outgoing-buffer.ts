/**
 * The bytes an engine has produced and its driver has not yet taken. Pieces are kept as they are and joined
 * only when taken, so a burst of pipelined commands or replies leaves in one write.
 */
import { concat } from './bytes.js';

export class OutgoingBuffer {
  #parts: Uint8Array[] = [];
  #length = 0;

  /** Bytes waiting to be taken. */
  get length(): number {
    return this.#length;
  }

  /** Keep bytes for the next take(); an empty array is nothing to write, so it is not kept. */
  push(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#parts.push(bytes);
    this.#length += bytes.length;
  }

  /** Everything waiting, as one array, or undefined when nothing is. */
  take(): Uint8Array | undefined {
    const parts = this.#parts;
    if (parts.length === 0) return undefined;
    this.clear();
    return parts.length === 1 ? parts[0] : concat(parts);
  }

  /** Drop everything waiting (the connection it was meant for is gone). */
  clear(): void {
    this.#parts = [];
    this.#length = 0;
  }
}
