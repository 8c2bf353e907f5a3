/**
 * The guided lesson as pure data and functions: the steps of a POP3 session from the greeting to QUIT, how
 * each step is recognised in what the session reports (outcomes and state changes), what "do it for me"
 * sends, and why a step cannot be done right now. No DOM here: lesson-view.ts draws it, and the tests drive
 * it against the real offline server.
 *
 * A step is done when the learner did it, however they did it (the palette, a raw line, the step's own
 * button): the lesson listens to the App's events and moves on by itself. Skip and back only move the
 * pointer; nothing is undone on the server.
 */
import type { SessionState } from '../../core/client-engine.js';
import type { Verb } from '../../core/commands.js';
import type { AppEvent } from './app.js';
import type { DemoCommand, DemoSession } from './session.js';

export const LESSON_STEP_IDS = [
  'connect',
  'greeting',
  'capa',
  'user',
  'pass',
  'stat',
  'list',
  'uidl',
  'top',
  'retr',
  'dele',
  'rset',
  'commit',
  'quit',
] as const;
export type LessonStepId = (typeof LESSON_STEP_IDS)[number];

/** Where the session must be for a step to be possible. */
export type StepNeeds = 'nothing' | 'session' | 'authorization' | 'transaction';

export interface LessonStep {
  readonly id: LessonStepId;
  /** A successful command with one of these verbs completes the step (none: connect and greeting). */
  readonly verbs: readonly Verb[];
  readonly needs: StepNeeds;
  /** Where the learner can read more. */
  readonly rfc: string;
}

export const LESSON_STEPS: readonly LessonStep[] = [
  { id: 'connect', verbs: [], needs: 'nothing', rfc: 'RFC 1939 section 3' },
  { id: 'greeting', verbs: [], needs: 'session', rfc: 'RFC 1939 section 4' },
  { id: 'capa', verbs: ['CAPA'], needs: 'session', rfc: 'RFC 2449 section 5' },
  { id: 'user', verbs: ['USER'], needs: 'authorization', rfc: 'RFC 1939 section 7' },
  { id: 'pass', verbs: ['PASS', 'APOP', 'AUTH'], needs: 'authorization', rfc: 'RFC 1939 section 7' },
  { id: 'stat', verbs: ['STAT'], needs: 'transaction', rfc: 'RFC 1939 section 5' },
  { id: 'list', verbs: ['LIST'], needs: 'transaction', rfc: 'RFC 1939 section 5' },
  { id: 'uidl', verbs: ['UIDL'], needs: 'transaction', rfc: 'RFC 1939 section 7' },
  { id: 'top', verbs: ['TOP'], needs: 'transaction', rfc: 'RFC 1939 section 7' },
  { id: 'retr', verbs: ['RETR'], needs: 'transaction', rfc: 'RFC 1939 section 5' },
  { id: 'dele', verbs: ['DELE'], needs: 'transaction', rfc: 'RFC 1939 section 5' },
  { id: 'rset', verbs: ['RSET'], needs: 'transaction', rfc: 'RFC 1939 section 5' },
  { id: 'commit', verbs: ['DELE'], needs: 'transaction', rfc: 'RFC 1939 section 5' },
  { id: 'quit', verbs: ['QUIT'], needs: 'transaction', rfc: 'RFC 1939 section 6' },
];

/** The account to use for USER and PASS, when the page knows it (offline, and the embedded server). */
export interface Credentials {
  readonly user: string;
  readonly password: string;
}

/** What the lesson learns from the App's events. */
export type LessonSignal =
  | { readonly type: 'connected' }
  | { readonly type: 'disconnected' }
  | { readonly type: 'outcome'; readonly verb: Verb; readonly ok: boolean; readonly text: string | undefined }
  | { readonly type: 'state'; readonly state: SessionState };

const VERBS: ReadonlySet<string> = new Set<Verb>([
  'USER', 'PASS', 'APOP', 'AUTH', 'STAT', 'LIST', 'RETR', 'DELE', 'NOOP', 'RSET', 'QUIT', 'TOP', 'UIDL', 'CAPA', 'STLS', 'UTF8', 'LANG',
]);

/** The verb a command carries out: for a raw line, its first word when that is a known verb. */
export function verbOf(command: DemoCommand): Verb {
  if (command.verb !== 'RAW') return command.verb;
  const word = command.line.trim().split(/\s+/)[0]?.toUpperCase() ?? '';
  return VERBS.has(word) ? (word as Verb) : 'RAW';
}

/** The signal in an App event, if it says anything the lesson cares about. */
export function lessonSignal(event: AppEvent): LessonSignal | undefined {
  switch (event.type) {
    case 'session':
      return event.session === undefined ? { type: 'disconnected' } : { type: 'connected' };
    case 'session-event': {
      const inner = event.event;
      if (inner.type === 'state') return { type: 'state', state: inner.state };
      if (inner.type === 'closed') return { type: 'disconnected' };
      if (inner.type === 'outcome') {
        const { outcome } = inner;
        return { type: 'outcome', verb: verbOf(inner.command), ok: outcome.ok, text: outcome.ok ? outcome.text : undefined };
      }
      return undefined;
    }
    default:
      return undefined;
  }
}

/** Whether `signal` shows that the learner did `step`. */
export function stepSatisfied(step: LessonStep, signal: LessonSignal): boolean {
  if (step.id === 'connect') return signal.type === 'connected';
  if (signal.type !== 'outcome' || !signal.ok) return false;
  // APOP and AUTH log in without USER: they complete the USER step too (the PASS step is then skipped).
  if (step.id === 'user') return signal.verb === 'USER' || signal.verb === 'APOP' || signal.verb === 'AUTH';
  return step.verbs.includes(signal.verb);
}

