/**
 * The page's shared state, which every view reads and listens to: the demo's configuration (which servers
 * the proxy allows), the offline server, and the current session. Views never talk to each other; they
 * call the App and react to its events, so each can be understood (and tested) alone.
 */
import type { Pop3Error } from '../../core/errors.js';
import { OfflineServer, type SampleMailbox } from './offline-server.js';
import { DemoSession, type DemoCommand, type DemoSessionEvent, type Endpoint, type Outcome } from './session.js';
import { AbortError, ConnectionError, toPop3Error } from '../../core/client/errors.js';
import type { DemoConfig, DemoTarget } from './demo-config-types.js';

/** Where the learner can connect: the offline server, or a target through the proxy. */
export type Place = { readonly kind: 'offline' } | { readonly kind: 'proxy'; readonly target: DemoTarget };

/** What the App tells its listeners (see {@link App.on}). */
export type AppEvent =
  /**
   * A session was opened (or the current one replaced); undefined when none is open any more, or when a
   * connection being made was given up (disconnect()).
   */
  | { readonly type: 'session'; readonly session: DemoSession | undefined }
  /** Something happened in the current session, or in the one the latest connect() is opening. */
  | { readonly type: 'session-event'; readonly session: DemoSession; readonly event: DemoSessionEvent }
  /** Connecting started or failed (the error explains why, for the connect panel and the status line). */
  | { readonly type: 'connecting'; readonly place: Place }
  | { readonly type: 'connect-failed'; readonly place: Place; readonly error: Pop3Error }
  /** The mailbox of `place` was put back to the sample (the mailbox view forgets what it knew). */
  | { readonly type: 'mailbox-reset'; readonly place: Place };

/** How long a server may take to let go of a mailbox after QUIT or a dropped connection, in ms. */
const RELEASE_DELAY = 150;

/** The page's shared state: see the module comment. */
export class App {
  readonly config: DemoConfig | undefined;
  readonly offline: OfflineServer;
  #session: DemoSession | undefined;
  #place: Place | undefined;
  /** The connect() in progress, if any: a newer one, or disconnect(), aborts it. */
  #attempt: AbortController | undefined;
  readonly #listeners = new Set<(event: AppEvent) => void>();

  constructor(config: DemoConfig | undefined, sample: SampleMailbox) {
    this.config = config;
    this.offline = new OfflineServer(sample);
  }

  /** The places to offer: each proxy target, then the offline server. */
  get places(): readonly Place[] {
    return [...(this.config?.targets ?? []).map((target): Place => ({ kind: 'proxy', target })), { kind: 'offline' }];
  }

  /** The place to preselect: the embedded server when the proxy offers it, else offline. */
  get defaultPlace(): Place {
    return this.places.find((place) => place.kind === 'proxy' && place.target.embedded) ?? { kind: 'offline' };
  }

  /** Where the current session goes (or went), if there is one. */
  get place(): Place | undefined {
    return this.#place;
  }

  /** The session open now, if any (it may have closed since; check `closed`). */
  get session(): DemoSession | undefined {
    return this.#session;
  }

  /** The Endpoint for a place (a fresh connection each time it is opened). */
  endpoint(place: Place, options: { seed?: number } = {}): Endpoint {
    if (place.kind === 'offline') return { kind: 'offline', server: this.offline, ...options };
    if (this.config === undefined) throw new Error('no proxy configured');
    return { kind: 'proxy', proxyUrl: this.config.proxyUrl, target: place.target.target, tls: place.target.tls, local: place.target.embedded };
  }

  /**
   * Close the current session (without QUIT: a learner who wants deletions committed says QUIT first) and
   * open one to `place`. Rejects with the reason when the connection cannot be made; the App then has no
   * session and has told its listeners. An offline session always has a seed (a random one unless given),
   * kept in its endpoint, so that it can be replayed exactly from a link.
   *
   * Only the latest call counts: a connect() still in progress when another one (or disconnect()) is called
   * is aborted and rejects with POP3_ERR_ABORTED, its connection closed, and never becomes the session.
   */
  async connect(place: Place, options: { seed?: number } = {}): Promise<DemoSession> {
    this.disconnect();
    const attempt = new AbortController();
    this.#attempt = attempt;
    this.#emit({ type: 'connecting', place });
    const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
    try {
      const session = await DemoSession.open(
        this.endpoint(place, { seed }),
        (event, from) => {
          // The current session's events, and those of the session this attempt opens while it is the latest;
          // a replaced or abandoned session's last events (its close) are no one's business any more.
          if (from === this.#session || (this.#session === undefined && this.#attempt === attempt)) {
            this.#emit({ type: 'session-event', session: from, event });
          }
        },
        { signal: attempt.signal },
      );
      if (this.#attempt !== attempt) {
        // Greeted just as a newer attempt started (the abort came too late to stop it).
        session.close();
        throw new AbortError('connecting aborted: another connection was started');
      }
      this.#attempt = undefined;
      this.#session = session;
      this.#place = place;
      this.#emit({ type: 'session', session });
      return session;
    } catch (error) {
      const failure = toPop3Error(error);
      // A replaced attempt fails quietly: the newer one speaks for the App now.
      if (this.#attempt === attempt) {
        this.#attempt = undefined;
        this.#emit({ type: 'connect-failed', place, error: failure });
      }
      throw failure;
    }
  }

  /** Drop the current session, if any, without QUIT, and give up a connection being made. */
  disconnect(): void {
    const session = this.#session;
    const attempt = this.#attempt;
    if (session === undefined && attempt === undefined) return;
    this.#session = undefined;
    this.#place = undefined;
    this.#attempt = undefined;
    attempt?.abort();
    session?.close();
    this.#emit({ type: 'session', session: undefined });
  }

  /** Send a command in the current session (an outcome with an error when there is none). */
  run(command: DemoCommand): Promise<Outcome> {
    const session = this.#session;
    if (session === undefined || session.closed) {
      return Promise.resolve({ ok: false, handle: undefined, error: new ConnectionError('not connected') });
    }
    return session.send(command);
  }

  /**
   * Put the mailbox of `place` back to the sample. False when a session holds it (QUIT or disconnect first)
   * or the place cannot be reset (a real server); rejects when the demo server could not be asked.
   */
  async resetMailbox(place: Place): Promise<boolean> {
    if (place.kind === 'proxy' && !place.target.embedded) return false;
    const reset = place.kind === 'offline' ? async () => this.offline.reset() : resetEmbedded;
    // A server releases the mailbox just after its +OK to QUIT (or once it sees a dropped connection), so a
    // reset right then may find it still held for a moment: try once more.
    let done = await reset();
    if (!done) {
      await new Promise((resolve) => setTimeout(resolve, RELEASE_DELAY));
      done = await reset();
    }
    if (done) this.#emit({ type: 'mailbox-reset', place });
    return done;
  }

  /** Listen to the App; returns the unsubscribe function. */
  on(listener: (event: AppEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #emit(event: AppEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error(error);
      }
    }
  }
}

/** `POST api/reset-mailbox` to the demo server: false when its mailbox is held (409). */
async function resetEmbedded(): Promise<boolean> {
  const response = await fetch('api/reset-mailbox', { method: 'POST' });
  if (response.status === 409) return false;
  if (!response.ok) throw new Error(`api/reset-mailbox: HTTP ${response.status}`);
  return true;
}

/** A key that is the same for the same place (for selects and replays). */
export function placeKey(place: Place): string {
  return place.kind === 'offline' ? 'offline' : `proxy:${place.target.target}`;
}
