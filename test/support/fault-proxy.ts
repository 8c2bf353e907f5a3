/**
 * A TCP proxy on 127.0.0.1 that misbehaves on purpose, between a client under test and a real server.
 *
 * Each accepted connection gets its own connection to the target and two one-way pipes (`from: 'server'`
 * carries what the server sends, `from: 'client'` what the client sends). With no options it is a plain
 * pass-through. Options add faults, applied to every connection, each counted from that connection's start:
 *
 * - `cut`: when a trigger fires, the watched stream is delivered exactly up to the trigger position, then
 *   the connection ends on both sides (`mode: 'close'`, the default: the receiving peer gets those bytes and
 *   then a FIN; `'reset'`: a TCP RST instead, which the peer sees as ECONNRESET, or on Linux as a plain end
 *   of stream when it still had bytes to read). The other direction's bytes not yet written are dropped.
 * - `stall`: when a trigger fires, that stream stops being forwarded for `ms` milliseconds (what arrives
 *   meanwhile is queued; reading pauses beyond 1 MiB), then resumes.
 * - `oneByteWrites`: every write in that direction (or both) goes out one byte at a time, each byte written
 *   once the previous one has been handed to the kernel and the event loop has gone round, with Nagle off.
 * - `latency`: each chunk in that direction is delayed by so many milliseconds from its arrival.
 *
 * A trigger is either a byte count (`afterBytes: n`: the first n bytes of the stream pass, the trigger is
 * between byte n and n + 1) or a pattern: the `occurrence`-th match (from 1, default 1) of `pattern` in the
 * stream, with the trigger `offset` bytes after the match's first byte (default: the pattern's length, i.e.
 * right after it; 0 is right before it; more reaches into what follows). Matches may span chunks. When the
 * trigger may fall inside a pattern that has only partly arrived, the partial match at the end of a chunk is
 * held back until the next chunk decides; so a pattern cut with `offset` below its length must not start
 * with bytes a stream can pause on (a pattern starting with CR or LF would hold back line ends).
 */
import net from 'node:net';

export type Side = 'server' | 'client';

export type Trigger =
  | { readonly from: Side; readonly afterBytes: number }
  | { readonly from: Side; readonly pattern: string | Uint8Array; readonly occurrence?: number; readonly offset?: number };

export interface FaultOptions {
  /** Where connections go. */
  readonly target: { readonly host: '127.0.0.1'; readonly port: number };
  readonly cut?: Trigger & { readonly mode?: 'close' | 'reset' };
  readonly stall?: Trigger & { readonly ms: number };
  readonly oneByteWrites?: Side | 'both';
  readonly latency?: { readonly server?: number; readonly client?: number };
}

export interface FaultProxyStats {
  /** Connections accepted. */
  readonly connections: number;
  /** Connections ended by the `cut` fault. */
  readonly cuts: number;
  /** Stalls that have started. */
  readonly stalls: number;
  /** Bytes delivered to the client (from the server) and to the server (from the client). */
  readonly fromServer: number;
  readonly fromClient: number;
  /** Socket writes made, both directions (1-byte mode makes one per byte). */
  readonly writes: number;
}

export interface FaultProxy {
  /** The proxy's port on 127.0.0.1. */
  readonly port: number;
  stats(): FaultProxyStats;
  /** Resolves once `count` connections have been cut (for tests that must know the fault happened). */
  cutCount(count?: number): Promise<void>;
  /** Stops listening and destroys every connection. */
  close(): Promise<void>;
}

