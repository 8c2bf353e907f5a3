/**
 * The connect panel: where to connect (the embedded sample server with its public account, any server the
 * proxy allows, plain or with TLS originated by the proxy, or the server running in this page), Connect and
 * Disconnect, resetting the sample mailbox, and what went wrong when a connection could not be made. The
 * page cannot run STLS (no TLS in JavaScript), and says so here instead of offering a button that would fail.
 */
import type { Pop3Error } from '../../core/errors.js';
import { type App, type AppEvent, type Place, placeKey } from './app.js';
import { onLanguageChange, t } from './i18n.js';
import { h, setText, uniqueId } from './dom.js';
import { setUsable, usable } from './dom.js';
import { describeError } from './response-codes.js';
import { announce } from './status.js';

/** A line of the panel's status: a key of the `connect` strings, its parameters, and how to show it. */
interface StatusLine {
  readonly key: string;
  readonly params: Readonly<Record<string, string | number>>;
  readonly kind: 'info' | 'ok' | 'error';
  /** A further hint (a key), e.g. what to do after a failed connection. */
  readonly hint?: string;
  /** The place named as `{where}` (named at render time, so in the current language). */
  readonly place?: Place;
}

/** Mount the connect panel in `root`: it follows the App's events and acts with connect, disconnect and resetMailbox. */
export function mountConnectPanel(root: HTMLElement, app: App): void {
  root.classList.add('controls-connect');
  let selected = placeKey(app.defaultPlace);
  let busy = false;
  let resetting = false;
  let status: StatusLine = { key: 'connect.status.idle', params: {}, kind: 'info' };
  let resetResult: StatusLine | undefined;

  const placeOf = (key: string): Place => app.places.find((place) => placeKey(place) === key) ?? app.defaultPlace;
  const where = (place: Place): string => (place.kind === 'offline' ? t('connect.where.offline') : place.target.label);
  const canReset = (place: Place): boolean => place.kind === 'offline' || place.target.embedded;

  // ─── Elements (made once; their text is filled by render()) ─────────────────────────────────────────────
  const intro = h('p', { class: 'muted' });
  const selectId = uniqueId('connect-place');
  const label = h('label', { for: selectId });
  const select = h('select', { id: selectId, 'data-testid': 'connect-place' });
  const details = h('dl', { class: 'connect-details', 'data-testid': 'connect-details' });
  const stlsTitle = h('strong');
  const stlsText = h('span');
  const stls = h('p', { class: 'controls-note', 'data-testid': 'connect-stls' }, stlsTitle, ' ', stlsText);
  const disconnectHelpId = uniqueId('connect-disconnect-help');
  const resetHelpId = uniqueId('connect-reset-help');
  const connectButton = h('button', { type: 'button', 'data-testid': 'connect-button' });
  const disconnectButton = h('button', { type: 'button', class: 'secondary', 'aria-describedby': disconnectHelpId, 'data-testid': 'disconnect-button' });
  const resetButton = h('button', { type: 'button', class: 'secondary', 'aria-describedby': resetHelpId, 'data-testid': 'reset-button' });
  const disconnectHelp = h('p', { id: disconnectHelpId, class: 'controls-hint' });
  const resetHelp = h('p', { id: resetHelpId, class: 'controls-hint' });
  const statusLine = h('p', { class: 'controls-status', 'data-testid': 'connect-status' });
  const hintLine = h('p', { class: 'controls-hint', 'data-testid': 'connect-hint' });
  const resetLine = h('p', { class: 'controls-status', 'data-testid': 'reset-status' });

  root.replaceChildren(
    intro,
    h('div', { class: 'controls-field' }, label, select),
    details,
    stls,
    h('div', { class: 'controls-buttons' }, connectButton, disconnectButton, resetButton),
    statusLine,
    hintLine,
    resetLine,
    disconnectHelp,
    resetHelp,
  );

  // ─── Rendering ──────────────────────────────────────────────────────────────────────────────────────────
  function render(): void {
    setText(intro, t('connect.intro'));
    setText(label, t('connect.server'));
    const options = app.places.map((place) => {
      const key = placeKey(place);
      const text =
        place.kind === 'offline'
          ? t('connect.offlineOption')
          : t('connect.proxyOption', { label: place.target.label, target: place.target.target, security: t(`connect.security.${place.target.tls ? 'tls' : 'plain'}`) });
      return new Option(text, key, false, key === selected);
    });
    select.replaceChildren(...options);
    select.value = selected;
    renderDetails();
    setText(stlsTitle, t('connect.stls.title'));
    setText(stlsText, t('connect.stls.text'));
    setText(connectButton, t('connect.connect'));
    setText(disconnectButton, t('connect.disconnect'));
    setText(resetButton, t('connect.reset'));
    setText(disconnectHelp, t('connect.disconnectHelp'));
    update();
  }

  function renderDetails(): void {
    const place = placeOf(selected);
    const rows: [string, string, string?][] = [];
    if (place.kind === 'offline') {
      rows.push([t('connect.details.address'), t('connect.details.offlineAddress')]);
      rows.push([t('connect.details.connection'), t('connect.details.offlineConnection')]);
      const { user, password } = app.offline.sample;
      rows.push([t('connect.details.account'), t('connect.details.accountText', { user, password }), t('connect.details.accountNote')]);
    } else {
      const target = place.target;
      rows.push([t('connect.details.address'), target.target]);
      rows.push([t('connect.details.connection'), t(target.tls ? 'connect.details.tlsConnection' : 'connect.details.plainConnection')]);
      if (target.user !== undefined && target.password !== undefined) {
        // The embedded server's sample account is public (demo-config.json): showing it is the point.
        rows.push([t('connect.details.account'), t('connect.details.accountText', { user: target.user, password: target.password }), t('connect.details.accountNote')]);
      } else {
        rows.push([t('connect.details.account'), t('connect.details.ownAccount')]);
      }
    }
    details.replaceChildren(
      ...rows.flatMap(([term, value, note]) => [h('dt', {}, term), h('dd', {}, value, note ? h('span', { class: 'controls-hint' }, ` ${note}`) : undefined)]),
    );
  }

  /** The parts that change with the session: buttons, status lines. */
  function update(): void {
    const place = placeOf(selected);
    const session = app.session;
    const open = session !== undefined && !session.closed;
    // aria-disabled, not disabled: the button just pressed keeps the keyboard focus while it cannot be used.
    setUsable(connectButton, !busy);
    setUsable(disconnectButton, !busy && open);
    setUsable(resetButton, !busy && !resetting && canReset(place));
    setText(resetHelp, t(canReset(place) ? 'connect.resetHelp' : 'connect.resetImpossible'));
    showLine(statusLine, status);
    setText(hintLine, status.hint ? t(status.hint) : '');
    hintLine.hidden = status.hint === undefined;
    if (resetResult) showLine(resetLine, resetResult);
    resetLine.hidden = resetResult === undefined;
  }

  function text(line: StatusLine): string {
    return t(line.key, line.place ? { ...line.params, where: where(line.place) } : line.params);
  }

  function showLine(element: HTMLElement, line: StatusLine): void {
    setText(element, text(line));
    element.dataset.kind = line.kind;
  }

  // ─── Actions ────────────────────────────────────────────────────────────────────────────────────────────
  select.addEventListener('change', () => {
    selected = select.value;
    resetResult = undefined;
    renderDetails();
    update();
  });

  connectButton.addEventListener('click', () => {
    if (!usable(connectButton)) return;
    const place = placeOf(selected);
    resetResult = undefined;
    // The outcome arrives as App events ('session' or 'connect-failed'); the rejection is handled there.
    app.connect(place).catch(() => undefined);
  });

  disconnectButton.addEventListener('click', () => {
    if (!usable(disconnectButton)) return;
    app.disconnect();
  });

  resetButton.addEventListener('click', () => {
    if (!usable(resetButton)) return;
    const place = placeOf(selected);
    resetting = true;
    resetResult = { key: 'connect.resetting', params: {}, kind: 'info' };
    update();
    app
      .resetMailbox(place)
      .then(
        (done) => {
          if (done) {
            const session = app.session;
            const stale = place.kind === 'offline' && session !== undefined && !session.closed && session.endpoint.kind === 'offline';
            resetResult = { key: 'connect.resetDone', params: {}, kind: 'ok', ...(stale ? { hint: 'connect.resetReconnect' } : {}) };
            announce(t('connect.resetDone') + (stale ? ` ${t('connect.resetReconnect')}` : ''));
          } else {
            resetResult = { key: 'connect.resetHeld', params: {}, kind: 'error' };
            announce(t('connect.resetHeld'), 'error');
          }
        },
        (error: unknown) => {
          const reason = error instanceof Error ? error.message : String(error);
          resetResult = { key: 'connect.resetFailed', params: { reason }, kind: 'error' };
          announce(t('connect.resetFailed', { reason }), 'error');
        },
      )
      .finally(() => {
        resetting = false;
        update();
      });
  });

  // ─── What the App says ──────────────────────────────────────────────────────────────────────────────────
  let connectedTo: Place | undefined;

  function onAppEvent(event: AppEvent): void {
    switch (event.type) {
      case 'connecting':
        busy = true;
        connectedTo = event.place;
        status = { key: 'connect.status.connecting', params: {}, kind: 'info', place: event.place };
        announce(text(status));
        break;
      case 'connect-failed':
        busy = false;
        status = failure(event.place, event.error);
        announce(`${text(status)} ${t(status.hint!)}`, 'error');
        break;
      case 'session':
        busy = false;
        if (event.session === undefined) {
          status = { key: 'connect.status.idle', params: {}, kind: 'info' };
        } else {
          status = { key: 'connect.status.connected', params: {}, kind: 'ok', ...(connectedTo ? { place: connectedTo } : {}) };
          announce(text(status));
        }
        break;
      case 'session-event':
        if (event.event.type !== 'closed' || event.session !== app.session) return;
        {
          const error = event.event.error;
          const place = connectedTo ? { place: connectedTo } : {};
          status =
            error === undefined
              ? { key: 'connect.status.closed', params: {}, kind: 'info', ...place }
              : { key: 'connect.status.lost', params: { reason: describeError(error) }, kind: 'error', ...place };
          announce(text(status), status.kind === 'error' ? 'error' : 'info');
        }
        break;
      case 'mailbox-reset':
        break;
    }
    update();
  }

  function failure(place: Place, error: Pop3Error): StatusLine {
    const hint = place.kind === 'offline' ? 'connect.hints.offline' : place.target.embedded ? 'connect.hints.embedded' : 'connect.hints.proxy';
    return { key: 'connect.status.failed', params: { reason: describeError(error) }, kind: 'error', hint, place };
  }

  app.on(onAppEvent);
  onLanguageChange(render);
  render();
}
