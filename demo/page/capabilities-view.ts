/**
 * The server's capabilities explained tag by tag: after CAPA, each line of the answer as the server sent
 * it, with what it means, what the client understood of its value, and the RFC section defining it. Tags the
 * page does not know are shown as such. Before any CAPA, a button asks for it.
 */
import type { Pop3Error } from '../../core/errors.js';
import type { App, AppEvent } from './app.js';
import { type CapabilityItem, capaLines, describeCapabilities } from './capabilities-model.js';
import { onLanguageChange, t } from './i18n.js';
import { availabilityOf } from './palette-commands.js';
import { h, setText } from './dom.js';
import { setUsable, usable } from './dom.js';
import { describeError } from './response-codes.js';

/** Where the view's own CAPA is; a failure keeps the error, described in the language of the moment. */
type Asking = { readonly kind: 'idle' } | { readonly kind: 'sending' } | { readonly kind: 'failed'; readonly error: Pop3Error };

/** Mount the capabilities view in `root`: the current session's CAPA answer, tag by tag, and a button to ask. */
export function mountCapabilities(root: HTMLElement, app: App): void {
  root.classList.add('controls-capabilities');
  let asking: Asking = { kind: 'idle' };

  const intro = h('p', { class: 'muted' });
  const status = h('p', { class: 'controls-status', 'data-testid': 'capabilities-status' });
  const beforeLogin = h('p', { class: 'controls-hint' });
  const button = h('button', { type: 'button', 'data-testid': 'capabilities-send' });
  const list = h('dl', { class: 'caps-list', 'data-testid': 'capabilities-list' });
  root.replaceChildren(intro, status, beforeLogin, h('div', { class: 'controls-buttons' }, button), list);

  button.addEventListener('click', () => {
    if (!usable(button)) return;
    const session = app.session;
    asking = { kind: 'sending' };
    render();
    void app.run({ verb: 'CAPA' }).then((outcome) => {
      // The answer of a session that has been replaced since says nothing about the current one.
      if (app.session !== session) return;
      asking = outcome.ok ? { kind: 'idle' } : { kind: 'failed', error: outcome.error };
      render();
    });
  });

  function render(): void {
    setText(intro, t('capabilities.intro'));
    list.setAttribute('aria-label', t('capabilities.listLabel'));
    const session = app.session;
    const open = session !== undefined && !session.closed;
    const caps = session?.engine.capabilities;
    const items = session && caps ? describeCapabilities(capaLines(session.entries, caps), caps.state) : [];

    let line: string;
    let kind = 'info';
    if (asking.kind === 'sending') line = t('capabilities.sending');
    else if (asking.kind === 'failed') {
      line = t('capabilities.failed', { error: describeError(asking.error) });
      kind = 'error';
    } else if (session === undefined) line = t('capabilities.noSession');
    else if (caps === undefined) line = t('capabilities.none');
    else line = t('capabilities.answeredIn', { state: caps.state.toUpperCase(), count: items.length });
    setText(status, line);
    status.dataset.kind = kind;

    const showBeforeLogin = caps?.state === 'authorization';
    setText(beforeLogin, showBeforeLogin ? t('capabilities.beforeLogin') : '');
    beforeLogin.hidden = !showBeforeLogin;

    setText(button, t(caps === undefined ? 'capabilities.send' : 'capabilities.sendAgain'));
    const can = open && availabilityOf('CAPA', session.engine).available;
    // aria-disabled: the button keeps the keyboard focus while its CAPA is on the way.
    setUsable(button, can && asking.kind !== 'sending');
    button.hidden = session === undefined;

    list.replaceChildren(...items.map(itemElement));
    list.hidden = items.length === 0;
  }

  function itemElement(item: CapabilityItem): HTMLElement {
    const title = item.titleKey ? t(item.titleKey) : t('capabilities.unknownTitle');
    const notes = item.notes.map((note) => t(note.key, note.params));
    return h(
      'div',
      { class: 'caps-item', 'data-tag': item.tag, 'data-known': String(item.known) },
      h('dt', {}, h('code', {}, item.line), ' ', h('span', { class: 'caps-title' }, title)),
      h(
        'dd',
        {},
        h('p', {}, t(item.textKey, item.params)),
        notes.length > 0 ? h('p', { class: 'controls-hint' }, notes.join(' ')) : undefined,
        item.rfc ? h('p', { class: 'caps-rfc' }, t('capabilities.rfc', { rfc: item.rfc.rfc, section: item.rfc.section })) : undefined,
      ),
    );
  }

  function onAppEvent(event: AppEvent): void {
    if (event.type === 'session' || event.type === 'connecting') asking = { kind: 'idle' };
    if (event.type === 'session-event') {
      if (event.session !== app.session) return;
      const type = event.event.type;
      if (type !== 'outcome' && type !== 'state' && type !== 'closed') return;
    }
    render();
  }

  app.on(onAppEvent);
  onLanguageChange(render);
  render();
}
