/**
 * Transcript fixtures: parse them, and replay them against the client engine.
 *
 * The format (the same for the real-server captures in test/fixtures/real-servers/ and for synthetic
 * transcripts in test/fixtures/transcripts/; see test/fixtures/real-servers/README.md):
 *
 *   - `S: ` + the exact bytes of one line the server sent, its line end included;
 *   - `C: ` + the exact bytes of one line the client sent, its line end included;
 *   - `#no-eol` right after an `S:` or `C:` line: that line had no line end on the wire;
 *   - `# ` + text: a comment. Two comments are markers:
 *       `# TLS established ...`                      the stream is TLS from here on (after STLS, or, before
 *                                                    any data line, implicit TLS from the start);
 *       `# --- the next N C: lines are one write ...` the next N C: lines form one pipelined burst;
 *   - blank lines are ignored.
 *
 * The server stream is cut into TLS epochs at the markers: epoch 0 is everything before the first
 * STLS-established marker, epoch 1 what follows, and so on. A marker before any data line means implicit
 * TLS: it starts no epoch, and the engine is built with `tls: true`.
 *
 * C: lines are of two kinds. Commands are turned into engine calls by the harness (USER x → user(x), APOP
 * name digest → apop(name, password), AUTH MECH [ir] → auth(mechanism(MECH)), ..., anything else →
 * raw(line)); the engine must then produce the line's exact bytes itself. C: lines that answer SASL
 * challenges (after a `+ ` challenge to an AUTH, until the server's +OK or -ERR) are not commands: the
 * engine's SASL mechanism must produce them from the server's challenges (see ReplyTracker).
 *
 * Strings that stand for wire bytes (ReplayResult.clientBytes, .writes, data events, Transcript.clientBytes)
 * are "byte strings": latin1, one character per byte, so they compare byte for byte whatever the encoding.
 *
 * Stable API for other test files: parseTranscript, loadTranscript, findTranscripts, replay,
 * replayEverySplit, splitEvenly / seededChunks / sliceAt, defaultMechanism / realMechanism, byteString,
 * normalizeEvents, and the exported types.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { type ClientEngineOptions, type CommandHandle, type Greeting, Pop3ClientEngine, type Pop3Event } from '../../core/client-engine.js';
import { Pop3Error, ServerError } from '../../core/errors.js';
import { cramMd5, login, plain, type SaslMechanism, scramSha256 } from '../../core/sasl/index.js';
import type { SessionState } from '../../core/session-state.js';

// ─── Parsing ─────────────────────────────────────────────────────────────────────────────────────────────

/** One wire-relevant line of a transcript, in file order. `line` is the 1-based line number in the file. */
export type Step =
  | { readonly kind: 'server'; readonly bytes: Uint8Array; readonly line: number }
  | {
      readonly kind: 'client';
      readonly bytes: Uint8Array;
      /** The line as text (UTF-8), without its line end. */
      readonly text: string;
      /** True for a SASL answer (produced by the mechanism), false for a command (enqueued by the harness). */
      readonly sasl: boolean;
      readonly line: number;
    }
  | { readonly kind: 'tls'; readonly line: number }
  | { readonly kind: 'burst'; readonly count: number; readonly line: number };

export interface Comment {
  readonly line: number;
  /** The text after `# ` (or after `#`). */
  readonly text: string;
}

/** A command line of the transcript. */
export interface TranscriptCommand {
  readonly text: string;
  readonly line: number;
}

/** Commands the client wrote together: one line, or a whole pipelined burst. */
export interface CommandGroup {
  readonly commands: readonly TranscriptCommand[];
  readonly burst: boolean;
  /** The TLS epoch in which the client wrote them. */
  readonly epoch: number;
  /** How many server bytes of that epoch the client had received when it wrote them. */
  readonly offset: number;
}

export interface Transcript {
  /** Server bytes, client lines, TLS and burst markers, in file order (comments excluded). */
  readonly steps: readonly Step[];
  /** Every comment line, markers included. */
  readonly comments: readonly Comment[];
  /** The comment lines before the first data line (for the real servers: server, endpoint, exchange, date). */
  readonly header: readonly string[];
  /** A TLS marker precedes every data line: the whole session is TLS (e.g. port 995). */
  readonly implicitTls: boolean;
  /** The server stream, one array per TLS epoch (at least one, possibly empty). */
  readonly serverEpochs: readonly Uint8Array[];
  /** Every C: line concatenated, as a byte string: what the engine must have written in all. */
  readonly clientBytes: string;
  /** The commands, grouped as written. */
  readonly groups: readonly CommandGroup[];
}

