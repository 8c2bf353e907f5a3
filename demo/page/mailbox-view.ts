/**
 * The mailbox view: the messages as LIST, UIDL and TOP describe them, with a button per message for its
 * headers (TOP n 0), to open it (RETR n: the message viewer shows it) and to delete it (DELE n), and for
 * the whole mailbox: load the list (LIST and UIDL together, pipelined when the server allows, then TOP n 0
 * for each message), RSET and QUIT. Every button sends a real command through the session, so all of it is
 * in the transcript; the view itself only shows what the outcomes said (mailbox-model.ts), whoever sent
 * the command.
 *
 * Deletion is the lesson here: DELE strikes a message out ("marked for deletion"), RSET brings it back,
 * QUIT +OK shows it deleted by the server in the UPDATE state, and a session that ends without QUIT shows
 * that the marks were dropped and nothing was deleted. Downloads show their progress (`<progress>`).
 */
import type { Pop3Error } from '../../core/errors.js';
import type { Verb } from '../../core/commands.js';
import type { App, AppEvent } from './app.js';
import { h, uniqueId } from './dom.js';
import { language, onLanguageChange, t } from './i18n.js';
import { setUsable, usable } from './dom.js';
import { type Change, type MailboxMessage, MailboxModel, messageNumberOf } from './mailbox-model.js';
import { formatOctets, formatSize } from './message.js';
import { describeError } from './response-codes.js';
import type { DemoCommand, DemoSession, DemoSessionEvent, Outcome } from './session.js';
import { announce } from './status.js';

/** TOP n 0 is sent for at most this many messages by "load list" (the rest have their own button). */
export const TOP_LIMIT = 200;

/** A button that stays focusable when it cannot be used (aria-disabled, see setUsable), so focus never falls to the page. */
function button(className: string, onClick: () => void): HTMLButtonElement {
  const element = h('button', { class: className });
  element.type = 'button';
  element.addEventListener('click', () => {
    if (usable(element)) onClick();
  });
  return element;
}

/** A button's text: a visible label, the POP3 command it sends, and (for screen readers) which message. */
function label(element: HTMLElement, text: string, command: string, message?: string): void {
  const parts: Node[] = [h('span', { class: 'mailbox-button-label' }, text), h('code', { class: 'mailbox-button-command' }, command)];
  if (message !== undefined) parts.splice(1, 0, h('span', { class: 'visually-hidden' }, `, ${message}`));
  element.replaceChildren(...parts);
}

interface Row {
  readonly item: HTMLLIElement;
  readonly number: HTMLElement;
  readonly subject: HTMLElement;
  readonly from: HTMLElement;
  readonly date: HTMLTimeElement;
  readonly size: HTMLElement;
  readonly uid: HTMLElement;
  readonly state: HTMLElement;
  readonly headers: HTMLButtonElement;
  readonly open: HTMLButtonElement;
  readonly remove: HTMLButtonElement;
  readonly actions: HTMLElement;
  readonly read: HTMLAnchorElement;
  /** What the buttons were last set to (so that a change of the session touches only rows it changes). */
  enabled: string;
}

/** Mount the mailbox view in `root`; it follows the App's current session. */
export function mountMailbox(root: HTMLElement, app: App): void {
  new MailboxView(root, app);
}

class MailboxView {
  readonly #app: App;
  readonly #model = new MailboxModel();
  #session: DemoSession | undefined;
  #loading = false;
  /** The RETR whose progress is shown. */
  #progressHandle: number | undefined;

  readonly #hint = h('p', { class: 'mailbox-hint' });
  readonly #toolbar = h('div', { class: 'mailbox-toolbar' });
  readonly #load = button('mailbox-load', () => void this.#loadList());
  readonly #rset = button('secondary mailbox-rset', () => void this.#send({ verb: 'RSET' }));
  readonly #quit = button('secondary mailbox-quit', () => void this.#send({ verb: 'QUIT' }));
  readonly #summary = h('p', { class: 'mailbox-summary' });
  readonly #ending = h('p', { class: 'mailbox-ending' });
  readonly #error = h('p', { class: 'mailbox-error error-text' });
  readonly #progress = h('div', { class: 'mailbox-progress' });
  readonly #progressLabel = h('label', { class: 'mailbox-progress-label' });
  readonly #progressBar = h('progress', { class: 'mailbox-progress-bar' });
  readonly #progressText = h('span', { class: 'mailbox-progress-text' });
  readonly #list = h('ol', { class: 'mailbox-list' });
  readonly #legend = h('details', { class: 'mailbox-legend' });
  readonly #legendTitle = h('summary');
  readonly #legendText = h('p');
  readonly #rows = new Map<number, Row>();
  /** The progress text's parts, kept to re-render it in another language. */
  #progressState: { number: number | undefined; received: number; expected: number | undefined; done?: 'ok' | 'failed' } | undefined;
  #lastError: Pop3Error | undefined;
  /** The row whose link to the viewer shows. */
  #readLink: number | undefined;

