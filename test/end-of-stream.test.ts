/**
 * The connection drops at every byte of every real-server session.
 *
 * For each fixture and each cut (the first k bytes of each TLS epoch, with "TLS established but nothing
 * received yet" as its own cut), the server stream is fed up to the cut and then ended. The engine must
 * report exactly one `closed` event: clean if the QUIT reply was complete, otherwise a RemoteProtocolError
 * POP3_ERR_UNEXPECTED_END whose message names what was cut off. Every command whose complete reply was in
 * the prefix ends as it did in the full session; every other one fails, and never reports `done`.
 *
 * What "complete" means, and what the message must name, is worked out below from the fixture's S: lines
 * by a small line walker of this file's own, not by asking the engine.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../core/errors.js';
import {
  FIXTURE_PASSWORD,
  findTranscripts,
  type NormalizedEvent,
  type NormalizedHandle,
  replay,
  type ReplayResult,
  type Transcript,
} from './support/transcript.js';

const FIXTURES = findTranscripts(new URL('./fixtures/real-servers/', import.meta.url));
const MODES = ['lockstep', 'upfront'] as const;

// ─── The independent oracle ───────────────────────────────────────────────────────────────────────────────

/** A point in the server stream: `offset` bytes into TLS epoch `epoch`. */
interface Position {
  readonly epoch: number;
  readonly offset: number;
}

function atOrBefore(a: Position, b: Position): boolean {
  return a.epoch < b.epoch || (a.epoch === b.epoch && a.offset <= b.offset);
}

type Role = 'status' | 'challenge' | 'listing' | 'body' | 'terminator';

interface ReplyLine {
  readonly epoch: number;
  readonly start: number;
  readonly end: number;
  readonly role: Role;
  /** The line as a byte string, line end included. */
  readonly bytes: string;
}

interface Reply {
  /** The command line, as the transcript has it. */
  readonly text: string;
  /** How the engine shows it (secrets redacted). */
  readonly shown: string;
  readonly shape: 'single' | 'listing' | 'body' | 'sasl';
  readonly lines: readonly ReplyLine[];
  /** Where its last line ends. */
  readonly end: Position;
}

interface Session {
  readonly greetingEnd: Position;
  /** The replies in command order (the same order as ReplayResult.commands). */
  readonly replies: readonly Reply[];
}

function shapeOf(text: string): Reply['shape'] {
  const [verb, ...args] = text.split(' ');
  if (verb === 'AUTH') return 'sasl';
  if (verb === 'RETR' || verb === 'TOP') return 'body';
  if (verb === 'CAPA' || ((verb === 'LIST' || verb === 'UIDL') && args.length === 0)) return 'listing';
  return 'single';
}

/** How a command appears in messages: the password of PASS, the APOP digest and an AUTH initial response redacted. */
function shownAs(text: string): string {
  if (text.startsWith('PASS ')) return 'PASS [redacted]';
  const secretLast = /^(AUTH \S+|APOP \S+) \S+$/.exec(text);
  return secretLast === null ? text : `${secretLast[1]} [redacted]`;
}

/** Assign every S: line to the greeting or to the command it answers. */
function analyse(transcript: Transcript): Session {
  let greetingEnd: Position | undefined;
  const pending: { text: string; lines: ReplyLine[]; inBody: boolean }[] = [];
  const replies: Reply[] = [];
  let epoch = 0;
  let offset = 0;
  for (const step of transcript.steps) {
    if (step.kind === 'tls') {
      epoch++;
      offset = 0;
    } else if (step.kind === 'client' && !step.sasl) {
      pending.push({ text: step.text, lines: [], inBody: false });
    } else if (step.kind === 'server') {
      const bytes = Buffer.from(step.bytes).toString('latin1');
      const line = { epoch, start: offset, end: offset + bytes.length, bytes };
      offset = line.end;
      if (greetingEnd === undefined) {
        greetingEnd = { epoch, offset };
        continue;
      }
      const head = pending[0];
      if (head === undefined) throw new Error(`S: line with no command to answer: ${bytes}`);
      const shape = shapeOf(head.text);
      let role: Role;
      let last = false;
      if (head.inBody) {
        role = bytes === '.\r\n' ? 'terminator' : shape === 'body' ? 'body' : 'listing';
        last = role === 'terminator';
      } else if (shape === 'sasl' && (bytes === '+\r\n' || bytes.startsWith('+ '))) {
        role = 'challenge';
      } else {
        role = 'status';
        head.inBody = bytes.startsWith('+OK') && (shape === 'body' || shape === 'listing');
        last = !head.inBody;
      }
      head.lines.push({ ...line, role });
      if (last) {
        pending.shift();
        replies.push({ text: head.text, shown: shownAs(head.text), shape, lines: head.lines, end: { epoch, offset } });
      }
    }
  }
  if (greetingEnd === undefined || pending.length > 0) throw new Error('the transcript leaves a command unanswered');
  return { greetingEnd, replies };
}

