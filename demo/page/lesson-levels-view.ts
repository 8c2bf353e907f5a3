/**
 * The levels: pick a goal, start (the mailbox is put back to the sample and a session opened), do it with
 * the palette or raw lines, and the level counts the commands and round trips as they go. The checker of
 * levels.ts judges the attempt when the learner asks, and by itself when the session ends; goals about what
 * the mailbox keeps are checked with a look through a connection of the panel's own (its lines are shown
 * here). "Show a solution" plays a model solution in the App's session, for everyone to see in the
 * transcript.
 */
import type { Pop3Error } from '../../core/errors.js';
import type { App, Place } from './app.js';
import { h, setText } from './dom.js';
import { onLanguageChange, t } from './i18n.js';
import { setUsable, usable } from './dom.js';
import { button, type LearnContext, rebuildIf, wireList } from './lesson-dom.js';
import { describeError } from './response-codes.js';
import { credentialsFor, holdsSample, inspectMailbox, learnPlace, type MailboxLook, wait } from './lesson-place.js';
import {
  EMPTY_RECORD,
  LEVELS,
  type Level,
  type LevelRecord,
  type LevelVerdict,
  levelById,
  type LevelId,
  recordEvent,
  sampleMessages,
  solveLevel,
  targetSender,
} from './levels.js';

interface Attempt {
  readonly level: Level;
  readonly place: Place;
  record: LevelRecord;
  /** Still counting: not yet judged a success or a failure. */
  active: boolean;
  verdict: LevelVerdict | undefined;
  look: MailboxLook | undefined;
  /** The page played the model solution. */
  solved: boolean;
  /** An experiment took the session over. */
  interrupted: boolean;
}

