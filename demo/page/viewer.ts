/**
 * The message viewer: shows the message a RETR returned (whoever sent it: the mailbox's "open" button,
 * the command palette, a lesson), read by a real MIME parser (postal-mime, see message.ts): the main header
 * fields, the text part, the HTML part, the attachments with a download button each, and the raw source.
 *
 * The HTML part is untrusted content. It only ever goes into the `srcdoc` of an iframe whose sandbox has
 * neither allow-scripts nor allow-same-origin, and its document starts with a Content-Security-Policy that
 * lets nothing load from the network (message.ts). Everything else is written with textContent.
 */
import type { App, AppEvent } from './app.js';
import { h, uniqueId } from './dom.js';
import { language, onLanguageChange, t } from './i18n.js';
import { formatOctets, formatSize, HTML_SANDBOX, type MessageAttachment, type ParsedMessage, parseMessage, rawSource, safeFileName, safeHtmlDocument } from './message.js';
import type { DemoSessionEvent } from './session.js';

/** How long a download's blob URL lives after the click that started it. */
const REVOKE_AFTER_MS = 1000;

interface Shown {
  readonly number: number;
  readonly bytes: Uint8Array;
  readonly message: ParsedMessage;
}

/** Mount the message viewer in `root`: it shows the message of the latest successful RETR, whoever sent it. */
export function mountViewer(root: HTMLElement, app: App): void {
  new Viewer(root, app);
}

class Viewer {
  readonly #status = h('p', { class: 'viewer-status' });
  readonly #article = h('article', { class: 'message' });
  #shown: Shown | undefined;
  /** The message being parsed, and a counter so that only the latest parse is shown. */
  #parsing: { number: number; failed?: string } | undefined;
  #sequence = 0;
  #part: 'html' | 'text' = 'html';
  #raw = false;

  constructor(root: HTMLElement, app: App) {
    root.classList.add('viewer-view');
    this.#status.setAttribute('role', 'status');
    this.#article.hidden = true;
    root.replaceChildren(this.#status, this.#article);
    app.on((event: AppEvent) => {
      if (event.type === 'session-event') this.#onSessionEvent(event.event);
    });
    onLanguageChange(() => this.#render());
    this.#render();
  }

  #onSessionEvent(event: DemoSessionEvent): void {
    if (event.type !== 'outcome' || event.command.verb !== 'RETR' || !event.outcome.ok || event.outcome.body === undefined) return;
    void this.#open(event.command.message, event.outcome.body);
  }

  async #open(number: number, bytes: Uint8Array): Promise<void> {
    const sequence = ++this.#sequence;
    this.#parsing = { number };
    this.#renderStatus();
    let message: ParsedMessage;
    try {
      message = await parseMessage(bytes);
    } catch (error) {
      if (sequence !== this.#sequence) return;
      this.#parsing = { number, failed: error instanceof Error ? error.message : String(error) };
      this.#renderStatus();
      return;
    }
    if (sequence !== this.#sequence) return;
    this.#parsing = undefined;
    this.#shown = { number, bytes, message };
    this.#part = message.html !== undefined ? 'html' : 'text';
    this.#raw = false;
    this.#render();
  }

  // ─── Rendering ──────────────────────────────────────────────────────────────────────────────────────────

  #render(): void {
    this.#renderStatus();
    const shown = this.#shown;
    this.#article.hidden = shown === undefined;
    if (shown === undefined) {
      this.#article.replaceChildren();
      return;
    }
    const { number, message } = shown;
    const locale = language();
    const subjectId = uniqueId('viewer-subject');
    const subject = h('h3', { class: 'message-subject' }, message.subject || t('viewer.noSubject'));
    subject.id = subjectId;
    subject.tabIndex = -1;
    this.#article.setAttribute('aria-labelledby', subjectId);
    this.#article.dataset.message = String(number);
    const source = h(
      'p',
      { class: 'message-source muted' },
      t('viewer.source', { number, size: formatSize(message.size, locale), octets: formatOctets(message.size, locale) }),
    );
    this.#article.replaceChildren(subject, source, this.#headers(message), ...this.#body(message), this.#attachments(message), ...this.#rawSource(shown));
  }

  #renderStatus(): void {
    const parsing = this.#parsing;
    let text: string;
    if (parsing?.failed !== undefined) text = t('viewer.parseFailed', { number: parsing.number, reason: parsing.failed });
    else if (parsing !== undefined) text = t('viewer.parsing', { number: parsing.number });
    else if (this.#shown === undefined) text = t('viewer.empty');
    else text = '';
    this.#status.textContent = text;
    this.#status.hidden = text === '';
    this.#status.classList.toggle('error-text', parsing?.failed !== undefined);
  }

  #headers(message: ParsedMessage): HTMLElement {
    const list = h('dl', { class: 'message-headers' });
    list.setAttribute('aria-label', t('viewer.headers.label'));
    const row = (key: string, value: string | undefined, className: string, content?: Node) => {
      if (value === undefined || value === '') return;
      list.append(h('div', { class: `message-header ${className}` }, h('dt', {}, t(key)), h('dd', {}, content ?? value)));
    };
    row('viewer.headers.from', message.from, 'message-from');
    row('viewer.headers.to', message.to, 'message-to');
    row('viewer.headers.cc', message.cc, 'message-cc');
    if (message.dateValue !== undefined) {
      const date = new Date(message.dateValue);
      const time = h('time', {}, new Intl.DateTimeFormat(language(), { dateStyle: 'full', timeStyle: 'short' }).format(date));
      time.dateTime = date.toISOString();
      time.title = message.date ?? '';
      row('viewer.headers.date', message.date ?? time.dateTime, 'message-date', time);
    } else {
      row('viewer.headers.date', message.date, 'message-date');
    }
    row('viewer.headers.subject', message.subject, 'message-subject-field');
    row('viewer.headers.messageId', message.messageId, 'message-id');
    return list;
  }

