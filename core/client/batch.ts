/**
 * Batch operations: many commands pipelined with a bounded window. They are built on Pop3Client's public
 * calls; the engine does the pipelining (all queued commands leave in one write when the server advertises
 * PIPELINING, one at a time otherwise), and the window bounds what is queued, so it bounds both the commands
 * in flight and the bodies held in memory.
 *
 * The window is measured in bytes and in commands. A fixed count of commands is the wrong unit: 32 RETRs in
 * flight cap a batch at 32 messages per round trip (~3,000 small messages/s at 10 ms), yet 32 large messages
 * can be hundreds of MiB. So a RETR batch keeps up to `windowBytes` (8 MiB) of expected body octets in flight,
 * counted from the LIST sizes the caller passes (MessageRef.size), and at most `window` (4,096) commands. A
 * message passed without a size counts as the average of the bodies this batch has received so far: a
 * mailbox of small messages soon has thousands in flight, one of large ones only as many as fit.
 */
import type { ListEntry, UidlEntry } from '../client-engine.js';
import { ErrorCode, LocalProtocolError, type Pop3Error, ServerError } from '../errors.js';
import { Fifo } from '../fifo.js';
import { BodyCollector } from './body-collector.js';
import { AbortError } from './errors.js';
import type { CallOptions, Pop3Client, Settle } from './pop3-client.js';

/** A message to act on: its number, and what the caller already knows of it (from LIST, UIDL). */
export interface MessageRef {
  readonly message: number;
  /** The size from LIST, for progress. */
  readonly size?: number;
  readonly uid?: string;
}

/** One message of the mailbox, from LIST and UIDL. */
export interface MessageInfo {
  readonly message: number;
  readonly size: number;
  /** Undefined when the server refused UIDL. */
  readonly uid: string | undefined;
}

/** A message retrieved by a batch. */
export interface RetrievedMessage {
  readonly message: number;
  /** The size given with the message (from LIST), if any. */
  readonly size: number | undefined;
  /** The uid given with the message (from UIDL), if any. */
  readonly uid: string | undefined;
  /** The whole message, dot-unstuffed. */
  readonly body: Uint8Array;
}

/** Where a batch stands; bytes count body octets received, against the sizes given (LIST sizes). */
export interface BatchProgress {
  /** Messages fully handled. */
  readonly messagesDone: number;
  readonly messages: number;
  readonly bytesDone: number;
  /** The sum of the sizes given, or undefined if some message came without one. */
  readonly bytesExpected: number | undefined;
}

/** Options for the batch operations. */
export interface BatchOptions extends CallOptions {
  /**
   * Most commands in flight; default: the client's `window` (4,096). Given here, it alone bounds the messages
   * given without a size (you chose a count): they then count for nothing in `windowBytes`.
   */
  window?: number;
  /**
   * Most expected body octets in flight (RETR batches), from the sizes given with the messages; a message
   * without a size counts as the average body received so far in the batch, and before the first as the
   * mean size of the session's latest STAT, or {@link UNKNOWN_SIZE} without one (so the batch starts with at
   * most 256 of them per 8 MiB), unless `window` is given.
   * One message is always let through, however large. Default: the client's `windowBytes` (8 MiB).
   */
  windowBytes?: number;
  /** Called as bytes arrive and as each message is handled. Must not throw (it would abort the session). */
  onProgress?: (progress: BatchProgress) => void;
  /**
   * RETR batches: a message's body is valid only until its handler returns, or until the promise it returns
   * settles; its memory is then written again with later messages. The batch then allocates nothing per
   * message once it runs (on 2,000 x 20 KiB: 10 to 20% less CPU, the allocation and the garbage collector's
   * work, and half the peak memory). For a handler that stores the body and awaits that, e.g. `writeFile`;
   * copy (`body.slice()`) anything kept longer. Default false: every body is the caller's for good.
   */
  reuseBodies?: boolean;
}

