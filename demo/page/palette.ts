/**
 * The command palette: a form per command, offered only while the command can be sent (the engine's
 * `refusalOf`, plus what the page knows: AUTH needs an advertised mechanism, APOP a timestamp). Commands
 * that cannot be sent are listed apart with the reason. Each command has a one-line explanation and its
 * RFC section. In pipeline mode the buttons collect commands, which are then sent together with
 * `sendAll` (with PIPELINING they go out in one write). The result of the last command is shown under the
 * list. Passwords live in their fields only until the command is sent (or collected), then the field is
 * cleared; they are never written into the DOM.
 */
import type { App, AppEvent } from './app.js';
import { language, onLanguageChange, t } from './i18n.js';
import { availability, availabilityOf, buildCommand, type CommandSpec, type FieldSpec, type FieldValues, type Message, PALETTE, type PaletteVerb, saslChoices, type EngineView } from './palette-commands.js';
import { h, setText, uniqueId } from './dom.js';
import { setUsable, usable } from './dom.js';
import { describeError } from './response-codes.js';
import { type DemoCommand, describe, type Outcome } from './session.js';

/** What the result line shows (kept as data so that a language change can re-render it). */
type Shown =
  | { readonly kind: 'none' }
  | { readonly kind: 'problem'; readonly verb: PaletteVerb; readonly problem: Message }
  | { readonly kind: 'added'; readonly command: DemoCommand; readonly count: number }
  | { readonly kind: 'results'; readonly rows: readonly { readonly command: DemoCommand; readonly outcome: Outcome | undefined }[] };

/** Stands in for the engine of a session whose connection has ended. */
const CLOSED: EngineView = { state: 'closed', tls: false, capabilities: undefined, greeting: undefined, refusalOf: () => 'the session is closed' };

interface Row {
  readonly spec: CommandSpec;
  readonly item: HTMLLIElement;
  readonly form: HTMLFormElement;
  readonly button: HTMLButtonElement;
  readonly notes: HTMLElement;
  readonly inputs: Map<FieldSpec['name'], HTMLInputElement | HTMLSelectElement>;
}