  /** The part switch (when there are both parts) and the part shown. */
  #body(message: ParsedMessage): HTMLElement[] {
    const out: HTMLElement[] = [];
    if (message.html !== undefined && message.text !== undefined) {
      const group = h('div', { class: 'message-parts' });
      group.setAttribute('role', 'group');
      group.setAttribute('aria-label', t('viewer.parts.label'));
      for (const part of ['html', 'text'] as const) {
        const choice = h('button', { class: 'secondary message-part' }, part === 'html' ? t('viewer.parts.html') : t('viewer.parts.text'));
        choice.type = 'button';
        choice.dataset.part = part;
        choice.setAttribute('aria-pressed', String(this.#part === part));
        choice.addEventListener('click', () => {
          if (this.#part === part) return;
          this.#part = part;
          this.#render();
          this.#article.querySelector<HTMLButtonElement>(`.message-part[data-part="${part}"]`)?.focus();
        });
        group.append(choice);
      }
      out.push(group);
    }
    if (this.#part === 'html' && message.html !== undefined) out.push(this.#html(message));
    else if (message.text !== undefined) out.push(h('pre', { class: 'message-text' }, message.text));
    else out.push(h('p', { class: 'message-empty muted' }, t('viewer.parts.noBody')));
    return out;
  }

  #html(message: ParsedMessage): HTMLElement {
    const safe = safeHtmlDocument(message.html ?? '', message.attachments);
    const notes = h('ul', { class: 'message-notes' });
    notes.append(h('li', {}, t('viewer.html.sandboxed')));
    if (safe.blockedResources > 0) {
      const note = h(
        'li',
        { class: 'message-remote-blocked' },
        safe.blockedResources === 1 ? t('viewer.html.remoteBlocked.one') : t('viewer.html.remoteBlocked.other', { count: safe.blockedResources }),
      );
      notes.append(note);
    }
    if (safe.blockedScripts > 0) {
      notes.append(
        h('li', { class: 'message-scripts-blocked' }, safe.blockedScripts === 1 ? t('viewer.html.scriptsBlocked.one') : t('viewer.html.scriptsBlocked.other', { count: safe.blockedScripts })),
      );
    }
    if (safe.inlineImages > 0) {
      notes.append(h('li', {}, safe.inlineImages === 1 ? t('viewer.html.inlineImages.one') : t('viewer.html.inlineImages.other', { count: safe.inlineImages })));
    }
    const frame = h('iframe', { class: 'message-html' });
    // Set before srcdoc, so that the document never exists outside the sandbox.
    frame.setAttribute('sandbox', HTML_SANDBOX);
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.title = t('viewer.html.frameTitle');
    frame.srcdoc = safe.srcdoc;
    return h('div', { class: 'message-body' }, notes, h('div', { class: 'message-frame' }, frame));
  }

  #attachments(message: ParsedMessage): HTMLElement {
    const section = h('section', { class: 'message-attachments' });
    const headingId = uniqueId('viewer-attachments');
    const heading = h('h4', {}, t('viewer.attachments.title', { count: message.attachments.length }));
    heading.id = headingId;
    section.setAttribute('aria-labelledby', headingId);
    section.append(heading);
    if (message.attachments.length === 0) {
      section.append(h('p', { class: 'muted' }, t('viewer.attachments.none')));
      return section;
    }
    const list = h('ul', { class: 'attachment-list' });
    message.attachments.forEach((attachment, index) => {
      // The name shown is the name saved: the sender's, made safe (no path, no invisible reordering).
      const name = safeFileName(attachment.filename, t('viewer.attachments.unnamed', { index: index + 1 }));
      const download = h('button', { class: 'secondary attachment-download' }, t('viewer.attachments.download'), h('span', { class: 'visually-hidden' }, ` ${name}`));
      download.type = 'button';
      download.addEventListener('click', () => saveAttachment(attachment, name));
      const details = t('viewer.attachments.details', { type: attachment.mimeType, size: formatSize(attachment.size, language()) });
      const item = h('li', { class: 'attachment' }, h('span', { class: 'attachment-name' }, name), h('span', { class: 'attachment-details muted' }, details));
      if (attachment.disposition === 'inline' || attachment.contentId !== undefined) item.append(h('span', { class: 'attachment-inline' }, t('viewer.attachments.inline')));
      item.append(download);
      list.append(item);
    });
    section.append(list);
    return section;
  }

  #rawSource(shown: Shown): HTMLElement[] {
    const id = uniqueId('viewer-raw');
    const toggle = h('button', { class: 'secondary message-raw-toggle' }, t(this.#raw ? 'viewer.raw.hide' : 'viewer.raw.show'));
    toggle.type = 'button';
    toggle.setAttribute('aria-expanded', String(this.#raw));
    toggle.setAttribute('aria-controls', id);
    const container = h('div', { class: 'message-raw' });
    container.id = id;
    container.hidden = !this.#raw;
    if (this.#raw) {
      const { text, shownOctets } = rawSource(shown.bytes);
      if (shownOctets < shown.bytes.length) {
        const locale = language();
        container.append(h('p', { class: 'muted' }, t('viewer.raw.truncated', { shown: formatSize(shownOctets, locale), size: formatSize(shown.bytes.length, locale) })));
      }
      const pre = h('pre', { class: 'message-raw-text' }, text);
      pre.tabIndex = 0;
      pre.setAttribute('aria-label', t('viewer.raw.label'));
      container.append(pre);
    }
    toggle.addEventListener('click', () => {
      this.#raw = !this.#raw;
      this.#render();
      this.#article.querySelector<HTMLButtonElement>('.message-raw-toggle')?.focus();
    });
    return [h('div', { class: 'message-raw-controls' }, toggle), container];
  }

}

/** Download an attachment through a blob URL, revoked once the download has started. */
function saveAttachment(attachment: MessageAttachment, name: string): void {
  const url = URL.createObjectURL(new Blob([attachment.content.slice()], { type: attachment.mimeType || 'application/octet-stream' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), REVOKE_AFTER_MS);
}
