/**
 * A transport that lends its chunks (Transport.readTransient) and then ruins them, to prove that the client
 * keeps no view into a transient chunk past the next read.
 */
import type { Transport } from '../../core/client/transport.js';

/**
 * A transport with readTransient(): it lends one buffer, and at the next read of either kind scribbles over
 * what it lent. A view into a transient chunk kept past that point shows up as corrupted bytes.
 */
export class ScribblingTransport implements Transport {
  readonly secure = false;
  readonly local = true;
  transientReads = 0;
  readonly #inner: Transport;
  // A Node Buffer, as the TCP transport lends: its slice() is a view, not a copy.
  #buffer = Buffer.alloc(1024);
  #lent: Uint8Array | undefined;

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  read(): Promise<Uint8Array | undefined> {
    this.#scribble();
    return this.#inner.read();
  }

  async readTransient(): Promise<Uint8Array | undefined> {
    this.#scribble();
    const chunk = await this.#inner.read();
    if (chunk === undefined) return undefined;
    this.transientReads++;
    if (chunk.length > this.#buffer.length) this.#buffer = Buffer.alloc(chunk.length);
    this.#lent = this.#buffer.subarray(0, chunk.length);
    this.#lent.set(chunk);
    return this.#lent;
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.#inner.write(bytes);
  }

  close(): void {
    this.#inner.close();
  }

  #scribble(): void {
    this.#lent?.fill(0xee);
    this.#lent = undefined;
  }
}

