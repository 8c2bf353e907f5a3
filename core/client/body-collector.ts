/**
 * Where retr(), top() and the batches collect a body: memory the caller owns, filled by copying each
 * dot-unstuffed piece once, as it arrives. The pieces are views into the chunk being read, which the client
 * reads into memory the transport reuses when it can (Transport.readTransient), so nothing of a chunk is
 * kept and a download allocates only its bodies.
 *
 * The memory is sized from the octet count of the server's +OK ("+OK 120 octets"), when it gives one:
 *   - small bodies are carved one after the other out of a shared block (an arena), so a thousand small
 *     messages cost a few allocations, not a thousand (a body then shares its ArrayBuffer with its
 *     neighbours, as Node's small Buffers share a pool);
 *   - a larger body gets memory of its own, of the announced size (reserved lazily by the runtime, so a
 *     server that announces far more than it sends costs address space, not memory);
 *   - a body that outgrows its memory (no count, or a wrong one) moves to memory twice as large, so a body of
 *     unknown size is copied at most about twice over;
 *   - a body that used much less than its own memory is copied to its exact size, so memory the server made
 *     us reserve is not kept.
 * One body is collected at a time: bodies arrive one after the other, and begin() starts the next one (also
 * after a body that never ended, whose bytes are simply forgotten).
 *
 * With `reuse` (retrieveMany's `reuseBodies`), the caller gives each body back with release() once done with
 * it, and an arena whose bodies have all been given back is carved again: a batch then allocates nothing per
 * message once it runs. Its arenas are larger, so that most messages fit one.
 */
const EMPTY: Uint8Array = new Uint8Array(0);
/** The most memory reserved on the server's word alone; a larger body grows as it arrives. */
const RESERVE_MAX = 64 * 1024 * 1024;

/** Arena sizes, and the largest body carved out of one; larger bodies get memory of their own. */
const SIZES = {
  owned: { arena: 64 * 1024, sharedMax: 16 * 1024 },
  reused: { arena: 1024 * 1024, sharedMax: 256 * 1024 },
};
/** Arenas kept for reuse once empty: beyond this they are left to the garbage collector. */
const MAX_FREE_ARENAS = 8;

interface Arena {
  readonly bytes: Uint8Array;
  /** Octets handed out in bodies; never written again until every one of them is given back. */
  used: number;
  /** Bodies handed out and not given back (reuse only). */
  live: number;
}

export class BodyCollector {
  readonly #reuse: boolean;
  readonly #sizes: { readonly arena: number; readonly sharedMax: number };
  #arena: Arena = { bytes: EMPTY, used: 0, live: 0 };
  /** Reuse: every arena by its memory, and those whose bodies have all been given back. */
  readonly #arenas = new Map<ArrayBufferLike, Arena>();
  readonly #free: Arena[] = [];
  /** The memory the current body is written into, from #start; #length octets so far. */
  #target = EMPTY;
  #start = 0;
  #length = 0;

  constructor(options: { reuse?: boolean } = {}) {
    this.#reuse = options.reuse === true;
    this.#sizes = this.#reuse ? SIZES.reused : SIZES.owned;
  }

  /** Start a body of `announced` octets (the server's count, if it gave one). */
  begin(announced: number | undefined): void {
    const expected = announced ?? 0;
    this.#length = 0;
    if (expected > this.#sizes.sharedMax) {
      this.#target = new Uint8Array(Math.min(expected, RESERVE_MAX));
      this.#start = 0;
      return;
    }
    const arena = this.#arena;
    if (arena.bytes.length - arena.used < expected || arena.used === arena.bytes.length) this.#nextArena();
    this.#target = this.#arena.bytes;
    this.#start = this.#arena.used;
  }

  /** Copy the next piece of the body (valid only during this call). */
  add(piece: Uint8Array): void {
    const at = this.#start + this.#length;
    if (at + piece.length > this.#target.length) return this.#moveAndAdd(piece);
    this.#target.set(piece, at);
    this.#length += piece.length;
  }

  /** The whole body, which is the caller's from now on (with `reuse`, until it is given back). */
  take(): Uint8Array {
    const target = this.#target;
    const body = target.subarray(this.#start, this.#start + this.#length);
    this.#target = EMPTY;
    if (target === this.#arena.bytes) {
      this.#arena.used = this.#start + this.#length;
      this.#arena.live++;
      return body;
    }
    return this.#length < target.length - (target.length >> 3) ? body.slice() : body;
  }

  /** With `reuse`: the caller is done with `body`, whose memory may be written again. */
  release(body: Uint8Array): void {
    const arena = this.#arenas.get(body.buffer);
    if (arena === undefined) return; // memory of its own, or not from here
    arena.live--;
    if (arena !== this.#arena) this.#recycle(arena);
  }

  /** Carve from a fresh arena: one given back whole (reuse), or new memory. */
  #nextArena(): void {
    const old = this.#arena;
    this.#arena = this.#free.pop() ?? this.#newArena();
    if (this.#reuse) this.#recycle(old);
  }

  #newArena(): Arena {
    const arena: Arena = { bytes: new Uint8Array(this.#sizes.arena), used: 0, live: 0 };
    if (this.#reuse) this.#arenas.set(arena.bytes.buffer, arena);
    return arena;
  }

  /** An arena no longer carved from whose bodies have all been given back is free again. */
  #recycle(arena: Arena): void {
    if (arena.live > 0 || arena.bytes === EMPTY) return;
    if (this.#free.length < MAX_FREE_ARENAS) {
      arena.used = 0;
      this.#free.push(arena);
    } else {
      this.#arenas.delete(arena.bytes.buffer);
    }
  }

  #moveAndAdd(piece: Uint8Array): void {
    const needed = this.#length + piece.length;
    const own = this.#target !== this.#arena.bytes;
    const size = Math.max(needed, 2 * (own ? this.#target.length : this.#sizes.sharedMax));
    const moved = new Uint8Array(size);
    moved.set(this.#target.subarray(this.#start, this.#start + this.#length));
    moved.set(piece, this.#length);
    this.#target = moved;
    this.#start = 0;
    this.#length = needed;
  }
}