/** Mount the command palette in `root`: a form per command, sent through the App's current session. */
export function mountPalette(root: HTMLElement, app: App): void {
  root.classList.add('controls-palette');
  /** Re-applies every text of the view (after a language change). */
  const texts: (() => void)[] = [];
  const text = <E extends Element>(element: E, make: () => string): E => {
    const apply = () => setText(element, make());
    texts.push(apply);
    apply();
    return element;
  };
  const attribute = <E extends Element>(element: E, name: string, make: () => string): E => {
    const apply = () => element.setAttribute(name, make());
    texts.push(apply);
    apply();
    return element;
  };

  let pipeline = false;
  let batch: DemoCommand[] = [];
  let shown: Shown = { kind: 'none' };
  let batchSignature = '';

  // ─── Pipeline mode ──────────────────────────────────────────────────────────────────────────────────────
  const toggleId = uniqueId('palette-pipeline');
  const explainId = uniqueId('palette-pipeline-help');
  const toggle = h('input', { type: 'checkbox', id: toggleId, 'aria-describedby': explainId, 'data-testid': 'pipeline-toggle' });
  const toggleLabel = h('label', { for: toggleId }, toggle, ' ', text(h('span'), () => t('palette.pipeline.toggle')));
  const explain = text(h('p', { id: explainId, class: 'controls-hint' }), () => t('palette.pipeline.explain'));
  const pipelineState = h('p', { class: 'controls-note', 'data-testid': 'pipeline-state' });
  const batchList = h('ol', { class: 'palette-batch-list', 'data-testid': 'pipeline-list' });
  const batchEmpty = text(h('p', { class: 'muted' }), () => t('palette.pipeline.empty'));
  const sendAll = h('button', { type: 'button', 'data-testid': 'pipeline-send' });
  const clearAll = text(h('button', { type: 'button', class: 'secondary', 'data-testid': 'pipeline-clear' }), () => t('palette.pipeline.clear'));
  const batchBox = h(
    'div',
    { class: 'palette-batch', 'data-testid': 'pipeline-batch' },
    pipelineState,
    text(h('h3'), () => t('palette.pipeline.collected')),
    batchList,
    batchEmpty,
    h('div', { class: 'controls-buttons' }, sendAll, clearAll),
  );

  // ─── The commands ───────────────────────────────────────────────────────────────────────────────────────
  const rows = PALETTE.map(makeRow);
  const list = attribute(h('ul', { class: 'palette-list', 'data-testid': 'palette' }, ...rows.map((row) => row.item)), 'aria-label', () => t('palette.listLabel'));
  const noneAvailable = h('p', { class: 'muted', 'data-testid': 'palette-none' });
  const unavailableSummary = h('summary');
  const unavailableList = h('ul', { class: 'palette-unavailable-list' });
  const unavailable = h('details', { class: 'palette-unavailable', 'data-testid': 'palette-unavailable' }, unavailableSummary, unavailableList);
  const outcome = h('div', { class: 'palette-outcome', 'aria-live': 'polite', tabindex: '-1', 'data-testid': 'palette-outcome' });

  root.replaceChildren(
    text(h('p', { class: 'muted' }), () => t('palette.intro')),
    h('div', { class: 'palette-mode' }, toggleLabel, explain),
    batchBox,
    list,
    noneAvailable,
    unavailable,
    text(h('h3'), () => t('palette.outcome.title')),
    outcome,
  );

  function makeRow(spec: CommandSpec): Row {
    const helpId = uniqueId(`palette-${spec.verb.toLowerCase()}-help`);
    const notesId = uniqueId(`palette-${spec.verb.toLowerCase()}-notes`);
    const button = h('button', { type: 'submit', 'aria-describedby': `${helpId} ${notesId}`, 'data-testid': `command-${spec.verb}` }, spec.verb);
    const rfc = text(h('span', { class: 'palette-rfc' }), () => t('palette.rfc', { rfc: spec.rfc.rfc, section: spec.rfc.section }));
    const help = h('p', { id: helpId, class: 'controls-hint' }, text(h('span'), () => t(`palette.commands.${spec.verb}.help`)), ' ', h('span', { class: 'muted' }, '(', rfc, ')'));
    const notes = h('p', { id: notesId, class: 'palette-notes' });
    const inputs = new Map<FieldSpec['name'], HTMLInputElement | HTMLSelectElement>();
    const fields = spec.fields.map((field) => {
      const id = uniqueId(`palette-${spec.verb.toLowerCase()}-${field.name}`);
      const labelKey = field.name === 'message' && !field.required ? 'palette.fields.messageOptional' : `palette.fields.${field.name}`;
      const input = makeInput(field, id);
      inputs.set(field.name, input);
      const label = text(h('label', { for: id }), () => t(labelKey));
      return h('div', { class: field.kind === 'checkbox' ? 'controls-field controls-check' : 'controls-field' }, ...(field.kind === 'checkbox' ? [input, label] : [label, input]));
    });
    const form = h(
      'form',
      { class: 'palette-form', novalidate: true, 'aria-label': spec.verb, 'data-verb': spec.verb },
      h('div', { class: 'palette-head' }, button),
      help,
      fields.length > 0 ? h('div', { class: 'palette-fields' }, ...fields) : undefined,
      notes,
    );
    const item = h('li', { class: 'palette-command', 'data-group': spec.group }, form);
    const row: Row = { spec, item, form, button, notes, inputs };
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      submit(row);
    });
    return row;
  }

  function makeInput(field: FieldSpec, id: string): HTMLInputElement | HTMLSelectElement {
    switch (field.kind) {
      case 'select':
        return h('select', { id, name: field.name });
      case 'checkbox':
        return h('input', { id, name: field.name, type: 'checkbox' });
      case 'password':
        return h('input', { id, name: field.name, type: 'password', autocomplete: 'off', spellcheck: 'false' });
      case 'number':
        return h('input', { id, name: field.name, type: 'number', inputmode: 'numeric', min: field.min, step: 1, value: field.name === 'lines' ? '0' : undefined, class: 'palette-number' });
      case 'text':
        return h('input', {
          id,
          name: field.name,
          type: 'text',
          autocomplete: field.name === 'name' ? 'username' : 'off',
          autocapitalize: 'off',
          spellcheck: 'false',
          class: field.name === 'line' ? 'mono' : undefined,
        });
    }
  }

  /** The engine of the current session, or a closed one when the connection has ended. */
  function engineView(): EngineView | undefined {
    const session = app.session;
    if (session === undefined) return undefined;
    return session.closed ? CLOSED : session.engine;
  }

  // ─── Sending ────────────────────────────────────────────────────────────────────────────────────────────
  function values(row: Row): FieldValues {
    const result: Partial<Record<FieldSpec['name'], string | boolean>> = {};
    for (const [name, input] of row.inputs) result[name] = input instanceof HTMLInputElement && input.type === 'checkbox' ? input.checked : input.value;
    return result;
  }

  function clearSecrets(row: Row): void {
    const password = row.inputs.get('password');
    if (password) password.value = '';
  }

  function submit(row: Row): void {
    const verb = row.spec.verb;
    // The button may be stale for a moment (a reply just changed the state): ask again.
    const now = availabilityOf(verb, engineView(), pipeline ? batch.map((command) => command.verb) : []);
    if (!now.available) {
      show({ kind: 'problem', verb, problem: now.reason });
      update();
      return;
    }
    const built = buildCommand(verb, values(row), saslChoices(app.session?.engine.capabilities));
    if (!built.ok) {
      show({ kind: 'problem', verb, problem: built.problem });
      return;
    }
    clearSecrets(row);
    if (pipeline) {
      batch.push(built.command);
      show({ kind: 'added', command: built.command, count: batch.length });
      update();
      return;
    }
    const entry = { command: built.command, outcome: undefined as Outcome | undefined };
    const rowsShown = [entry];
    show({ kind: 'results', rows: rowsShown });
    void app.run(built.command).then((outcome) => {
      entry.outcome = outcome;
      if (shown.kind === 'results' && shown.rows === rowsShown) show({ kind: 'results', rows: rowsShown });
    });
  }

  function sendBatch(): void {
    const commands = batch;
    batch = [];
    const session = app.session;
    const entries = commands.map((command) => ({ command, outcome: undefined as Outcome | undefined }));
    show({ kind: 'results', rows: entries });
    update();
    if (commands.length === 0) return;
    const sent = session !== undefined && !session.closed ? session.sendAll(commands) : Promise.all(commands.map((command) => app.run(command)));
    void sent.then((outcomes) => {
      outcomes.forEach((outcome, index) => (entries[index]!.outcome = outcome));
      if (shown.kind === 'results' && shown.rows === entries) show({ kind: 'results', rows: entries });
    });
  }

  toggle.addEventListener('change', () => {
    pipeline = toggle.checked;
    batch = [];
    update();
  });
  sendAll.addEventListener('click', () => {
    if (usable(sendAll)) sendBatch();
  });
  clearAll.addEventListener('click', () => {
    if (!usable(clearAll)) return;
    batch = [];
    update();
  });

  // ─── Rendering ──────────────────────────────────────────────────────────────────────────────────────────
  function message(m: Message): string {
    return 'key' in m ? t(m.key, m.params) : m.text;
  }

  function show(next: Shown): void {
    shown = next;
    renderOutcome();
  }

  function renderOutcome(): void {
    outcome.dataset.kind = 'info';
    switch (shown.kind) {
      case 'none':
        outcome.replaceChildren(h('p', { class: 'muted' }, t('palette.outcome.none')));
        return;
      case 'problem':
        outcome.dataset.kind = 'error';
        outcome.replaceChildren(h('p', {}, t('palette.outcome.problem', { command: shown.verb, problem: message(shown.problem) })));
        return;
      case 'added':
        outcome.replaceChildren(h('p', {}, t('palette.pipeline.added', { command: describe(shown.command), count: shown.count })));
        return;
      case 'results': {
        const lines = shown.rows.map(({ command, outcome: result }) => {
          const name = describe(command);
          if (result === undefined) return h('li', { 'data-kind': 'info' }, t('palette.outcome.sending', { command: name }));
          if (result.ok) {
            const said = result.code === undefined ? result.text : `[${result.code}] ${result.text}`;
            return h('li', { 'data-kind': 'ok' }, t('palette.outcome.ok', { command: name, text: said }).trimEnd());
          }
          const key = result.handle === undefined ? 'palette.outcome.notSent' : 'palette.outcome.error';
          return h('li', { 'data-kind': 'error' }, t(key, { command: name, error: describeError(result.error) }));
        });
        if (shown.rows.some((row) => row.outcome !== undefined && !row.outcome.ok)) outcome.dataset.kind = 'error';
        outcome.replaceChildren(h('ul', { class: 'palette-results' }, ...lines));
        return;
      }
    }
  }

  function update(): void {
    const engine = engineView();
    const collected = pipeline ? batch.map((command) => command.verb) : [];
    const states = availability(engine, collected);
    const focusWasIn = rows.find((row) => row.item.contains(document.activeElement));

    for (const [index, state] of states.entries()) {
      const row = rows[index]!;
      row.item.hidden = !state.available;
      setText(row.notes, state.available ? state.notes.map(message).join(' ') : '');
      row.notes.hidden = !state.available || state.notes.length === 0;
    }
    updateMechanisms();

    const refused = states.filter((state) => !state.available);
    const extra = engine !== undefined && engine.state === 'authorization' && engine.refusalOf('STLS') === undefined;
    unavailableList.replaceChildren(
      ...refused.map((state) => h('li', { 'data-verb': state.verb }, h('code', {}, state.verb), `: ${message(state.reason)}`)),
      ...(extra ? [h('li', { 'data-verb': 'STLS' }, h('code', {}, 'STLS'), `: ${t('palette.unavailable.stls')}`)] : []),
    );
    const count = refused.length + (extra ? 1 : 0);
    setText(unavailableSummary, t('palette.unavailable.title', { count }));
    // Without a session every command would be listed with the same reason: say it once instead.
    unavailable.hidden = count === 0 || engine === undefined;
    setText(noneAvailable, t(engine === undefined ? 'palette.noSession' : 'palette.noneAvailable'));
    noneAvailable.hidden = states.some((state) => state.available);

    batchBox.hidden = !pipeline;
    // The explanation stays the toggle's description (aria-describedby reads hidden text too).
    explain.hidden = !pipeline;
    const caps = engine?.capabilities;
    setText(pipelineState, t(caps === undefined ? 'palette.pipeline.noCapa' : caps.pipelining ? 'palette.pipeline.advertised' : 'palette.pipeline.notAdvertised'));
    // Rebuilt only when it changed, so that an event of the session does not take the focus off a Remove button.
    const signature = [language(), ...batch.map(describe)].join('\n');
    if (signature !== batchSignature) {
      batchSignature = signature;
      batchList.replaceChildren(...batchItems());
    }
    batchEmpty.hidden = batch.length > 0;
    setText(sendAll, t('palette.pipeline.send', { count: batch.length }));
    // aria-disabled: after "send all" or "clear" the pressed button keeps the keyboard focus.
    setUsable(sendAll, batch.length > 0);
    setUsable(clearAll, batch.length > 0);

    // A button that disappeared under the keyboard's focus (PASS after login): go on from the result line.
    if (focusWasIn?.item.hidden) outcome.focus();
  }

  /** The collected commands, each with a button that takes it out again. */
  function batchItems(): HTMLLIElement[] {
    return batch.map((command, index) => {
      const name = describe(command);
      const remove = h('button', { type: 'button', class: 'secondary palette-remove', 'aria-label': t('palette.pipeline.removeLabel', { command: name }) }, t('palette.pipeline.remove'));
      remove.addEventListener('click', () => {
        batch.splice(index, 1);
        update();
        // The list was rebuilt: keep the keyboard in it (or on the mode switch once it is empty).
        (batchList.querySelectorAll('button')[Math.min(index, batch.length - 1)] ?? toggle).focus();
      });
      return h('li', {}, h('code', {}, name), ' ', remove);
    });
  }

  /** AUTH's select: the mechanisms CAPA advertised that the page implements. */
  function updateMechanisms(): void {
    const select = rows.find((row) => row.spec.verb === 'AUTH')?.inputs.get('mechanism');
    if (!(select instanceof HTMLSelectElement)) return;
    const choices = saslChoices(app.session?.engine.capabilities);
    const current = [...select.options].map((option) => option.value);
    if (current.join(' ') === choices.join(' ')) return;
    const previous = select.value;
    select.replaceChildren(...choices.map((choice) => new Option(choice, choice, false, choice === previous)));
  }

  function onAppEvent(event: AppEvent): void {
    if (event.type === 'session') {
      // Collected commands belonged to the session that is gone (and may hold a password): drop them, and
      // any password typed but not sent.
      batch = [];
      for (const row of rows) clearSecrets(row);
    }
    if (event.type === 'session-event' && event.session !== app.session) return;
    if (event.type === 'session-event' && (event.event.type === 'entry' || event.event.type === 'progress')) return;
    update();
  }

  app.on(onAppEvent);
  onLanguageChange(() => {
    for (const apply of texts) apply();
    renderOutcome();
    update();
  });
  renderOutcome();
  update();
}