/**
 * The body bytes a streaming unstuffer must have delivered when the stream stops at `cut`: every complete
 * line without its stuffed dot, and of a partial line all that arrived, except a line-start `.` (or `.` CR)
 * that cannot be told apart from the terminator yet.
 */
function bodyBefore(reply: Reply, cut: Position): string {
  let body = '';
  for (const line of reply.lines) {
    if (line.role !== 'body' && line.role !== 'terminator') continue;
    if (line.epoch !== cut.epoch || line.start >= cut.offset) break;
    const arrived = line.bytes.slice(0, cut.offset - line.start);
    if (line.role === 'terminator') break;
    if (!arrived.startsWith('.')) body += arrived;
    else if (arrived !== '.\r') body += arrived.slice(1);
  }
  return body;
}

/** The words the end-of-stream error must contain for a cut at `cut`. */
function expectedWords(session: Session, cut: Position, tlsCut: boolean): string {
  if (!atOrBefore(session.greetingEnd, cut)) return 'before the greeting';
  if (tlsCut) return 'before the TLS handshake after STLS';
  const head = session.replies.find((reply) => !atOrBefore(reply.end, cut))!;
  const arrived = head.lines.filter((line) => line.epoch === cut.epoch && line.start < cut.offset);
  const partial = arrived.find((line) => line.end > cut.offset);
  const complete = arrived.filter((line) => line.end <= cut.offset);
  const inBody = complete.some((line) => line.role === 'status') && head.shape !== 'single';
  if (inBody && head.shape === 'body') return `in the middle of the body of ${head.shown} after ${bodyBefore(head, cut).length} octets`;
  if (inBody && head.shape === 'listing') {
    return `in the middle of the ${head.shown} listing after ${complete.filter((line) => line.role === 'listing').length} lines`;
  }
  if (partial !== undefined) return `in the middle of the reply line to ${head.shown}`;
  return `while waiting for the reply to ${head.shown}`;
}

/** Every place the stream can stop: every offset of every epoch; (e, length) and (e + 1, 0) differ by TLS. */
function cuts(transcript: Transcript): Position[] {
  return transcript.serverEpochs.flatMap((bytes, epoch) => Array.from({ length: bytes.length + 1 }, (_, offset) => ({ epoch, offset })));
}

// ─── Reading results ──────────────────────────────────────────────────────────────────────────────────────

function outcomeOf(result: ReplayResult, handle: NormalizedHandle): NormalizedEvent[] {
  return result.events.filter((event) => 'handle' in event && event.handle.id === handle.id && ['done', 'rejected', 'failed'].includes(event.type));
}

function dataOf(result: ReplayResult, handle: NormalizedHandle): string {
  return result.events.map((event) => (event.type === 'data' && event.handle.id === handle.id ? event.data : '')).join('');
}

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * What is wrong with the session cut at `cut`, as messages (empty when all is well). Plain comparisons
 * rather than expect(): there are tens of thousands of cuts, and one expect() on the list per fixture
 * reports every problem at a fraction of the cost.
 */
