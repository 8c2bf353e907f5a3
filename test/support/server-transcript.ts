/**
 * Server-side transcript replay: the C: lines of a transcript are what a client sends, the S: lines what
 * Pop3ServerEngine must answer, byte for byte. The format is the one of test/support/transcript.ts (parsed
 * by parseTranscript); `# TLS established` splits both streams into TLS epochs.
 *
 * A synchronous driver answers the engine's requests from a MemoryMailStore (fixtureStore() by default), so
 * a whole session replays in one call, in any slicing of the client stream. Directives in comments set up
 * the server and say what must be true at the end:
 *
 *   # server: {...}                 engine options as JSON (merged over `random` and the other defaults)
 *   # locked: alice                 alice's mailbox is held by another session ([IN-USE])
 *   # open: login-delay             answer every `open` request with 'login-delay'
 *   # fail: password|open|retrieve|retrieve-after-data|update
 *                                   the store fails that kind of request (retrieve-after-data: after the
 *                                   first piece of the body)
 *   # then: end-of-input|connection-lost|idle-timeout|shutdown
 *                                   after the last client byte: receiveEnd(), or terminate(reason)
 *   # expect closed: REASON|open    the session's end (closeReason), or `open` for one still running
 *   # expect remaining alice: UID…  alice's messages after the session (`-` for none); checks UPDATE
 *
 * Stable API for other test files: fixtureStore, fixtureRandom, FIXTURE_OPTIONS, runServer, ServerDriver,
 * replayServer, replayServerEverySplit, clientEpochs, ServerReplayResult.
 */
import { expect } from 'vitest';
import { type ServerEngineOptions, type ServerEvent, Pop3ServerEngine } from '../../core/server/server-engine.js';
import { type MemoryMailbox, MemoryMailStore } from '../../core/server/memory-mailbox.js';
import { byteString, seededChunks, splitEvenly, type Transcript } from './transcript.js';

// ─── Fixtures ────────────────────────────────────────────────────────────────────────────────────────────

/** A reproducible random source (mulberry32): the same seed gives the same bytes, so replies are fixed. */
export function fixtureRandom(seed = 1): (length: number) => Uint8Array {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  return (length) => Uint8Array.from({ length }, () => next() & 0xff);
}

/** Engine options every replay starts from; a transcript's `# server:` directive is merged over them. */
export const FIXTURE_OPTIONS: Omit<ServerEngineOptions, 'random'> = { scramIterations: 4096 };

/** RFC 1939 section 10's two messages (made up to the 120 and 200 octets its example lists). */
export const MROSE_MESSAGES = [
  'From: Marshall Rose <mrose@dbc.mtview.ca.us>\r\nSubject: first\r\n\r\nThis is the body of a test message.\r\nPadded to the siz\r\n',
  'From: Marshall Rose <mrose@dbc.mtview.ca.us>\r\nSubject: second\r\nX-Note: longer\r\n\r\n' +
    'This is the body of a test message.\r\n'.repeat(3) +
    'Padded\r\n',
];

/**
 * The store the transcripts use:
 *   alice / alice-pw: alice-1 (plain), alice-2 (lines starting with dots), alice-3 (bare LF line ends and no
 *                     final line end), alice-4 (no body)
 *   bob / bob-pw:     an empty mailbox
 *   mrose / tanstaaf: the two messages of RFC 1939 section 10
 *   jörg / pässwörd:  one message (UTF-8 user name and password)
 */
export function fixtureStore(chunkSize = 7): MemoryMailStore {
  const store = new MemoryMailStore({ chunkSize });
  store.addUser('alice', 'alice-pw');
  store.deliver('alice', 'From: bob@example.org\r\nSubject: hello\r\n\r\nHello Alice,\r\nthis is a test.\r\n', 'alice-1');
  store.deliver('alice', 'Subject: dots\r\n\r\n.\r\n..\r\n.leading\r\n...three\r\n. dot space\r\nend\r\n', 'alice-2');
  store.deliver('alice', 'Subject: unix\n\nline one\nline two', 'alice-3');
  store.deliver('alice', 'Subject: header only\r\n', 'alice-4');
  store.addUser('bob', 'bob-pw');
  store.addUser('mrose', 'tanstaaf');
  MROSE_MESSAGES.forEach((message, i) => store.deliver('mrose', message, `mrose-${i + 1}`));
  store.addUser('jörg', 'pässwörd');
  store.deliver('jörg', 'Subject: grüße\r\n\r\nhallo\r\n', 'joerg-1');
  return store;
}

// ─── A synchronous driver ────────────────────────────────────────────────────────────────────────────────

/** How the driver answers, beyond reading the store. */
export interface DriverBehaviour {
  /** Answer `open` with this refusal instead of opening. */
  readonly open?: 'login-delay';
  /** Fail requests of this kind (see the `# fail:` directive). */
  readonly fail?: 'password' | 'open' | 'retrieve' | 'retrieve-after-data' | 'update';
  /** Feed bodies in pieces of this many bytes. Default 7. */
  readonly bodyChunk?: number;
}

