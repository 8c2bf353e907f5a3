import { describe, expect, it } from 'vitest';
import { readSampleMailbox } from '../../demo/assets.mjs';
import { App, type AppEvent } from '../../demo/page/app.js';
import {
  advanceLesson,
  currentStep,
  isComplete,
  LESSON_STEPS,
  type LessonProgress,
  type LessonSignal,
  lessonAction,
  lessonBlocker,
  lessonSignal,
  messagesLeft,
  type SessionView,
  sessionView,
  startLesson,
  verbOf,
} from '../../demo/page/lesson.js';
import { credentialsFor, learnPlace } from '../../demo/page/lesson-place.js';

const sample = readSampleMailbox();
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** An App in offline mode whose events drive a lesson, as learn-view.ts does it. */
function lessonApp() {
  const app = new App(undefined, sample);
  let progress = startLesson();
  const seen: string[] = [];
  app.on((event: AppEvent) => {
    const signal = lessonSignal(event);
    if (signal === undefined) return;
    const before = progress.index;
    progress = advanceLesson(progress, { type: 'signal', signal, session: sessionView(app.session) });
    if (progress.index !== before) seen.push(LESSON_STEPS[before]!.id);
  });
  return { app, seen, get progress() { return progress; }, set progress(p: LessonProgress) { progress = p; } };
}

describe('the guided lesson', () => {
  it('goes from connecting to QUIT with "do it for me", each step detected from the session, and UPDATE commits', async () => {
    const lesson = lessonApp();
    const { app } = lesson;
    const credentials = credentialsFor(app, learnPlace(app))!;
    expect(credentials.user).toBe(sample.user);
    let quitText: string | undefined;
    for (let guard = 0; !isComplete(lesson.progress) && guard < 30; guard++) {
      const step = currentStep(lesson.progress)!;
      expect(lessonBlocker(step, sessionView(app.session))).toBeUndefined();
      const action = lessonAction(step, credentials)!;
      if (action.kind === 'connect') await app.connect(learnPlace(app));
      else if (action.kind === 'acknowledge') lesson.progress = advanceLesson(lesson.progress, { type: 'acknowledge' });
      else {
        const outcome = await app.run(action.command);
        expect(outcome.ok, `${step.id}: ${outcome.ok ? '' : outcome.error.message}`).toBe(true);
        if (outcome.ok && action.command.verb === 'QUIT') quitText = outcome.text;
      }
      await settle();
    }
    expect(isComplete(lesson.progress)).toBe(true);
    expect(lesson.progress.done.every(Boolean)).toBe(true);
    expect(lesson.seen).toEqual(LESSON_STEPS.filter((s) => s.id !== 'greeting').map((s) => s.id));
    // DELE 1, RSET, DELE 1, QUIT: exactly one message removed in the UPDATE state.
    expect(app.offline.messageCount).toBe(sample.messages.length - 1);
    expect(messagesLeft(quitText)).toBe(sample.messages.length - 1);
    expect(app.session?.closed).toBe(true);
  });

  it('counts a login by APOP for both USER and PASS', async () => {
    const lesson = lessonApp();
    const { app } = lesson;
    await app.connect({ kind: 'offline' });
    lesson.progress = advanceLesson(lesson.progress, { type: 'acknowledge' });
    lesson.progress = advanceLesson(lesson.progress, { type: 'next' }); // skip CAPA
    expect(currentStep(lesson.progress)!.id).toBe('user');
    await app.run({ verb: 'APOP', name: sample.user, password: sample.password });
    await settle();
    expect(currentStep(lesson.progress)!.id).toBe('stat');
    expect(lesson.progress.done.slice(0, 5)).toEqual([true, true, false, true, true]);
    app.disconnect();
  });

  it('does not move on for a failed command, and skip and back only move the pointer', async () => {
    let progress = startLesson();
    const failed: LessonSignal = { type: 'outcome', verb: 'CAPA', ok: false, text: undefined };
    progress = advanceLesson(progress, { type: 'signal', signal: { type: 'connected' } });
    progress = advanceLesson(progress, { type: 'acknowledge' });
    expect(currentStep(progress)!.id).toBe('capa');
    expect(advanceLesson(progress, { type: 'signal', signal: failed })).toBe(progress);
    expect(advanceLesson(progress, { type: 'signal', signal: { type: 'outcome', verb: 'STAT', ok: true, text: '+OK' } })).toBe(progress);
    const skipped = advanceLesson(progress, { type: 'next' });
    expect(currentStep(skipped)!.id).toBe('user');
    expect(skipped.done[2]).toBe(false);
    expect(skipped.last).toEqual({ id: 'capa', how: 'skipped' });
    expect(currentStep(advanceLesson(skipped, { type: 'back' }))!.id).toBe('capa');
    // acknowledging only finishes the greeting step
    expect(advanceLesson(skipped, { type: 'acknowledge' })).toBe(skipped);
  });

  it('recognises raw lines by their verb', () => {
    expect(verbOf({ verb: 'RAW', line: 'top 1 0' })).toBe('TOP');
    expect(verbOf({ verb: 'RAW', line: 'XTND XLST' })).toBe('RAW');
    expect(verbOf({ verb: 'LIST' })).toBe('LIST');
  });

  it('says why a step cannot be done now', () => {
    const view = (state: SessionView['state'], refuse: string | undefined, closed = false): SessionView => ({ state, closed, refusalOf: () => refuse });
    const step = (id: string) => LESSON_STEPS.find((s) => s.id === id)!;
    expect(lessonBlocker(step('connect'), undefined)).toBeUndefined();
    expect(lessonBlocker(step('capa'), undefined)).toBe('connect');
    expect(lessonBlocker(step('stat'), view('authorization', 'not valid'))).toBe('loginFirst');
    expect(lessonBlocker(step('user'), view('transaction', 'not valid'))).toBe('loggedIn');
    expect(lessonBlocker(step('pass'), view('authorization', 'PASS must follow'))).toBe('userFirst');
    expect(lessonBlocker(step('quit'), view('transaction', undefined, true))).toBe('connect');
    expect(lessonBlocker(step('retr'), view('transaction', undefined))).toBeUndefined();
    expect(lessonAction(step('pass'), undefined)).toBeUndefined();
  });

  it('reads what the server said is left after UPDATE', () => {
    expect(messagesLeft('bye (13 messages left)')).toBe(13);
    expect(messagesLeft('bye (1 message left)')).toBe(1);
    expect(messagesLeft('see you')).toBeUndefined();
  });
});
