/**
 * The "Share" tab: a link that replays the session (replay.ts) and exports of it (export.ts): the
 * transcript as text, the session by hand with nc/openssl, Python poplib and pop3kit code. Each has a copy
 * button (the clipboard, or else the text selected for Ctrl+C) and the exports a download button.
 *
 * It shares the current session, or the last one after it was dropped, and follows it as it grows while the
 * tab is shown (see {@link ShareView}). Nothing here can show a password: the link and the exports are made
 * without any (see replay.ts and export.ts).
 */
import type { App } from './app.js';
import { h, uniqueId } from './dom.js';
import { EXPORT_FORMATS, type ExportFormat, exportFile, exportTarget, exportText } from './export.js';
import { onLanguageChange, t } from './i18n.js';
import { describeReplayError, onReplayState, ReplayLinkError, replayOf, replayState, replayUrl } from './replay.js';
import type { DemoSession } from './session.js';

/** Characters the export box shows; copy and download always take the whole text. */
const PREVIEW_LIMIT = 200_000;

/** What the tab holding the Share view tells it. */
export interface ShareView {
  /**
   * The view was shown or hidden. It starts hidden. The link and the exports are rebuilt only while it is
   * shown: for a session that retrieved a big message each rebuild is megabytes of text, wasted on a hidden
   * tab. Hidden, the view only notes that they are out of date; shown, it brings them up to date at once.
   */
  setShown(shown: boolean): void;
}

