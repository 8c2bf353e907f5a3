/**
 * The page's own POP3 server: the server engine and the in-memory store of core/, run in the page and
 * connected to the client by an in-memory transport pair. No network at all. With a seed, everything the
 * server draws at random (the APOP timestamp, SCRAM nonces) comes from a seeded generator, so a session
 * replays byte for byte.
 */
import { fromBase64 } from '../../core/bytes.js';
import { memoryTransportPair } from '../../core/client/memory-transport.js';
import type { Transport } from '../../core/client/transport.js';
import type { MailStore } from '../../core/server/mailbox.js';
import { MemoryMailStore } from '../../core/server/memory-mailbox.js';
import { type RandomSource, secureRandom } from '../../core/server/randomness.js';
import { Pop3ServerSession, type SessionEvent } from '../../core/server/session.js';

/** sample-mailbox.json, made by the build from demo/sample-mailbox/. */
export interface SampleMailbox {
  readonly user: string;
  readonly password: string;
  /** Oldest first; `content` is the message file in base64. */
  readonly messages: readonly { readonly uid: string; readonly content: string }[];
}

/** The host name the offline server puts in its greeting and APOP timestamp. */
export const OFFLINE_HOST = 'offline.pop3kit.invalid';

/** The offline server: one sample mailbox, and a fresh server session for each connect(). */
export class OfflineServer {
  readonly sample: SampleMailbox;
  #store: MemoryMailStore;

  constructor(sample: SampleMailbox) {
    this.sample = sample;
    this.#store = fill(sample);
  }

  /** Put the sample mailbox back as it was. False (nothing changed) while a session holds the mailbox. */
  reset(): boolean {
    if (this.#store.isLocked(this.sample.user)) return false;
    this.#store = fill(this.sample);
    return true;
  }

  /** The messages stored now (deletions committed by QUIT are gone). */
  get messageCount(): number {
    return this.#store.messages(this.sample.user)?.length ?? 0;
  }

  /**
   * Start a server session and return the client's end of the connection. `seed` makes the session
   * deterministic; `onEvent` sees the server's logins and trace lines.
   */
  connect(options: { seed?: number; onEvent?: (event: SessionEvent) => void } = {}): Transport {
    const { client, server } = memoryTransportPair();
    const random = options.seed === undefined ? secureRandom : seededRandom(options.seed);
    // Through the OfflineServer, not the store itself: a session connected before a reset must log in to
    // the mailbox as it is after the reset.
    const store: MailStore = { password: (user) => this.#store.password(user), open: (user) => this.#store.open(user) };
    const session = new Pop3ServerSession(server, store, {
      random,
      hostname: OFFLINE_HOST,
      implementation: 'pop3kit (running in this page)',
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    });
    // run() resolves however the session ends; it rejects only on a bug, which the console should show.
    session.run().catch((error: unknown) => console.error('offline server session failed', error));
    return client;
  }
}

function fill(sample: SampleMailbox): MemoryMailStore {
  const store = new MemoryMailStore();
  store.addUser(sample.user, sample.password);
  for (const message of sample.messages) {
    const content = fromBase64(message.content);
    if (content === undefined) throw new Error(`sample mailbox: message ${message.uid} is not valid base64`);
    store.deliver(sample.user, content, message.uid);
  }
  return store;
}

/** A small deterministic generator (mulberry32): good enough for a replay, never for secrets that matter. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return (length) => {
    const bytes = new Uint8Array(length);
    for (let i = 0; i < length; i++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let z = state;
      z = Math.imul(z ^ (z >>> 15), z | 1);
      z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
      bytes[i] = (z ^ (z >>> 14)) & 0xff;
    }
    return bytes;
  };
}
