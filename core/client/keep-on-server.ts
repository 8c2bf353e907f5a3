/**
 * "Keep mail on the server, fetch only what is new": the classic POP3 client mode, keyed by UIDL. A message
 * is added to the store only after the caller's handler has resolved for it, so a failure at any point
 * (connection lost, handler error) means it is fetched again next time, never skipped.
 */
import { ErrorCode, LocalProtocolError } from '../errors.js';
import type { BatchOptions, RetrievedMessage } from './batch.js';
import type { Pop3Client } from './pop3-client.js';
import type { UidStore } from './uid-store.js';

/** What {@link fetchNew} did. */
export interface FetchNewResult {
  /** Messages handed to the handler (and added to the store). */
  readonly fetched: number;
  /** Messages skipped because the store already had their UID. */
  readonly known: number;
}

/**
 * Hand every message whose UID is not in `store` to `handler`, in mailbox order, and add its UID once the
 * handler resolves. Needs UIDL (POP3_ERR_NOT_SUPPORTED otherwise). Deletes nothing; the session stays open.
 */
export async function fetchNew(
  client: Pop3Client,
  store: UidStore,
  handler: (message: RetrievedMessage) => void | Promise<void>,
  options: BatchOptions = {},
): Promise<FetchNewResult> {
  const messages = await client.listing({ signal: options.signal });
  const fresh = [];
  for (const message of messages) {
    if (message.uid === undefined) throw new LocalProtocolError(ErrorCode.NotSupported, 'fetching only new messages needs UIDL, which the server refused');
    if (!(await store.has(message.uid))) fresh.push(message);
  }
  await client.retrieveMany(
    fresh,
    async (message) => {
      await handler(message);
      await store.add(message.uid!);
    },
    options,
  );
  return { fetched: fresh.length, known: messages.length - fresh.length };
}
