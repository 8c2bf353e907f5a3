/**
 * Batch operations: many commands pipelined with a bounded window. They are built on Pop3Client's public
 * calls; the engine does the pipelining (all queued commands leave in one write when the server advertises
 * PIPELINING, one at a time otherwise), and the window bounds how many are queued, so it bounds both the
 * commands in flight and the bodies held in memory.
 */
import type { ListEntry, UidlEntry } from '../client-engine.js';
import { ErrorCode, LocalProtocolError, ServerError } from '../errors.js';
import { AbortError } from './errors.js';
import type { CallOptions, Pop3Client } from './pop3-client.js';

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
  /** Most commands in flight; default: the client's `window` (32). */
  window?: number;
  /** Called as bytes arrive and as each message is handled. Must not throw (it would abort the session). */
  onProgress?: (progress: BatchProgress) => void;
}

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

/** RETR every message, at most `window` in flight; `onMessage` runs in order, one message at a time. */
export async function retrieveMany(
  client: Pop3Client,
  messages: readonly (number | MessageRef)[],
  onMessage: (message: RetrievedMessage) => void | Promise<void>,
  options: BatchOptions = {},
): Promise<void> {
  const { signal, onProgress } = options;
  const refs = messages.map(toRef);
  const bytesExpected = refs.every((ref) => ref.size !== undefined) ? refs.reduce((sum, ref) => sum + ref.size!, 0) : undefined;
  let bytesDone = 0;
  let messagesDone = 0;
  const report =
    onProgress === undefined ? undefined : () => onProgress({ messagesDone, messages: refs.length, bytesDone, bytesExpected });

  const start = (ref: MessageRef): Promise<Uint8Array> => {
    let counted = 0;
    const progress =
      report === undefined
        ? undefined
        : (received: number) => {
            bytesDone += received - counted;
            counted = received;
            report();
          };
    return client.retr(ref.message, { signal, onProgress: progress });
  };
  await windowed(refs, options.window ?? client.window, start, async (body, ref) => {
    await onMessage({ message: ref.message, size: ref.size, uid: ref.uid, body });
    messagesDone++;
    report?.();
    // Between messages no command may be pending, so the signal would otherwise go unnoticed.
    if (signal?.aborted === true) throw new AbortError('retrieving messages aborted', signal.reason);
  });
}

/** DELE every message, at most `window` in flight. */
export async function deleteMany(client: Pop3Client, messages: readonly (number | MessageRef)[], options: BatchOptions = {}): Promise<void> {
  const { signal, onProgress } = options;
  const refs = messages.map(toRef);
  let messagesDone = 0;
  await windowed(refs, options.window ?? client.window, (ref) => client.dele(ref.message, { signal }), () => {
    messagesDone++;
    onProgress?.({ messagesDone, messages: refs.length, bytesDone: 0, bytesExpected: undefined });
  });
}

/** A batch window: a positive integer, or LocalProtocolError (POP3_ERR_BAD_ARGUMENT). */
export function checkWindow(window: number): number {
  if (!Number.isSafeInteger(window) || window < 1) {
    throw new LocalProtocolError(ErrorCode.BadArgument, `window must be a positive integer, not ${String(window)}`);
  }
  return window;
}

function toRef(message: number | MessageRef): MessageRef {
  return typeof message === 'number' ? { message } : message;
}

/**
 * Start `start(item)` for the items in order, with at most `window` started and not yet finished, and
 * `finish` each result in order. The first error ends the batch.
 *
 * Refilling waits until half the window is free, then tops it up at once: the commands started together
 * leave in one write (one packet, one wake-up of the server) instead of one write per message. Slots are
 * refilled as soon as results are in, before `finish` runs, so the pipeline stays busy while the caller
 * handles a message.
 */
async function windowed<T, R>(
  items: readonly T[],
  window: number,
  start: (item: T) => Promise<R>,
  finish: (result: R, item: T) => void | Promise<void>,
): Promise<void> {
  checkWindow(window);
  // started[i] is the promise for items[i]; a slot is cleared once taken, so results are not kept alive.
  const started: (Promise<R> | undefined)[] = [];
  const fill = (taken: number) => {
    while (started.length < items.length && started.length - taken < window) {
      const promise = start(items[started.length]!);
      // Awaited in order below; until then, a rejection must not count as unhandled.
      promise.catch(noop);
      started.push(promise);
    }
  };
  fill(0);
  for (let i = 0; i < items.length; i++) {
    const result = await started[i]!;
    started[i] = undefined;
    if (started.length - (i + 1) <= window / 2) fill(i + 1);
    await finish(result, items[i]!);
  }
}

function noop(): void {}
