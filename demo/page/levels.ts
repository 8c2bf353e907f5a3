/**
 * Levels: a goal on the sample mailbox, a record of what the learner sent (commands, round trips, outcomes),
 * and a checker for each goal: a pure function of that record, the mailbox as it was at the start (the
 * sample, with the real From headers of its messages) and the UIDs found in it afterwards. Each level also has
 * a model solution, which the page can play to show one way to do it. No DOM here: lesson-levels-view.ts
 * draws the levels, and the tests check the checkers against the real offline server.
 */
import { fromBase64 } from '../../core/bytes.js';
import type { CommandResult } from '../../core/client-engine.js';
import type { Verb } from '../../core/commands.js';
import type { AppEvent } from './app.js';
import { type Credentials, verbOf } from './lesson.js';
import type { SampleMailbox } from './offline-server.js';
import type { DemoCommand, Outcome } from './session.js';

export const LEVEL_IDS = ['sender', 'largest', 'subjects', 'keep'] as const;
export type LevelId = (typeof LEVEL_IDS)[number];

// ─── The sample mailbox ────────────────────────────────────────────────────────────────────────────────

/** A message of the sample mailbox as a level sees it. */
export interface SampleMessage {
  /** Its number in a fresh session (the sample's order). */
  readonly number: number;
  readonly uid: string;
  /** The address of its From header, lower-cased. */
  readonly from: string;
}