const TLS_MARKER = /^# TLS established\b/;
const BURST_MARKER = /^# --- the next (\d+) C: lines are one write\b/;

/**
 * Parse a transcript. Give bytes (exact) or a string (encoded as UTF-8). Throws an Error naming the line
 * for anything malformed: an unknown line prefix, a misplaced `#no-eol`, a burst marker not followed by
 * its C: lines.
 */
export function parseTranscript(input: string | Uint8Array): Transcript {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const steps: Step[] = [];
  const comments: Comment[] = [];
  const header: string[] = [];
  let implicitTls = false;
  let burstLeft = 0;
  const replies = new ReplyTracker();

  let start = 0;
  for (let number = 1; start < bytes.length; number++) {
    const lf = bytes.indexOf(0x0a, start);
    const end = lf === -1 ? bytes.length : lf + 1;
    const raw = bytes.subarray(start, end);
    start = end;
    const text = utf8Decoder.decode(withoutLineEnd(raw));
    const fail = (why: string): never => {
      throw new Error(`transcript line ${number}: ${why}: ${JSON.stringify(text.slice(0, 60))}`);
    };

    if (text === '') continue;
    if (text === '#no-eol') {
      const last = steps[steps.length - 1];
      if (last === undefined || (last.kind !== 'server' && last.kind !== 'client')) fail('#no-eol must follow an S: or C: line');
      const data = last as Extract<Step, { bytes: Uint8Array }>;
      steps[steps.length - 1] = { ...data, bytes: withoutLineEnd(data.bytes) };
      continue;
    }
    if (text.startsWith('#')) {
      const comment = text.replace(/^# ?/, '');
      comments.push({ line: number, text: comment });
      if (steps.length === 0 && !implicitTls) header.push(comment);
      if (TLS_MARKER.test(text)) {
        if (burstLeft > 0) fail('TLS marker inside a burst');
        if (steps.length === 0) implicitTls = true;
        else steps.push({ kind: 'tls', line: number });
      }
      const burst = BURST_MARKER.exec(text);
      if (burst !== null) {
        if (burstLeft > 0) fail('burst marker inside a burst');
        burstLeft = Number(burst[1]);
        if (burstLeft < 1) fail('a burst needs at least one line');
        steps.push({ kind: 'burst', count: burstLeft, line: number });
      }
      continue;
    }
    const prefix = text.slice(0, 3);
    if (prefix !== 'S: ' && prefix !== 'C: ') fail('a line must start with "S: ", "C: " or "#"');
    const data = raw.subarray(3);
    if (prefix === 'S: ') {
      if (burstLeft > 0) fail(`S: line inside a burst (${burstLeft} C: lines still expected)`);
      steps.push({ kind: 'server', bytes: data, line: number });
      replies.server(data);
      continue;
    }
    const line = text.slice(3);
    steps.push({ kind: 'client', bytes: data, text: line, sasl: replies.client(line), line: number });
    if (burstLeft > 0) burstLeft--;
  }
  if (burstLeft > 0) throw new Error(`transcript ends inside a burst (${burstLeft} C: lines missing)`);

  return { steps, comments, header, implicitTls, ...derive(steps) };
}

/**
 * Tells SASL answers from commands: a C: line is a SASL answer when the oldest unanswered command is an
 * AUTH and the server's last line was a challenge to it. For that it follows which S: lines answer which
 * command, knowing the multi-line replies (LIST, UIDL and LANG without argument, CAPA, RETR, TOP); any
 * other command, raw ones included, is taken to have a single-line reply.
 */
class ReplyTracker {
  #greeted = false;
  #pending: { shape: 'single' | 'multi' | 'sasl'; inBody: boolean }[] = [];
  #challenged = false;

  /** Whether the client line is a SASL answer; if it is a command, remember that it awaits a reply. */
  client(line: string): boolean {
    if (this.#challenged && this.#pending[0]?.shape === 'sasl') {
      this.#challenged = false;
      return true;
    }
    const [verb = '', ...args] = line.split(' ');
    const multi = verb === 'RETR' || verb === 'TOP' || verb === 'CAPA' || (['LIST', 'UIDL', 'LANG'].includes(verb) && args.length === 0);
    this.#pending.push({ shape: verb === 'AUTH' && args.length > 0 ? 'sasl' : multi ? 'multi' : 'single', inBody: false });
    return false;
  }

  server(bytes: Uint8Array): void {
    this.#challenged = false;
    if (!this.#greeted) {
      this.#greeted = true;
      return;
    }
    const head = this.#pending[0];
    if (head === undefined) return; // unsolicited: the engine's business
    const line = byteString(withoutLineEnd(bytes));
    if (head.inBody) {
      if (line === '.') this.#pending.shift();
    } else if (head.shape === 'sasl' && (line === '+' || line.startsWith('+ '))) {
      this.#challenged = true;
    } else if (head.shape === 'multi' && line.startsWith('+OK')) {
      head.inBody = true;
    } else {
      this.#pending.shift();
    }
  }
}

/** Read and parse a transcript file (as bytes, so nothing is lost to decoding). */
export function loadTranscript(path: string | URL): Transcript {
  return parseTranscript(new Uint8Array(readFileSync(path)));
}

/** A transcript file found by {@link findTranscripts}. */
export interface TranscriptFile {
  /** The path below the folder searched, e.g. `dovecot/stat.txt`. */
  readonly path: string;
  /** The first folder of that path (e.g. the server), or '' for a file directly in the folder. */
  readonly group: string;
  /** The file name without `.txt`, e.g. `stat` (for the real servers: the exchange). */
  readonly name: string;
  readonly transcript: Transcript;
}

/**
 * Every `*.txt` transcript below a folder (README files and other extensions are skipped), parsed, sorted
 * by path: new fixture files are picked up without touching the tests.
 */
export function findTranscripts(folder: URL): TranscriptFile[] {
  const files = readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .map((path) => path.split('\\').join('/'))
    .filter((path) => path.endsWith('.txt'))
    .sort();
  return files.map((path) => {
    const parts = path.split('/');
    return {
      path,
      group: parts.length > 1 ? parts[0]! : '',
      name: parts[parts.length - 1]!.slice(0, -'.txt'.length),
      transcript: loadTranscript(new URL(path, folder)),
    };
  });
}

/** The wire streams and command groups that the steps imply. */
function derive(steps: readonly Step[]): Pick<Transcript, 'serverEpochs' | 'clientBytes' | 'groups'> {
  const epochs: Uint8Array[][] = [[]];
  let offset = 0;
  let clientBytes = '';
  const groups: CommandGroup[] = [];
  let burst: { commands: TranscriptCommand[]; left: number; epoch: number; offset: number } | undefined;
  for (const step of steps) {
    switch (step.kind) {
      case 'server':
        epochs[epochs.length - 1]!.push(step.bytes);
        offset += step.bytes.length;
        break;
      case 'tls':
        epochs.push([]);
        offset = 0;
        break;
      case 'burst':
        burst = { commands: [], left: step.count, epoch: epochs.length - 1, offset };
        break;
      case 'client': {
        clientBytes += byteString(step.bytes);
        if (burst !== undefined) {
          // A SASL answer cannot be part of a burst: the whole burst was written at once.
          burst.commands.push({ text: step.text, line: step.line });
          if (--burst.left === 0) {
            groups.push({ commands: burst.commands, burst: true, epoch: burst.epoch, offset: burst.offset });
            burst = undefined;
          }
        } else if (!step.sasl) {
          groups.push({ commands: [{ text: step.text, line: step.line }], burst: false, epoch: epochs.length - 1, offset });
        }
        break;
      }
    }
  }
  return { serverEpochs: epochs.map(concatBytes), clientBytes, groups };
}

// ─── Replay ──────────────────────────────────────────────────────────────────────────────────────────────

export interface NormalizedHandle {
  readonly id: number;
  readonly verb: string;
  readonly command: string;
}

export interface NormalizedError {
  /** The class name: LocalProtocolError, RemoteProtocolError, SaslError, ServerError. */
  readonly name: string;
  readonly code: string;
  /** ServerError only. */
  readonly responseCode?: string | undefined;
  readonly message: string;
}

/**
 * An engine event as plain data that compares with toEqual and JSON: handles and errors flattened, the
 * consecutive `data` events of a handle merged into one byte string (a handle's body arrives without
 * other events in between), challenges revealed as byte strings, `trace` events dropped.
 */
export type NormalizedEvent =
  | { readonly type: 'greeting'; readonly greeting: Greeting }
  | {
      readonly type: 'status';
      readonly handle: NormalizedHandle;
      readonly text: string;
      readonly code: string | undefined;
      readonly octets: number | undefined;
    }
  | { readonly type: 'data'; readonly handle: NormalizedHandle; readonly data: string }
  | { readonly type: 'challenge'; readonly handle: NormalizedHandle; readonly challenge: string }
  | { readonly type: 'starttls' }
  | {
      readonly type: 'done';
      readonly handle: NormalizedHandle;
      readonly text: string;
      readonly code: string | undefined;
      readonly result: unknown;
    }
  | { readonly type: 'rejected'; readonly handle: NormalizedHandle; readonly error: NormalizedError }
  | { readonly type: 'failed'; readonly handle: NormalizedHandle; readonly error: NormalizedError }
  | { readonly type: 'closed'; readonly error: NormalizedError | undefined };

export interface ReplayOptions {
  /**
   * How to slice each TLS epoch of the server stream into receive() calls; the slices must concatenate to
   * the epoch (checked). `epoch` is the epoch's index.
   */
  readonly chunks: (serverEpoch: Uint8Array, epoch: number) => Uint8Array[];
  /** Engine options; `tls` defaults to true for an implicit-TLS transcript. */
  readonly engine?: ClientEngineOptions;
  /**
   * - `lockstep` (default): enqueue each command group (one line, or a whole burst) only when the engine is
   *   idle: greeting received, nothing pending, not waiting for TLS. The chunks are also cut where the
   *   client wrote each group, since a real server cannot answer a command before it is sent.
   * - `upfront`: enqueue everything before the first byte; commands that need the greeting (APOP) and
   *   those after them right after the greeting (the chunks are cut there).
   */
  readonly mode?: 'lockstep' | 'upfront';
  /** The SASL mechanism for `AUTH name`; default {@link defaultMechanism}. */
  readonly mechanism?: (name: string) => SaslMechanism;
  /** The password APOP hashes; default `alice-pw`. */
  readonly password?: string;
  /** Whether a raw command line's +OK starts a dot-terminated body; default: never. */
  readonly rawMultiline?: (line: string) => boolean;
  /**
   * End the stream early: feed the epochs before `epoch` whole, then the first `offset` bytes of epoch
   * `epoch`, then receiveEnd(). `{ epoch: 1, offset: 0 }` means the TLS handshake completed but nothing
   * arrived over it; `{ epoch: 0, offset: serverEpochs[0].length }` means it never happened.
   */
  readonly cut?: { readonly epoch: number; readonly offset: number };
}

export interface ReplayResult {
  /** Everything takeOutgoing() returned, concatenated (byte string). */
  readonly clientBytes: string;
  /** Each takeOutgoing() result separately (byte strings): shows what left in one write. */
  readonly writes: readonly string[];
  readonly events: readonly NormalizedEvent[];
  /** The events as the engine produced them (trace included), for instanceof checks. */
  readonly rawEvents: readonly Pop3Event[];
  /** Every command of the transcript, with its handle (undefined if it was never enqueued). */
  readonly commands: readonly { readonly text: string; readonly handle: NormalizedHandle | undefined }[];
  /** Commands the engine refused to enqueue (it threw a Pop3Error), in order. */
  readonly refused: readonly { readonly text: string; readonly error: NormalizedError }[];
  readonly state: SessionState;
  readonly error: NormalizedError | undefined;
  /** The engine after receiveEnd(), for its getters. */
  readonly engine: Pop3ClientEngine;
}

/**
 * Replay a transcript against a fresh client engine: commands from its C: lines, server bytes from its S:
 * lines in the given slicing, tlsStarted() at each TLS marker once the engine asked for it, receiveEnd() at
 * the end. Only a bug escapes as an exception; everything the engine reports is in the result.
 */
export function replay(transcript: Transcript, options: ReplayOptions): ReplayResult {
  const mode = options.mode ?? 'lockstep';
  const engine = new Pop3ClientEngine({ tls: transcript.implicitTls, ...options.engine });
  const send = commandSender(options);

  const rawEvents: Pop3Event[] = [];
  const writes: string[] = [];
  const refused: { text: string; error: NormalizedError }[] = [];
  const commands: { text: string; handle: NormalizedHandle | undefined }[] = [];
  let greeted = false;

  const drain = (): void => {
    for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
      rawEvents.push(event);
      if (event.type === 'greeting') greeted = true;
    }
    const out = engine.takeOutgoing();
    if (out !== undefined) writes.push(byteString(out));
  };

  const enqueue = (group: CommandGroup): void => {
    for (const command of group.commands) {
      let handle: CommandHandle | undefined;
      try {
        handle = send(engine, command.text);
      } catch (error) {
        if (!(error instanceof Pop3Error)) throw error;
        refused.push({ text: command.text, error: normalizeError(error) });
      }
      commands.push({ text: command.text, handle: handle && normalizeHandle(handle) });
    }
    drain();
  };

  // Which groups wait, and where the stream is cut so that they can go out before the next reply arrives.
  const groups = transcript.groups;
  let next = 0;
  let upfrontStop = groups.length;
  if (mode === 'upfront') {
    upfrontStop = groups.findIndex((group) => group.commands.some((command) => /^APOP /.test(command.text)));
    if (upfrontStop === -1) upfrontStop = groups.length;
    while (next < upfrontStop) enqueue(groups[next++]!);
  }
  const syncPoints = (mode === 'lockstep' ? groups : groups.slice(upfrontStop, upfrontStop + 1)).map((g) => [g.epoch, g.offset]);

  const advance = (): void => {
    if (mode === 'upfront') {
      if (greeted) while (next < groups.length) enqueue(groups[next++]!);
      return;
    }
    while (next < groups.length && greeted && engine.pending === 0 && (engine.state === 'authorization' || engine.state === 'transaction')) {
      enqueue(groups[next++]!);
    }
  };

  const cut = options.cut;
  const epochs = transcript.serverEpochs;
  const lastEpoch = cut === undefined ? epochs.length - 1 : Math.min(cut.epoch, epochs.length - 1);
  for (let epoch = 0; epoch <= lastEpoch; epoch++) {
    if (epoch > 0 && engine.state === 'starttls') {
      engine.tlsStarted();
      drain();
      advance();
    }
    let bytes = epochs[epoch]!;
    if (cut !== undefined && epoch === cut.epoch) bytes = bytes.subarray(0, cut.offset);
    const chunks = options.chunks(bytes, epoch);
    checkSlicing(chunks, bytes, epoch);
    const cuts = syncPoints.filter(([e]) => e === epoch).map(([, offset]) => offset!);
    for (const chunk of splitAt(chunks, cuts)) {
      engine.receive(chunk);
      drain();
      advance();
    }
  }
  engine.receiveEnd();
  drain();

  const error = engine.error;
  return {
    clientBytes: writes.join(''),
    writes,
    events: normalizeEvents(rawEvents),
    rawEvents,
    commands,
    refused,
    state: engine.state,
    error: error && normalizeError(error),
    engine,
  };
}