export async function startFaultProxy(options: FaultOptions): Promise<FaultProxy> {
  for (const trigger of [options.cut, options.stall]) if (trigger) validateTrigger(trigger);
  const stats = { connections: 0, cuts: 0, stalls: 0, fromServer: 0, fromClient: 0, writes: 0 };
  const sockets = new Set<net.Socket>();
  let cutWaiters: { count: number; wake: () => void }[] = [];

  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (client) => {
    stats.connections++;
    const upstream = net.connect({ host: options.target.host, port: options.target.port, allowHalfOpen: true, noDelay: true });
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    }
    const connection: Connection = {
      dead: false,
      kill: () => {
        connection.dead = true;
        client.destroy();
        upstream.destroy();
      },
      onCut: () => {
        stats.cuts++;
        for (const waiter of cutWaiters) if (stats.cuts >= waiter.count) waiter.wake();
        cutWaiters = cutWaiters.filter((waiter) => stats.cuts < waiter.count);
      },
      count: (side, bytes, writes) => {
        stats[side === 'server' ? 'fromServer' : 'fromClient'] += bytes;
        stats.writes += writes;
      },
      onStall: () => stats.stalls++,
    };
    // A socket error (ECONNRESET, the target refusing) ends the whole connection, as a real failure would.
    client.on('error', connection.kill);
    upstream.on('error', connection.kill);
    new Pipe('server', upstream, client, options, connection);
    new Pipe('client', client, upstream, options, connection);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });

  return {
    port: (server.address() as net.AddressInfo).port,
    stats: () => ({ ...stats }),
    cutCount: (count = 1) =>
      new Promise((resolve) => (stats.cuts >= count ? resolve() : cutWaiters.push({ count, wake: resolve }))),
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

function validateTrigger(trigger: Trigger): void {
  if ('afterBytes' in trigger) {
    if (!Number.isSafeInteger(trigger.afterBytes) || trigger.afterBytes < 0) throw new RangeError(`afterBytes must be >= 0: ${trigger.afterBytes}`);
    return;
  }
  const length = typeof trigger.pattern === 'string' ? Buffer.byteLength(trigger.pattern, 'latin1') : trigger.pattern.length;
  if (length === 0) throw new RangeError('the pattern must not be empty');
  if ((trigger.occurrence ?? 1) < 1) throw new RangeError('occurrence counts from 1');
  if ((trigger.offset ?? length) < 0) throw new RangeError('offset must be >= 0');
}

/** What the two pipes of one proxied connection share. */
interface Connection {
  dead: boolean;
  kill(): void;
  onCut(): void;
  onStall(): void;
  count(side: Side, bytes: number, writes: number): void;
}

/**
 * Finds where a trigger fires in one stream, fed chunk by chunk. `position` is the absolute stream offset of
 * the trigger once known; `holdFrom` is the first offset that must not be forwarded yet because a partial
 * match at the end of what was fed could still put the trigger there.
 */
class TriggerWatch {
  position: number | undefined;
  holdFrom = Infinity;
  readonly #pattern: Buffer | undefined;
  readonly #occurrence: number;
  readonly #offset: number;
  #found = 0;
  /** The last pattern.length - 1 bytes fed (for matches that span chunks), and how many bytes were fed in all. */
  #tail: Buffer = Buffer.alloc(0);
  #fed = 0;

  constructor(trigger: Trigger) {
    if ('afterBytes' in trigger) {
      this.position = trigger.afterBytes;
      this.#occurrence = 0;
      this.#offset = 0;
    } else {
      this.#pattern = typeof trigger.pattern === 'string' ? Buffer.from(trigger.pattern, 'latin1') : Buffer.from(trigger.pattern);
      this.#occurrence = trigger.occurrence ?? 1;
      this.#offset = trigger.offset ?? this.#pattern.length;
    }
  }

  feed(chunk: Buffer): void {
    const pattern = this.#pattern;
    if (pattern === undefined || this.position !== undefined) return;
    const window = Buffer.concat([this.#tail, chunk]);
    const windowStart = this.#fed - this.#tail.length;
    this.#fed += chunk.length;
    // The tail is shorter than the pattern, so every match in the window ends in the new chunk: none was
    // counted before. Matches are counted at every position (overlapping ones too).
    for (let at = window.indexOf(pattern); at !== -1; at = window.indexOf(pattern, at + 1)) {
      if (++this.#found === this.#occurrence) {
        this.position = windowStart + at + this.#offset;
        this.holdFrom = Infinity;
        return;
      }
    }
    this.#tail = window.subarray(Math.max(0, window.length - (pattern.length - 1)));
    this.holdFrom = Infinity;
    if (this.#offset >= pattern.length) return; // the trigger is at or after the end of a match: nothing to hold
    // The earliest start of a partial match at the end of the window (its bytes are a prefix of the pattern).
    for (let start = Math.max(0, window.length - pattern.length + 1); start < window.length; start++) {
      if (window.subarray(start).equals(pattern.subarray(0, window.length - start))) {
        this.holdFrom = windowStart + start + this.#offset;
        return;
      }
    }
  }
}

type Item = { readonly bytes: Buffer; readonly arrived: number } | { readonly stall: number } | 'cut' | 'end';

/** One direction of a proxied connection. */
class Pipe {
  readonly #side: Side;
  readonly #from: net.Socket;
  readonly #to: net.Socket;
  readonly #connection: Connection;
  readonly #cut: TriggerWatch | undefined;
  readonly #cutMode: 'close' | 'reset';
  readonly #stall: TriggerWatch | undefined;
  readonly #stallMs: number;
  readonly #oneByte: boolean;
  readonly #latency: number;
  /** Bytes received from the source; of those, `#admitted` have been queued for the destination. */
  #received = 0;
  #admitted = 0;
  /** Received but not yet admitted (held back by a trigger that is not decided yet). */
  #held: Buffer = Buffer.alloc(0);
  #stallQueued = false;
  #cutQueued = false;
  #queue: Item[] = [];
  #queuedBytes = 0;
  #pumping = false;

  constructor(side: Side, from: net.Socket, to: net.Socket, options: FaultOptions, connection: Connection) {
    this.#side = side;
    this.#from = from;
    this.#to = to;
    this.#connection = connection;
    this.#cut = options.cut?.from === side ? new TriggerWatch(options.cut) : undefined;
    this.#cutMode = options.cut?.mode ?? 'close';
    this.#stall = options.stall?.from === side ? new TriggerWatch(options.stall) : undefined;
    this.#stallMs = options.stall?.ms ?? 0;
    this.#oneByte = options.oneByteWrites === side || options.oneByteWrites === 'both';
    this.#latency = options.latency?.[side] ?? 0;
    from.on('data', (chunk: Buffer) => this.#receive(chunk));
    from.on('end', () => this.#enqueue('end'));
    from.on('close', () => {
      // Closed without an orderly end (reset, destroyed): the connection is over, unless a cut (which destroys
      // the source itself, and has already marked the connection dead) is still flushing the other side.
      if (!from.readableEnded && !connection.dead) connection.kill();
    });
    // A cut at byte 0 happens before anything arrives.
    this.#receive(Buffer.alloc(0));
  }

  #receive(chunk: Buffer): void {
    if (this.#connection.dead || this.#cutQueued) return;
    this.#received += chunk.length;
    this.#held = this.#held.length === 0 ? chunk : Buffer.concat([this.#held, chunk]);
    this.#cut?.feed(chunk);
    this.#stall?.feed(chunk);
    // Admit bytes up to the next undecided or decided trigger position, queueing the fault when reached.
    for (;;) {
      const limit = Math.min(this.#received, this.#cut?.holdFrom ?? Infinity, this.#stall?.holdFrom ?? Infinity, this.#pending(this.#cut), this.#pending(this.#stall));
      if (limit > this.#admitted) {
        const bytes = this.#held.subarray(0, limit - this.#admitted);
        this.#held = this.#held.subarray(bytes.length);
        this.#admitted = limit;
        this.#enqueue({ bytes, arrived: Date.now() });
      }
      if (this.#cut?.position === this.#admitted && !this.#cutQueued) {
        this.#cutQueued = true;
        this.#from.pause();
        this.#enqueue('cut');
        return;
      }
      if (this.#stall?.position === this.#admitted && !this.#stallQueued) {
        this.#stallQueued = true;
        this.#enqueue({ stall: this.#stallMs });
        continue;
      }
      return;
    }
  }

  /** The position of a trigger that has not fired yet, else Infinity. */
  #pending(watch: TriggerWatch | undefined): number {
    if (watch?.position === undefined) return Infinity;
    if (watch === this.#cut ? this.#cutQueued : this.#stallQueued) return Infinity;
    return watch.position;
  }

  #enqueue(item: Item): void {
    this.#queue.push(item);
    if (typeof item === 'object' && 'bytes' in item) {
      this.#queuedBytes += item.bytes.length;
      // Backpressure: stop reading while a lot is queued (a stall, latency, 1-byte writes).
      if (this.#queuedBytes > 1 << 20) this.#from.pause();
    }
    if (!this.#pumping) void this.#pump();
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    try {
      for (let item = this.#queue.shift(); item !== undefined && !this.#connection.dead; item = this.#queue.shift()) {
        if (item === 'end') {
          this.#to.end();
        } else if (item === 'cut') {
          await this.#doCut();
        } else if ('stall' in item) {
          this.#connection.onStall();
          await sleep(item.stall);
        } else {
          await sleep(item.arrived + this.#latency - Date.now());
          await this.#write(item.bytes);
          this.#queuedBytes -= item.bytes.length;
          if (this.#queuedBytes < 1 << 18 && !this.#cutQueued) this.#from.resume();
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #write(bytes: Buffer): Promise<void> {
    const pieces = this.#oneByte ? Array.from({ length: bytes.length }, (_, i) => bytes.subarray(i, i + 1)) : [bytes];
    for (const piece of pieces) {
      if (this.#connection.dead || piece.length === 0) continue;
      // Waiting for each write to reach the kernel keeps memory bounded.
      await new Promise<void>((resolve) => this.#to.write(piece, () => resolve()));
      this.#connection.count(this.#side, piece.length, 1);
      // In 1-byte mode, let the event loop go round after each byte: a receiver in this same process (the
      // client under test usually is) then reads the bytes one by one instead of all at once at the end.
      if (this.#oneByte) await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Ends the connection after the bytes before the trigger: FIN (or RST) to the receiver, and the source gone. */
  async #doCut(): Promise<void> {
    const to = this.#to;
    this.#connection.dead = true;
    this.#from.destroy();
    if (this.#cutMode === 'reset') {
      to.resetAndDestroy();
    } else {
      await new Promise<void>((resolve) => {
        to.end(() => resolve());
        to.once('close', () => resolve());
      });
      to.destroy();
    }
    this.#connection.onCut();
  }
}

function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}