/**
 * What a message of unknown size counts for in a byte window until a body has arrived, when the session has
 * had no STAT: a generous average mail.
 */
export const UNKNOWN_SIZE = 32 * 1024;

/** LIST and UIDL, queued together so they are pipelined, joined by message number. */
export async function listing(client: Pop3Client, options: CallOptions = {}): Promise<MessageInfo[]> {
  const list = client.list(options);
  // A server without UIDL answers -ERR; the listing then has no uids.
  const uidl = client.uidl(options).catch((error: unknown): readonly UidlEntry[] | undefined => {
    if (error instanceof ServerError) return undefined;
    throw error;
  });
  const [entries, uids] = await Promise.all([list, uidl]);
  const uidOf = new Map(uids?.map((entry) => [entry.message, entry.uid]));
  return entries.map(({ message, size }: ListEntry) => ({ message, size, uid: uidOf.get(message) }));
}

/** RETR every message, at most `window` and `windowBytes` in flight; `onMessage` runs in order, one message at a time. */
export function retrieveMany(
  client: Pop3Client,
  messages: readonly (number | MessageRef)[],
  onMessage: (message: RetrievedMessage) => void | Promise<void>,
  options: BatchOptions = {},
): Promise<void> {
  const bodies = options.reuseBodies === true ? new BodyCollector({ reuse: true }) : undefined;
  return retrieving<Uint8Array>(
    client,
    messages,
    options,
    (ref, settle, addOctets) => client.queueRetr(ref.message, settle, addOctets === undefined ? undefined : progressOf(addOctets), bodies),
    (body, ref) => {
      const message = { message: ref.message, size: ref.size, uid: ref.uid, body };
      if (bodies === undefined) return onMessage(message);
      // With reuseBodies the body's memory goes back once the handler is done with it, however it ended.
      return andThen(() => onMessage(message), () => bodies.release(body));
    },
    (body) => body.length,
  );
}

/** A body's progress (octets received so far) as the octets each step adds. */
function progressOf(addOctets: (octets: number) => void): (receivedOctets: number) => void {
  let counted = 0;
  return (received) => {
    addOctets(received - counted);
    counted = received;
  };
}

/** Where retrieveManyTo() hands each message, as it arrives. Both calls are synchronous and in order. */
export interface MessageSink {
  /**
   * A piece of `message`'s body, dot-unstuffed, in order; valid only during the call (it may lie in memory
   * the transport reads into again): copy what you keep. Throwing ends the batch with AbortError.
   */
  onData(piece: Uint8Array, message: MessageRef): void;
  /** `message`'s body has ended, `octets` long (after its last piece, before the next message's first). */
  onEnd?(message: MessageRef, octets: number): void;
}

/**
 * RETR every message like retrieveMany, but hand each body to `sink` piece by piece as it arrives instead of
 * collecting it: no body is copied or held, so a batch costs the same memory whatever the sizes, and the
 * least CPU (the batch form of retrTo). The first error (a -ERR, a throwing sink) ends the batch: the sink
 * hears nothing more, and the RETRs still in flight are read and dropped, so the session goes on.
 */
export function retrieveManyTo(
  client: Pop3Client,
  messages: readonly (number | MessageRef)[],
  sink: MessageSink,
  options: BatchOptions = {},
): Promise<void> {
  let failed = false;
  return retrieving<number>(
    client,
    messages,
    options,
    (ref, settle, addOctets) => {
      const onData = (piece: Uint8Array) => {
        if (failed) return;
        sink.onData(piece, ref);
        addOctets?.(piece.length);
      };
      client.queueRetrTo(ref.message, onData, (error, octets) => {
        // The sink hears nothing after the first failure, though later replies are still read.
        if (failed) return settle(error, octets);
        if (error === undefined) {
          try {
            sink.onEnd?.(ref, octets!);
          } catch (thrown) {
            error = new AbortError(`RETR ${ref.message} aborted: onEnd threw`, thrown);
          }
        }
        if (error !== undefined) failed = true;
        settle(error, octets);
      });
    },
    () => {},
    (octets) => octets,
  );
}