/**
 * The parts of a result that must not depend on how the server stream was sliced. The client bytes are
 * left out of a session that failed: the engine then drops what it had not handed out yet (the connection
 * is dead), so how much got out before the failure depends on where the chunk ended; replayEverySplit
 * then requires them to be a prefix of the transcript's client bytes instead.
 */
function comparable(result: ReplayResult): Partial<ReplayResult> {
  const { clientBytes, events, refused, state, error } = result;
  return error === undefined ? { clientBytes, events, refused, state, error } : { events, refused, state, error };
}

/**
 * Epochs longer than this get every split point only within their first and last 2 KiB, and every 7th one
 * in between: every split point of a 12 KB epoch is 12k replays of the whole file, and the middle of a long
 * epoch is body or listing lines that all look alike to the framer. The real-server fixtures are all
 * shorter, so they get every split point.
 */
export const EVERY_SPLIT_LIMIT = 6 * 1024;
const DENSE_EDGE = 2 * 1024;
const SPARSE_STEP = 7;

/** The split points replayEverySplit tries in an epoch of `length` bytes (1 .. length-1). */
export function splitPoints(length: number): number[] {
  const points: number[] = [];
  for (let p = 1; p < length; p++) {
    if (length <= EVERY_SPLIT_LIMIT || p <= DENSE_EDGE || p >= length - DENSE_EDGE || p % SPARSE_STEP === 0) points.push(p);
  }
  return points;
}

