/**
 * The explain panel: what the selected transcript line means, where the RFC says so (links to the RFC
 * Editor, in a new tab), and its exact bytes with line ends, dot-stuffing and 8-bit bytes made visible. With
 * nothing selected it says how to read the transcript.
 *
 * The selection lives here, shared with the transcript view (the two are one group: a line is chosen there
 * and explained here; "answers this command" here selects a line there). Other views may call `selectLine`
 * too, e.g. to explain an error they show.
 */
import type { Pop3Error } from '../../core/errors.js';
import { ServerError } from '../../core/errors.js';
import type { App } from './app.js';
import { h } from './dom.js';
import { bodyFacts, type Explanation, explainEntry, type Message, rfcLabel, rfcUrl } from './explain.js';
import { language, onLanguageChange, t } from './i18n.js';
import { codeExplanation, describeError } from './response-codes.js';
import type { DemoSession, TranscriptEntry } from './session.js';
import { DEFAULT_WIRE_LIMIT, formatWire, hexText, type WireLine, type WireView } from './wire-bytes.js';

/** What the panel explains: a transcript line, or an error that has no line (a connection that failed). */
export type Selection =
  | { readonly kind: 'entry'; readonly entry: TranscriptEntry; readonly session: DemoSession | undefined }
  | { readonly kind: 'error'; readonly error: Pop3Error; readonly where: string };

/** How a selection is made: whether the transcript line takes the focus, whether the panel scrolls into view. */
export interface SelectOptions {
  /** Move keyboard focus to the line in the transcript (the "back to the line" button). */
  readonly focusLine?: boolean;
  /** Bring the explanation into view if it is off screen (a line chosen in the transcript). */
  readonly reveal?: boolean;
}

type SelectionListener = (selection: Selection | undefined, options: SelectOptions) => void;

let selection: Selection | undefined;
const selectionListeners = new Set<SelectionListener>();

/** Explain a line (or an error), or go back to the introduction with undefined. */
export function selectLine(next: Selection | undefined, options: SelectOptions = {}): void {
  selection = next;
  for (const listener of selectionListeners) listener(next, options);
}

/** Listen to selections; returns the unsubscribe function. */
export function onSelection(listener: SelectionListener): () => void {
  selectionListeners.add(listener);
  return () => selectionListeners.delete(listener);
}

/** A message in the current language; `where: 'offline'` of the connected note becomes words. */
export function text(message: Message): string {
  const numbers = new Intl.NumberFormat(language());
  const params: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(message.params ?? {})) params[name] = typeof value === 'number' ? numbers.format(value) : value;
  if (params.where === 'offline') params.where = t('session.offlinePlace');
  return t(message.key, params);
}

/** A body's line in the transcript: which message, how many lines and octets (in the current language). */
export function bodySummary(entry: TranscriptEntry, command: TranscriptEntry | undefined): string {
  const message = command?.text.trim().split(/\s+/)[1] ?? '?';
  const body = entry.body ?? new Uint8Array(0);
  return text({ key: entry.verb === 'TOP' ? 'transcript.bodyTop' : 'transcript.body', params: { message, lines: bodyFacts(body).lines, octets: body.length } });
}

/** The marker of a line's sender: C:, S: or the note sign. */
export function marker(from: TranscriptEntry['from']): string {
  return t(`transcript.markers.${from}`);
}

/** Mount the explain panel in `root`: it explains whatever `selectLine` selects, and forgets it with its session. */
export function mountExplain(root: HTMLElement, app: App): void {
  root.classList.add('explain-view');
  const live = h('p', { class: 'visually-hidden' });
  live.setAttribute('role', 'status');
  live.setAttribute('aria-live', 'polite');
  const content = h('div', { class: 'ex-content' });
  root.replaceChildren(live, content);
  let showAll = false;

  const render = (announce: boolean) => {
    content.replaceChildren(...(selection === undefined ? intro() : selection.kind === 'entry' ? entryView(selection, showAll, toggleAll) : errorView(selection)));
    const title = content.querySelector('h3')?.textContent ?? '';
    if (announce && selection !== undefined) live.textContent = t('explain.view.announce', { title });
  };
  const toggleAll = () => {
    showAll = !showAll;
    render(false);
    content.querySelector<HTMLElement>('.wire-more')?.focus();
  };

  onSelection((_next, options) => {
    showAll = false;
    render(true);
    if (options.reveal === true) reveal(root);
  });
  onLanguageChange(() => render(false));
  // A new session: its lines are new, the old selection means nothing any more.
  app.on((event) => {
    if (event.type === 'connecting' && selection !== undefined) selectLine(undefined);
    if (event.type === 'session-event' && selection?.kind === 'entry' && selection.session !== event.session && selection.session !== undefined) {
      selectLine(undefined);
    }
  });
  render(false);
}

