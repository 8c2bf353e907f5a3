/**
 * The live transcript: every line on the wire as it happens, client lines (C:) and server lines (S:) in
 * distinct styles, the page's own notes (ℹ), bodies as one entry that opens on demand. An ARIA log, so screen
 * readers hear new lines. Each line is a button: choosing it explains it in the explain panel.
 *
 * Rendering is incremental: lines are appended as the session reports them (batched per burst, so a
 * pipelined listing of thousands of lines is one DOM update), and only the newest MAX_LINES stay in the DOM.
 * Keyboard: one line is in the tab order (the focused one, else the selected or the newest); the arrow keys,
 * Page Up/Down, Home and End move between lines; Enter or Space explains.
 */
import type { Pop3Error } from '../../core/errors.js';
import type { App, Place } from './app.js';
import { h, uniqueId } from './dom.js';
import { bodySummary, marker, noteMessage, onSelection, type Selection, selectLine, text } from './explain-view.js';
import { language, onLanguageChange, t } from './i18n.js';
import { describeError } from './response-codes.js';
import type { DemoSession, TranscriptEntry } from './session.js';

/** Lines kept in the DOM; older ones are dropped (the session keeps them all). */
export const MAX_LINES = 2000;
/** Bytes of a body shown inline when opened (the explain panel shows them all). */
const BODY_PREVIEW = 16 * 1024;

/** A rendered line: a transcript entry, or a connection that failed before any entry existed. */
interface Row {
  readonly li: HTMLLIElement;
  readonly button: HTMLButtonElement;
  readonly selection: Selection;
  /** Fill the line's text in the current language. */
  readonly fill: () => void;
}

