/**
 * The session state diagram: the states of RFC 1939 section 3 as boxes joined by arrows labelled with the
 * commands that move between them, the current one lit (by colour, border and the words "you are here"),
 * and the same said in a sentence for screen readers and anyone who does not see the colours. Under it,
 * the commands in flight: how many were sent and not yet answered, and the latest burst of commands with
 * the most that were in flight at once, which is how pipelining shows.
 */
import type { App, AppEvent } from './app.js';
import { onLanguageChange, t } from './i18n.js';
import { h, setText } from './dom.js';
import type { DemoSession } from './session.js';
import { DIAGRAM_EDGES, DIAGRAM_NODES, type DiagramNode, FlightRecorder, nodeOf, type Phase, summaryKey } from './state-model.js';

/** Mount the state diagram and the commands in flight in `root`; it follows the App's current session. */
export function mountStateDiagram(root: HTMLElement, app: App): void {
  root.classList.add('controls-state');
  let phase: Phase = { kind: 'idle' };
  let followed: DemoSession | undefined;
  const ignored = new WeakSet<DemoSession>();
  const visited = new Set<DiagramNode>();
  const recorder = new FlightRecorder();

  const summary = h('p', { class: 'state-summary', 'aria-live': 'polite', 'data-testid': 'state-summary' });
  const hint = h('p', { class: 'controls-hint', 'data-testid': 'state-hint' });
  const flow = h('ol', { class: 'state-flow', 'data-testid': 'state-diagram' });
  const flightTitle = h('h3');
  const counts = h('p', { 'data-testid': 'in-flight-counts' });
  const peak = h('p', { 'data-testid': 'in-flight-peak' });
  const burst = h('ol', { class: 'flight-list', 'data-testid': 'in-flight-list' });
  const held = h('p', { class: 'controls-hint', 'data-testid': 'in-flight-held' });
  const flight = h('div', { class: 'flight', 'data-testid': 'in-flight' }, counts, burst, peak, held);

  root.replaceChildren(summary, hint, flow, flightTitle, flight);

  /** The boxes, made once per language; update() marks the current one. */
  const boxes = new Map<DiagramNode, { item: HTMLLIElement; badge: HTMLElement }>();

  function build(): void {
    flow.setAttribute('aria-label', t('state.diagramLabel'));
    boxes.clear();
    const items = DIAGRAM_NODES.map((node, index) => {
      const badge = h('span', { class: 'state-badge' });
      const box = h(
        'div',
        { class: 'state-box' },
        h('span', { class: 'state-name' }, t(`state.nodes.${node}.name`)),
        ' ',
        badge,
        h('span', { class: 'state-text' }, t(`state.nodes.${node}.text`)),
      );
      const next = DIAGRAM_NODES[index + 1];
      // The side arrows (QUIT before login) first, so that the main one leads into the box below.
      const outgoing = DIAGRAM_EDGES.filter((edge) => edge.from === node).sort((x, y) => Number(x.to === next) - Number(y.to === next));
      const edges = outgoing.map((edge) => {
        const main = edge.to === next;
        return h(
          'p',
          { class: main ? 'state-edge' : 'state-edge state-edge-side', 'data-to': edge.to },
          h('span', { class: 'state-arrow', 'aria-hidden': 'true' }, main ? '↓' : '↘'),
          h('span', { class: 'visually-hidden' }, `${t('state.arrow')}: `),
          t(edge.labelKey),
        );
      });
      const item = h('li', { class: 'state-node', 'data-node': node }, box, ...edges);
      boxes.set(node, { item, badge });
      return item;
    });
    flow.replaceChildren(...items);
    setText(flightTitle, t('state.inFlight.title'));
    burst.setAttribute('aria-label', t('state.inFlight.listLabel'));
    update();
  }

  function update(): void {
    const current = nodeOf(phase);
    if (current !== undefined) visited.add(current);
    for (const [node, { item, badge }] of boxes) {
      const now = node === current;
      const passed = !now && visited.has(node);
      item.dataset.status = now ? 'current' : passed ? 'visited' : '';
      if (now) item.setAttribute('aria-current', 'step');
      else item.removeAttribute('aria-current');
      setText(badge, now ? `(${t('state.now')})` : passed ? `(${t('state.visited')})` : '');
    }
    setText(summary, t(summaryKey(phase)));
    const engine = followed?.engine;
    const userGiven = phase.kind === 'session' && phase.state === 'authorization' && engine !== undefined && engine.refusalOf('PASS') === undefined;
    setText(hint, userGiven ? t('state.userGiven') : '');
    hint.hidden = !userGiven;
    updateFlight();
  }

  function updateFlight(): void {
    const snapshot = recorder.snapshot;
    setText(counts, snapshot.items.length === 0 ? t('state.inFlight.none') : t('state.inFlight.counts', { inFlight: snapshot.inFlight, queued: snapshot.queued }));
    burst.replaceChildren(
      ...snapshot.items.map((item) =>
        h(
          'li',
          { 'data-result': item.result },
          h('code', {}, item.text),
          ' ',
          h('span', { class: 'flight-result' }, t(`state.inFlight.result.${item.result}`)),
        ),
      ),
    );
    burst.hidden = snapshot.items.length === 0;
    const several = snapshot.items.length > 1;
    setText(peak, several ? `${t('state.inFlight.peak', { peak: snapshot.peak })} ${t(snapshot.peak > 1 ? 'state.inFlight.pipelined' : 'state.inFlight.oneByOne')}` : '');
    peak.hidden = !several;
    peak.dataset.peak = String(snapshot.peak);
    let heldKey: string | undefined;
    if (snapshot.queued > 0) heldKey = followed?.engine.capabilities?.pipelining ? 'state.inFlight.heldBarrier' : 'state.inFlight.heldNoPipelining';
    setText(held, heldKey ? t(heldKey) : '');
    held.hidden = heldKey === undefined;
  }

  function forget(): void {
    if (followed !== undefined) ignored.add(followed);
    followed = undefined;
  }

  function onAppEvent(event: AppEvent): void {
    switch (event.type) {
      case 'connecting':
        forget();
        visited.clear();
        recorder.reset();
        phase = { kind: 'connecting' };
        break;
      case 'connect-failed':
        forget();
        phase = { kind: 'connect-failed' };
        break;
      case 'session':
        if (event.session === undefined) {
          forget();
          phase = { kind: 'idle' };
          visited.clear();
          recorder.reset();
        } else {
          followed = event.session;
          phase = { kind: 'session', state: event.session.state, lost: false };
        }
        break;
      case 'session-event': {
        const { session, event: happened } = event;
        if (ignored.has(session)) return;
        if (followed === undefined) followed = session;
        if (session !== followed) return;
        switch (happened.type) {
          case 'entry':
            recorder.entry(happened.entry);
            break;
          case 'outcome':
            recorder.outcome(happened.outcome.handle?.id, happened.outcome.ok);
            break;
          case 'in-flight':
            recorder.counts(happened.inFlight, happened.pending);
            break;
          case 'closed':
            recorder.counts(0, 0);
            phase = { kind: 'session', state: session.engine.state, lost: happened.error !== undefined };
            break;
          default:
            break;
        }
        if (happened.type !== 'closed') phase = { kind: 'session', state: session.engine.state, lost: false };
        break;
      }
      case 'mailbox-reset':
        return;
    }
    update();
  }

  app.on(onAppEvent);
  onLanguageChange(build);
  build();
}