/**
 * What the RETR batches share, whatever becomes of the bodies: progress, the window (a message without a
 * size counts as the average body so far), the signal. `start` queues a message's RETR (reporting the body
 * octets it receives to `addOctets`, defined when progress is asked for); `handle` takes its result, in
 * order; `octetsOf` is the length of the body a result stands for.
 */
async function retrieving<R>(
  client: Pop3Client,
  messages: readonly (number | MessageRef)[],
  options: BatchOptions,
  start: (ref: MessageRef, settle: Settle<R>, addOctets: ((octets: number) => void) | undefined) => void,
  handle: (result: R, ref: MessageRef) => void | PromiseLike<void>,
  octetsOf: (result: R) => number,
): Promise<void> {
  const { signal, onProgress } = options;
  const refs = messages.map(toRef);
  const bytesExpected = refs.every((ref) => ref.size !== undefined) ? refs.reduce((sum, ref) => sum + ref.size!, 0) : undefined;
  let bytesDone = 0;
  let messagesDone = 0;
  const report =
    onProgress === undefined ? undefined : () => onProgress({ messagesDone, messages: refs.length, bytesDone, bytesExpected });
  const addOctets =
    report === undefined
      ? undefined
      : (octets: number) => {
          bytesDone += octets;
          report();
        };
  const afterMessage = () => {
    messagesDone++;
    report?.();
    // An abort during the handler of the last message ends the session, but no command is left to fail.
    if (signal?.aborted === true) throw new AbortError('retrieving messages aborted', signal.reason);
  };
  const window = { count: options.window ?? client.window, bytes: options.windowBytes ?? client.windowBytes };
  let received = 0;
  let receivedOctets = 0;
  const firstGuess = client.meanSize ?? UNKNOWN_SIZE;
  const unknownSize = options.window !== undefined ? () => 0 : () => (received === 0 ? firstGuess : receivedOctets / received);
  await client.guard(signal, 'retrieving messages', () =>
    windowed<MessageRef, R>(
      refs,
      window,
      (ref) => ref.size ?? unknownSize(),
      (ref, settle) => start(ref, settle, addOctets),
      (result, ref) => {
        received++;
        receivedOctets += octetsOf(result);
        const handled = handle(result, ref);
        return isPromiseLike(handled) ? handled.then(afterMessage) : afterMessage();
      },
    ),
  );
}

/** DELE every message, at most `window` in flight. */
export async function deleteMany(client: Pop3Client, messages: readonly (number | MessageRef)[], options: BatchOptions = {}): Promise<void> {
  const { signal, onProgress } = options;
  const refs = messages.map(toRef);
  let messagesDone = 0;
  // A DELE reply is one line: only the count bounds what is in flight.
  const window = { count: options.window ?? client.window, bytes: Infinity };
  const start = (ref: MessageRef, settle: Settle<void>) => {
    client.dele(ref.message).then(() => settle(undefined), settle);
  };
  await client.guard(signal, 'deleting messages', () =>
    windowed(refs, window, () => 0, start, () => {
      messagesDone++;
      onProgress?.({ messagesDone, messages: refs.length, bytesDone: 0, bytesExpected: undefined });
    }),
  );
}

/** A batch window (`window`, `windowBytes`): a positive integer, or LocalProtocolError (POP3_ERR_BAD_ARGUMENT). */
export function checkWindow(window: number, name = 'window'): number {
  if (!Number.isSafeInteger(window) || window < 1) {
    throw new LocalProtocolError(ErrorCode.BadArgument, `${name} must be a positive integer, not ${String(window)}`);
  }
  return window;
}

function toRef(message: number | MessageRef): MessageRef {
  return typeof message === 'number' ? { message } : message;
}

