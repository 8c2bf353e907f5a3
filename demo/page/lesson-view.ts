/**
 * The guided tour: one card per step of lesson.ts, from connecting to QUIT. The card says what the step is
 * and asks the learner to do it; the tour listens to the App and moves on by itself when it sees it done.
 * "Do it for me" does it through the App (so it shows in the transcript), skip and back move the pointer.
 * Progress ("step 4 of 14") is shown and, in a live region, announced.
 */
import type { Pop3Error } from '../../core/errors.js';
import type { App } from './app.js';
import { h, setText } from './dom.js';
import { describeError } from './response-codes.js';
import { has, onLanguageChange, t } from './i18n.js';
import {
  advanceLesson,
  currentStep,
  LESSON_STEPS,
  type LessonProgress,
  type LessonStepId,
  lessonAction,
  lessonBlocker,
  lessonSignal,
  messagesLeft,
  sessionView,
  startLesson,
} from './lesson.js';
import { setUsable, usable } from './dom.js';
import { button, type LearnContext, rebuildIf } from './lesson-dom.js';
import { credentialsFor, learnPlace } from './lesson-place.js';

/** The line above the card: how the last step ended, or why "do it for me" failed. */
type Feedback = {
  readonly key: string;
  readonly params?: Readonly<Record<string, string | number>>;
  /** The step it is about: its title goes in as `{title}`, in the language of the moment. */
  readonly stepId?: LessonStepId;
  readonly tone: 'good' | 'bad' | 'info';
};