  constructor(root: HTMLElement, app: App) {
    this.#app = app;
    root.classList.add('mailbox');
    this.#toolbar.setAttribute('role', 'group');
    this.#toolbar.append(this.#load, this.#rset, this.#quit);
    const progressId = uniqueId('mailbox-progress');
    this.#progressBar.id = progressId;
    this.#progressLabel.htmlFor = progressId;
    this.#progress.append(this.#progressLabel, this.#progressBar, this.#progressText);
    this.#progress.hidden = true;
    this.#ending.hidden = true;
    this.#error.hidden = true;
    this.#legend.append(this.#legendTitle, this.#legendText);
    root.replaceChildren(this.#hint, this.#toolbar, this.#legend, this.#summary, this.#ending, this.#error, this.#progress, this.#list);

    app.on((event) => this.#onAppEvent(event));
    onLanguageChange(() => this.#render());
    if (app.session !== undefined) this.#bind(app.session);
    this.#render();
  }

  // ─── Events ─────────────────────────────────────────────────────────────────────────────────────────────

  #onAppEvent(event: AppEvent): void {
    switch (event.type) {
      case 'session':
        if (event.session === undefined) {
          // The App dropped the session without QUIT (disconnect, or another connection): marks are dropped.
          this.#settle(this.#model.close());
        } else if (event.session !== this.#session) {
          this.#bind(event.session);
        }
        break;
      case 'mailbox-reset':
        this.#model.reset();
        this.#progressState = undefined;
        this.#lastError = undefined;
        this.#render();
        break;
      case 'session-event':
        if (event.session === this.#session) this.#onSessionEvent(event.event);
        break;
      default:
        break;
    }
  }

  #onSessionEvent(event: DemoSessionEvent): void {
    switch (event.type) {
      case 'outcome':
        this.#onOutcome(event.command, event.outcome);
        break;
      case 'progress':
        if (event.handle.verb !== 'RETR') return;
        this.#progressHandle = event.handle.id;
        this.#progressState = { number: messageNumberOf(event.handle.command), received: event.received, expected: event.expected };
        this.#renderProgress();
        break;
      case 'closed':
        this.#settle(this.#model.close());
        break;
      case 'state':
      case 'in-flight':
        this.#renderControls();
        break;
      default:
        break;
    }
  }

  #onOutcome(command: DemoCommand, outcome: Outcome): void {
    if (command.verb === 'RETR' && this.#progressState !== undefined && outcome.handle?.id === this.#progressHandle) {
      this.#progressState = { ...this.#progressState, done: outcome.ok ? 'ok' : 'failed' };
      if (outcome.ok && outcome.body !== undefined) this.#progressState.received = outcome.body.length;
      this.#renderProgress();
    }
    const change = this.#model.apply(command, outcome);
    if (change === 'all') this.#render();
    else if (change !== undefined) {
      this.#renderRows(change);
      this.#renderStatus();
    }
  }

  /** The session ended (or was dropped): show what happened to the marks. */
  #settle(change: Change): void {
    // Not announced: the connect panel says that the connection ended; the note in this view says what
    // became of the marks.
    if (change !== undefined) this.#render();
  }