/**
 * Start `start(item, settle)` for the items in order, with at most `window.count` items started and not yet
 * finished, and at most `window.bytes` of their `weight` (but always at least one item), and `finish` each
 * result in order, waiting for it when it returns a promise. The first error ends the batch. An item's weight
 * is taken when it starts, and is what it gives back when it finishes.
 *
 * Each item has a slot that `settle` fills, rather than a promise: results that arrive together (a chunk
 * from the server holds dozens of small messages) are finished in one go, in one microtask.
 *
 * Refilling waits until a quarter of the window is free (in count and in bytes), then tops it up at once:
 * the commands started together leave in one write (one packet, one wake-up of the server) instead of one
 * write per message, and three quarters of the window stay in flight, so the server is not left idle for a
 * round trip (with half, an 8 MiB window of 20 KiB messages downloaded at 317 MB/s through a 5 ms link, at 419
 * with a quarter). Slots are refilled as soon as results are in, before `finish` runs, so the pipeline stays
 * busy while the caller handles a message.
 */
function windowed<T, R>(
  items: readonly T[],
  window: { readonly count: number; readonly bytes: number },
  weight: (item: T) => number,
  start: (item: T, settle: Settle<R>) => void,
  finish: (result: R, item: T) => void | PromiseLike<void>,
): Promise<void> {
  const count = checkWindow(window.count);
  const bytes = window.bytes === Infinity ? Infinity : checkWindow(window.bytes, 'windowBytes');
  return new Promise((resolve, reject) => {
    // The items started and not yet finished, oldest first; each slot gets its item's result once settled.
    const started = new Fifo<Slot<R>>();
    let next = 0; // the next item to finish
    let inFlightBytes = 0;
    let finishing = false; // drain() is running, or waiting for a finish() promise
    let over = false;
    const fail = (error: unknown) => {
      if (over) return;
      over = true;
      reject(error);
    };
    const fill = () => {
      while (next + started.length < items.length && started.length < count) {
        const index = next + started.length;
        const item = items[index]!;
        const size = weight(item);
        if (index > next && inFlightBytes + size > bytes) break;
        inFlightBytes += size;
        const slot: Slot<R> = { settled: false, error: undefined, value: undefined, weight: size };
        started.push(slot);
        start(item, (error, value) => {
          slot.settled = true;
          slot.error = error;
          slot.value = value;
          if (index === next) schedule();
        });
      }
    };
    // Settled while the client routes a chunk's replies: finish them after that, not in the middle of it.
    let scheduled = false;
    const schedule = () => {
      if (scheduled) return;
      scheduled = true;
      queueMicrotask(() => {
        scheduled = false;
        drain();
      });
    };
    const drain = () => {
      if (finishing || over) return;
      finishing = true;
      try {
        for (let slot = started.first(); slot?.settled === true; slot = started.first()) {
          if (slot.error !== undefined) return fail(slot.error);
          started.shift();
          const index = next++;
          inFlightBytes -= slot.weight;
          if (started.length <= (count * 3) / 4 && inFlightBytes <= (bytes * 3) / 4) fill();
          const finished = finish(slot.value as R, items[index]!);
          if (isPromiseLike(finished)) {
            finished.then(() => {
              finishing = false;
              drain();
            }, fail);
            return;
          }
        }
        if (next === items.length) {
          over = true;
          resolve();
        }
        finishing = false;
      } catch (error) {
        fail(error);
      }
    };
    fill();
    drain();
  });
}

interface Slot<R> {
  settled: boolean;
  error: Pop3Error | undefined;
  value: R | undefined;
  readonly weight: number;
}

/** Run `run`, then `then` once it has returned or thrown, or once the promise it returned has settled. */
function andThen(run: () => void | PromiseLike<void>, then: () => void): void | PromiseLike<void> {
  let result: void | PromiseLike<void>;
  try {
    result = run();
  } catch (error) {
    then();
    throw error;
  }
  if (!isPromiseLike(result)) return then();
  return Promise.resolve(result).finally(then);
}

function isPromiseLike(value: unknown): value is PromiseLike<void> {
  return typeof (value as PromiseLike<void> | undefined)?.then === 'function';
}
