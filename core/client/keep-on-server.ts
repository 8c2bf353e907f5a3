/**
 * "Keep mail on the server, fetch only what is new": the classic POP3 client mode, keyed by UIDL. A message
 * is added to the store only after the caller's handler has resolved for it, so a failure at any point
 * (connection lost, handler error) means it is fetched again next time, never skipped.
 *
 * After a complete batch the store forgets the UIDs the server no longer lists (as mpop does): a message
 * deleted by another client or expired by the server is never listed again, and without this a store would
 * grow for as long as it is used. A UIDL listing is the whole mailbox at that moment (RFC 1939), so nothing
 * still on the server is forgotten; a batch that failed part way forgets nothing.
 */
import { ErrorCode, LocalProtocolError } from '../errors.js';
import type { BatchOptions, RetrievedMessage } from './batch.js';
import type { Pop3Client } from './pop3-client.js';
import type { UidStore } from './uid-store.js';

/** Options for {@link fetchNew}. */
export interface FetchNewOptions extends BatchOptions {
  /**
   * Forget the UIDs of messages the server no longer lists, after a complete batch (through
   * {@link UidStore.retain}, if the store has it). Default true. Turn it off for a server that lists only
   * part of the mailbox in a session, where an unlisted message may come back and would be fetched again.
   */
  forgetGone?: boolean;
}

/** What {@link fetchNew} did. */
export interface FetchNewResult {
  /** Messages handed to the handler (and added to the store). */
  readonly fetched: number;
  /** Messages skipped because the store already had their UID. */
  readonly known: number;
  /** UIDs the store forgot because the server no longer lists them; 0 when it cannot forget or was told not to. */
  readonly forgotten: number;
}

/**
 * Hand every message whose UID is not in `store` to `handler`, in mailbox order, and add its UID once the
 * handler resolves. Then, once every new message is stored, the store forgets the UIDs the server did not
 * list (see {@link FetchNewOptions.forgetGone}); if the batch fails or is aborted, it forgets nothing.
 * Use one store per mailbox: an empty listing forgets every UID, and a store shared between mailboxes loses
 * the others' UIDs each time. Needs UIDL (POP3_ERR_NOT_SUPPORTED otherwise). Deletes nothing; the session
 * stays open.
 */
export async function fetchNew(
  client: Pop3Client,
  store: UidStore,
  handler: (message: RetrievedMessage) => void | Promise<void>,
  options: FetchNewOptions = {},
): Promise<FetchNewResult> {
  const messages = await client.listing({ signal: options.signal });
  const fresh = [];
  const present = new Set<string>();
  for (const message of messages) {
    if (message.uid === undefined) throw new LocalProtocolError(ErrorCode.NotSupported, 'fetching only new messages needs UIDL, which the server refused');
    present.add(message.uid);
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
  // Reached only when every new message was handled and stored: the listing is then complete and current.
  const forgotten = options.forgetGone !== false && store.retain !== undefined ? await store.retain(present) : 0;
  return { fetched: fresh.length, known: messages.length - fresh.length, forgotten };
}