/**
 * Answers a server engine's requests at once from a MemoryMailStore and collects what it sends. `pump()`
 * writes out and handles everything the engine has; call it after every input.
 */
export class ServerDriver {
  readonly engine: Pop3ServerEngine;
  readonly store: MemoryMailStore;
  /** Everything the engine sent, as a byte string per TLS epoch. */
  readonly output: string[] = [''];
  /** Every event, in order (trace included when the engine traces). */
  readonly events: ServerEvent[] = [];
  readonly #behaviour: DriverBehaviour;
  #mailbox: MemoryMailbox | undefined;
  #starttlsPending = false;

  constructor(engine: Pop3ServerEngine, store: MemoryMailStore, behaviour: DriverBehaviour = {}) {
    this.engine = engine;
    this.store = store;
    this.#behaviour = behaviour;
    this.pump();
  }

  /** The engine asked for TLS and has not had it yet. */
  get starttlsPending(): boolean {
    return this.#starttlsPending;
  }

  receive(chunk: Uint8Array): void {
    this.engine.receive(chunk);
    this.pump();
  }

  /** Finish the simulated handshake: output from now on is the next epoch. */
  tlsStarted(): void {
    this.#starttlsPending = false;
    this.output.push('');
    this.engine.tlsStarted();
    this.pump();
  }

  pump(): void {
    const engine = this.engine;
    for (;;) {
      const out = engine.takeOutgoing();
      if (out !== undefined) {
        this.output[this.output.length - 1] += byteString(out);
        continue;
      }
      const event = engine.nextEvent();
      if (event === undefined) return;
      this.events.push(event);
      this.#handle(event);
    }
  }

  #handle(event: ServerEvent): void {
    const { engine, store } = this;
    const fail = this.#behaviour.fail;
    switch (event.type) {
      case 'password':
        if (fail === 'password') return engine.requestFailed(event.request);
        return engine.resolvePassword(event.request, store.passwordOf(event.user));
      case 'open': {
        if (fail === 'open') return engine.requestFailed(event.request);
        if (this.#behaviour.open !== undefined) return engine.resolveOpen(event.request, this.#behaviour.open);
        const mailbox = store.lock(event.user);
        if (mailbox === 'in-use') return engine.resolveOpen(event.request, 'in-use');
        this.#mailbox = mailbox;
        return engine.resolveOpen(event.request, mailbox.messages);
      }
      case 'retrieve': {
        if (fail === 'retrieve') return engine.requestFailed(event.request);
        const content = this.#mailbox!.content(event.uid);
        const size = this.#behaviour.bodyChunk ?? 7;
        for (let offset = 0; offset < content.length; offset += size) {
          if (!engine.messageData(event.request, content.subarray(offset, offset + size))) return;
          if (fail === 'retrieve-after-data') return engine.requestFailed(event.request);
        }
        return engine.messageEnd(event.request);
      }
      case 'update':
        if (fail === 'update') return engine.requestFailed(event.request);
        this.#mailbox!.deleteNow(event.deleted);
        return engine.resolveUpdate(event.request);
      case 'starttls':
        this.#starttlsPending = true;
        return;
      case 'closed':
        this.#mailbox?.closeNow();
        return;
      case 'login':
      case 'login-failed':
      case 'trace':
        return;
    }
  }
}

/** A fresh engine (seeded randomness, FIXTURE_OPTIONS, `options` over them) with a driver on `store`. */
export function runServer(
  options: Partial<ServerEngineOptions> = {},
  store: MemoryMailStore = fixtureStore(),
  behaviour: DriverBehaviour = {},
): ServerDriver {
  return new ServerDriver(new Pop3ServerEngine({ random: fixtureRandom(), ...FIXTURE_OPTIONS, ...options }), store, behaviour);
}

// ─── Replaying transcripts ───────────────────────────────────────────────────────────────────────────────

/** The client's stream, one array per TLS epoch. */
export function clientEpochs(transcript: Transcript): Uint8Array[] {
  const epochs: number[][] = [[]];
  for (const step of transcript.steps) {
    if (step.kind === 'tls') epochs.push([]);
    if (step.kind === 'client') epochs[epochs.length - 1]!.push(...step.bytes);
  }
  return epochs.map((bytes) => Uint8Array.from(bytes));
}

interface Directives {
  readonly options: Partial<ServerEngineOptions>;
  readonly locked: readonly string[];
  readonly behaviour: DriverBehaviour;
  readonly then: 'end-of-input' | 'connection-lost' | 'idle-timeout' | 'shutdown' | undefined;
  readonly closed: string | undefined;
  readonly remaining: ReadonlyMap<string, readonly string[]>;
}

