/**
 * The page's shared state, which every view reads and listens to: the demo's configuration (which servers
 * the proxy allows), the offline server, and the current session. Views never talk to each other; they
 * call the App and react to its events, so each can be understood (and tested) alone.
 */
import type { Pop3Error } from '../../core/errors.js';
import { OfflineServer, type SampleMailbox } from './offline-server.js';
import { DemoSession, type DemoCommand, type DemoSessionEvent, type Endpoint, type Outcome } from './session.js';
import { ConnectionError } from '../../core/client/errors.js';
import type { DemoConfig, DemoTarget } from './demo-config-types.js';

/** Where the learner can connect: the offline server, or a target through the proxy. */
export type Place = { readonly kind: 'offline' } | { readonly kind: 'proxy'; readonly target: DemoTarget };

export type AppEvent =
  /** A session was opened (or the current one replaced); undefined when none is open any more. */
  | { readonly type: 'session'; readonly session: DemoSession | undefined }
  /** Something happened in the current session. */
  | { readonly type: 'session-event'; readonly session: DemoSession; readonly event: DemoSessionEvent }
  /** Connecting started or failed (the error explains why, for the connect panel and the status line). */
  | { readonly type: 'connecting'; readonly place: Place }
  | { readonly type: 'connect-failed'; readonly place: Place; readonly error: Pop3Error }
  /** The mailbox was put back to the sample (the mailbox view forgets what it knew). */
  | { readonly type: 'mailbox-reset' };

export class App {
  readonly config: DemoConfig | undefined;
  readonly offline: OfflineServer;
  #session: DemoSession | undefined;
  #place: Place | undefined;
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
   */
  async connect(place: Place, options: { seed?: number } = {}): Promise<DemoSession> {
    this.disconnect();
    this.#emit({ type: 'connecting', place });
    const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0]!;
    try {
      const session = await DemoSession.open(this.endpoint(place, { seed }), (event, from) => {
        // A replaced session's last events (its close) are no one's business any more.
        if (this.#session === undefined || this.#session === from) this.#emit({ type: 'session-event', session: from, event });
      });
      this.#session = session;
      this.#place = place;
      this.#emit({ type: 'session', session });
      return session;
    } catch (error) {
      const failure = error instanceof Error && 'code' in error ? (error as Pop3Error) : new ConnectionError(String(error));
      this.#emit({ type: 'connect-failed', place, error: failure });
      throw failure;
    }
  }

  /** Drop the current session, if any, without QUIT. */
  disconnect(): void {
    const session = this.#session;
    if (session === undefined) return;
    this.#session = undefined;
    this.#place = undefined;
    session.close();
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
    const reset = async () => {
      if (place.kind === 'offline') return this.offline.reset();
      if (!place.target.embedded) return false;
      const response = await fetch('api/reset-mailbox', { method: 'POST' });
      if (response.status === 409) return false;
      if (!response.ok) throw new Error(`api/reset-mailbox: HTTP ${response.status}`);
      return true;
    };
    // A server releases the mailbox just after its +OK to QUIT, so a reset right after QUIT may find it
    // still held for a moment: try once more.
    const done = (await reset()) || (await new Promise((resolve) => setTimeout(resolve, 150)), await reset());
    if (done) this.#emit({ type: 'mailbox-reset' });
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

/** The same place (for selects and replays). */
export function placeKey(place: Place): string {
  return place.kind === 'offline' ? 'offline' : `proxy:${place.target.target}`;
}
