/**
 * What the page knows about the mailbox, derived only from the outcomes of the session's commands (the
 * view feeds it every `outcome` event, whoever sent the command: the mailbox buttons, the command palette,
 * a lesson): STAT's count, LIST's sizes, UIDL's unique ids, the From/Subject/Date of the heads TOP returns,
 * and which messages DELE marked. It follows RFC 1939's rules for deletion:
 *
 * - DELE only marks a message (the server must then refuse to list, retrieve or delete it again);
 * - RSET unmarks every marked message;
 * - QUIT in the TRANSACTION state moves the server to the UPDATE state, where it deletes the marked
 *   messages and then says +OK (or -ERR if some could not be deleted);
 * - a session that ends any other way (the connection drops, the client gives up) never reaches UPDATE: the
 *   server deletes nothing and the marks are gone with the session.
 *
 * Message numbers are only meaningful within one session, so a new session (or a reset of the mailbox) starts
 * the model over. Pure: no DOM, no session; the unit tests feed it outcomes directly.
 */
import { ServerError } from '../../core/errors.js';
import type { DemoCommand, Outcome } from './session.js';
import { type HeaderSummary, summarizeHeaders } from './message.js';

/**
 * Where a message stands: `kept` on the server; `marked` for deletion (DELE); `deleted` by the server at
 * QUIT; `uncertain` when QUIT answered -ERR (the server may have deleted some of the marked messages).
 */
export type Deletion = 'kept' | 'marked' | 'deleted' | 'uncertain';

export interface MailboxMessage {
  readonly number: number;
  /** Octets, from LIST (or from the retrieved message when no LIST said). */
  readonly size: number | undefined;
  readonly uid: string | undefined;
  /** From TOP (any number of lines) or RETR; undefined until one of them succeeded. */
  readonly headers: HeaderSummary | undefined;
  /** RETR succeeded for it in this session. */
  readonly retrieved: boolean;
  readonly deletion: Deletion;
}

/**
 * How the session ended, as far as the mailbox is concerned: `open` while it runs; `committed` after QUIT +OK
 * (marked messages deleted); `commit-failed` after QUIT -ERR in UPDATE; `dropped` when it ended without QUIT
 * while messages were marked (nothing deleted, marks gone); `closed` when it ended with nothing marked.
 */
export type MailboxPhase = 'open' | 'committed' | 'commit-failed' | 'dropped' | 'closed';

/** Which messages an update touched (their numbers), `all` for a change of the whole mailbox, or nothing. */
export type Change = readonly number[] | 'all' | undefined;

export class MailboxModel {
  #messages = new Map<number, MailboxMessage>();
  #stat: { count: number; size: number } | undefined;
  #listed = false;
  #phase: MailboxPhase = 'open';
  /** How many marks QUIT committed, or the end of the session dropped. */
  #settled = 0;
  /** The number of the last message retrieved. */
  #lastRetrieved: number | undefined;

  /** Forget everything (a new session, or the mailbox put back to the sample). */
  reset(): void {
    this.#messages = new Map();
    this.#stat = undefined;
    this.#listed = false;
    this.#phase = 'open';
    this.#settled = 0;
    this.#lastRetrieved = undefined;
  }