function checkCut(transcript: Transcript, session: Session, full: ReplayResult, mode: (typeof MODES)[number], cut: Position): string[] {
  const problems: string[] = [];
  const where = `cut at byte ${cut.offset} of epoch ${cut.epoch} (${mode})`;
  const fail = (what: string, actual: unknown): void => void problems.push(`${where}: ${what}; got ${JSON.stringify(actual)}`);

  let result: ReplayResult;
  try {
    result = replay(transcript, { chunks: (epoch) => [epoch], mode, cut });
  } catch (error) {
    return [`${where}: an exception escaped: ${String(error)}`];
  }

  const closed = result.events.filter((event) => event.type === 'closed');
  if (closed.length !== 1) fail('exactly one closed event', closed);
  if (result.events[result.events.length - 1] !== closed[0]) fail('closed must be the last event', result.events.slice(-1));
  const error = (closed[0] as Extract<NormalizedEvent, { type: 'closed' }> | undefined)?.error;

  const quit = session.replies[session.replies.length - 1]!;
  if (atOrBefore(quit.end, cut)) {
    if (error !== undefined) fail('after the QUIT reply the end is clean', error);
    if (!same(result.events, full.events)) fail('the same events as the whole session', result.events);
    return problems;
  }

  // The STLS reply is complete but the handshake never happened.
  const tlsCut = cut.epoch < transcript.serverEpochs.length - 1 && cut.offset === transcript.serverEpochs[cut.epoch]!.length;
  const words = expectedWords(session, cut, tlsCut);
  if (error?.name !== 'RemoteProtocolError' || error.code !== ErrorCode.UnexpectedEnd) fail('a RemoteProtocolError POP3_ERR_UNEXPECTED_END', error);
  if (!error?.message.includes(words)) fail(`the message names the cut: "${words}"`, error?.message);
  if (error?.message.includes(FIXTURE_PASSWORD)) fail('no secret in the message', error.message);
  if (!same(result.error, error) || result.state !== 'failed') fail('the error sticks', [result.state, result.error]);

  result.commands.forEach((command, index) => {
    if (command.handle === undefined) return; // lockstep: never sent, so nothing to report
    const reply = session.replies[index]!;
    const outcome = outcomeOf(result, command.handle);
    if (outcome.length !== 1) return fail(`${command.text} has one outcome`, outcome);
    if (atOrBefore(reply.end, cut)) {
      // Answered before the cut: exactly as in the whole session.
      const expected = outcomeOf(full, full.commands[index]!.handle!)[0];
      if (!same(outcome[0], expected)) fail(`${command.text} ends as in the whole session`, outcome[0]);
      return;
    }
    if (!same(outcome[0], { type: 'failed', handle: command.handle, error })) fail(`${command.text} was cut off, so it fails`, outcome[0]);
    if (reply.shape === 'body') {
      // A truncated body is never reported complete, and what was delivered is the start of the real body.
      const delivered = dataOf(result, command.handle);
      if (delivered !== bodyBefore(reply, cut)) fail(`${command.text} delivers all the body that arrived`, delivered);
      if (!dataOf(full, full.commands[index]!.handle!).startsWith(delivered)) fail(`${command.text} delivers a prefix of the body`, delivered);
    }
  });
  return problems;
}

describe.each(FIXTURES.map((file) => [file.path, file.transcript] as const))('%s', (_path, transcript) => {
  const session = analyse(transcript);
  it.each(MODES)('ends cleanly or with the cut named, at every byte (%s)', (mode) => {
    const full = replay(transcript, { chunks: (epoch) => [epoch], mode });
    expect(full.error).toBeUndefined();
    expect(full.commands.map((command) => command.text)).toEqual(session.replies.map((reply) => reply.text));
    const problems = cuts(transcript).flatMap((cut) => checkCut(transcript, session, full, mode, cut));
    expect(problems.slice(0, 20)).toEqual([]);
  });
});

describe('the oracle', () => {
  // Guards the line walker itself, so that a bug in it cannot make the tests above vacuous.
  const dovecot = FIXTURES.find((file) => file.path === 'dovecot/retr-dots.txt')!.transcript;
  const session = analyse(dovecot);

  it('finds one reply per command and the body of RETR 2', () => {
    expect(session.replies.map((reply) => [reply.text, reply.shape])).toEqual([
      ['USER alice', 'single'],
      ['PASS alice-pw', 'single'],
      ['RETR 2', 'body'],
      ['QUIT', 'single'],
    ]);
    const retr = session.replies[2]!;
    expect(bodyBefore(retr, retr.end)).toContain('single dot:\r\n.\r\nThe next line is two dots:\r\n..\r\n');
  });

  it('names the cut in each phase', () => {
    const retr = session.replies[2]!;
    const status = retr.lines[0]!;
    const dotLine = retr.lines.find((line) => line.bytes === '..\r\n')!;
    const at = (offset: number) => expectedWords(session, { epoch: 0, offset }, false);
    expect(at(0)).toBe('before the greeting');
    expect(at(status.start)).toBe('while waiting for the reply to RETR 2');
    expect(at(status.start + 1)).toBe('in the middle of the reply line to RETR 2');
    expect(at(status.end)).toBe('in the middle of the body of RETR 2 after 0 octets');
    // Within `..` CRLF: the first dot is dropped, the second is content.
    const before = bodyBefore(retr, { epoch: 0, offset: dotLine.start }).length;
    expect(at(dotLine.start + 1)).toBe(`in the middle of the body of RETR 2 after ${before} octets`);
    expect(at(dotLine.start + 2)).toBe(`in the middle of the body of RETR 2 after ${before + 1} octets`);
    expect(at(session.replies[1]!.end.offset)).toBe('while waiting for the reply to RETR 2');
  });
});