  #bind(session: DemoSession): void {
    this.#session = session;
    this.#model.reset();
    this.#progressState = undefined;
    this.#progressHandle = undefined;
    this.#lastError = undefined;
    this.#render();
  }

  // ─── Actions ────────────────────────────────────────────────────────────────────────────────────────────

  /** LIST and UIDL queued together (one write when the server pipelines), then TOP n 0 for each message. */
  async #loadList(): Promise<void> {
    const session = this.#session;
    if (session === undefined || session.closed || this.#loading) return;
    this.#loading = true;
    this.#clearError();
    this.#renderControls();
    try {
      const [list, uidl] = await session.sendAll([{ verb: 'LIST' }, { verb: 'UIDL' }]);
      if (list === undefined || !list.ok) {
        if (list !== undefined && !list.ok) this.#fail(list.error);
        return;
      }
      if (uidl !== undefined && !uidl.ok) this.#fail(uidl.error);
      const numbers = list.result.verb === 'LIST' ? list.result.entries.map((entry) => entry.message) : [];
      const tops = await session.sendAll(numbers.slice(0, TOP_LIMIT).map((message): DemoCommand => ({ verb: 'TOP', message, lines: 0 })));
      const failed = tops.find((outcome) => !outcome.ok);
      if (failed !== undefined && !failed.ok) this.#fail(failed.error);
      announce(numbers.length === 1 ? t('mailbox.announce.loaded.one') : t('mailbox.announce.loaded.other', { count: numbers.length }));
    } finally {
      this.#loading = false;
      this.#renderControls();
    }
  }

  /** Send one command; errors are explained (with their response code) in the status line and here. */
  async #send(command: DemoCommand): Promise<Outcome> {
    this.#clearError();
    const outcome = await this.#app.run(command);
    if (!outcome.ok) {
      this.#fail(outcome.error);
      return outcome;
    }
    switch (command.verb) {
      case 'DELE':
        announce(t('mailbox.announce.marked', { number: command.message }));
        break;
      case 'RSET':
        announce(t('mailbox.announce.rset'));
        break;
      case 'QUIT':
        announce(this.#endingText());
        break;
      case 'RETR':
        announce(t('mailbox.announce.opened', { number: command.message }));
        break;
      case 'TOP':
        announce(t('mailbox.announce.headers', { number: command.message }));
        break;
      default:
        break;
    }
    return outcome;
  }

  #fail(error: Pop3Error): void {
    this.#lastError = error;
    this.#renderError();
    announce(describeError(error), 'error');
  }

  #clearError(): void {
    this.#lastError = undefined;
    this.#renderError();
  }

  // ─── Rendering ──────────────────────────────────────────────────────────────────────────────────────────

  #render(): void {
    this.#toolbar.setAttribute('aria-label', t('mailbox.actions.group'));
    label(this.#load, t('mailbox.actions.load'), t('mailbox.commands.load'));
    label(this.#rset, t('mailbox.actions.rset'), t('mailbox.commands.rset'));
    label(this.#quit, t('mailbox.actions.quit'), t('mailbox.commands.quit'));
    this.#list.setAttribute('aria-label', t('mailbox.listLabel'));
    this.#legendTitle.textContent = t('mailbox.legendTitle');
    this.#legendText.textContent = t('mailbox.legend');
    for (const [number, row] of this.#rows) {
      if (this.#model.message(number) === undefined) {
        row.item.remove();
        this.#rows.delete(number);
      }
    }
    this.#readLink = undefined;
    this.#renderRows(this.#model.messages.map((message) => message.number));
    this.#renderStatus();
    this.#renderProgress();
    this.#renderError();
  }

  /** The hint, summary, the ending note and the toolbar. */
  #renderStatus(): void {
    const model = this.#model;
    const session = this.#session;
    const state = session === undefined || session.closed ? 'closed' : session.state;
    let hint: string;
    if (session === undefined) hint = t('mailbox.hint.noSession');
    else if (model.phase !== 'open' || state === 'closed' || state === 'failed' || state === 'update') hint = t('mailbox.hint.closed');
    else if (state === 'transaction') hint = model.listed ? t('mailbox.hint.listed') : t('mailbox.hint.transaction');
    else hint = t('mailbox.hint.authorization');
    this.#hint.textContent = hint;

    const parts: string[] = [];
    const messages = model.messages;
    if (model.listed) {
      const onServer = messages.filter((message) => message.deletion !== 'deleted');
      const size = onServer.reduce((sum, message) => sum + (message.size ?? 0), 0);
      parts.push(
        onServer.length === 1
          ? t('mailbox.summary.listed.one', { size: formatSize(size, language()) })
          : t('mailbox.summary.listed.other', { count: onServer.length, size: formatSize(size, language()) }),
      );
    } else if (model.stat !== undefined) {
      parts.push(t('mailbox.summary.stat', { count: model.stat.count, size: formatSize(model.stat.size, language()), octets: formatOctets(model.stat.size, language()) }));
    }
    const marked = model.marked;
    if (marked > 0) parts.push(marked === 1 ? t('mailbox.summary.marked.one') : t('mailbox.summary.marked.other', { count: marked }));
    this.#summary.textContent = parts.join(' ');
    this.#summary.hidden = parts.length === 0;

    const ending = this.#endingText();
    this.#ending.textContent = ending;
    this.#ending.hidden = ending === '';
    this.#ending.dataset.phase = model.phase;
    this.#renderControls();
  }

  /** What happened to the marks when the session ended ('' while it runs). */
  #endingText(): string {
    const settled = this.#model.settled;
    switch (this.#model.phase) {
      case 'open':
        return '';
      case 'committed':
        return settled === 0 ? t('mailbox.ending.committed.none') : settled === 1 ? t('mailbox.ending.committed.one') : t('mailbox.ending.committed.other', { count: settled });
      case 'commit-failed':
        return t('mailbox.ending.commitFailed');
      case 'dropped':
        return settled === 1 ? t('mailbox.ending.dropped.one') : t('mailbox.ending.dropped.other', { count: settled });
      case 'closed':
        return t('mailbox.ending.closed');
    }
  }

  #canSend(verb: Verb): boolean {
    const session = this.#session;
    return session !== undefined && !session.closed && this.#model.phase === 'open' && session.engine.refusalOf(verb) === undefined;
  }

  /** Which buttons can be used now (the engine says which commands it would accept). */
  #renderControls(): void {
    setUsable(this.#load, !this.#loading && this.#canSend('LIST'));
    setUsable(this.#rset, this.#canSend('RSET'));
    setUsable(this.#quit, this.#canSend('QUIT'));
    this.#toolbar.setAttribute('aria-busy', String(this.#loading));
    const can = { TOP: this.#canSend('TOP'), RETR: this.#canSend('RETR'), DELE: this.#canSend('DELE') };
    for (const [number, row] of this.#rows) {
      const message = this.#model.message(number);
      if (message !== undefined) this.#renderRowControls(row, message, can);
    }
  }

  #renderRowControls(row: Row, message: MailboxMessage, can: { TOP: boolean; RETR: boolean; DELE: boolean }): void {
    const kept = message.deletion === 'kept';
    const key = `${kept && can.TOP}${kept && can.RETR}${kept && can.DELE}${message.deletion}`;
    if (row.enabled === key) return;
    row.enabled = key;
    setUsable(row.headers, kept && can.TOP);
    setUsable(row.open, kept && can.RETR);
    setUsable(row.remove, kept && can.DELE);
    row.actions.hidden = message.deletion === 'deleted';
  }

  /** Create or update the rows of `numbers`. */
  #renderRows(numbers: readonly number[]): void {
    const can = { TOP: this.#canSend('TOP'), RETR: this.#canSend('RETR'), DELE: this.#canSend('DELE') };
    for (const number of numbers) {
      const message = this.#model.message(number);
      if (message === undefined) continue;
      let row = this.#rows.get(number);
      if (row === undefined) {
        row = this.#makeRow(number);
        this.#rows.set(number, row);
        this.#insertRow(number, row.item);
      }
      this.#fillRow(row, message);
      row.enabled = '';
      this.#renderRowControls(row, message, can);
    }
    // Only the row of the last message opened links to the viewer.
    const last = this.#model.lastRetrieved;
    if (last !== this.#readLink) {
      const previous = this.#readLink === undefined ? undefined : this.#rows.get(this.#readLink);
      if (previous !== undefined) previous.read.hidden = true;
      this.#readLink = last;
      const current = last === undefined ? undefined : this.#rows.get(last);
      const message = last === undefined ? undefined : this.#model.message(last);
      if (current !== undefined && message !== undefined) current.read.hidden = message.deletion === 'deleted';
    }
  }

  #insertRow(number: number, item: HTMLLIElement): void {
    let before: HTMLLIElement | undefined;
    for (const [other, row] of this.#rows) if (other > number && (before === undefined || other < Number(before.dataset.number))) before = row.item;
    this.#list.insertBefore(item, before ?? null);
  }

  #makeRow(number: number): Row {
    const item = h('li', { class: 'mailbox-item' });
    item.dataset.number = String(number);
    const row: Row = {
      item,
      number: h('span', { class: 'mailbox-number' }),
      subject: h('span', { class: 'mailbox-subject' }),
      from: h('span', { class: 'mailbox-from' }),
      date: h('time', { class: 'mailbox-date' }),
      size: h('span', { class: 'mailbox-size' }),
      uid: h('span', { class: 'mailbox-uid' }),
      state: h('p', { class: 'mailbox-state' }),
      headers: button('secondary mailbox-headers', () => void this.#send({ verb: 'TOP', message: number, lines: 0 })),
      open: button('mailbox-open', () => void this.#send({ verb: 'RETR', message: number })),
      remove: button('secondary mailbox-delete', () => void this.#send({ verb: 'DELE', message: number })),
      actions: h('div', { class: 'mailbox-actions' }),
      read: h('a', { class: 'mailbox-read' }),
      enabled: '',
    };
    row.read.href = '#viewer';
    row.actions.setAttribute('role', 'group');
    row.actions.append(row.headers, row.open, row.remove, row.read);
    item.append(
      h('div', { class: 'mailbox-item-head' }, row.number, row.subject),
      h('div', { class: 'mailbox-meta' }, row.from, row.date, row.size, row.uid),
      row.state,
      row.actions,
    );
    return row;
  }

  #fillRow(row: Row, message: MailboxMessage): void {
    const locale = language();
    const number = message.number;
    const forMessage = t('mailbox.item.forMessage', { number });
    row.item.dataset.deletion = message.deletion;
    row.number.textContent = t('mailbox.item.number', { number });
    const headers = message.headers;
    row.subject.textContent = headers === undefined ? t('mailbox.item.noHeaders') : headers.subject || t('mailbox.item.noSubject');
    row.subject.classList.toggle('muted', headers === undefined);
    row.from.textContent = headers === undefined ? '' : t('mailbox.item.from', { from: headers.from ?? t('mailbox.item.noSender') });
    row.from.title = headers?.fromAddress ?? '';
    row.from.hidden = headers === undefined;
    if (headers?.dateValue !== undefined) {
      const date = new Date(headers.dateValue);
      row.date.dateTime = date.toISOString();
      row.date.textContent = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(date);
      row.date.hidden = false;
    } else {
      row.date.textContent = headers?.date ?? '';
      row.date.hidden = headers?.date === undefined;
    }
    row.size.textContent = message.size === undefined ? '' : formatSize(message.size, locale);
    row.size.title = message.size === undefined ? '' : t('mailbox.item.octets', { octets: formatOctets(message.size, locale) });
    row.size.hidden = message.size === undefined;
    row.uid.textContent = message.uid === undefined ? '' : t('mailbox.item.uid', { uid: message.uid });
    row.uid.hidden = message.uid === undefined;

    const states: string[] = [];
    if (message.deletion === 'marked') states.push(t('mailbox.item.marked'));
    if (message.deletion === 'deleted') states.push(t('mailbox.item.deleted'));
    if (message.deletion === 'uncertain') states.push(t('mailbox.item.uncertain'));
    if (message.retrieved && message.deletion !== 'deleted') states.push(t('mailbox.item.retrieved'));
    row.state.textContent = states.join(' ');
    row.state.hidden = states.length === 0;

    label(row.headers, t('mailbox.actions.headers'), t('mailbox.commands.headers', { number }), forMessage);
    label(row.open, t('mailbox.actions.open'), t('mailbox.commands.open', { number }), forMessage);
    label(row.remove, t('mailbox.actions.delete'), t('mailbox.commands.delete', { number }), forMessage);
    row.actions.setAttribute('aria-label', t('mailbox.item.actions', { number }));
    row.read.textContent = t('mailbox.item.read');
    row.read.hidden = this.#model.lastRetrieved !== number || message.deletion === 'deleted';
  }

  #renderProgress(): void {
    const progress = this.#progressState;
    this.#progress.hidden = progress === undefined;
    if (progress === undefined) return;
    const locale = language();
    const number = progress.number ?? '?';
    const expected = progress.expected ?? (progress.number === undefined ? undefined : this.#model.expectedSize(progress.number));
    this.#progress.dataset.done = progress.done ?? 'no';
    this.#progressLabel.textContent = t('mailbox.progress.label', { number });
    if (progress.done === 'ok') {
      this.#progressBar.max = 1;
      this.#progressBar.value = 1;
      this.#progressText.textContent = t('mailbox.progress.done', { number, size: formatSize(progress.received, locale) });
    } else if (expected !== undefined && expected > 0) {
      const received = Math.min(progress.received, expected);
      this.#progressBar.max = expected;
      this.#progressBar.value = received;
      const percent = new Intl.NumberFormat(locale, { style: 'percent' }).format(received / expected);
      this.#progressText.textContent = t('mailbox.progress.of', { received: formatSize(received, locale), expected: formatSize(expected, locale), percent });
    } else {
      // No size known: an indeterminate bar, and how much has arrived.
      this.#progressBar.removeAttribute('value');
      this.#progressText.textContent = t('mailbox.progress.received', { received: formatSize(progress.received, locale) });
    }
    if (progress.done === 'failed') this.#progressText.textContent = t('mailbox.progress.failed', { number });
  }

  #renderError(): void {
    const error = this.#lastError;
    this.#error.hidden = error === undefined;
    this.#error.textContent = error === undefined ? '' : describeError(error);
  }
}