/** Where the learner is. `done[i]` says step i was done (not merely skipped). */
export interface LessonProgress {
  readonly index: number;
  readonly done: readonly boolean[];
  /** The step finished last, and how: for the "well done" line on the next card. */
  readonly last: { readonly id: LessonStepId; readonly how: 'done' | 'skipped' } | undefined;
}

/** What the session is like now, as far as the lesson needs to know. */
export interface SessionView {
  readonly closed: boolean;
  readonly state: SessionState;
  /** The engine's own answer: why a command with this verb would be refused now (undefined: it would go). */
  refusalOf(verb: Verb): string | undefined;
}

/** The lesson's view of a session: the engine's state (already updated when an outcome is reported). */
export function sessionView(session: DemoSession | undefined): SessionView | undefined {
  if (session === undefined) return undefined;
  return {
    closed: session.closed,
    state: session.engine.state,
    refusalOf: (verb) => session.engine.refusalOf(verb),
  };
}

export type LessonInput =
  | { readonly type: 'signal'; readonly signal: LessonSignal; readonly session?: SessionView | undefined }
  | { readonly type: 'acknowledge' }
  | { readonly type: 'next' }
  | { readonly type: 'back' }
  | { readonly type: 'restart'; readonly session?: SessionView | undefined };

/** A fresh lesson; an open session means the connect step is already done. */
export function startLesson(session?: SessionView): LessonProgress {
  const start: LessonProgress = { index: 0, done: LESSON_STEPS.map(() => false), last: undefined };
  return session !== undefined && !session.closed ? complete(start, 'done', session) : start;
}

export function currentStep(progress: LessonProgress): LessonStep | undefined {
  return LESSON_STEPS[progress.index];
}

export function isComplete(progress: LessonProgress): boolean {
  return progress.index >= LESSON_STEPS.length;
}

/** The lesson after `input`. Pure: the same progress and input give the same result. */
export function advanceLesson(progress: LessonProgress, input: LessonInput): LessonProgress {
  const step = currentStep(progress);
  switch (input.type) {
    case 'restart':
      return startLesson(input.session);
    case 'back':
      return progress.index === 0 ? progress : { ...progress, index: progress.index - 1, last: undefined };
    case 'next':
      return step === undefined ? progress : complete(progress, 'skipped');
    case 'acknowledge':
      return step?.id === 'greeting' ? complete(progress, 'done') : progress;
    case 'signal':
      if (step === undefined || !stepSatisfied(step, input.signal)) return progress;
      return complete(progress, 'done', input.session);
  }
}

/** Mark the current step and move on; then skip the PASS step if the learner is already logged in. */
function complete(progress: LessonProgress, how: 'done' | 'skipped', session?: SessionView): LessonProgress {
  const step = currentStep(progress)!;
  const done = progress.done.slice();
  if (how === 'done') done[progress.index] = true;
  let index = progress.index + 1;
  if (how === 'done' && LESSON_STEPS[index]?.id === 'pass' && session !== undefined && session.state === 'transaction') {
    done[index] = true;
    index++;
  }
  return { index, done, last: { id: step.id, how } };
}

/** What "do it for me" does for a step. */
export type LessonAction =
  | { readonly kind: 'connect' }
  | { readonly kind: 'acknowledge' }
  | { readonly kind: 'send'; readonly command: DemoCommand };

/**
 * The action for `step`; undefined when the page cannot do it (USER and PASS for a server whose account
 * the page does not know).
 */
export function lessonAction(step: LessonStep, credentials: Credentials | undefined): LessonAction | undefined {
  switch (step.id) {
    case 'connect':
      return { kind: 'connect' };
    case 'greeting':
      return { kind: 'acknowledge' };
    case 'capa':
      return send({ verb: 'CAPA' });
    case 'user':
      return credentials === undefined ? undefined : send({ verb: 'USER', name: credentials.user });
    case 'pass':
      return credentials === undefined ? undefined : send({ verb: 'PASS', password: credentials.password });
    case 'stat':
      return send({ verb: 'STAT' });
    case 'list':
      return send({ verb: 'LIST' });
    case 'uidl':
      return send({ verb: 'UIDL' });
    case 'top':
      return send({ verb: 'TOP', message: 1, lines: 3 });
    case 'retr':
      return send({ verb: 'RETR', message: 1 });
    case 'dele':
    case 'commit':
      return send({ verb: 'DELE', message: 1 });
    case 'rset':
      return send({ verb: 'RSET' });
    case 'quit':
      return send({ verb: 'QUIT' });
  }
}

function send(command: DemoCommand): LessonAction {
  return { kind: 'send', command };
}

/** Why a step cannot be done now, as a key of the `lesson.blocked` strings; undefined when it can. */
export type LessonBlocker = 'connect' | 'loginFirst' | 'loggedIn' | 'userFirst' | 'notNow';

export function lessonBlocker(step: LessonStep, session: SessionView | undefined): LessonBlocker | undefined {
  if (step.needs === 'nothing') return undefined;
  if (session === undefined || session.closed) return 'connect';
  if (step.needs === 'session') return undefined;
  const verb = step.verbs[0]!;
  if (session.refusalOf(verb) === undefined) return undefined;
  if (step.needs === 'transaction' && session.state === 'authorization') return 'loginFirst';
  if (step.needs === 'authorization' && session.state === 'transaction') return 'loggedIn';
  if (verb === 'PASS' && session.state === 'authorization') return 'userFirst';
  return 'notNow';
}

/** `+OK bye (13 messages left)` → 13: what the server said is left after UPDATE, when it says so. */
export function messagesLeft(quitText: string | undefined): number | undefined {
  const match = /(\d+)\s+messages?\b/i.exec(quitText ?? '');
  return match ? Number(match[1]) : undefined;
}
