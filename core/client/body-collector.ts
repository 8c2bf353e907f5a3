/**
 * Where retr(), top() and the batches collect a body: memory the caller owns, filled by copying each
 * dot-unstuffed piece once, as it arrives. The pieces are views into the chunk being read, which the client
 * reads into memory the transport reuses when it can (Transport.readTransient), so nothing of a chunk is
 * kept and a download allocates only its bodies.
 *
 * The memory is sized from the octet count of the server's +OK ("+OK 120 octets"), when it gives one:
 *   - bodies of up to SHARED_MAX octets are carved one after the other out of a shared 64 KiB arena, so a
 *     thousand small messages cost a few allocations, not a thousand (a body then shares its ArrayBuffer
 *     with its neighbours, as Node's small Buffers share a pool);
 *   - a larger body gets memory of its own, of the announced size (reserved lazily by the runtime, so a
 *     server that announces far more than it sends costs address space, not memory);
 *   - a body that outgrows its memory (no count, or a wrong one) moves to memory twice as large, so a body of
 *     unknown size is copied at most about twice over;
 *   - a body that used much less than its own memory is copied to its exact size, so memory the server made
 *     us reserve is not kept.
 * One body is collected at a time: bodies arrive one after the other, and begin() starts the next one (also
 * after a body that never ended, whose bytes are simply forgotten).
 */
const ARENA_SIZE = 64 * 1024;
/** The largest body carved out of an arena. */
const SHARED_MAX = 16 * 1024;
/** The most memory reserved on the server's word alone; a larger body grows as it arrives. */
const RESERVE_MAX = 64 * 1024 * 1024;
const EMPTY = new Uint8Array(0);

export class BodyCollector {
  #arena = EMPTY;
  /** Octets of the arena handed out in bodies; never written again. */
  #arenaUsed = 0;
  /** The memory the current body is written into, from #start; #length octets so far. */
  #target = EMPTY;
  #start = 0;
  #length = 0;

  /** Start a body of `announced` octets (the server's count, if it gave one). */
  begin(announced: number | undefined): void {
    const expected = announced ?? 0;
    this.#length = 0;
    if (expected > SHARED_MAX) {
      this.#target = new Uint8Array(Math.min(expected, RESERVE_MAX));
      this.#start = 0;
      return;
    }
    if (this.#arena.length - this.#arenaUsed < expected || this.#arenaUsed === this.#arena.length) {
      this.#arena = new Uint8Array(ARENA_SIZE);
      this.#arenaUsed = 0;
    }
    this.#target = this.#arena;
    this.#start = this.#arenaUsed;
  }

  /** Copy the next piece of the body (valid only during this call). */
  add(piece: Uint8Array): void {
    const at = this.#start + this.#length;
    if (at + piece.length > this.#target.length) return this.#moveAndAdd(piece);
    this.#target.set(piece, at);
    this.#length += piece.length;
  }

  /** The whole body, which is the caller's from now on. */
  take(): Uint8Array {
    const target = this.#target;
    const body = target.subarray(this.#start, this.#start + this.#length);
    this.#target = EMPTY;
    if (target === this.#arena) {
      this.#arenaUsed = this.#start + this.#length;
      return body;
    }
    return this.#length < target.length - (target.length >> 3) ? body.slice() : body;
  }

  #moveAndAdd(piece: Uint8Array): void {
    const needed = this.#length + piece.length;
    const own = this.#target !== this.#arena;
    const size = Math.max(needed, 2 * (own ? this.#target.length : SHARED_MAX));
    const moved = new Uint8Array(size);
    moved.set(this.#target.subarray(this.#start, this.#start + this.#length));
    moved.set(piece, this.#length);
    this.#target = moved;
    this.#start = 0;
    this.#length = needed;
  }
}
