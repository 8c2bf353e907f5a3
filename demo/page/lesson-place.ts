/**
 * What the lesson, the levels and the experiments share: which place they work on (the offline server or
 * the embedded one, whose account the page knows), logging in with a retry while the server is still
 * releasing a lock, looking at a mailbox through a connection of its own, and transcript lines for the
 * learn panel. No DOM here.
 */
import { ServerError } from '../../core/errors.js';
import type { App, Place } from './app.js';
import type { Credentials } from './lesson.js';
import { DemoSession, type DemoCommand, type Endpoint, type Outcome, type TranscriptEntry } from './session.js';

/** One line shown inside the learn panel (for connections that are not the App's, so not in the transcript). */
export interface PanelLine {
  readonly from: 'client' | 'server';
  /** As shown: secrets redacted, line ends made visible where they matter. */
  readonly text: string;
}

/** The place the current session is connected to, if the App has one. */
function placeOfSession(app: App): Place | undefined {
  const endpoint = app.session?.endpoint;
  if (endpoint === undefined) return undefined;
  if (endpoint.kind === 'offline') return { kind: 'offline' };
  return app.places.find((place) => place.kind === 'proxy' && place.target.target === endpoint.target);
}

/** The sample account at `place`, when the page knows it: offline, and the embedded server. */
export function credentialsFor(app: App, place: Place): Credentials | undefined {
  if (place.kind === 'offline') return { user: app.offline.sample.user, password: app.offline.sample.password };
  const { user, password } = place.target;
  return place.target.embedded && user !== undefined && password !== undefined ? { user, password } : undefined;
}

/** Whether the place holds the sample mailbox, so levels can reset it and know what is in it. */
export function holdsSample(place: Place): boolean {
  return place.kind === 'offline' || place.target.embedded;
}

/**
 * Where the learn panel works: the current session's place when it holds the sample mailbox, otherwise the
 * App's default (the embedded server, or offline).
 */
export function learnPlace(app: App): Place {
  const current = placeOfSession(app);
  return current !== undefined && holdsSample(current) ? current : app.defaultPlace;
}

/** Resolve after `ms` milliseconds. */
export function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether an outcome is the server's `-ERR [IN-USE]`. */
export function inUse(outcome: Outcome): boolean {
  return !outcome.ok && outcome.error instanceof ServerError && outcome.error.responseCode === 'IN-USE';
}

/**
 * USER and PASS; while the server answers `-ERR [IN-USE]` (a session that just ended has not released the
 * mailbox yet) try again a few times, telling `onRetry` once. Resolves with PASS's last outcome (or USER's,
 * when USER failed).
 */
export async function loginWithRetry(
  send: (command: DemoCommand) => Promise<Outcome>,
  credentials: Credentials,
  options: { attempts?: number; delay?: number; onRetry?: () => void } = {},
): Promise<Outcome> {
  const attempts = options.attempts ?? 20;
  let told = false;
  for (let attempt = 1; ; attempt++) {
    const user = await send({ verb: 'USER', name: credentials.user });
    if (!user.ok) return user;
    const pass = await send({ verb: 'PASS', password: credentials.password });
    if (!inUse(pass) || attempt >= attempts) return pass;
    if (!told) options.onRetry?.();
    told = true;
    await wait(options.delay ?? 100);
  }
}

/** Client and server lines of a transcript from `from` on (local notes and SASL exchanges left out). */
export function panelLines(entries: readonly TranscriptEntry[], from = 0): PanelLine[] {
  return entries
    .slice(from)
    .filter((entry): entry is TranscriptEntry & { from: 'client' | 'server' } => entry.from !== 'local')
    .map((entry) => ({ from: entry.from, text: entry.text }));
}

/** What a look at the mailbox found. */
export interface MailboxLook {
  /** The UIDs of the messages stored, in order; undefined when the look failed. */
  readonly uids: readonly string[] | undefined;
  /** The conversation, for the learn panel. */
  readonly lines: readonly PanelLine[];
}

/**
 * Look at the mailbox through a connection of its own (not the App's, so not in the transcript): log in,
 * UIDL, QUIT. Committing nothing, it changes nothing. Fails (uids undefined) when the mailbox stays locked.
 */
export async function inspectMailbox(endpoint: Endpoint, credentials: Credentials): Promise<MailboxLook> {
  let session: DemoSession | undefined;
  try {
    session = await DemoSession.open(endpoint);
    const login = await loginWithRetry((command) => session!.send(command), credentials);
    if (!login.ok) return { uids: undefined, lines: panelLines(session.entries) };
    const uidl = await session.send({ verb: 'UIDL' });
    await session.send({ verb: 'QUIT' });
    const uids = uidl.ok && uidl.result.verb === 'UIDL' ? uidl.result.entries.map((entry) => entry.uid) : undefined;
    return { uids, lines: panelLines(session.entries) };
  } catch {
    return { uids: undefined, lines: session === undefined ? [] : panelLines(session.entries) };
  } finally {
    session?.close();
  }
}

/** Bytes as text with CR and LF made visible (`\r`, `\n`), for lines whose ending is the point. */
export function visibleLineEnds(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) {
    if (byte === 0x0d) text += '\\r';
    else if (byte === 0x0a) text += '\\n';
    else if (byte < 0x20 || byte > 0x7e) text += `\\x${byte.toString(16).padStart(2, '0')}`;
    else text += String.fromCharCode(byte);
  }
  return text;
}