/** Scroll the panel into view when none of it is on screen (on a phone it is below the transcript). */
function reveal(root: HTMLElement): void {
  const panel = root.closest('section') ?? root;
  const box = panel.getBoundingClientRect();
  if (box.top >= window.innerHeight || box.bottom <= 0) panel.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

function intro(): HTMLElement[] {
  const list = h('ul', { class: 'ex-intro' });
  for (const key of ['lines', 'client', 'server', 'local', 'select', 'secrets', 'pipelining']) {
    const item = h('li', { class: `ex-intro-${key}` });
    item.textContent = t(`explain.intro.${key}`);
    list.append(item);
  }
  return [heading('h3', t('explain.intro.title')), list];
}

function entryView(selected: Extract<Selection, { kind: 'entry' }>, showAll: boolean, toggleAll: () => void): HTMLElement[] {
  const { entry, session } = selected;
  const entries = session?.entries ?? [entry];
  const explanation = explainEntry(entry, { entries });
  const nodes: HTMLElement[] = [heading('h3', text(explanation.title))];

  const line = h('p', { class: 'ex-line' });
  line.dataset.from = entry.from;
  const from = h('span', { class: 'ex-from' });
  from.textContent = t(`explain.view.from.${entry.from}`);
  const code = h('code', { class: 'ex-line-text' });
  const mark = h('span', { class: 'tx-marker' });
  mark.setAttribute('aria-hidden', 'true');
  mark.textContent = marker(entry.from);
  const shown =
    entry.from === 'local'
      ? text(noteMessage(entry))
      : entry.kind === 'body'
        ? bodySummary(entry, entries.find((other) => other.kind === 'command' && other.handle === entry.handle))
        : entry.text;
  code.append(mark, ' ', shown);
  line.append(from, code);
  nodes.push(line);
  if (entry.inFlight !== undefined && entry.inFlight > 1) nodes.push(paragraph(t('transcript.inFlight', { n: entry.inFlight }), 'tx-inflight ex-inflight'));

  for (const message of explanation.paragraphs) nodes.push(paragraph(text(message)));
  if (entry.from === 'local' && entry.note?.key === 'lost' && session?.closeError !== undefined) {
    nodes.push(heading('h4', t('explain.view.error')), paragraph(describeError(session.closeError), 'ex-error'));
  }
  if (explanation.terms.length > 0) nodes.push(terms(explanation));

  if (explanation.answers !== undefined) {
    const command = entries.find((other) => other.index === explanation.answers);
    if (command !== undefined) {
      const answers = h('p', { class: 'ex-answers' });
      const button = h('button', { class: 'secondary ex-answers-button' });
      button.type = 'button';
      button.textContent = `${marker('client')} ${command.text}`;
      button.addEventListener('click', () => selectLine({ kind: 'entry', entry: command, session }, { focusLine: true }));
      answers.append(t('explain.view.answers'), ' ', button);
      nodes.push(answers);
    }
  }
  nodes.push(rfcLinks(explanation.rfcs));

  if (entry.wire !== undefined) nodes.push(...wireSection(formatWire(entry.wire, { framing: explanation.framing, limit: showAll ? Infinity : DEFAULT_WIRE_LIMIT }), showAll, toggleAll));
  else if (explanation.noWire !== undefined) nodes.push(paragraph(text(explanation.noWire), 'ex-nowire'));

  if (session === undefined || session.entries.includes(entry)) {
    const back = h('button', { class: 'secondary ex-back' });
    back.type = 'button';
    back.textContent = t('explain.view.back');
    back.addEventListener('click', () => selectLine(selected, { focusLine: true }));
    nodes.push(paragraph(back));
  }
  return nodes;
}

/** The message of a note line, as the transcript shows it. */
export function noteMessage(entry: TranscriptEntry): Message {
  const note = entry.note ?? { key: entry.text };
  return { key: `session.${note.key}`, params: note.params ?? {} };
}

function errorView(selected: Extract<Selection, { kind: 'error' }>): HTMLElement[] {
  const nodes: HTMLElement[] = [heading('h3', t('explain.view.error')), paragraph(describeError(selected.error), 'ex-error')];
  const error = selected.error;
  if (error instanceof ServerError && error.responseCode !== undefined) {
    const code = codeExplanation(error.responseCode);
    if (code !== undefined) {
      const link = rfcLink(code.url, code.rfc);
      nodes.push(paragraph(h('strong', {}, code.title)), paragraph(code.text), paragraph(link, 'ex-rfcs'));
    }
  }
  return nodes;
}

function terms(explanation: Explanation): HTMLElement {
  const list = h('dl', { class: 'ex-terms' });
  for (const term of explanation.terms) {
    const dt = h('dt');
    dt.append(h('code', {}, term.term));
    const dd = h('dd');
    dd.append(text(term.text));
    if (term.rfc !== undefined) {
      const label = rfcLabel(term.rfc);
      dd.append(' ', rfcLink(rfcUrl(term.rfc), t(label.key, label.params)));
    }
    list.append(dt, dd);
  }
  return list;
}

function rfcLinks(refs: Explanation['rfcs']): HTMLElement {
  const container = h('p', { class: 'ex-rfcs' });
  container.append(h('span', { class: 'ex-rfcs-label' }, `${t('explain.view.rfcs')}: `));
  refs.forEach((ref, index) => {
    if (index > 0) container.append(', ');
    const label = rfcLabel(ref);
    container.append(rfcLink(rfcUrl(ref), t(label.key, label.params)));
  });
  return container;
}

function rfcLink(url: string, label: string): HTMLAnchorElement {
  const link = h('a', { class: 'ex-rfc' });
  link.href = url;
  link.target = '_blank';
  link.rel = 'noopener';
  link.append(label, h('span', { class: 'visually-hidden' }, ` ${t('explain.view.newTab')}`));
  return link;
}

const numbers = () => new Intl.NumberFormat(language());

function wireSection(view: WireView, showAll: boolean, toggleAll: () => void): HTMLElement[] {
  const title = heading('h4', t('explain.wire.title'));
  title.append(' ', h('span', { class: 'wire-total' }, t('explain.wire.total', { total: numbers().format(view.total) })));
  const box = h('div', { class: 'wire' });
  box.dataset.testid = 'wire-bytes';
  for (const row of view.rows) {
    if (row.role === 'gap') {
      box.append(h('div', { class: 'wire-gap' }, t('explain.wire.gap', { bytes: numbers().format(row.bytes), lines: numbers().format(row.lines) })));
    } else {
      box.append(wireLine(row));
    }
  }
  const nodes: HTMLElement[] = [title, box];
  if (view.hidden > 0 || showAll) {
    const more = h('button', { class: 'secondary wire-more' });
    more.type = 'button';
    more.setAttribute('aria-expanded', String(showAll));
    more.textContent = showAll ? t('explain.wire.showLess') : t('explain.wire.showAll', { total: numbers().format(view.total) });
    more.addEventListener('click', toggleAll);
    nodes.push(paragraph(more));
  }
  nodes.push(legend());
  return nodes;
}

function wireLine(line: WireLine): HTMLElement {
  const row = h('div', { class: `wire-line wire-${line.role}` });
  for (const segment of line.segments) {
    switch (segment.kind) {
      case 'text':
        row.append(segment.text);
        break;
      case 'crlf':
        row.append(lineEnd('wire-crlf', '␍␊', 'CR LF', t('explain.wire.crlf')));
        break;
      case 'cr':
        row.append(lineEnd('wire-bare', '␍', 'CR', t('explain.wire.cr')));
        break;
      case 'lf':
        row.append(lineEnd('wire-bare', '␊', 'LF', t('explain.wire.lf')));
        break;
      case 'hex':
        row.append(symbol('wire-hex', hexText(segment.bytes), t('explain.wire.hexTitle', { count: segment.bytes.length }), false));
        break;
      case 'stuffed-dot':
        row.append(symbol('wire-stuffed', '.', t('explain.wire.stuffedTitle'), false, 'mark'));
        break;
      case 'terminator':
        row.append(symbol('wire-terminator', '.', t('explain.wire.terminatorTitle'), false, 'mark'));
        break;
    }
  }
  if (line.cut === true) row.append(h('span', { class: 'wire-cut' }, ` ${t('explain.wire.cut')}`));
  return row;
}

/** A line end: the control pictures ␍␊ where the fonts have them, else the letters CR LF. */
function lineEnd(className: string, glyphs: string, letters: string, meaning: string): HTMLElement {
  if (controlPictures()) return symbol(className, glyphs, meaning);
  const node = h('span', { class: `${className} wire-letters` }, letters);
  node.title = meaning;
  return node;
}

let pictures: boolean | undefined;

/**
 * Whether the fonts can draw ␍ and ␊ (U+240D, U+240A): many Linux systems have no font with these control
 * pictures and would show empty boxes. A missing glyph draws the same box as a code point no font has.
 */
function controlPictures(): boolean {
  if (pictures !== undefined) return pictures;
  pictures = false;
  try {
    const canvas = document.createElement('canvas');
    canvas.width = 48;
    canvas.height = 24;
    const context = canvas.getContext('2d', { willReadFrequently: true });
    if (context === null) return pictures;
    const draw = (glyph: string) => {
      context.clearRect(0, 0, 48, 24);
      context.font = '18px ui-monospace, monospace';
      context.fillText(glyph, 4, 18);
      return context.getImageData(0, 0, 48, 24).data.join(',');
    };
    const missing = draw('\u{10FFFD}');
    pictures = draw('\u240D') !== missing && draw('\u240A') !== missing;
  } catch {
    pictures = false;
  }
  return pictures;
}

/**
 * A visible mark with its meaning: a tooltip for the mouse, words for screen readers. Glyphs such as ␍␊ are
 * hidden from screen readers (they would be read as symbol names); the words are read instead.
 */
function symbol(className: string, shown: string, meaning: string, hideGlyph = true, tag: 'span' | 'mark' = 'span'): HTMLElement {
  const node = h(tag, { class: className });
  node.title = meaning;
  if (hideGlyph) {
    const glyph = h('span', {}, shown);
    glyph.setAttribute('aria-hidden', 'true');
    node.append(glyph, h('span', { class: 'visually-hidden' }, ` ${meaning} `));
  } else {
    node.append(shown, h('span', { class: 'visually-hidden' }, ` (${meaning}) `));
  }
  return node;
}

function legend(): HTMLElement {
  const details = h('details', { class: 'wire-legend' });
  details.append(h('summary', {}, t('explain.wire.legendTitle')));
  const list = h('dl');
  const glyphs = controlPictures();
  const items: [string, string, string][] = [
    ['wire-crlf', glyphs ? '␍␊' : 'CR LF', 'crlf'],
    ['wire-bare', glyphs ? '␊' : 'LF', 'bare'],
    ['wire-hex', 'C3 A9', 'hex'],
    ['wire-stuffed', '.', 'stuffed'],
    ['wire-terminator', '.', 'terminator'],
  ];
  for (const [className, shown, key] of items) {
    const dt = h('dt');
    dt.append(h(key === 'stuffed' || key === 'terminator' ? 'mark' : 'span', { class: glyphs || (key !== 'crlf' && key !== 'bare') ? className : `${className} wire-letters` }, shown));
    list.append(dt, h('dd', {}, t(`explain.wire.legend.${key}`)));
  }
  details.append(list);
  return details;
}

function heading(tag: 'h3' | 'h4', content: string): HTMLElement {
  return h(tag, {}, content);
}

function paragraph(content: string | Node, className?: string): HTMLElement {
  return h('p', { class: className }, content);
}