function directives(transcript: Transcript): Directives {
  let options: Partial<ServerEngineOptions> = {};
  const locked: string[] = [];
  const behaviour: { open?: 'login-delay'; fail?: DriverBehaviour['fail'] } = {};
  let then: Directives['then'];
  let closed: string | undefined;
  const remaining = new Map<string, string[]>();
  for (const { text } of transcript.comments) {
    const match = /^(server|locked|open|fail|then|expect closed|expect remaining (\S+)): (.*)$/.exec(text);
    if (match === null) continue;
    const [, name, user, value] = match as unknown as [string, string, string | undefined, string];
    if (name === 'server') options = JSON.parse(value) as Partial<ServerEngineOptions>;
    else if (name === 'locked') locked.push(value);
    else if (name === 'open') behaviour.open = value as 'login-delay';
    else if (name === 'fail') behaviour.fail = value as DriverBehaviour['fail'];
    else if (name === 'then') then = value as Directives['then'];
    else if (name === 'expect closed') closed = value;
    else remaining.set(user!, value === '-' ? [] : value.split(' '));
  }
  return { options, locked, behaviour, then, closed, remaining };
}

export interface ServerReplayResult {
  /** What the server sent, per TLS epoch, as byte strings. */
  readonly output: readonly string[];
  /** The events, trace excluded, as JSON-comparable data. */
  readonly events: readonly ServerEvent[];
  readonly closeReason: string | undefined;
  readonly store: MemoryMailStore;
}

/**
 * Replay a transcript's client stream against a fresh engine, each epoch sliced by `chunks`; tlsStarted()
 * at each TLS marker once the engine asked for it. Only a bug escapes as an exception.
 */
export function replayServer(
  transcript: Transcript,
  chunks: (epoch: Uint8Array, index: number) => Uint8Array[],
  bodyChunk?: number,
): ServerReplayResult {
  const setup = directives(transcript);
  const store = fixtureStore();
  for (const user of setup.locked) store.lock(user);
  const driver = runServer(setup.options, store, { ...setup.behaviour, bodyChunk });
  clientEpochs(transcript).forEach((epoch, index) => {
    if (index > 0 && driver.starttlsPending) driver.tlsStarted();
    for (const chunk of chunks(epoch, index)) driver.receive(chunk);
  });
  if (setup.then === 'end-of-input') driver.engine.receiveEnd();
  else if (setup.then !== undefined) driver.engine.terminate(setup.then);
  driver.pump();
  return {
    output: driver.output,
    events: driver.events.filter((event) => event.type !== 'trace'),
    closeReason: driver.engine.closeReason,
    store,
  };
}

/** The S: lines of a transcript, per TLS epoch, as byte strings. */
function expectedOutput(transcript: Transcript): string[] {
  return transcript.serverEpochs.map(byteString);
}

/**
 * Replay in one chunk per epoch and check the result against the transcript and its `# expect` directives;
 * then again with the client stream split at every point, byte by byte, in seeded random slicings, and
 * with bodies fed in other piece sizes: every run must give the same output and events. Returns the first.
 */
export function replayServerEverySplit(transcript: Transcript): ServerReplayResult {
  const setup = directives(transcript);
  const canonical = replayServer(transcript, (epoch) => [epoch]);
  expect(canonical.output, 'server output (one chunk per epoch)').toEqual(expectedOutput(transcript));
  if (setup.closed !== undefined) expect(canonical.closeReason ?? 'open', 'how the session ended').toBe(setup.closed);
  for (const [user, uids] of setup.remaining) {
    expect(canonical.store.messages(user)!.map((message) => message.uid), `${user}'s messages after the session`).toEqual(uids);
    expect(canonical.store.isLocked(user), `${user}'s mailbox is released`).toBe(setup.locked.includes(user));
  }

  const expected = JSON.stringify({ output: canonical.output, events: canonical.events, closeReason: canonical.closeReason });
  const check = (chunks: (epoch: Uint8Array, index: number) => Uint8Array[], how: string, bodyChunk?: number): void => {
    const run = replayServer(transcript, chunks, bodyChunk);
    const result = JSON.stringify({ output: run.output, events: run.events, closeReason: run.closeReason });
    if (result !== expected) expect(JSON.parse(result), `replay ${how} differs from the one-chunk replay`).toEqual(JSON.parse(expected));
  };
  clientEpochs(transcript).forEach((bytes, target) => {
    for (let point = 1; point < bytes.length; point++) {
      check((epoch, index) => (index === target ? [epoch.subarray(0, point), epoch.subarray(point)] : [epoch]), `split at byte ${point} of epoch ${target}`);
    }
  });
  check((epoch) => splitEvenly(epoch, 1), 'byte by byte');
  for (const seed of [1, 2, 3, 4, 5]) check((epoch, index) => seededChunks(epoch, seed * 100 + index), `in random chunks (seed ${seed})`);
  // A store failing after the first piece of a body makes the output depend on the piece size, by design.
  if (setup.behaviour.fail !== 'retrieve-after-data') {
    for (const bodyChunk of [1, 3, 4096]) check((epoch) => [epoch], `with bodies in pieces of ${bodyChunk}`, bodyChunk);
  }
  return canonical;
}
