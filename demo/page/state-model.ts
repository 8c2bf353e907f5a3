/**
 * The state diagram's logic, free of the DOM so it can be tested: the boxes and arrows of the POP3 session
 * (RFC 1939 section 3), which box a session state lights up, the sentence that says the same in words, and
 * the record of the commands in flight that makes pipelining visible.
 */
import type { SessionState } from '../../core/client-engine.js';
import type { TranscriptEntry } from './session.js';

/** The boxes of the diagram, in order. */
export type DiagramNode = 'connecting' | 'authorization' | 'transaction' | 'update' | 'closed';
export const DIAGRAM_NODES: readonly DiagramNode[] = ['connecting', 'authorization', 'transaction', 'update', 'closed'];

/** The arrows: from, to, and the key of the label naming what moves the session along. */
export interface DiagramEdge {
  readonly from: DiagramNode;
  readonly to: DiagramNode;
  readonly labelKey: string;
}

export const DIAGRAM_EDGES: readonly DiagramEdge[] = [
  { from: 'connecting', to: 'authorization', labelKey: 'state.edges.greeting' },
  { from: 'authorization', to: 'transaction', labelKey: 'state.edges.login' },
  { from: 'authorization', to: 'closed', labelKey: 'state.edges.quitEarly' },
  { from: 'transaction', to: 'update', labelKey: 'state.edges.quit' },
  { from: 'update', to: 'closed', labelKey: 'state.edges.updateDone' },
];

/** What the page knows about the session: none, one being opened, one that failed to open, or one open. */
export type Phase =
  | { readonly kind: 'idle' }
  | { readonly kind: 'connecting' }
  | { readonly kind: 'connect-failed' }
  | { readonly kind: 'session'; readonly state: SessionState; readonly lost: boolean };

/** The box lit for a phase; undefined when there is no session at all. */
export function nodeOf(phase: Phase): DiagramNode | undefined {
  switch (phase.kind) {
    case 'idle':
    case 'connect-failed':
      return undefined;
    case 'connecting':
      return 'connecting';
    case 'session':
      switch (phase.state) {
        case 'connecting':
          return 'connecting';
        // STLS never happens in the page; the session stays in AUTHORIZATION meanwhile (RFC 2595 section 4).
        case 'authorization':
        case 'starttls':
          return 'authorization';
        case 'transaction':
          return 'transaction';
        case 'update':
          return 'update';
        case 'closed':
        case 'failed':
          return 'closed';
      }
  }
}

/** The key of the sentence that says where the session is (the text equivalent of the diagram). */
export function summaryKey(phase: Phase): string {
  switch (phase.kind) {
    case 'idle':
      return 'state.summary.idle';
    case 'connecting':
      return 'state.summary.connecting';
    case 'connect-failed':
      return 'state.summary.connectFailed';
    case 'session':
      if (phase.state === 'failed') return 'state.summary.failed';
      if (phase.state === 'closed') return phase.lost ? 'state.summary.lost' : 'state.summary.closed';
      return `state.summary.${phase.state}`;
  }
}

/** Every key summaryKey can return (for the test of the locale files). */
export const SUMMARY_KEYS: readonly string[] = [
  'idle',
  'connecting',
  'connectFailed',
  'authorization',
  'starttls',
  'transaction',
  'update',
  'closed',
  'lost',
  'failed',
].map((name) => `state.summary.${name}`);

/** One command of the current burst. */
export interface FlightItem {
  readonly handle: number;
  /** The command as the transcript shows it (secrets redacted). */
  readonly text: string;
  /** Commands in flight right after this one was sent. */
  readonly inFlightWhenSent: number;
  readonly result: 'waiting' | 'ok' | 'error';
}

export interface FlightSnapshot {
  /** The commands sent since the session was last idle (nothing unanswered), oldest first. */
  readonly items: readonly FlightItem[];
  /** The most commands in flight at once during this burst: more than 1 means they were pipelined. */
  readonly peak: number;
  /** Sent and not answered, now. */
  readonly inFlight: number;
  /** Queued in the engine, not sent yet (held back without PIPELINING, or behind PASS, QUIT...). */
  readonly queued: number;
}

/**
 * Records the commands in flight from the session's events. A burst starts with the first command sent while
 * nothing else is unanswered and lasts while some command of it is; the items stay shown until the next
 * burst starts, so a learner (and a test) can see that LIST and UIDL went out together even when the replies
 * come back within a millisecond.
 */
export class FlightRecorder {
  #items: FlightItem[] = [];
  #peak = 0;
  #inFlight = 0;
  #pending = 0;

  /** Forget everything (a new session). */
  reset(): void {
    this.#items = [];
    this.#peak = 0;
    this.#inFlight = 0;
    this.#pending = 0;
  }

  /** A transcript entry: client command lines start or extend a burst. */
  entry(entry: TranscriptEntry): void {
    if (entry.from !== 'client' || entry.kind !== 'command' || entry.handle === undefined) return;
    if (this.#items.every((item) => item.result !== 'waiting')) {
      this.#items = [];
      this.#peak = 0;
    }
    const inFlight = entry.inFlight ?? 1;
    this.#items.push({ handle: entry.handle, text: entry.text, inFlightWhenSent: inFlight, result: 'waiting' });
    this.#peak = Math.max(this.#peak, inFlight);
  }

  /** A command's outcome (an -ERR, a cancellation and a lost connection count as errors). */
  outcome(handle: number | undefined, ok: boolean): void {
    if (handle === undefined) return;
    this.#items = this.#items.map((item) => (item.handle === handle ? { ...item, result: ok ? 'ok' : 'error' } : item));
  }

  /** The engine's counts, from the session's `in-flight` event. */
  counts(inFlight: number, pending: number): void {
    this.#inFlight = inFlight;
    this.#pending = pending;
    this.#peak = Math.max(this.#peak, inFlight);
  }

  get snapshot(): FlightSnapshot {
    return { items: this.#items, peak: this.#peak, inFlight: this.#inFlight, queued: Math.max(0, this.#pending - this.#inFlight) };
  }
}