/**
 * Replay with the whole of each epoch as one chunk, then again with each epoch split in two at every split
 * point (see EVERY_SPLIT_LIMIT), byte by byte, and in a few seeded random slicings; expects (vitest) every
 * run to produce the same events, client bytes, refusals, final state and error as the first (for a failed
 * session, client bytes that are a prefix of the transcript's: see `comparable`). Returns the first result.
 */
export function replayEverySplit(transcript: Transcript, options: Omit<ReplayOptions, 'chunks'>): ReplayResult {
  const canonical = replay(transcript, { ...options, chunks: (epoch) => [epoch] });
  const expected = comparable(canonical);
  const expectedJson = JSON.stringify(expected);
  const check = (chunks: ReplayOptions['chunks'], how: string): void => {
    const run = replay(transcript, { ...options, chunks });
    const result = comparable(run);
    // JSON first: toEqual on every one of thousands of runs would dominate the runtime.
    if (JSON.stringify(result) !== expectedJson) expect(result, `replay ${how} differs from the one-chunk replay`).toEqual(expected);
    if (run.error !== undefined && !transcript.clientBytes.startsWith(run.clientBytes)) {
      expect(run.clientBytes, `replay ${how}: the client bytes before the failure`).toBe(transcript.clientBytes.slice(0, run.clientBytes.length));
    }
  };
  check((epoch) => [epoch], 'in one chunk per epoch');

  transcript.serverEpochs.forEach((bytes, target) => {
    for (const point of splitPoints(bytes.length)) {
      check((epoch, index) => (index === target ? [epoch.subarray(0, point), epoch.subarray(point)] : [epoch]), `split at byte ${point} of epoch ${target}`);
    }
  });
  check((epoch) => splitEvenly(epoch, 1), 'byte by byte');
  for (const seed of [1, 2, 3, 4, 5]) check((epoch, index) => seededChunks(epoch, seed * 100 + index), `in random chunks (seed ${seed})`);
  return canonical;
}