  /** The messages known, by number. */
  get messages(): readonly MailboxMessage[] {
    return [...this.#messages.values()].sort((a, b) => a.number - b.number);
  }

  message(number: number): MailboxMessage | undefined {
    return this.#messages.get(number);
  }

  /** The latest STAT answer (counting the messages not marked for deletion at the time). */
  get stat(): { readonly count: number; readonly size: number } | undefined {
    return this.#stat;
  }

  /** A LIST of the whole mailbox succeeded in this session. */
  get listed(): boolean {
    return this.#listed;
  }

  get phase(): MailboxPhase {
    return this.#phase;
  }

  /** Messages marked for deletion now. */
  get marked(): number {
    return this.messages.filter((message) => message.deletion === 'marked').length;
  }

  /** `committed`: how many messages the server deleted; `dropped`: how many marks were dropped. */
  get settled(): number {
    return this.#settled;
  }

  get lastRetrieved(): number | undefined {
    return this.#lastRetrieved;
  }

  /** The size a download of `number` should reach, as far as the model knows (the LIST size). */
  expectedSize(number: number): number | undefined {
    return this.#messages.get(number)?.size;
  }

  /** Take in the outcome of a command of this session; says what changed. */
  apply(command: DemoCommand, outcome: Outcome): Change {
    if (!outcome.ok) {
      // -ERR to QUIT: the server was in UPDATE and could not delete everything (RFC 1939 section 6).
      if (command.verb === 'QUIT' && this.marked > 0 && outcome.error instanceof ServerError) return this.#quit(false);
      return undefined;
    }
    const result = outcome.result;
    switch (result.verb) {
      case 'STAT':
        this.#stat = { count: result.count, size: result.size };
        return 'all';
      case 'LIST': {
        if (command.verb === 'LIST' && command.message === undefined) this.#listed = true;
        for (const entry of result.entries) this.#update(entry.message, { size: entry.size });
        return result.entries.map((entry) => entry.message);
      }
      case 'UIDL':
        for (const entry of result.entries) this.#update(entry.message, { uid: entry.uid });
        return result.entries.map((entry) => entry.message);
      case 'TOP':
      case 'RETR': {
        const changes: { -readonly [K in keyof MailboxMessage]?: MailboxMessage[K] } = {};
        if (outcome.body !== undefined) changes.headers = summarizeHeaders(outcome.body);
        if (result.verb === 'RETR') {
          changes.retrieved = true;
          this.#lastRetrieved = result.message;
          if (this.#messages.get(result.message)?.size === undefined && outcome.body !== undefined) changes.size = outcome.body.length;
        }
        this.#update(result.message, changes);
        return [result.message];
      }
      case 'DELE':
        return command.verb === 'DELE' ? this.#mark(command.message) : undefined;
      case 'RSET':
        return this.#unmarkAll();
      case 'QUIT':
        return this.#quit(true);
      case 'RAW': {
        // Commands typed raw change the mailbox all the same.
        if (command.verb !== 'RAW') return undefined;
        const [verb = '', argument] = command.line.trim().split(/\s+/);
        const upper = verb.toUpperCase();
        if (upper === 'DELE' && argument !== undefined && /^\d+$/.test(argument)) return this.#mark(Number(argument));
        if (upper === 'RSET') return this.#unmarkAll();
        if (upper === 'QUIT') return this.#quit(true);
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /**
   * The session ended. Unless QUIT was answered, the server never entered UPDATE: it deleted nothing, and the
   * marks are dropped (the messages are all still there for the next session).
   */
  close(): Change {
    if (this.#phase !== 'open') return undefined;
    const marked = this.messages.filter((message) => message.deletion === 'marked');
    this.#settled = marked.length;
    this.#phase = marked.length > 0 ? 'dropped' : 'closed';
    for (const message of marked) this.#update(message.number, { deletion: 'kept' });
    return 'all';
  }

  #mark(number: number): Change {
    this.#update(number, { deletion: 'marked' });
    return [number];
  }

  #unmarkAll(): Change {
    const marked = this.messages.filter((message) => message.deletion === 'marked');
    for (const message of marked) this.#update(message.number, { deletion: 'kept' });
    return marked.map((message) => message.number);
  }

  #quit(ok: boolean): Change {
    if (this.#phase !== 'open') return undefined;
    const marked = this.messages.filter((message) => message.deletion === 'marked');
    this.#settled = marked.length;
    this.#phase = ok ? 'committed' : 'commit-failed';
    for (const message of marked) this.#update(message.number, { deletion: ok ? 'deleted' : 'uncertain' });
    return 'all';
  }

  #update(number: number, changes: Partial<MailboxMessage>): void {
    const known = this.#messages.get(number) ?? { number, size: undefined, uid: undefined, headers: undefined, retrieved: false, deletion: 'kept' };
    this.#messages.set(number, { ...known, ...changes, number });
  }
}

/** The message number in a command as the engine shows it (`RETR 14` gives 14). */
export function messageNumberOf(command: string): number | undefined {
  const match = /^\s*(?:RETR|TOP|DELE|LIST|UIDL)\s+(\d+)/i.exec(command);
  return match ? Number(match[1]) : undefined;
}
