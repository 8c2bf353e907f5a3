/**
 * Download and delete without losing mail (DESIGN.md, "Nothing lost").
 *
 * A message is marked for deletion (DELE) only after the caller's handler has resolved for it, which is the
 * caller saying "stored". RFC 1939 deletes marked messages only when QUIT ends the session (the UPDATE
 * state), so a connection lost at any byte before that leaves every message on the server: each one is
 * either stored by the caller or still there, usually both. Only QUIT commits.
 *
 * Without a store that makes delivery at least once: a message stored in a session that then died is
 * handed over again next time. With a UidStore, its UID is remembered from the moment it is stored until
 * its deletion is committed, and the next session deletes it without handing it over again. A UID whose
 * deletion was committed although the session died before it learnt so (QUIT's reply lost) is no longer
 * listed next time, and a store with `retain` then forgets it.
 */
import { ErrorCode, LocalProtocolError } from '../errors.js';
import type { BatchOptions, MessageInfo, RetrievedMessage } from './batch.js';
import type { Pop3Client } from './pop3-client.js';
import type { UidStore } from './uid-store.js';

/** Options for {@link downloadAndDelete}. */
export interface DownloadAndDeleteOptions extends BatchOptions {
  /**
   * Remembers the UIDs of stored messages until their deletion is committed, so no message is handed over
   * twice when a session dies between storing and QUIT. Needs UIDL.
   */
  store?: UidStore;
}

/** What {@link downloadAndDelete} did; all of it was committed by QUIT. */
export interface DownloadResult {
  /** Messages handed to the handler, then deleted. */
  readonly stored: number;
  /** Messages found in the store (stored by an earlier session), deleted without handing them over again. */
  readonly skipped: number;
}

/**
 * Hand every message to `handler` in mailbox order, DELE each once the handler resolves, and commit with
 * QUIT, which ends the session. If the handler throws or the server refuses a DELE, the deletions of the
 * messages already stored are still committed with QUIT, then the error is rethrown. If the session ends
 * otherwise (connection lost, timeout, abort), nothing is committed.
 */
export async function downloadAndDelete(
  client: Pop3Client,
  handler: (message: RetrievedMessage) => void | Promise<void>,
  options: DownloadAndDeleteOptions = {},
): Promise<DownloadResult> {
  const { store, signal } = options;
  const earlier: MessageInfo[] = [];
  const fresh: MessageInfo[] = [];
  const deletions: Promise<void>[] = [];
  // One listener for the whole run (the DELEs sent from the handler may be many at once); it ends the session.
  await client.guard(signal, 'download and delete', async () => {
    try {
      const messages = await client.listing();
      for (const message of messages) {
        if (store === undefined) {
          fresh.push(message);
        } else if (message.uid === undefined) {
          throw new LocalProtocolError(ErrorCode.NotSupported, 'a download-and-delete store needs UIDL, which the server refused');
        } else {
          ((await store.has(message.uid)) ? earlier : fresh).push(message);
        }
      }
      // The listing is the whole mailbox: a UID not in it was deleted, and remembering it serves nothing.
      await store?.retain?.(new Set(messages.map((message) => message.uid!)));
      await client.deleteMany(earlier, { signal, window: options.window });
      await client.retrieveMany(
        fresh,
        async (message) => {
          await handler(message);
          if (store !== undefined) await store.add(message.uid!);
          const deletion = client.dele(message.message);
          // Awaited after the batch; meanwhile a refusal must not count as unhandled.
          deletion.catch(() => {});
          deletions.push(deletion);
        },
        options,
      );
      await Promise.all(deletions);
      await client.quit();
    } catch (error) {
      await commitStored(client, signal);
      throw error;
    }
  });
  if (store !== undefined) for (const message of [...earlier, ...fresh]) await store.delete(message.uid!);
  return { stored: fresh.length, skipped: earlier.length };
}

/**
 * After a failure that left the session usable (a handler error, a refused DELE), the DELEs already sent are
 * for stored messages: QUIT commits them. After a lost connection, a timeout or an abort there is nothing to
 * commit (or no wish to), and the session is just closed.
 */
async function commitStored(client: Pop3Client, signal: AbortSignal | undefined): Promise<void> {
  if (client.error === undefined && signal?.aborted !== true) {
    try {
      await client.quit();
    } catch {
      // The failure that brought us here is the one to report.
    }
  }
  client.close();
}