/** Build the Share tab in `root`, following the App's current (or last) session. */
export function mountShare(root: HTMLElement, app: App): ShareView {
  const prefix = uniqueId('share');
  const id = (name: string) => `${prefix}-${name}`;
  let session: DemoSession | undefined = app.session;
  let format: ExportFormat = 'transcript';
  let exported = '';
  let link = '';
  let shown = false;
  /** The session, the replay or the language changed since the link and exports were last built. */
  let stale = true;

  // ─── The replay link ───
  const linkTitle = h('h3');
  linkTitle.id = id('link-title');
  const linkIntro = h('p', { class: 'muted' });
  const linkNotes = h('ul', { class: 'share-notes' });
  const linkError = h('p', { class: 'error-text' });
  const linkLabel = h('label');
  linkLabel.htmlFor = id('link');
  const linkField = h('input', { class: 'mono share-link' });
  linkField.id = id('link');
  linkField.type = 'text';
  linkField.readOnly = true;
  linkField.spellcheck = false;
  linkField.dataset.share = 'link';
  const copyLink = h('button');
  copyLink.type = 'button';
  const openLink = h('a', { class: 'share-open' });
  openLink.target = '_blank';
  openLink.rel = 'noopener';
  const linkFeedback = h('p', { class: 'share-feedback' });
  linkFeedback.setAttribute('role', 'status');
  const linkRow = h('div', { class: 'share-row' });
  linkRow.append(linkField, copyLink, openLink);
  const linkSection = h('section', { class: 'share-block' });
  linkSection.setAttribute('aria-labelledby', linkTitle.id);
  linkSection.append(linkTitle, linkIntro, linkNotes, linkError, linkLabel, linkRow, linkFeedback);

  // ─── Exports ───
  const exportTitle = h('h3');
  exportTitle.id = id('export-title');
  const formatLabel = h('label');
  formatLabel.htmlFor = id('format');
  const formatSelect = h('select');
  formatSelect.id = id('format');
  formatSelect.dataset.share = 'format';
  const formatNote = h('p', { class: 'muted' });
  formatNote.id = id('format-note');
  const textLabel = h('label');
  textLabel.htmlFor = id('text');
  const text = h('textarea', { class: 'mono share-text' });
  text.id = id('text');
  text.readOnly = true;
  text.spellcheck = false;
  text.wrap = 'off';
  text.rows = 14;
  text.dataset.share = 'text';
  text.setAttribute('aria-describedby', formatNote.id);
  const truncated = h('p', { class: 'muted' });
  const copyText = h('button');
  copyText.type = 'button';
  const download = h('button', { class: 'secondary' });
  download.type = 'button';
  const exportFeedback = h('p', { class: 'share-feedback' });
  exportFeedback.setAttribute('role', 'status');
  const exportRow = h('div', { class: 'share-row' });
  exportRow.append(copyText, download);
  const formatRow = h('div', { class: 'share-row' });
  formatRow.append(formatLabel, formatSelect);
  const exportSection = h('section', { class: 'share-block' });
  exportSection.setAttribute('aria-labelledby', exportTitle.id);
  exportSection.append(exportTitle, formatRow, formatNote, textLabel, text, truncated, exportRow, exportFeedback);

  // ─── The last replay from a link ───
  const replayNote = h('section', { class: 'share-block share-replayed' });
  replayNote.setAttribute('aria-live', 'polite');

  const container = h('div', { class: 'share' });
  container.append(replayNote, linkSection, exportSection);
  root.replaceChildren(container);

  function renderStatic(): void {
    linkTitle.textContent = t('share.link.title');
    linkIntro.textContent = t('share.link.intro');
    linkLabel.textContent = t('share.link.label');
    copyLink.textContent = t('share.copyLink');
    openLink.textContent = t('share.open');
    exportTitle.textContent = t('share.export.title');
    formatLabel.textContent = t('share.export.format');
    textLabel.textContent = t('share.export.label');
    copyText.textContent = t('share.copy');
    download.textContent = t('share.download');
    formatSelect.replaceChildren(...EXPORT_FORMATS.map((value) => new Option(t(`share.export.formats.${value}`), value, false, value === format)));
    linkFeedback.textContent = '';
    exportFeedback.textContent = '';
  }

  function renderLink(): void {
    linkNotes.replaceChildren();
    linkError.textContent = '';
    link = '';
    const recorded = session?.recorded ?? [];
    if (session === undefined || recorded.length === 0) {
      linkNotes.append(h('li', {}, t('share.link.empty')));
    } else {
      const replay = replayOf(session);
      if (replay.fromProxy) {
        const target = session.endpoint.kind === 'proxy' ? session.endpoint.target : '';
        linkNotes.append(h('li', {}, t('share.link.proxyNote', { target })));
      } else if (!replay.ownSeed) {
        linkNotes.append(h('li', {}, t('share.link.unseeded')));
      }
      try {
        link = replayUrl(replay, location.href);
      } catch (error) {
        linkError.textContent = t('share.link.error', {
          reason: error instanceof ReplayLinkError ? t(`share.errors.${error.code}`, error.params) : String(error),
        });
      }
    }
    if (linkField.value !== link) linkField.value = link;
    copyLink.disabled = link === '';
    if (link === '') {
      openLink.removeAttribute('href');
      openLink.setAttribute('aria-disabled', 'true');
    } else {
      openLink.href = link;
      openLink.removeAttribute('aria-disabled');
    }
  }

  function renderExport(): void {
    formatNote.textContent = t(`share.export.notes.${format}`);
    const next =
      session === undefined
        ? ''
        : exportText(format, { entries: session.entries, commands: session.recorded, target: exportTarget(session.endpoint, session.engine.capabilities?.stls === true) });
    // Unchanged text stays as it is, so a reader's scroll position and selection survive; the notes around it
    // are rewritten anyway (the language may have changed).
    if (next !== exported || text.value === '') {
      exported = next;
      text.value = exported.length > PREVIEW_LIMIT ? exported.slice(0, PREVIEW_LIMIT) : exported;
    }
    text.placeholder = t('share.export.empty');
    truncated.textContent = exported.length > PREVIEW_LIMIT ? t('share.export.truncated', { shown: PREVIEW_LIMIT, total: exported.length }) : '';
    truncated.hidden = truncated.textContent === '';
    copyText.disabled = exported === '';
    download.disabled = exported === '';
  }

  function renderReplayNote(): void {
    const state = replayState();
    replayNote.replaceChildren();
    replayNote.hidden = state === undefined;
    if (state === undefined) return;
    if (state.status === 'failed') {
      replayNote.append(h('p', { class: 'error-text' }, describeReplayError(state.error)));
      return;
    }
    replayNote.append(h('p', {}, t(state.status === 'running' ? 'share.replayed.running' : 'share.replayed.done')));
    const notes = h('ul', { class: 'share-notes' });
    notes.append(h('li', {}, t('share.replayed.passwords')));
    if (state.replay.fromProxy) notes.append(h('li', {}, t('share.replayed.fromProxy')));
    if (!state.replay.ownSeed) notes.append(h('li', {}, t('share.replayed.otherSeed')));
    replayNote.append(notes);
  }

  let scheduled: ReturnType<typeof setTimeout> | undefined;

  /** Rebuild the link and the exports now if the view is shown; hidden, they stay stale until it is. */
  function update(): void {
    clearTimeout(scheduled);
    scheduled = undefined;
    if (!shown) return;
    stale = false;
    renderLink();
    renderExport();
  }

  // Sessions grow line by line (a RETR of a big message is one entry, but many lines arrive quickly): rebuild at most every 200 ms.
  const schedule = () => {
    stale = true;
    if (!shown || scheduled !== undefined) return;
    scheduled = setTimeout(update, 200);
  };

  app.on((event) => {
    if (event.type === 'session' && event.session !== undefined) {
      session = event.session;
      schedule();
    } else if (event.type === 'session-event' && event.session === session && (event.event.type === 'entry' || event.event.type === 'closed')) {
      schedule();
    }
  });
  onReplayState(() => {
    renderReplayNote();
    schedule();
  });
  onLanguageChange(() => {
    renderStatic();
    renderReplayNote();
    stale = true;
    update();
  });

  formatSelect.addEventListener('change', () => {
    format = formatSelect.value as ExportFormat;
    exportFeedback.textContent = '';
    renderExport();
  });
  copyLink.addEventListener('click', () => void copy(link, linkField, linkFeedback));
  copyText.addEventListener('click', () => void copy(exported, text, exportFeedback));
  download.addEventListener('click', () => {
    const file = exportFile(format);
    const url = URL.createObjectURL(new Blob([exported], { type: file.type }));
    const anchor = document.createElement('a');
    anchor.href = url;
    anchor.download = file.name;
    anchor.hidden = true;
    document.body.append(anchor);
    anchor.click();
    anchor.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    exportFeedback.textContent = t('share.downloaded', { name: file.name });
  });

  renderStatic();
  renderReplayNote();

  return {
    setShown(next) {
      shown = next;
      if (!shown) {
        // A rebuild already scheduled is dropped: stale stays set, so showing the view again makes it.
        clearTimeout(scheduled);
        scheduled = undefined;
      } else if (stale) {
        update();
      }
    },
  };
}

/**
 * Copy with the Clipboard API; where it is missing or refused (no secure context, no permission), select the
 * text in its read-only field so that Ctrl+C copies it, and say so.
 */
async function copy(value: string, field: HTMLInputElement | HTMLTextAreaElement, feedback: HTMLElement): Promise<void> {
  if (value === '') return;
  try {
    if (navigator.clipboard === undefined) throw new Error('no clipboard');
    await navigator.clipboard.writeText(value);
    feedback.textContent = t('share.copied');
  } catch {
    field.focus();
    field.select();
    feedback.textContent = t(field.value.length < value.length ? 'share.selectedPart' : 'share.selected');
  }
}