/** The header field `name` of a message (unfolded), or undefined. Only the header section is read. */
export function headerField(message: Uint8Array, name: string): string | undefined {
  const text = new TextDecoder('latin1').decode(message);
  const end = text.search(/\r?\n\r?\n/);
  const head = (end === -1 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const wanted = name.toLowerCase();
  for (const line of head.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === wanted) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** The address in a From field (`Name <a@b>` or `a@b`), lower-cased. */
export function addressOf(from: string): string {
  const angle = /<([^<>]*)>/.exec(from);
  return (angle ? angle[1]! : from).trim().toLowerCase();
}

/** The sample's messages with their senders, in the order a fresh session numbers them. */
export function sampleMessages(sample: SampleMailbox): SampleMessage[] {
  return sample.messages.map((message, i) => ({
    number: i + 1,
    uid: message.uid,
    from: addressOf(headerField(fromBase64(message.content) ?? new Uint8Array(0), 'From') ?? ''),
  }));
}

/** The sender whose messages the "sender" level deletes. */
export const PREFERRED_SENDER = 'bob.nakamura@example.com';

/** The preferred sender when the sample has several of their messages, else the first sender who has. */
export function targetSender(messages: readonly SampleMessage[]): string {
  const count = (address: string) => messages.filter((message) => message.from === address).length;
  if (count(PREFERRED_SENDER) >= 2) return PREFERRED_SENDER;
  return messages.find((message) => count(message.from) >= 2)?.from ?? messages[0]?.from ?? PREFERRED_SENDER;
}

// ─── Recording what the learner does ───────────────────────────────────────────────────────────────────

/** One command's outcome as a level keeps it (never a password). */
export interface RecordedOutcome {
  /** The verb carried out (a raw `TOP 1 0` counts as TOP). */
  readonly verb: Verb;
  readonly message: number | undefined;
  /** TOP: the number of body lines asked for. */
  readonly lines: number | undefined;
  readonly ok: boolean;
  /** The response code of an -ERR. */
  readonly code: string | undefined;
  readonly result: CommandResult | undefined;
}

export interface LevelRecord {
  readonly outcomes: readonly RecordedOutcome[];
  /** Command lines that went on the wire. */
  readonly commandsSent: number;
  /** Times the client sent while nothing was in flight, then waited: pipelined commands share one. */
  readonly roundTrips: number;
  /** A QUIT was answered +OK (so the server went through UPDATE if anything was marked). */
  readonly quitOk: boolean;
  /** The App has an open session now. */
  readonly sessionOpen: boolean;
}

export const EMPTY_RECORD: LevelRecord = { outcomes: [], commandsSent: 0, roundTrips: 0, quitOk: false, sessionOpen: false };

/** The numbers in a command: its message and, for TOP, its line count (raw lines too). */
function argumentsOf(command: DemoCommand): { message: number | undefined; lines: number | undefined } {
  if (command.verb === 'RAW') {
    const [, message, lines] = command.line.trim().split(/\s+/).map((word) => (/^\d+$/.test(word) ? Number(word) : undefined));
    return { message, lines };
  }
  const message = 'message' in command ? command.message : undefined;
  const lines = command.verb === 'TOP' ? command.lines : undefined;
  return { message, lines };
}

/** The record after one more App event. Pure. */
export function recordEvent(record: LevelRecord, event: AppEvent): LevelRecord {
  if (event.type === 'session') return { ...record, sessionOpen: event.session !== undefined && !event.session.closed };
  if (event.type !== 'session-event') return record;
  const inner = event.event;
  switch (inner.type) {
    case 'entry': {
      const { entry } = inner;
      if (entry.from !== 'client' || entry.kind !== 'command') return record;
      return { ...record, commandsSent: record.commandsSent + 1, roundTrips: record.roundTrips + (entry.inFlight === 1 ? 1 : 0) };
    }
    case 'outcome': {
      const { command, outcome } = inner;
      // A command the client refused never reached the server: it is not part of the attempt.
      if (!outcome.ok && outcome.handle === undefined) return record;
      const verb = verbOf(command);
      const recorded: RecordedOutcome = {
        verb,
        ...argumentsOf(command),
        ok: outcome.ok,
        code: outcome.ok ? undefined : 'responseCode' in outcome.error ? (outcome.error.responseCode as string | undefined) : undefined,
        result: outcome.ok ? outcome.result : undefined,
      };
      return { ...record, outcomes: [...record.outcomes, recorded], quitOk: record.quitOk || (verb === 'QUIT' && outcome.ok) };
    }
    case 'closed':
      return { ...record, sessionOpen: false };
    default:
      return record;
  }
}

// ─── Checking ──────────────────────────────────────────────────────────────────────────────────────────

/** Everything a checker may look at. */
export interface LevelFacts {
  readonly record: LevelRecord;
  /** The mailbox at the start of the attempt (the sample, just reset). */
  readonly before: readonly SampleMessage[];
  /** The sender of the "sender" level. */
  readonly sender: string;
  /** The UIDs stored after the session ended, from a look of its own; undefined when not looked at. */
  readonly after: readonly string[] | undefined;
  /** The learner's answer (the "largest" level). */
  readonly answer: number | undefined;
}

/** A checker's answer: `key` names a string of `levels.verdicts`; `perfect` when the score matches par. */
export interface LevelVerdict {
  readonly status: 'success' | 'fail' | 'incomplete';
  readonly key: string;
  readonly params: Readonly<Record<string, string | number>>;
  readonly perfect: boolean;
}

export interface Level {
  readonly id: LevelId;
  /** The score that cannot be beaten: commands sent, or round trips for the "subjects" level. */
  readonly par: number;
  readonly scoreBy: 'commands' | 'roundTrips';
  /** The mailbox must be looked at after the session ended (the goal is about what is stored). */
  readonly needsEnd: boolean;
  /** The learner types a message number as the answer. */
  readonly needsAnswer: boolean;
  check(facts: LevelFacts): LevelVerdict;
}

const verdict = (
  status: LevelVerdict['status'],
  key: string,
  params: Readonly<Record<string, string | number>> = {},
  perfect = false,
): LevelVerdict => ({ status, key, params, perfect });

function score(level: Level, record: LevelRecord): number {
  return level.scoreBy === 'commands' ? record.commandsSent : record.roundTrips;
}

function succeeded(level: Level, record: LevelRecord, key = 'success'): LevelVerdict {
  const value = score(level, record);
  return verdict('success', key, { score: value, par: level.par }, value <= level.par);
}

const used = (record: LevelRecord, verb: Verb) => record.outcomes.filter((outcome) => outcome.verb === verb);

/** The session must be over and the mailbox looked at before a goal about what is stored can be judged. */
function endedAndLooked(facts: LevelFacts): { readonly verdict: LevelVerdict } | { readonly stored: ReadonlySet<string> } {
  if (facts.record.sessionOpen) return { verdict: verdict('incomplete', 'endSession') };
  if (facts.after === undefined) return { verdict: verdict('incomplete', 'notLooked') };
  return { stored: new Set(facts.after) };
}

const senderLevel: Level = {
  id: 'sender',
  // USER, PASS, two DELE, QUIT: when you already know which messages are theirs.
  par: 5,
  scoreBy: 'commands',
  needsEnd: true,
  needsAnswer: false,
  check(facts) {
    const after = endedAndLooked(facts);
    if ('verdict' in after) return after.verdict;
    const { stored } = after;
    const theirs = facts.before.filter((message) => message.from === facts.sender);
    const others = facts.before.filter((message) => message.from !== facts.sender);
    const lostOthers = others.filter((message) => !stored.has(message.uid));
    const keptTheirs = theirs.filter((message) => stored.has(message.uid));
    if (lostOthers.length > 0) return verdict('fail', 'lostOthers', { count: lostOthers.length, numbers: lostOthers.map((m) => m.number).join(', ') });
    if (keptTheirs.length === theirs.length) return verdict('fail', facts.record.quitOk ? 'nothingDeleted' : 'noQuit');
    if (keptTheirs.length > 0) return verdict('fail', 'keptSome', { count: keptTheirs.length, numbers: keptTheirs.map((m) => m.number).join(', ') });
    return succeeded(this, facts.record);
  },
};

const largestLevel: Level = {
  id: 'largest',
  // USER, PASS, LIST.
  par: 3,
  scoreBy: 'commands',
  needsEnd: false,
  needsAnswer: true,
  check(facts) {
    const downloads = [...used(facts.record, 'RETR'), ...used(facts.record, 'TOP')];
    if (downloads.length > 0) return verdict('fail', 'downloaded', { count: downloads.length });
    const sizes = new Map<number, number>();
    for (const outcome of used(facts.record, 'LIST')) {
      if (outcome.result?.verb === 'LIST') for (const entry of outcome.result.entries) sizes.set(entry.message, entry.size);
    }
    if (sizes.size === 0) return verdict('incomplete', 'listFirst');
    if (facts.answer === undefined) return verdict('incomplete', 'answerFirst');
    let largest = 0;
    let largestSize = -1;
    for (const [message, size] of sizes) {
      if (size > largestSize) [largest, largestSize] = [message, size];
    }
    if (facts.answer !== largest) return verdict('fail', 'wrongAnswer', { answer: facts.answer });
    const result = succeeded(this, facts.record);
    return { ...result, params: { ...result.params, message: largest, size: largestSize } };
  },
};

const subjectsLevel: Level = {
  id: 'subjects',
  // CAPA, then USER and PASS together, then every TOP n 0 (and QUIT) together.
  par: 3,
  scoreBy: 'roundTrips',
  needsEnd: false,
  needsAnswer: false,
  check(facts) {
    const bodies = used(facts.record, 'RETR').length + used(facts.record, 'TOP').filter((o) => o.lines !== 0).length;
    if (bodies > 0) return verdict('fail', 'bodies', { count: bodies });
    const read = new Set(used(facts.record, 'TOP').filter((o) => o.ok && o.message !== undefined).map((o) => o.message!));
    const missing = facts.before.filter((message) => !read.has(message.number)).length;
    if (missing > 0) return verdict('incomplete', 'missing', { missing, count: facts.before.length });
    return succeeded(this, facts.record, facts.record.roundTrips <= this.par ? 'success' : 'successSlow');
  },
};

const keepLevel: Level = {
  id: 'keep',
  // USER, PASS, RETR 3, QUIT.
  par: 4,
  scoreBy: 'commands',
  needsEnd: true,
  needsAnswer: false,
  check(facts) {
    const downloaded = used(facts.record, 'RETR').some((outcome) => outcome.ok && outcome.message === 3);
    if (!downloaded) return verdict(facts.record.sessionOpen ? 'incomplete' : 'fail', 'retrFirst');
    const after = endedAndLooked(facts);
    if ('verdict' in after) return after.verdict;
    const { stored } = after;
    const lost = facts.before.filter((message) => !stored.has(message.uid));
    if (lost.length > 0) return verdict('fail', 'committed', { count: lost.length });
    return succeeded(this, facts.record);
  },
};

export const LEVELS: readonly Level[] = [senderLevel, largestLevel, subjectsLevel, keepLevel];

export function levelById(id: LevelId): Level {
  return LEVELS.find((level) => level.id === id)!;
}

// ─── Model solutions ───────────────────────────────────────────────────────────────────────────────────

/** What a solution needs: a way to send commands in the App's session, and the account. */
export interface LevelDriver {
  send(command: DemoCommand): Promise<Outcome>;
  sendAll(commands: readonly DemoCommand[]): Promise<Outcome[]>;
  readonly credentials: Credentials;
}

/** What a solution found out (the answer for the "largest" level). */
export interface Solution {
  readonly answer?: number;
}

/** `+OK maildrop has 14 messages (…)` → 14. */
function countIn(text: string): number | undefined {
  const match = /(\d+)\s+messages?\b/i.exec(text);
  return match ? Number(match[1]) : undefined;
}

async function logIn(driver: LevelDriver, pipelined: boolean): Promise<number> {
  const user: DemoCommand = { verb: 'USER', name: driver.credentials.user };
  const pass: DemoCommand = { verb: 'PASS', password: driver.credentials.password };
  const outcome = pipelined ? (await driver.sendAll([user, pass]))[1]! : ((await driver.send(user)), await driver.send(pass));
  if (!outcome.ok) throw new Error(`login failed: ${outcome.error.message}`);
  const count = countIn(outcome.text);
  if (count !== undefined) return count;
  const stat = await driver.send({ verb: 'STAT' });
  return stat.ok && stat.result.verb === 'STAT' ? stat.result.count : 0;
}

const numbers = (count: number) => Array.from({ length: count }, (_, i) => i + 1);

/** Play the model solution of a level in the App's session (connected, in the AUTHORIZATION state). */
export async function solveLevel(id: LevelId, driver: LevelDriver, facts: { sender: string }): Promise<Solution> {
  switch (id) {
    case 'sender': {
      await driver.send({ verb: 'CAPA' });
      const count = await logIn(driver, false);
      const heads = await driver.sendAll(numbers(count).map((message): DemoCommand => ({ verb: 'TOP', message, lines: 0 })));
      const theirs = heads.flatMap((outcome, i) =>
        outcome.ok && outcome.body !== undefined && addressOf(headerField(outcome.body, 'From') ?? '') === facts.sender ? [i + 1] : [],
      );
      await driver.sendAll([...theirs.map((message): DemoCommand => ({ verb: 'DELE', message })), { verb: 'QUIT' }]);
      return {};
    }
    case 'largest': {
      await logIn(driver, false);
      const list = await driver.send({ verb: 'LIST' });
      await driver.send({ verb: 'QUIT' });
      if (!list.ok || list.result.verb !== 'LIST') return {};
      const largest = list.result.entries.reduce((best, entry) => (entry.size > best.size ? entry : best));
      return { answer: largest.message };
    }
    case 'subjects': {
      await driver.send({ verb: 'CAPA' });
      const count = await logIn(driver, true);
      await driver.sendAll([...numbers(count).map((message): DemoCommand => ({ verb: 'TOP', message, lines: 0 })), { verb: 'QUIT' }]);
      return {};
    }
    case 'keep':
      await logIn(driver, false);
      await driver.send({ verb: 'RETR', message: 3 });
      await driver.send({ verb: 'QUIT' });
      return {};
  }
}
