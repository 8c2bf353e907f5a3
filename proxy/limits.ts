/**
 * Admission control: caps on open sessions (in total and per client address) and a token-bucket rate limit
 * on new connections per client address. Memory stays bounded: a client's entries disappear once it has no
 * session open and its bucket has refilled.
 */
import type { RateLimit } from './config.js';
import type { RefusalReason } from './refusals.js';

interface Bucket {
  tokens: number;
  /** When `tokens` was last brought up to date, in ms. */
  at: number;
}

/** Caps and rate limit, keyed by client address. */
export class ConnectionLimits {
  readonly #maxTotal: number;
  readonly #maxPerClient: number;
  readonly #rate: RateLimit | false;
  readonly #now: () => number;
  readonly #open = new Map<string, number>();
  readonly #buckets = new Map<string, Bucket>();
  #total = 0;

  constructor(options: { maxConnections: number; maxConnectionsPerClient: number; rateLimit: RateLimit | false; now: () => number }) {
    this.#maxTotal = options.maxConnections;
    this.#maxPerClient = options.maxConnectionsPerClient;
    this.#rate = options.rateLimit;
    this.#now = options.now;
  }

  /** Open sessions in total. */
  get open(): number {
    return this.#total;
  }

  /**
   * Counts a new connection from `client` if it may open, and returns undefined; otherwise returns why not
   * and counts nothing open. Every attempt takes a token, so a client that keeps retrying while refused
   * stays rate limited. A caller that admitted must call release() exactly once.
   */
  admit(client: string): RefusalReason | undefined {
    if (this.#rate !== false && !this.#take(client, this.#rate)) return 'rate-limited';
    if (this.#total >= this.#maxTotal) return 'too-many-connections';
    const mine = this.#open.get(client) ?? 0;
    if (mine >= this.#maxPerClient) return 'too-many-from-client';
    this.#open.set(client, mine + 1);
    this.#total++;
    return undefined;
  }

  /** Ends the count of one admitted connection from `client`. */
  release(client: string): void {
    const mine = this.#open.get(client) ?? 0;
    if (mine <= 1) this.#open.delete(client);
    else this.#open.set(client, mine - 1);
    this.#total--;
  }

  /** Forgets buckets that have refilled: they would behave exactly like a new one. Call now and then. */
  sweep(): void {
    if (this.#rate === false) return;
    const now = this.#now();
    for (const [client, bucket] of this.#buckets) {
      if (this.#refill(bucket, this.#rate, now) >= this.#rate.burst) this.#buckets.delete(client);
    }
  }

  #refill(bucket: Bucket, rate: RateLimit, now: number): number {
    bucket.tokens = Math.min(rate.burst, bucket.tokens + ((now - bucket.at) / 1000) * rate.perSecond);
    bucket.at = now;
    return bucket.tokens;
  }

  #take(client: string, rate: RateLimit): boolean {
    const now = this.#now();
    let bucket = this.#buckets.get(client);
    if (bucket === undefined) {
      bucket = { tokens: rate.burst, at: now };
      this.#buckets.set(client, bucket);
    }
    if (this.#refill(bucket, rate, now) < 1) return false;
    bucket.tokens -= 1;
    return true;
  }
}