/** Mount the levels in `root`; `context` tells them when an experiment takes the session over. */
export function mountLevels(root: HTMLElement, app: App, context: LearnContext): void {
  const before = sampleMessages(app.offline.sample);
  const sender = targetSender(before);
  let selected: LevelId = LEVELS[0]!.id;
  let attempt: Attempt | undefined;
  let busy = false;
  /** What went wrong, made in the language of the moment (so a language change re-renders it). */
  let error: (() => string) | undefined;

  const heading = h('h3', { id: 'learn-levels-title' });
  const intro = h('p', { class: 'learn-levels-intro muted' });
  const selectLabel = h('label', { for: 'learn-level-select' });
  const select = h('select', { id: 'learn-level-select' });
  const goal = h('p', { class: 'learn-level-goal' });
  const hint = h('p', { class: 'learn-level-hint muted' });
  const start = button('learn-level-start');
  const check = button('learn-level-check', true);
  const solve = button('learn-level-solve', true);
  const answerLabel = h('label', { for: 'learn-level-answer' });
  const answer = h('input', { id: 'learn-level-answer', type: 'number', min: '1', step: '1', inputmode: 'numeric' });
  const answerRow = h('p', { class: 'learn-level-answer' }, answerLabel, ' ', answer);
  const score = h('p', { class: 'learn-level-score' });
  const verdictBox = h('div', { class: 'learn-level-verdict', role: 'status', 'aria-live': 'polite' });
  root.append(
    h(
      'section',
      { class: 'learn-levels', 'aria-labelledby': 'learn-levels-title' },
      heading,
      intro,
      h('p', { class: 'learn-level-pick' }, selectLabel, ' ', select),
      goal,
      hint,
      answerRow,
      h('div', { class: 'learn-actions' }, start, check, solve),
      score,
      verdictBox,
    ),
  );

  const level = () => levelById(selected);

  /** The level list changes only with the language (rebuilding it while open would close it). */
  const renderOptions = () => {
    select.replaceChildren(
      ...LEVELS.map((item, i) => new Option(t('levels.option', { n: i + 1, title: t(`levels.items.${item.id}.title`) }), item.id, false, item.id === selected)),
    );
  };

  const render = () => {
    setText(heading, t('levels.title'));
    setText(intro, t('levels.intro'));
    setText(selectLabel, t('levels.pick'));
    const current = level();
    const base = `levels.items.${current.id}`;
    const goalText = t(`${base}.goal`, { sender });
    rebuildIf(goal, `${t('levels.goal')} ${goalText}`, () => [h('strong', {}, t('levels.goal')), ' ', goalText]);
    setText(hint, t(`${base}.hint`));
    answerRow.hidden = !current.needsAnswer;
    setText(answerLabel, t('levels.answer'));

    const mine = attempt !== undefined && attempt.level.id === current.id ? attempt : undefined;
    const place = learnPlace(app);
    const sampleHere = holdsSample(place);
    setText(start, mine === undefined ? t('levels.start') : t('levels.retry'));
    setText(check, t('levels.check'));
    setText(solve, t('levels.solve'));
    const idle = !busy && context.activity === 'learner';
    // aria-disabled: the pressed button keeps the keyboard focus while its work runs.
    setUsable(start, idle && sampleHere);
    setUsable(check, idle && mine !== undefined);
    setUsable(solve, idle && sampleHere && credentialsFor(app, place) !== undefined);

    const record = mine?.record ?? EMPTY_RECORD;
    score.hidden = mine === undefined;
    setText(score, t('levels.score', { commands: record.commandsSent, roundTrips: record.roundTrips, par: current.par, unit: t(`levels.units.${current.scoreBy}`) }));

    verdictBox.dataset.status = mine?.verdict?.status ?? (error === undefined ? 'none' : 'fail');
    // A live region: rebuilt only when what it says changed.
    const problem = error?.();
    const signature = JSON.stringify([problem, sampleHere, mine && [mine.interrupted, mine.verdict, mine.solved, mine.look], current.id, t('levels.title')]);
    rebuildIf(verdictBox, signature, () => {
      const parts: Node[] = [];
      if (problem !== undefined) parts.push(h('p', {}, problem));
      if (!sampleHere) parts.push(h('p', {}, t('levels.unavailable')));
      if (mine === undefined) return parts;
      if (mine.interrupted) parts.push(h('p', {}, t('levels.interrupted')));
      const verdict = mine.verdict;
      if (verdict !== undefined) {
        const label = t(`levels.status.${verdict.status}`);
        const params = { ...verdict.params, unit: t(`levels.units.${current.scoreBy}`) };
        parts.push(h('p', { class: 'learn-level-result' }, h('strong', {}, label), ' ', t(`levels.verdicts.${current.id}.${verdict.key}`, params)));
        if (verdict.status === 'success') parts.push(h('p', {}, t(verdict.perfect ? 'levels.perfect' : 'levels.notPerfect', params)));
        if (mine.solved) parts.push(h('p', { class: 'muted' }, t('levels.solvedByPage')));
      }
      if (mine.look !== undefined) parts.push(h('p', { class: 'muted' }, t('levels.looked')), wireList(mine.look.lines));
      return parts;
    });
  };

  /** Put the mailbox back: the session that held it may take a moment to let it go. */
  const reset = async (place: Place): Promise<boolean> => {
    for (let i = 0; i < 30; i++) {
      if (await app.resetMailbox(place).catch(() => false)) return true;
      await wait(100);
    }
    return false;
  };

  const begin = async (): Promise<Attempt | undefined> => {
    const place = learnPlace(app);
    error = undefined;
    app.disconnect();
    if (!(await reset(place))) {
      error = () => t('levels.resetFailed');
      return undefined;
    }
    attempt = {
      level: level(),
      place,
      record: EMPTY_RECORD,
      active: true,
      verdict: undefined,
      look: undefined,
      solved: false,
      interrupted: false,
    };
    answer.value = '';
    try {
      await app.connect(place);
    } catch (caught) {
      // App.connect rejects with a Pop3Error: explained in words, in the page's language.
      error = () => t('levels.connectFailed', { reason: describeError(caught as Pop3Error) });
    }
    return attempt;
  };

  const judge = async (current: Attempt): Promise<void> => {
    const credentials = credentialsFor(app, current.place);
    current.look = undefined;
    if (current.level.needsEnd && !current.record.sessionOpen && credentials !== undefined) {
      current.look = await inspectMailbox(app.endpoint(current.place), credentials);
    }
    const value = answer.value.trim() === '' ? undefined : Number(answer.value);
    const verdict = current.level.check({
      record: current.record,
      before,
      sender,
      after: current.look?.uids,
      answer: value !== undefined && Number.isInteger(value) ? value : undefined,
    });
    current.verdict = verdict;
    if (verdict.status !== 'incomplete') current.active = false;
  };

  /** Run `work` with the buttons unusable (busy), then redraw. */
  const withBusy = (work: () => Promise<void>) => {
    if (busy) return;
    busy = true;
    render();
    void work()
      .catch((caught: unknown) => {
        const reason = caught instanceof Error ? caught.message : String(caught);
        error = () => reason;
      })
      .finally(() => {
        busy = false;
        render();
      });
  };

  app.on((event) => {
    const current = attempt;
    if (current === undefined || !current.active) {
      if (event.type === 'session' || event.type === 'mailbox-reset') render();
      return;
    }
    if (context.activity === 'experiment') return;
    current.record = recordEvent(current.record, event);
    const ended =
      (event.type === 'session-event' && event.event.type === 'closed') || (event.type === 'session' && event.session === undefined);
    // A level about what is stored is judged as soon as the session is over (not while a solution still runs).
    if (ended && current.level.needsEnd && !busy && context.activity === 'learner') withBusy(() => judge(current));
    else if (event.type === 'session-event' && event.event.type === 'entry' && event.event.entry.from === 'client') render();
    else if (event.type !== 'session-event' || event.event.type === 'outcome' || event.event.type === 'closed') render();
  });

  context.onChange((activity) => {
    if (activity === 'experiment' && attempt?.active) {
      attempt.active = false;
      attempt.interrupted = true;
    }
    render();
  });

  select.addEventListener('change', () => {
    selected = select.value as LevelId;
    error = undefined;
    render();
  });
  start.addEventListener('click', () => {
    if (usable(start)) withBusy(async () => void (await begin()));
  });
  check.addEventListener('click', () => {
    const current = attempt;
    if (current !== undefined && usable(check)) withBusy(() => judge(current));
  });
  solve.addEventListener('click', () => {
    if (!usable(solve)) return;
    withBusy(async () => {
      const current = await begin();
      const credentials = credentialsFor(app, learnPlace(app));
      if (current === undefined || credentials === undefined || app.session === undefined) return;
      current.solved = true;
      context.activity = 'solution';
      try {
        const session = app.session;
        const solution = await solveLevel(current.level.id, { send: (c) => app.run(c), sendAll: (c) => session.sendAll(c), credentials }, { sender });
        if (solution.answer !== undefined) answer.value = String(solution.answer);
        // Let the session's last events (its close after QUIT) arrive before judging.
        for (let i = 0; i < 50 && current.level.needsEnd && current.record.sessionOpen; i++) await wait(20);
      } finally {
        context.activity = 'learner';
      }
      await judge(current);
    });
  });
  answer.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && usable(check)) check.click();
  });
  onLanguageChange(() => {
    renderOptions();
    render();
  });
  renderOptions();
  render();
}