/** Mount the live transcript of the App's current session in `root`. */
export function mountTranscript(root: HTMLElement, app: App): void {
  root.classList.add('transcript-view');
  const hint = h('p', { class: 'tx-hint muted' });
  const log = h('div', { class: 'tx-log' });
  log.id = 'transcript-log';
  log.setAttribute('role', 'log');
  log.setAttribute('aria-relevant', 'additions');
  log.dataset.testid = 'transcript-log';
  const trimmedNote = h('p', { class: 'tx-trimmed muted' });
  trimmedNote.hidden = true;
  const empty = h('p', { class: 'tx-empty muted' });
  const list = h('ol', { class: 'tx-lines' });
  log.append(trimmedNote, empty, list);
  root.replaceChildren(hint, log);

  let session: DemoSession | undefined;
  /** Entries of `session` rendered (or queued) so far. */
  let done = 0;
  let rows: Row[] = [];
  let trimmed = 0;
  let queued: TranscriptEntry[] = [];
  let flushing = false;
  /** Command lines by handle, to name the message of a body. */
  let commands = new Map<number, TranscriptEntry>();
  /** The selected line, and the one line in the tab order (the focused one, else the selected one or the newest). */
  let selected: Row | undefined;
  let tabStop: Row | undefined;

  /** Whether the log follows its end: true until the learner scrolls up, again once back at the end. */
  let following = true;
  let scrollQueued = false;
  log.addEventListener('scroll', () => {
    following = log.scrollHeight - log.scrollTop - log.clientHeight < 48;
  });

  const fillStatic = () => {
    hint.textContent = t('transcript.hint');
    log.setAttribute('aria-label', t('transcript.label'));
    empty.textContent = t('transcript.empty');
    fillCounts();
  };
  const fillCounts = () => {
    empty.hidden = rows.length > 0 || trimmed > 0;
    trimmedNote.hidden = trimmed === 0;
    if (trimmed > 0) trimmedNote.textContent = t('transcript.trimmed', { count: trimmed, max: MAX_LINES });
  };

  const reset = (next: DemoSession | undefined) => {
    session = next;
    selected = undefined;
    tabStop = undefined;
    done = 0;
    rows = [];
    trimmed = 0;
    queued = [];
    commands = new Map();
    list.replaceChildren();
    following = true;
    fillStatic();
  };

  /** Queue the session's entries not yet shown, and render them together once the burst is over. */
  const sync = (from: DemoSession) => {
    if (from !== session) reset(from);
    const entries = from.entries;
    for (; done < entries.length; done++) queued.push(entries[done]!);
    if (!flushing) {
      flushing = true;
      queueMicrotask(flush);
    }
  };

  /** Append what is queued. Nothing here reads layout, so bursts cost no forced reflow each. */
  const flush = () => {
    flushing = false;
    if (queued.length === 0) return;
    const fragment = document.createDocumentFragment();
    const current = session;
    for (const entry of queued) {
      if (entry.from === 'client' && entry.kind === 'command' && entry.handle !== undefined) commands.set(entry.handle, entry);
      const row = entryRow(entry, current, commands);
      rows.push(row);
      fragment.append(row.li);
    }
    queued = [];
    list.append(fragment);
    afterAppend();
  };

  const addRow = (row: Row) => {
    rows.push(row);
    list.append(row.li);
    afterAppend();
  };

  const afterAppend = () => {
    trim();
    updateTabStop();
    fillCounts();
    // Follow the end once per frame, not once per burst.
    if (following && !scrollQueued) {
      scrollQueued = true;
      requestAnimationFrame(() => {
        scrollQueued = false;
        if (following) log.scrollTop = log.scrollHeight;
      });
    }
  };

  const trim = () => {
    if (rows.length <= MAX_LINES) return;
    const drop = rows.length - MAX_LINES;
    const dropped = rows.slice(0, drop);
    const hadFocus = dropped.some((row) => row.li.contains(document.activeElement));
    for (const row of dropped) row.li.remove();
    rows = rows.slice(drop);
    trimmed += drop;
    // The line under the keyboard's focus was dropped: go on from the oldest line still shown.
    if (hadFocus) rows[0]!.button.focus({ preventScroll: true });
  };

  const setTabStop = (row: Row | undefined) => {
    if (row === tabStop) return;
    if (tabStop) tabStop.button.tabIndex = -1;
    tabStop = row;
    if (row) row.button.tabIndex = 0;
  };
  const updateTabStop = () => {
    if (selected !== undefined && !rows.includes(selected)) selected = undefined;
    // The line under the keyboard's focus stays the tab stop while new lines arrive.
    const focused = rows.find((row) => row.button === document.activeElement);
    setTabStop(focused ?? selected ?? rows[rows.length - 1]);
  };

  const markSelected = (selection: Selection | undefined) => {
    if (selected) {
      selected.li.classList.remove('is-selected');
      selected.button.removeAttribute('aria-current');
    }
    selected = selection === undefined ? undefined : rows.find((row) => isSelected(row, selection));
    if (selected) {
      selected.li.classList.add('is-selected');
      selected.button.setAttribute('aria-current', 'true');
    }
    updateTabStop();
  };

  list.addEventListener('click', (event) => {
    const button = (event.target as Element).closest<HTMLButtonElement>('button.tx-button');
    const row = button && rows.find((candidate) => candidate.button === button);
    if (row) selectLine(row.selection, { reveal: true });
  });

  list.addEventListener('keydown', (event) => {
    const index = rows.findIndex((row) => row.button === document.activeElement);
    if (index === -1) return;
    const page = Math.max(1, Math.floor(log.clientHeight / 28));
    const target: Record<string, number> = {
      ArrowDown: index + 1,
      ArrowUp: index - 1,
      PageDown: index + page,
      PageUp: index - page,
      Home: 0,
      End: rows.length - 1,
    };
    const next = target[event.key];
    if (next === undefined) return;
    event.preventDefault();
    const row = rows[Math.min(rows.length - 1, Math.max(0, next))]!;
    setTabStop(row);
    row.button.focus();
    row.li.scrollIntoView({ block: 'nearest' });
  });

  onSelection((selection, options) => {
    markSelected(selection);
    if (options.focusLine === true && selected) {
      selected.li.scrollIntoView({ block: 'nearest' });
      selected.button.focus();
    }
  });

  onLanguageChange(() => {
    for (const row of rows) row.fill();
    fillStatic();
  });

  app.on((event) => {
    switch (event.type) {
      case 'connecting':
        reset(undefined);
        break;
      case 'session':
        if (event.session !== undefined) sync(event.session);
        break;
      case 'session-event':
        if (event.event.type === 'entry') sync(event.session);
        break;
      case 'connect-failed':
        if (session === undefined || session.entries.length === 0 || session.closed) addRow(failureRow(event.place, event.error));
        break;
    }
  });

  reset(app.session);
  if (app.session !== undefined) sync(app.session);
}

function isSelected(row: Row, selection: Selection | undefined): boolean {
  if (selection === undefined) return false;
  if (selection.kind === 'entry' && row.selection.kind === 'entry') return selection.entry === row.selection.entry;
  return selection === row.selection;
}

