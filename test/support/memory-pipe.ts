/**
 * A test-only in-memory byte pipe with two ends, each a ServerConnection, for driving Pop3ServerSession.
 * (The product's in-memory pair is memoryTransportPair in core/client; this one adds what the session tests
 * check.) It has real backpressure (a write resolves only once the other end has read enough), half-close,
 * and a simulated STLS upgrade on both ends: both call startTls() and both resolve once the two have; an end
 * that calls it with a read outstanding throws, since on a real connection that read would swallow handshake
 * bytes.
 */
import type { ServerConnection } from '../../core/server/session.js';

/** One end of a memory pipe. */
export interface MemoryEnd extends ServerConnection {
  startTls(): Promise<void>;
  /** Stop sending (the other end reads the end of the stream) but keep reading. */
  end(): void;
  /** How many STLS upgrades this end went through. */
  readonly tlsUpgrades: number;
}

export interface MemoryPipeOptions {
  /** Unread bytes at which a write waits for the reader. Default 65536. */
  readonly highWaterMark?: number;
}

/** A connected pair of ends: what one writes, the other reads. */
export function memoryPipe(options: MemoryPipeOptions = {}): [MemoryEnd, MemoryEnd] {
  const highWaterMark = options.highWaterMark ?? 65536;
  const aToB = new Channel(highWaterMark);
  const bToA = new Channel(highWaterMark);
  const handshake = new Handshake();
  return [new End(bToA, aToB, handshake), new End(aToB, bToA, handshake)];
}

/** Bytes flowing one way. */
class Channel {
  readonly #highWaterMark: number;
  #chunks: Uint8Array[] = [];
  #buffered = 0;
  #ended = false;
  #reader: (() => void) | undefined;
  #writers: (() => void)[] = [];

  constructor(highWaterMark: number) {
    this.#highWaterMark = highWaterMark;
  }

  async write(bytes: Uint8Array): Promise<void> {
    if (this.#ended) throw new Error('write after end');
    if (bytes.length === 0) return;
    this.#chunks.push(bytes.slice()); // the writer may reuse its array
    this.#buffered += bytes.length;
    this.#wakeReader();
    while (this.#buffered > this.#highWaterMark && !this.#ended) {
      await new Promise<void>((resolve) => this.#writers.push(resolve));
    }
  }

  async read(): Promise<Uint8Array | undefined> {
    while (this.#chunks.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => (this.#reader = resolve));
    }
    const chunk = this.#chunks.shift();
    if (chunk === undefined) return undefined;
    this.#buffered -= chunk.length;
    if (this.#buffered <= this.#highWaterMark) {
      const writers = this.#writers;
      this.#writers = [];
      for (const wake of writers) wake();
    }
    return chunk;
  }

  /** No more writes; the reader gets what is buffered, then the end of the stream. */
  end(): void {
    this.#ended = true;
    this.#wakeReader();
    for (const wake of this.#writers) wake();
    this.#writers = [];
  }

  /** Drop everything: the reader sees the end at once. */
  destroy(): void {
    this.#chunks = [];
    this.#buffered = 0;
    this.end();
  }

  #wakeReader(): void {
    const wake = this.#reader;
    this.#reader = undefined;
    wake?.();
  }
}

/** Both ends must ask for TLS before either gets it. */
class Handshake {
  #waiting: (() => void) | undefined;

  async join(): Promise<void> {
    const other = this.#waiting;
    if (other === undefined) return new Promise((resolve) => (this.#waiting = resolve));
    this.#waiting = undefined;
    other();
  }
}

class End implements MemoryEnd {
  readonly #incoming: Channel;
  readonly #outgoing: Channel;
  readonly #handshake: Handshake;
  #readOutstanding = false;
  #tlsUpgrades = 0;

  constructor(incoming: Channel, outgoing: Channel, handshake: Handshake) {
    this.#incoming = incoming;
    this.#outgoing = outgoing;
    this.#handshake = handshake;
  }

  get tlsUpgrades(): number {
    return this.#tlsUpgrades;
  }

  async read(): Promise<Uint8Array | undefined> {
    if (this.#readOutstanding) throw new Error('two reads outstanding on one memory pipe end');
    this.#readOutstanding = true;
    try {
      return await this.#incoming.read();
    } finally {
      this.#readOutstanding = false;
    }
  }

  write(bytes: Uint8Array): Promise<void> {
    return this.#outgoing.write(bytes);
  }

  async startTls(): Promise<void> {
    if (this.#readOutstanding) throw new Error('startTls() with a read outstanding: it would swallow handshake bytes');
    await this.#handshake.join();
    this.#tlsUpgrades++;
  }

  end(): void {
    this.#outgoing.end();
  }

  close(): void {
    this.#outgoing.end();
    this.#incoming.destroy();
  }
}