/** Mount the guided tour in `root`; `context` tells it when an experiment or a solution drives the session. */
export function mountLessonTour(root: HTMLElement, app: App, context: LearnContext): void {
  let progress: LessonProgress = startLesson(sessionView(app.session));
  let feedback: Feedback | undefined;
  let busy = false;
  let quitText: string | undefined;

  const heading = h('h3', { id: 'learn-tour-title' });
  const meter = h('progress', { class: 'learn-meter', max: String(LESSON_STEPS.length), 'aria-hidden': 'true' });
  const status = h('p', { class: 'learn-progress', role: 'status', 'aria-live': 'polite' });
  const feedbackLine = h('p', { class: 'learn-feedback', role: 'status', 'aria-live': 'polite' });
  const title = h('h4', { class: 'learn-step-title', id: 'learn-step-title', tabindex: '-1' });
  const text = h('p', { class: 'learn-step-text' });
  const tryIt = h('p', { class: 'learn-step-try' });
  const extra = h('p', { class: 'learn-step-extra' });
  const rfc = h('p', { class: 'learn-step-rfc muted' });
  const blocked = h('p', { class: 'learn-step-blocked' });
  const back = button('learn-back', true);
  const doIt = button('learn-do-it');
  const skip = button('learn-skip', true);
  const restart = button('learn-restart');
  const actions = h('div', { class: 'learn-actions' }, back, doIt, skip, restart);
  const card = h(
    'div',
    { class: 'learn-step', role: 'group', 'aria-labelledby': 'learn-step-title' },
    ...[title, text, tryIt, extra, blocked, rfc, actions],
  );
  root.append(
    h('section', { class: 'learn-tour', 'aria-labelledby': 'learn-tour-title' }, heading, meter, status, feedbackLine, card),
  );

  const render = () => {
    setText(heading, t('lesson.title'));
    setText(back, t('lesson.back'));
    setText(skip, t('lesson.skip'));
    setText(restart, t('lesson.restart'));
    const total = LESSON_STEPS.length;
    meter.value = progress.index;
    setText(meter, `${progress.index}/${total}`);
    feedbackLine.dataset.tone = feedback?.tone ?? 'info';
    const titled: Record<string, string> = feedback?.stepId === undefined ? {} : { title: t(`lesson.steps.${feedback.stepId}.title`) };
    setText(feedbackLine, feedback === undefined ? '' : t(feedback.key, { ...feedback.params, ...titled }));
    feedbackLine.hidden = feedback === undefined;

    const step = currentStep(progress);
    if (step === undefined) {
      setText(status, t('lesson.progressDone', { total }));
      setText(title, t('lesson.complete.title'));
      setText(text, t('lesson.complete.text'));
      tryIt.hidden = true;
      const left = messagesLeft(quitText);
      const stored = learnPlace(app).kind === 'offline' ? app.offline.messageCount : undefined;
      extra.hidden = quitText === undefined;
      const count = stored ?? left;
      const stays = count === undefined ? '' : ` ${t('lesson.complete.stored', { count })}`;
      setText(extra, quitText === undefined ? '' : t('lesson.complete.update', { reply: quitText }) + stays);
      setText(rfc, '');
      blocked.hidden = true;
      doIt.hidden = skip.hidden = true;
      restart.hidden = false;
      setUsable(back, !busy);
      return;
    }

    const n = progress.index + 1;
    const base = `lesson.steps.${step.id}`;
    setText(status, t('lesson.progress', { n, total, title: t(`${base}.title`) }));
    setText(title, t(`${base}.title`));
    setText(text, t(`${base}.text`));
    tryIt.hidden = false;
    rebuildIf(tryIt, `${t('lesson.tryIt')} ${t(`${base}.try`)}`, () => [h('strong', {}, t('lesson.tryIt')), ' ', t(`${base}.try`)]);
    extra.hidden = true;
    if (step.id === 'greeting') {
      const greeting = app.session?.entries.find((entry) => entry.kind === 'greeting')?.text;
      if (greeting !== undefined) {
        const timestamp = app.session?.engine.greeting?.timestamp;
        extra.hidden = false;
        setText(extra, t('lesson.greetingSaid', { greeting }) + (timestamp === undefined ? '' : ` ${t('lesson.greetingTimestamp', { timestamp })}`));
      }
    }
    setText(rfc, t('lesson.rfc', { rfc: step.rfc }));

    const credentials = credentialsFor(app, learnPlace(app));
    const action = lessonAction(step, credentials);
    const blocker = lessonBlocker(step, sessionView(app.session));
    blocked.hidden = blocker === undefined && action !== undefined;
    setText(blocked, blocker !== undefined ? t(`lesson.blocked.${blocker}`) : action === undefined ? t('lesson.blocked.noAccount') : '');
    doIt.hidden = skip.hidden = false;
    // Stuck (the session ended, or is in another state): starting again is always a way out.
    restart.hidden = blocker === undefined || progress.index === 0;
    setText(doIt, has(`${base}.doIt`) ? t(`${base}.doIt`) : t('lesson.doIt'));
    // aria-disabled: "do it for me" keeps the keyboard focus while its command runs.
    setUsable(doIt, !busy && action !== undefined && blocker === undefined && context.activity === 'learner');
    setUsable(back, !busy && progress.index > 0);
    setUsable(skip, !busy);
  };

  /** Move the lesson; when the step changed, say how the last one ended. */
  const move = (next: LessonProgress) => {
    if (next === progress) return;
    const changed = next.index !== progress.index;
    progress = next;
    if (changed) {
      const last = next.last;
      feedback =
        last === undefined
          ? undefined
          : { key: last.how === 'done' ? 'lesson.feedback.done' : 'lesson.feedback.skipped', stepId: last.id, tone: last.how === 'done' ? 'good' : 'info' };
    }
    render();
  };

  app.on((event) => {
    const signal = lessonSignal(event);
    if (signal !== undefined && context.activity === 'learner') {
      if (signal.type === 'outcome' && signal.verb === 'QUIT' && signal.ok) quitText = signal.text;
      move(advanceLesson(progress, { type: 'signal', signal, session: sessionView(app.session) }));
    }
    // Whether a step can be done changes with the session: redraw the buttons and hints.
    render();
  });
  context.onChange(render);

  /** After the last step "do it for me" and "skip" are hidden: the keyboard goes on from "start again". */
  const keepFocus = () => {
    const focused = document.activeElement;
    if ((focused === null || focused === document.body) && !restart.hidden) restart.focus();
  };

  doIt.addEventListener('click', () => {
    const step = currentStep(progress);
    if (step === undefined || busy || !usable(doIt)) return;
    const action = lessonAction(step, credentialsFor(app, learnPlace(app)));
    if (action === undefined) return;
    if (action.kind === 'acknowledge') {
      move(advanceLesson(progress, { type: 'acknowledge' }));
      return;
    }
    busy = true;
    render();
    const done =
      action.kind === 'connect'
        ? app.connect(learnPlace(app)).then(
            () => undefined,
            // App.connect rejects with a Pop3Error: explained in words, in the page's language.
            (error: Pop3Error) => ({ key: 'lesson.feedback.connectFailed', params: { reason: describeError(error) }, tone: 'bad' as const }),
          )
        : app.run(action.command).then((outcome) =>
            outcome.ok ? undefined : { key: 'lesson.feedback.failed', params: { reason: describeError(outcome.error) }, tone: 'bad' as const },
          );
    void done.then((failure) => {
      busy = false;
      if (failure !== undefined) feedback = failure;
      render();
      keepFocus();
    });
  });
  back.addEventListener('click', () => {
    if (usable(back)) move(advanceLesson(progress, { type: 'back' }));
  });
  skip.addEventListener('click', () => {
    if (!usable(skip)) return;
    move(advanceLesson(progress, { type: 'next' }));
    keepFocus();
  });
  restart.addEventListener('click', () => {
    quitText = undefined;
    feedback = undefined;
    progress = advanceLesson(progress, { type: 'restart', session: sessionView(app.session) });
    render();
    title.focus();
  });
  onLanguageChange(render);
  render();
}