/** One line of the transcript. */
function entryRow(entry: TranscriptEntry, session: DemoSession | undefined, commands: ReadonlyMap<number, TranscriptEntry>): Row {
  const li = h('li', { class: 'tx-line' });
  li.dataset.from = entry.from;
  li.dataset.kind = entry.kind;
  li.dataset.index = String(entry.index);
  if (entry.ok !== undefined) li.dataset.ok = String(entry.ok);
  const button = h('button', { class: 'tx-button' });
  button.type = 'button';
  button.tabIndex = -1;
  button.dataset.testid = 'transcript-line';
  li.append(button);

  let toggle: HTMLButtonElement | undefined;
  let body: HTMLElement | undefined;
  if (entry.kind === 'body' && entry.body !== undefined) {
    toggle = h('button', { class: 'secondary tx-toggle' });
    toggle.type = 'button';
    toggle.setAttribute('aria-expanded', 'false');
    const id = uniqueId(`tx-body-${entry.index}`);
    toggle.setAttribute('aria-controls', id);
    toggle.addEventListener('click', () => {
      const open = toggle!.getAttribute('aria-expanded') !== 'true';
      if (open && body === undefined) {
        body = bodyPreview(entry.body!);
        body.id = id;
        li.append(body);
      }
      body!.hidden = !open;
      toggle!.setAttribute('aria-expanded', String(open));
      toggle!.textContent = t(open ? 'transcript.hideBody' : 'transcript.showBody');
    });
    li.append(toggle);
  }

  const fill = () => {
    const content: (string | Node)[] = [...senderMarks(entry.from)];
    const line = h('span', { class: 'tx-text' });
    line.textContent = entry.from === 'local' ? text(noteMessage(entry)) : entry.kind === 'body' ? bodySummary(entry, entry.handle === undefined ? undefined : commands.get(entry.handle)) : entry.text;
    content.push(line);
    if (entry.from === 'client' && entry.inFlight !== undefined && entry.inFlight > 1) {
      content.push(h('span', { class: 'tx-inflight' }, t('transcript.inFlight', { n: entry.inFlight })));
    }
    button.replaceChildren(...content);
    if (toggle) toggle.textContent = t(toggle.getAttribute('aria-expanded') === 'true' ? 'transcript.hideBody' : 'transcript.showBody');
    // An opened body's note on what was cut is in words too.
    const cut = body?.querySelector('.tx-body-cut');
    if (cut && entry.body !== undefined) cut.textContent = bodyCutText(entry.body);
  };
  fill();
  return { li, button, selection: { kind: 'entry', entry, session }, fill };
}

/** A connection that failed before the session had any line: the reason, explained when chosen. */
function failureRow(place: Place, error: Pop3Error): Row {
  const li = h('li', { class: 'tx-line' });
  li.dataset.from = 'local';
  li.dataset.kind = 'error';
  const button = h('button', { class: 'tx-button' });
  button.type = 'button';
  button.tabIndex = -1;
  button.dataset.testid = 'transcript-line';
  li.append(button);
  const where = place.kind === 'offline' ? '' : place.target.label || place.target.target;
  const fill = () => {
    const line = h('span', { class: 'tx-text' }, t('transcript.connectFailed', { where: where === '' ? t('transcript.offline') : where, reason: describeError(error) }));
    button.replaceChildren(...senderMarks('local'), line);
  };
  fill();
  return { li, button, selection: { kind: 'error', error, where }, fill };
}

/** The visible marker (C:, S:, ℹ) and, for screen readers, who sent the line in words. */
function senderMarks(from: TranscriptEntry['from']): Node[] {
  const mark = h('span', { class: 'tx-marker' }, marker(from));
  mark.setAttribute('aria-hidden', 'true');
  return [mark, h('span', { class: 'visually-hidden' }, `${t(`transcript.from.${from}`)} `)];
}

/** The start of a body as text (the explain panel has every byte). */
function bodyPreview(body: Uint8Array): HTMLElement {
  const pre = h('pre', { class: 'tx-body' });
  pre.tabIndex = 0;
  pre.textContent = new TextDecoder('utf-8').decode(body.subarray(0, BODY_PREVIEW));
  if (body.length > BODY_PREVIEW) pre.append('\n', h('span', { class: 'tx-body-cut' }, bodyCutText(body)));
  return pre;
}

/** What the preview of a long body leaves out, in the current language. */
function bodyCutText(body: Uint8Array): string {
  return t('transcript.bodyCut', { bytes: new Intl.NumberFormat(language()).format(body.length - BODY_PREVIEW) });
}