// ─── Slicing helpers ─────────────────────────────────────────────────────────────────────────────────────

/** Slices of `size` bytes (the last one shorter). */
export function splitEvenly(bytes: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) chunks.push(bytes.subarray(i, i + size));
  return chunks;
}

/** A reproducible random slicing: sizes from 1 to a seed-dependent maximum (small and large alike). */
export function seededChunks(bytes: Uint8Array, seed: number): Uint8Array[] {
  const random = mulberry32(seed);
  const max = [2, 7, 31, 200, 1000][seed % 5]!;
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; ) {
    const size = 1 + Math.floor(random() * max);
    chunks.push(bytes.subarray(i, i + size));
    i += size;
  }
  return chunks;
}

/** Slices of `bytes` at the given offsets (any order, duplicates and out-of-range values ignored). */
export function sliceAt(bytes: Uint8Array, offsets: readonly number[]): Uint8Array[] {
  const points = [...new Set(offsets)].filter((p) => p > 0 && p < bytes.length).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks.filter((chunk) => chunk.length > 0);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cut a slicing further at the given stream offsets. */
function splitAt(chunks: readonly Uint8Array[], offsets: readonly number[]): Uint8Array[] {
  if (offsets.length === 0) return [...chunks];
  const out: Uint8Array[] = [];
  let base = 0;
  for (const chunk of chunks) {
    let start = 0;
    for (const offset of offsets) {
      const at = offset - base;
      if (at > start && at < chunk.length) {
        out.push(chunk.subarray(start, at));
        start = at;
      }
    }
    out.push(start === 0 ? chunk : chunk.subarray(start));
    base += chunk.length;
  }
  return out;
}

function checkSlicing(chunks: readonly Uint8Array[], bytes: Uint8Array, epoch: number): void {
  const joined = concatBytes(chunks);
  if (joined.length !== bytes.length || !joined.every((byte, i) => byte === bytes[i])) {
    throw new Error(`the chunks of epoch ${epoch} do not concatenate to the epoch`);
  }
}

// ─── Commands and mechanisms ─────────────────────────────────────────────────────────────────────────────

/** The fixed client nonce the real-server SCRAM captures used. */
export const FIXTURE_SCRAM_NONCE = 'cG9wM2tpdC1maXh0dXJlLW5vbmNl';
export const FIXTURE_USER = 'alice';
export const FIXTURE_PASSWORD = 'alice-pw';

/** The real mechanism from core/sasl for a name, with the fixture credentials (and SCRAM nonce). */
export function realMechanism(name: string): SaslMechanism {
  const credentials = { username: FIXTURE_USER, password: FIXTURE_PASSWORD };
  switch (name.toUpperCase()) {
    case 'PLAIN':
      return plain(credentials);
    case 'LOGIN':
      return login(credentials);
    case 'CRAM-MD5':
      return cramMd5(credentials);
    case 'SCRAM-SHA-256':
      return scramSha256({ ...credentials, nonce: FIXTURE_SCRAM_NONCE });
    default:
      throw new Error(`no SASL mechanism ${name} in the replay harness; pass options.mechanism`);
  }
}

type MechanismCall = readonly ['initial'] | readonly ['respond', string] | readonly ['complete'];
type Outcome = { readonly value: Uint8Array | undefined } | { readonly error: unknown };
const mechanismMemo = new Map<string, Outcome>();

/**
 * The default mechanisms: the real ones ({@link realMechanism}), memoized on their exact sequence of calls.
 * SCRAM's PBKDF2 (4096 rounds) would otherwise dominate thousands of replays. The mechanisms are
 * deterministic (fixed nonce), and the first time a sequence of challenges is seen the real code runs, so a
 * server signature really is verified, and a different challenge is a cache miss.
 */
export function defaultMechanism(name: string): SaslMechanism {
  realMechanism(name); // fail early for an unknown name
  let real: SaslMechanism | undefined;
  let realSeen = 0;
  const history: MechanismCall[] = [];
  const run = (mechanism: SaslMechanism, call: MechanismCall): Uint8Array | undefined => {
    switch (call[0]) {
      case 'initial':
        return mechanism.initialResponse();
      case 'respond':
        return mechanism.respond(byteArray(call[1]));
      case 'complete':
        mechanism.complete();
        return undefined;
    }
  };
  const call = (next: MechanismCall): Uint8Array | undefined => {
    const key = `${name}\n${JSON.stringify([...history, next])}`;
    let outcome = mechanismMemo.get(key);
    if (outcome === undefined) {
      // Bring a real mechanism up to date with the calls answered from the memo, then ask it.
      real ??= realMechanism(name);
      for (; realSeen < history.length; realSeen++) {
        try {
          run(real, history[realSeen]!);
        } catch {
          // It threw the first time too; the memo holds that.
        }
      }
      try {
        outcome = { value: run(real, next) };
      } catch (error) {
        outcome = { error };
      }
      realSeen++;
      mechanismMemo.set(key, outcome);
    }
    history.push(next);
    if ('error' in outcome) throw outcome.error;
    return outcome.value?.slice();
  };
  return {
    name: name.toUpperCase(),
    initialResponse: () => call(['initial']),
    respond: (challenge) => call(['respond', byteString(challenge)])!,
    complete: () => void call(['complete']),
  };
}

const MESSAGE = /^[1-9]\d{0,14}$/;
const COUNT = /^(?:0|[1-9]\d{0,14})$/;

/**
 * Maps a command line to the engine method that should produce exactly that line; anything that would not
 * round-trip byte for byte (lower case, leading zeros, odd spacing) goes through raw().
 */
function commandSender(options: ReplayOptions): (engine: Pop3ClientEngine, line: string) => CommandHandle {
  const mechanism = options.mechanism ?? defaultMechanism;
  const password = options.password ?? FIXTURE_PASSWORD;
  return (engine, line) => {
    const [verb = '', ...args] = line.split(' ');
    const [a, b] = args;
    switch (verb) {
      case 'USER':
        if (line.length > 5) return engine.user(line.slice(5));
        break;
      case 'PASS':
        if (line.length > 5) return engine.pass(line.slice(5));
        break;
      case 'APOP':
        if (args.length === 2) return engine.apop(a!, password);
        break;
      case 'AUTH':
        if (args.length === 1 || args.length === 2) return engine.auth(mechanism(a!));
        break;
      case 'STAT':
      case 'NOOP':
      case 'RSET':
      case 'QUIT':
      case 'CAPA':
      case 'STLS':
      case 'UTF8':
        if (args.length === 0) return simple(engine, verb);
        break;
      case 'LIST':
      case 'UIDL':
        if (args.length === 0) return verb === 'LIST' ? engine.list() : engine.uidl();
        if (args.length === 1 && MESSAGE.test(a!)) return verb === 'LIST' ? engine.list(Number(a)) : engine.uidl(Number(a));
        break;
      case 'RETR':
      case 'DELE':
        if (args.length === 1 && MESSAGE.test(a!)) return verb === 'RETR' ? engine.retr(Number(a)) : engine.dele(Number(a));
        break;
      case 'TOP':
        if (args.length === 2 && MESSAGE.test(a!) && COUNT.test(b!)) return engine.top(Number(a), Number(b));
        break;
      case 'LANG':
        if (args.length === 0) return engine.lang();
        if (args.length === 1) return engine.lang(a);
        break;
    }
    return engine.raw(line, { multiline: options.rawMultiline?.(line) ?? false });
  };
}

function simple(engine: Pop3ClientEngine, verb: 'STAT' | 'NOOP' | 'RSET' | 'QUIT' | 'CAPA' | 'STLS' | 'UTF8'): CommandHandle {
  switch (verb) {
    case 'STAT':
      return engine.stat();
    case 'NOOP':
      return engine.noop();
    case 'RSET':
      return engine.rset();
    case 'QUIT':
      return engine.quit();
    case 'CAPA':
      return engine.capa();
    case 'STLS':
      return engine.stls();
    case 'UTF8':
      return engine.utf8();
  }
}

// ─── Normalizing ─────────────────────────────────────────────────────────────────────────────────────────

export function normalizeHandle(handle: CommandHandle): NormalizedHandle {
  return { id: handle.id, verb: handle.verb, command: handle.command };
}

export function normalizeError(error: Pop3Error): NormalizedError {
  const base = { name: error.name, code: error.code, message: error.message };
  return error instanceof ServerError ? { ...base, responseCode: error.responseCode } : base;
}

export function normalizeEvents(events: readonly Pop3Event[]): NormalizedEvent[] {
  const out: NormalizedEvent[] = [];
  for (const event of events) {
    switch (event.type) {
      case 'trace':
        break;
      case 'data': {
        const last = out[out.length - 1];
        if (last?.type === 'data' && last.handle.id === event.handle.id) {
          out[out.length - 1] = { ...last, data: last.data + byteString(event.chunk) };
        } else {
          out.push({ type: 'data', handle: normalizeHandle(event.handle), data: byteString(event.chunk) });
        }
        break;
      }
      case 'greeting':
        out.push({ type: 'greeting', greeting: { ...event.greeting } });
        break;
      case 'status':
        out.push({ type: 'status', handle: normalizeHandle(event.handle), text: event.text, code: event.code, octets: event.octets });
        break;
      case 'challenge':
        out.push({ type: 'challenge', handle: normalizeHandle(event.handle), challenge: byteString(event.challenge.reveal()) });
        break;
      case 'starttls':
        out.push({ type: 'starttls' });
        break;
      case 'done':
        out.push({ type: 'done', handle: normalizeHandle(event.handle), text: event.text, code: event.code, result: event.result });
        break;
      case 'rejected':
      case 'failed':
        out.push({ type: event.type, handle: normalizeHandle(event.handle), error: normalizeError(event.error) });
        break;
      case 'closed':
        out.push({ type: 'closed', error: event.error && normalizeError(event.error) });
        break;
    }
  }
  return out;
}

// ─── Bytes ───────────────────────────────────────────────────────────────────────────────────────────────

const utf8Decoder = new TextDecoder();

/** Bytes as a latin1 string, one character per byte. */
export function byteString(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** The inverse of byteString. */
export function byteArray(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function withoutLineEnd(bytes: Uint8Array): Uint8Array {
  let end = bytes.length;
  if (end > 0 && bytes[end - 1] === 0x0a) end--;
  if (end > 0 && bytes[end - 1] === 0x0d) end--;
  return bytes.subarray(0, end);
}

