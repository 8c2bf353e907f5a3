/**
 * The client engine against the synthetic transcripts in test/fixtures/transcripts/: RFC examples (1939, 2449,
 * 2595, 3206, 5034, 6856, 7628), the documented shapes of Gmail and Outlook replies, and sloppy or broken
 * servers.
 *
 * Each fixture is replayed with test/support/transcript.ts at every split point, byte by byte and in random
 * chunkings (replayEverySplit), so every assertion below holds whatever the slicing. Every fixture must make
 * the engine write exactly its C: lines (SASL answers included, produced by the mechanism set here), and then
 * shows what its own case says: results, typed errors and response codes, the state at the end.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode, SaslError, ServerError } from '../core/errors.js';
import { oauthbearer, type OAuthMechanism, plain, type SaslMechanism, xoauth2 } from '../core/sasl/index.js';
import {
  loadTranscript,
  type NormalizedEvent,
  type NormalizedHandle,
  replay,
  replayEverySplit,
  type ReplayOptions,
  type ReplayResult,
  seededChunks,
  splitEvenly,
  type Transcript,
} from './support/transcript.js';

const ROOT = new URL('./fixtures/transcripts/', import.meta.url);
const FILES = readdirSync(ROOT)
  .filter((file) => file.endsWith('.txt'))
  .sort();

// ─── Reading the result ──────────────────────────────────────────────────────────────────────────────────

function handleOf(result: ReplayResult, text: string, occurrence = 0): NormalizedHandle {
  const handle = result.commands.filter((command) => command.text === text)[occurrence]?.handle;
  if (handle === undefined) throw new Error(`command ${JSON.stringify(text)} (#${occurrence}) was never enqueued`);
  return handle;
}

function eventsOf(result: ReplayResult, handle: NormalizedHandle): NormalizedEvent[] {
  return result.events.filter((event) => 'handle' in event && event.handle.id === handle.id);
}

/** The one event that ended a command. */
function ending(result: ReplayResult, text: string, occurrence = 0): NormalizedEvent {
  const ends = eventsOf(result, handleOf(result, text, occurrence)).filter((event) => ['done', 'rejected', 'failed'].includes(event.type));
  expect(ends, `one ending for ${text}`).toHaveLength(1);
  return ends[0]!;
}

function done(result: ReplayResult, text: string, occurrence = 0): Extract<NormalizedEvent, { type: 'done' }> {
  const event = ending(result, text, occurrence);
  expect(event.type, `${text} succeeds`).toBe('done');
  return event as Extract<NormalizedEvent, { type: 'done' }>;
}

function rejected(result: ReplayResult, text: string, occurrence = 0): Extract<NormalizedEvent, { type: 'rejected' }> {
  const event = ending(result, text, occurrence);
  expect(event.type, `${text} is rejected`).toBe('rejected');
  return event as Extract<NormalizedEvent, { type: 'rejected' }>;
}

function failed(result: ReplayResult, text: string, occurrence = 0): Extract<NormalizedEvent, { type: 'failed' }> {
  const event = ending(result, text, occurrence);
  expect(event.type, `${text} fails`).toBe('failed');
  return event as Extract<NormalizedEvent, { type: 'failed' }>;
}

/** The ServerError object (not its normalized form) of a rejected command, for its getters. */
function serverError(result: ReplayResult, text: string, occurrence = 0): ServerError {
  const id = rejected(result, text, occurrence).handle.id;
  const event = result.rawEvents.find((raw) => raw.type === 'rejected' && raw.handle.id === id);
  const error = (event as { error?: unknown } | undefined)?.error;
  expect(error).toBeInstanceOf(ServerError);
  return error as ServerError;
}

function dataOf(result: ReplayResult, text: string, occurrence = 0): string {
  return eventsOf(result, handleOf(result, text, occurrence))
    .map((event) => (event.type === 'data' ? event.data : ''))
    .join('');
}

function statusOf(result: ReplayResult, text: string, occurrence = 0): Extract<NormalizedEvent, { type: 'status' }> | undefined {
  return eventsOf(result, handleOf(result, text, occurrence)).find((event) => event.type === 'status') as
    | Extract<NormalizedEvent, { type: 'status' }>
    | undefined;
}

function capabilitiesOf(result: ReplayResult, occurrence = 0): Record<string, unknown> {
  const event = done(result, 'CAPA', occurrence);
  return (event.result as { capabilities: Record<string, unknown> }).capabilities;
}

function greetingOf(result: ReplayResult): Extract<NormalizedEvent, { type: 'greeting' }>['greeting'] {
  const first = result.events[0];
  expect(first?.type).toBe('greeting');
  return (first as Extract<NormalizedEvent, { type: 'greeting' }>).greeting;
}

/** The session ended with QUIT: one closed event, last, without an error; `failures` commands failed. */
function expectQuit(result: ReplayResult, failures = 0): void {
  expect(result.events.filter((event) => event.type === 'closed')).toEqual([{ type: 'closed', error: undefined }]);
  expect(result.events.at(-1)).toEqual({ type: 'closed', error: undefined });
  expect(result.state).toBe('closed');
  expect(result.error).toBeUndefined();
  expect(result.events.filter((event) => event.type === 'failed')).toHaveLength(failures);
}

/** The session failed: the last event is closed with `code`, which is also the engine's sticky error. */
function expectFailure(result: ReplayResult, code: string, name: string): void {
  expect(result.state).toBe('failed');
  expect(result.error).toMatchObject({ code, name });
  expect(result.events.at(-1)).toEqual({ type: 'closed', error: result.error });
}

// ─── Reading the fixture, independently of the engine ────────────────────────────────────────────────────

/** The unstuffed body the server sent after the status line `status` (without CRLF), as a byte string. */
function bodyAfter(transcript: Transcript, status: string, occurrence = 0): string {
  const steps = transcript.steps;
  let start = -1;
  for (let i = 0, seen = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (step.kind === 'server' && Buffer.from(step.bytes).toString('latin1') === `${status}\r\n` && seen++ === occurrence) {
      start = i + 1;
      break;
    }
  }
  if (start === -1) throw new Error(`no status line ${status} in the fixture`);
  let body = '';
  for (let i = start; ; i++) {
    const step = steps[i]!;
    if (step.kind !== 'server') continue;
    const line = Buffer.from(step.bytes).toString('latin1');
    if (line === '.\r\n') return body;
    body += line.startsWith('.') ? line.slice(1) : line;
  }
}

// ─── Mechanisms for the AUTH fixtures ───────────────────────────────────────────────────────────────────

/**
 * The same mechanism without an initial response: the engine then sends the bare AUTH line and the mechanism
 * answers the server's empty first challenge (the harness maps `AUTH MECH` to `auth(mechanism)`).
 */
function twoStep(mechanism: SaslMechanism): SaslMechanism {
  return {
    name: mechanism.name,
    initialResponse: () => undefined,
    respond: (challenge) => mechanism.respond(challenge),
    complete: () => mechanism.complete(),
  };
}

const RFC5034_PLAIN = () => plain({ username: 'test', password: 'test', authzid: 'test' });
const GMAIL = { username: 'someone@gmail.com', accessToken: 'ya29.a0AfB_byC-test-token-0123456789' };
const OFFICE365 = { username: 'someone@contoso.onmicrosoft.com', accessToken: 'EwBwA8l6BAAU-test-token-9876543210' };
const RFC7628 = { username: 'user@example.com', accessToken: 'vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==', host: 'server.example.com', port: 110 };

/** A mechanism factory that remembers the last mechanism it made, to read its OAuth error afterwards. */
function recording(make: () => OAuthMechanism): { mechanism: () => SaslMechanism; last: () => OAuthMechanism } {
  let last: OAuthMechanism | undefined;
  return {
    mechanism: () => (last = make()),
    last: () => last!,
  };
}

// ─── What each fixture shows ─────────────────────────────────────────────────────────────────────────────

interface Case {
  readonly options?: Omit<ReplayOptions, 'chunks' | 'mode'>;
  /**
   * Also replay with every command queued up front (before the greeting): the events must be the same as in
   * lockstep. Not for fixtures where a later command depends on an earlier one failing.
   */
  readonly upfront?: boolean;
  readonly check: (result: ReplayResult, transcript: Transcript) => void;
}

const xoauth2Error = recording(() => xoauth2(GMAIL));
const oauthbearerError = recording(() => oauthbearer(RFC7628));

const RFC_GREETING_TEXT = 'POP3 server ready <1896.697170952@dbc.mtview.ca.us>';

const CASES: Record<string, Case> = {
  // ─── RFC 1939 ───
  'rfc1939-example-session.txt': {
    options: { password: 'tanstaaf' },
    upfront: true,
    check(result, transcript) {
      expect(greetingOf(result)).toEqual({ ok: true, text: RFC_GREETING_TEXT, code: undefined, timestamp: '<1896.697170952@dbc.mtview.ca.us>' });
      expect(done(result, 'APOP mrose c4c9334bac560ecc979e58001b3e22fb').text).toBe("mrose's maildrop has 2 messages (320 octets)");
      expect(done(result, 'STAT').result).toEqual({ verb: 'STAT', count: 2, size: 320 });
      expect(done(result, 'LIST').result).toEqual({ verb: 'LIST', entries: [{ message: 1, size: 120 }, { message: 2, size: 200 }] });
      for (const [n, size] of [[1, 120], [2, 200]] as const) {
        const body = bodyAfter(transcript, `+OK ${size} octets`);
        expect(body).toHaveLength(size);
        expect(dataOf(result, `RETR ${n}`)).toBe(body);
        expect(statusOf(result, `RETR ${n}`)).toMatchObject({ text: `${size} octets`, octets: size });
        expect(done(result, `RETR ${n}`).result).toEqual({ verb: 'RETR', message: n, octets: size });
        expect(done(result, `DELE ${n}`).text).toBe(`message ${n} deleted`);
      }
      expect(done(result, 'QUIT').text).toBe('dewey POP3 server signing off (maildrop empty)');
      expectQuit(result);
    },
  },

  'rfc1939-apop.txt': {
    options: { password: 'tanstaaf' },
    upfront: true,
    check(result, transcript) {
      const apop = done(result, 'APOP mrose c4c9334bac560ecc979e58001b3e22fb');
      expect(apop.text).toBe('maildrop has 1 message (369 octets)');
      expect(apop.handle.command).toBe('APOP mrose [redacted]');
      expect(result.clientBytes).not.toContain('tanstaaf');
      // The digest really depends on the password: another one gives other bytes.
      const wrong = replay(transcript, { chunks: (epoch) => [epoch], password: 'tanstaaf!' });
      expect(wrong.clientBytes).not.toBe(transcript.clientBytes);
      expectQuit(result);
    },
  },

  'rfc1939-apop-refused.txt': {
    options: { password: 'tanstaaf' },
    upfront: true,
    check(result) {
      const error = rejected(result, 'APOP mrose c4c9334bac560ecc979e58001b3e22fb').error;
      expect(error).toEqual({
        name: 'ServerError',
        code: ErrorCode.Server,
        responseCode: undefined,
        message: 'APOP mrose [redacted] failed: permission denied',
      });
      expect(done(result, 'QUIT').text).toBe('dewey POP3 server signing off');
      expectQuit(result);
    },
  },

  'rfc1939-user-pass-failures.txt': {
    check(result) {
      expect(rejected(result, 'USER frated').error.message).toBe('USER frated failed: sorry, no mailbox for frated here');
      expect(done(result, 'USER mrose', 0).text).toBe('mrose is a real hoopy frood');
      const locked = rejected(result, 'PASS secret', 0);
      expect(locked.handle.command).toBe('PASS [redacted]');
      expect(locked.error.message).toBe('PASS [redacted] failed: maildrop already locked');
      done(result, 'USER mrose', 1);
      expect(done(result, 'PASS secret', 1).text).toBe("mrose's maildrop has 2 messages (320 octets)");
      done(result, 'QUIT');
      expectQuit(result);
    },
  },

  'rfc1939-stat-list.txt': {
    upfront: true,
    check(result) {
      expect(done(result, 'STAT').result).toEqual({ verb: 'STAT', count: 2, size: 320 });
      expect(done(result, 'LIST')).toMatchObject({ result: { verb: 'LIST', entries: [{ message: 1, size: 120 }, { message: 2, size: 200 }] } });
      expect(done(result, 'LIST 2').result).toEqual({ verb: 'LIST', entries: [{ message: 2, size: 200 }] });
      expect(rejected(result, 'LIST 3').error).toMatchObject({ message: 'LIST 3 failed: no such message, only 2 messages in maildrop' });
      expectQuit(result);
    },
  },

  'rfc1939-retr.txt': {
    upfront: true,
    check(result, transcript) {
      const body = bodyAfter(transcript, '+OK 120 octets');
      expect(body).toHaveLength(120);
      expect(dataOf(result, 'RETR 1')).toBe(body);
      expect(statusOf(result, 'RETR 1')).toMatchObject({ type: 'status', text: '120 octets', code: undefined, octets: 120 });
      expect(done(result, 'RETR 1').result).toEqual({ verb: 'RETR', message: 1, octets: 120 });
      expectQuit(result);
    },
  },

  'rfc1939-dele-noop-rset.txt': {
    upfront: true,
    check(result) {
      expect(done(result, 'DELE 1', 0).text).toBe('message 1 deleted');
      expect(rejected(result, 'DELE 1', 1).error.message).toBe('DELE 1 failed: message 1 already deleted');
      rejected(result, 'RETR 1');
      expect(dataOf(result, 'RETR 1')).toBe('');
      expect(done(result, 'STAT', 0).result).toEqual({ verb: 'STAT', count: 1, size: 200 });
      expect(done(result, 'NOOP')).toMatchObject({ text: '', result: { verb: 'NOOP' } });
      expect(done(result, 'RSET').text).toBe('maildrop has 2 messages (320 octets)');
      expect(done(result, 'STAT', 1).result).toEqual({ verb: 'STAT', count: 2, size: 320 });
      expectQuit(result);
    },
  },

  'rfc1939-top.txt': {
    upfront: true,
    check(result, transcript) {
      const headersAndLines = bodyAfter(transcript, '+OK');
      expect(dataOf(result, 'TOP 1 10')).toBe(headersAndLines);
      const [headers, lines] = headersAndLines.split('\r\n\r\n');
      expect(headers).toContain('Subject: first');
      expect(lines!.split('\r\n').filter(Boolean)).toHaveLength(10);
      expect(done(result, 'TOP 1 10').result).toEqual({ verb: 'TOP', message: 1, octets: headersAndLines.length });
      expect(rejected(result, 'TOP 100 3').error.message).toBe('TOP 100 3 failed: no such message');
      expectQuit(result);
    },
  },

  'rfc1939-uidl.txt': {
    upfront: true,
    check(result) {
      expect(done(result, 'UIDL').result).toEqual({
        verb: 'UIDL',
        entries: [
          { message: 1, uid: 'whqtswO00WBw418f9t5JxYwZ' },
          { message: 2, uid: 'QhdPYR:00WBw1Ph7x7' },
        ],
      });
      expect(done(result, 'UIDL 2').result).toEqual({ verb: 'UIDL', entries: [{ message: 2, uid: 'QhdPYR:00WBw1Ph7x7' }] });
      rejected(result, 'UIDL 3');
      expectQuit(result);
    },
  },

  'rfc1939-quit-authorization.txt': {
    upfront: true,
    check(result) {
      expect(result.commands.map((command) => command.text)).toEqual(['QUIT']);
      expect(done(result, 'QUIT').text).toBe('dewey POP3 server signing off');
      expectQuit(result);
    },
  },

  'rfc1939-quit-update-error.txt': {
    upfront: true,
    check(result) {
      done(result, 'DELE 1');
      const error = rejected(result, 'QUIT').error;
      expect(error).toMatchObject({ name: 'ServerError', message: 'QUIT failed: some deleted messages not removed' });
      // The -ERR is the answer to QUIT; the session still ends, and not because of an error.
      expectQuit(result);
      expect(result.events.at(-2)).toMatchObject({ type: 'rejected', handle: handleOf(result, 'QUIT') });
    },
  },

  // ─── RFC 2449 ───
  'rfc2449-capa.txt': {
    upfront: true,
    check(result) {
      expect(capabilitiesOf(result)).toEqual({
        state: 'authorization',
        top: true,
        user: true,
        uidl: true,
        pipelining: true,
        respCodes: true,
        authRespCode: false,
        stls: false,
        sasl: ['CRAM-MD5', 'KERBEROS_V4'],
        loginDelay: { value: 900, perUser: false },
        expire: { value: 60, perUser: false },
        implementation: 'Shlemazle-Plotz-v302',
        utf8: undefined,
        lang: false,
        other: [],
        lines: ['TOP', 'USER', 'SASL CRAM-MD5 KERBEROS_V4', 'RESP-CODES', 'LOGIN-DELAY 900', 'PIPELINING', 'EXPIRE 60', 'UIDL', 'IMPLEMENTATION Shlemazle-Plotz-v302'],
      });
      expect(result.engine.capabilities?.pipelining).toBe(true);
      expectQuit(result);
    },
  },

  'rfc2449-in-use.txt': {
    upfront: true,
    check(result) {
      const error = serverError(result, 'PASS secret');
      expect(error.responseCode).toBe('IN-USE');
      expect(error.inUse).toBe(true);
      expect([error.loginDelay, error.authFailed, error.temporary, error.permanent]).toEqual([false, false, false, false]);
      expect(error.text).toBe('Do you have another POP session running?');
      expectQuit(result);
    },
  },

  'rfc2449-login-delay.txt': {
    upfront: true,
    check(result) {
      expect(capabilitiesOf(result).loginDelay).toEqual({ value: 900, perUser: false });
      const error = serverError(result, 'PASS secret');
      expect(error.responseCode).toBe('LOGIN-DELAY');
      expect(error.loginDelay).toBe(true);
      expect(error.inUse).toBe(false);
      expectQuit(result);
    },
  },

  // ─── RFC 3206 ───
  'rfc3206-sys-temp.txt': {
    upfront: true,
    check(result) {
      const error = serverError(result, 'PASS secret');
      expect(error.responseCode).toBe('SYS/TEMP');
      expect(error.temporary).toBe(true);
      expect(error.permanent).toBe(false);
      expectQuit(result);
    },
  },

  'rfc3206-sys-perm.txt': {
    upfront: true,
    check(result) {
      const error = serverError(result, 'PASS secret');
      expect(error.responseCode).toBe('SYS/PERM');
      expect(error.permanent).toBe(true);
      expect(error.temporary).toBe(false);
      expectQuit(result);
    },
  },

  'rfc3206-auth.txt': {
    upfront: true,
    check(result) {
      expect(capabilitiesOf(result)).toMatchObject({ respCodes: true, authRespCode: true });
      const error = serverError(result, 'PASS wrong');
      expect(error.responseCode).toBe('AUTH');
      expect(error.authFailed).toBe(true);
      expect(error.message).toBe('PASS [redacted] failed: [AUTH] invalid user name or password');
      expectQuit(result);
    },
  },

  // ─── RFC 6856 ───
  'rfc6856-utf8.txt': {
    upfront: true,
    check(result, transcript) {
      expect(capabilitiesOf(result).utf8).toEqual({ user: true });
      expect(done(result, 'UTF8').text).toBe('UTF8 enabled');
      expect(result.engine.utf8Enabled).toBe(true);
      // The user name and password went out as UTF-8.
      expect(transcript.clientBytes).toContain(Buffer.from('USER jörg\r\n').toString('latin1'));
      expect(done(result, 'PASS pässwörd').text).toBe('jörg has 0 messages');
      expectQuit(result);
    },
  },

  'rfc6856-utf8-code.txt': {
    upfront: true,
    check(result) {
      const error = serverError(result, 'USER jörg', 0);
      expect(error.responseCode).toBe('UTF8');
      expect(error.text).toBe('this user name needs UTF8 mode');
      done(result, 'UTF8');
      done(result, 'USER jörg', 1);
      done(result, 'PASS secret');
      expect(result.engine.utf8Enabled).toBe(true);
      expectQuit(result);
    },
  },

  'rfc6856-lang.txt': {
    upfront: true,
    check(result) {
      expect(capabilitiesOf(result).lang).toBe(true);
      expect(done(result, 'LANG')).toMatchObject({
        result: {
          verb: 'LANG',
          languages: [
            { tag: 'en', description: 'English' },
            { tag: 'en-boont', description: 'English Boontling dialect' },
            { tag: 'de', description: 'Deutsch' },
            { tag: 'it', description: 'Italiano' },
            { tag: 'es', description: 'Espanol' },
            { tag: 'sv', description: 'Svenska' },
          ],
        },
      });
      expect(done(result, 'LANG es')).toMatchObject({ text: 'es Idioma cambiado', result: { verb: 'LANG', languages: [] } });
      expect(rejected(result, 'LANG uga').error.message).toBe('LANG uga failed: es idioma no reconocido');
      expect(done(result, 'LANG *').text).toBe('es Idioma cambiado');
      expectQuit(result);
    },
  },

  // ─── RFC 2595 ───
  'rfc2595-stls.txt': {
    upfront: true,
    check(result) {
      expect(capabilitiesOf(result, 0)).toMatchObject({ stls: true, pipelining: true, sasl: [] });
      const stls = done(result, 'STLS');
      const index = result.events.indexOf(stls);
      expect(result.events[index + 1]).toEqual({ type: 'starttls' });
      expect(result.events.filter((event) => event.type === 'starttls')).toHaveLength(1);
      // The CAPA over TLS is a fresh answer: no STLS any more, SASL PLAIN now.
      expect(capabilitiesOf(result, 1)).toMatchObject({ stls: false, sasl: ['PLAIN'] });
      expect(result.events.indexOf(done(result, 'CAPA', 1))).toBeGreaterThan(index);
      expect(result.engine.tls).toBe(true);
      done(result, 'PASS secret');
      expectQuit(result);
    },
  },

  'rfc2595-stls-injection.txt': {
    check(result) {
      done(result, 'STLS');
      expect(result.events.map((event) => event.type)).toEqual(['greeting', 'done', 'starttls', 'closed']);
      expectFailure(result, ErrorCode.TlsInjection, 'RemoteProtocolError');
      expect(result.engine.tls).toBe(false);
    },
  },

  'rfc2595-stls-refused.txt': {
    // Not replayed with everything queued up front: commands queued behind a refused STLS are cancelled,
    // QUIT included (stls.test.ts), since they were queued counting on encryption.
    upfront: false,
    check(result) {
      expect(rejected(result, 'STLS').error.message).toBe('STLS failed: TLS not available right now');
      expect(result.events.some((event) => event.type === 'starttls')).toBe(false);
      expect(result.engine.tls).toBe(false);
      expectQuit(result);
    },
  },

  // ─── RFC 5034 ───
  'rfc5034-auth-plain-initial.txt': {
    options: { mechanism: RFC5034_PLAIN },
    upfront: true,
    check(result) {
      const auth = done(result, 'AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=');
      expect(auth.handle.command).toBe('AUTH PLAIN [redacted]');
      expect(auth.text).toBe('Maildrop locked and ready');
      expect(result.events.some((event) => event.type === 'challenge')).toBe(false);
      expectQuit(result);
    },
  },

  'rfc5034-auth-plain-challenge.txt': {
    options: { mechanism: () => twoStep(RFC5034_PLAIN()) },
    upfront: true,
    check(result) {
      const auth = handleOf(result, 'AUTH PLAIN');
      expect(auth.command).toBe('AUTH PLAIN');
      expect(eventsOf(result, auth).map((event) => event.type)).toEqual(['challenge', 'done']);
      expect(eventsOf(result, auth)[0]).toMatchObject({ challenge: '' });
      expectQuit(result);
    },
  },

  'rfc5034-auth-cancel.txt': {
    options: { mechanism: () => twoStep(RFC5034_PLAIN()) },
    check(result) {
      const auth = failed(result, 'AUTH PLAIN');
      expect(auth.error).toMatchObject({ name: 'SaslError', code: ErrorCode.Sasl });
      const raw = result.rawEvents.find((event) => event.type === 'failed');
      expect((raw as { error: unknown }).error).toBeInstanceOf(SaslError);
      expect(eventsOf(result, auth.handle)[0]).toMatchObject({ type: 'challenge', challenge: 'who are you?' });
      done(result, 'USER test');
      done(result, 'PASS test');
      expectQuit(result, 1);
    },
  },

  // ─── XOAUTH2 ───
  'xoauth2-gmail.txt': {
    options: { mechanism: () => xoauth2(GMAIL) },
    upfront: true,
    check(result, transcript) {
      expect(greetingOf(result)).toMatchObject({ ok: true, text: 'Gpop ready for requests from 127.0.0.1 z12mb0123456789ab', timestamp: undefined });
      expect(capabilitiesOf(result)).toMatchObject({ sasl: ['PLAIN', 'XOAUTH2', 'OAUTHBEARER'], loginDelay: { value: 300 }, expire: { value: 0 } });
      const auth = result.commands.find((command) => command.text.startsWith('AUTH XOAUTH2 '))!;
      expect(auth.handle?.command).toBe('AUTH XOAUTH2 [redacted]');
      expect(done(result, auth.text).text).toBe('Welcome.');
      expect(transcript.clientBytes).toContain(Buffer.from(`user=${GMAIL.username}\x01auth=Bearer ${GMAIL.accessToken}\x01\x01`).toString('base64'));
      expect(done(result, 'STAT').result).toEqual({ verb: 'STAT', count: 0, size: 0 });
      expect(done(result, 'QUIT').text).toBe('Farewell.');
      expectQuit(result);
    },
  },

  'xoauth2-office365.txt': {
    options: { mechanism: () => twoStep(xoauth2(OFFICE365)) },
    upfront: true,
    check(result) {
      expect(greetingOf(result).text).toBe('The Microsoft Exchange POP3 service is ready.');
      expect(capabilitiesOf(result).sasl).toEqual(['PLAIN', 'XOAUTH2']);
      const auth = done(result, 'AUTH XOAUTH2');
      expect(auth.text).toBe('User successfully authenticated.');
      expect(eventsOf(result, auth.handle).map((event) => event.type)).toEqual(['challenge', 'done']);
      expectQuit(result);
    },
  },

  'xoauth2-error.txt': {
    options: { mechanism: xoauth2Error.mechanism },
    upfront: true,
    check(result) {
      const text = result.commands.find((command) => command.text.startsWith('AUTH XOAUTH2 '))!.text;
      const error = serverError(result, text);
      expect(error.responseCode).toBe('AUTH');
      expect(error.authFailed).toBe(true);
      expect(error.command).toBe('AUTH XOAUTH2 [redacted]');
      expect(eventsOf(result, handleOf(result, text))[0]).toMatchObject({ type: 'challenge', challenge: expect.stringContaining('"status":"400"') });
      expect(xoauth2Error.last().error).toMatchObject({ status: '400', schemes: 'Bearer', scope: 'https://mail.google.com/' });
      expect(result.engine.state).toBe('closed');
      expectQuit(result);
    },
  },

  // ─── OAUTHBEARER ───
  'oauthbearer.txt': {
    options: { mechanism: () => oauthbearer(RFC7628) },
    upfront: true,
    check(result, transcript) {
      const text = result.commands.find((command) => command.text.startsWith('AUTH OAUTHBEARER '))!.text;
      expect(done(result, text).text).toBe('Welcome');
      const initial = Buffer.from(text.slice('AUTH OAUTHBEARER '.length), 'base64').toString('latin1');
      expect(initial).toBe(`n,a=user@example.com,\x01host=server.example.com\x01port=110\x01auth=Bearer ${RFC7628.accessToken}\x01\x01`);
      expect(transcript.clientBytes.endsWith('QUIT\r\n')).toBe(true);
      expectQuit(result);
    },
  },

  'oauthbearer-error.txt': {
    options: { mechanism: oauthbearerError.mechanism },
    upfront: true,
    check(result, transcript) {
      const text = result.commands.find((command) => command.text.startsWith('AUTH OAUTHBEARER '))!.text;
      expect(serverError(result, text).authFailed).toBe(true);
      // The answer to the error challenge is a single 0x01.
      expect(transcript.clientBytes).toContain('\r\nAQ==\r\n');
      expect(oauthbearerError.last().error).toMatchObject({
        status: 'invalid_token',
        scope: 'example_scope',
        openidConfiguration: 'https://example.com/.well-known/openid-configuration',
      });
      expectQuit(result);
    },
  },

  // ─── Real-world shapes ───
  'gmail-session.txt': {
    upfront: true,
    check(result, transcript) {
      expect(done(result, 'USER someone@gmail.com').text).toBe('send PASS');
      expect(done(result, 'STAT').result).toEqual({ verb: 'STAT', count: 1, size: 300 });
      expect(done(result, 'LIST').result).toEqual({ verb: 'LIST', entries: [{ message: 1, size: 300 }] });
      expect(done(result, 'UIDL').result).toEqual({ verb: 'UIDL', entries: [{ message: 1, uid: 'GmailId18c0a1b2c3d4e5f6' }] });
      const body = bodyAfter(transcript, '+OK message follows');
      expect(body).toHaveLength(300);
      expect(dataOf(result, 'RETR 1')).toBe(body);
      expect(statusOf(result, 'RETR 1')).toMatchObject({ text: 'message follows', octets: undefined });
      expectQuit(result);
    },
  },

  'outlook-session.txt': {
    upfront: true,
    check(result, transcript) {
      expect(greetingOf(result)).toEqual({ ok: true, text: 'The Microsoft Exchange POP3 service is ready.', code: undefined, timestamp: undefined });
      expect(done(result, 'PASS secret').text).toBe('User successfully logged on.');
      // The second bare "+OK" of the session is the one to RETR (the first answers USER).
      const body = bodyAfter(transcript, '+OK', 1);
      expect(body).toHaveLength(160);
      expect(dataOf(result, 'RETR 1')).toBe(body);
      expect(statusOf(result, 'RETR 1')).toMatchObject({ text: '', octets: undefined });
      expect(done(result, 'QUIT').text).toBe('Microsoft Exchange Server POP3 server signing off.');
      expectQuit(result);
    },
  },

  // ─── Sloppy and broken servers ───
  'bare-lf.txt': {
    upfront: true,
    check(result) {
      expect(greetingOf(result).text).toBe('ready');
      expect(done(result, 'LIST').result).toEqual({ verb: 'LIST', entries: [{ message: 1, size: 48 }] });
      // Body lines keep their bare LF; the stuffed dot is removed.
      const body = 'Subject: bare LF\n\nline one\n.dot line\nline three\n';
      expect(dataOf(result, 'RETR 1')).toBe(body);
      expect(done(result, 'RETR 1').result).toEqual({ verb: 'RETR', message: 1, octets: 48 });
      expectQuit(result);
    },
  },

  'trailing-spaces.txt': {
    upfront: true,
    check(result) {
      expect(greetingOf(result).text).toBe('ready');
      expect(capabilitiesOf(result)).toMatchObject({ user: true, uidl: true, other: [] });
      expect(done(result, 'PASS secret').text).toBe('logged in');
      expect(done(result, 'STAT').result).toEqual({ verb: 'STAT', count: 2, size: 320 });
      expect(done(result, 'LIST').result).toEqual({ verb: 'LIST', entries: [{ message: 1, size: 120 }, { message: 2, size: 200 }] });
      expect(done(result, 'LIST 2').result).toEqual({ verb: 'LIST', entries: [{ message: 2, size: 200 }] });
      expect(done(result, 'UIDL').result).toEqual({
        verb: 'UIDL',
        entries: [
          { message: 1, uid: 'whqtswO00WBw418f9t5JxYwZ' },
          { message: 2, uid: 'QhdPYR:00WBw1Ph7x7' },
        ],
      });
      expect(done(result, 'UIDL 1').result).toEqual({ verb: 'UIDL', entries: [{ message: 1, uid: 'whqtswO00WBw418f9t5JxYwZ' }] });
      expect(done(result, 'QUIT').text).toBe('bye');
      expectQuit(result);
    },
  },

  'lowercase-ok.txt': {
    // Not up front: USER would be written and the failure in the same chunk would drop it before it is taken.
    check(result) {
      expectFailure(result, ErrorCode.Protocol, 'RemoteProtocolError');
      expect(result.error!.message).toContain('+ok send your password');
      expect(failed(result, 'USER alice').error).toEqual(result.error);
    },
  },

  'empty-ok.txt': {
    upfront: true,
    check(result) {
      expect(greetingOf(result)).toEqual({ ok: true, text: '', code: undefined, timestamp: undefined });
      for (const text of ['USER alice', 'PASS secret', 'NOOP', 'RETR 1', 'QUIT']) expect(done(result, text).text).toBe('');
      expect(statusOf(result, 'RETR 1')).toMatchObject({ text: '', code: undefined, octets: undefined });
      expect(dataOf(result, 'RETR 1')).toBe('Subject: terse\r\n\r\nhi\r\n');
      expectQuit(result);
    },
  },

  'list-extra-text.txt': {
    upfront: true,
    check(result) {
      expect(done(result, 'LIST').result).toEqual({
        verb: 'LIST',
        entries: [
          { message: 1, size: 120 },
          { message: 2, size: 200 },
          { message: 3, size: 4096 },
        ],
      });
      expect(done(result, 'LIST 3').result).toEqual({ verb: 'LIST', entries: [{ message: 3, size: 4096 }] });
      expect(done(result, 'STAT').result).toEqual({ verb: 'STAT', count: 3, size: 4416 });
      expectQuit(result);
    },
  },

  'body-dots.txt': {
    upfront: true,
    check(result) {
      const body =
        'Subject: dots\r\n\r\n.\r\n..\r\n...\r\n. a line that starts with a dot\r\nthe last line of the mailbox copy had no line end\r\n';
      expect(dataOf(result, 'RETR 1')).toBe(body);
      expect(statusOf(result, 'RETR 1')?.octets).toBe(body.length);
      expect(done(result, 'RETR 1').result).toEqual({ verb: 'RETR', message: 1, octets: body.length });
      expect(dataOf(result, 'TOP 1 0')).toBe('Subject: dots\r\n\r\n');
      expectQuit(result);
    },
  },

  'body-unterminated.txt': {
    upfront: true,
    check(result) {
      // "no line end here." CRLF is a body line like any other: everything up to the end of the stream is
      // delivered, and the missing terminator is reported, never guessed.
      expect(dataOf(result, 'RETR 1')).toBe('Subject: cut\r\n\r\nno line end here.\r\n');
      expectFailure(result, ErrorCode.UnexpectedEnd, 'RemoteProtocolError');
      expect(result.error!.message).toContain('body of RETR 1');
      expect(failed(result, 'RETR 1').error).toEqual(result.error);
      expect(result.events.some((event) => event.type === 'done' && event.handle.verb === 'RETR')).toBe(false);
    },
  },

  'unknown-command.txt': {
    options: { rawMultiline: (line) => line.startsWith('XHDRS ') },
    upfront: true,
    check(result) {
      for (const occurrence of [0, 1]) {
        const event = rejected(result, 'XTND XMIT', occurrence);
        expect(event.handle).toMatchObject({ verb: 'RAW', command: 'XTND XMIT' });
        expect(event.error.message).toBe('XTND XMIT failed: unknown command');
      }
      expect(statusOf(result, 'XHDRS 1')).toMatchObject({ text: 'header names follow', octets: undefined });
      const body = 'From\r\n.Hidden\r\nSubject\r\n';
      expect(dataOf(result, 'XHDRS 1')).toBe(body);
      expect(done(result, 'XHDRS 1').result).toEqual({ verb: 'RAW', octets: body.length });
      expectQuit(result);
    },
  },

  'greeting-err.txt': {
    check(result) {
      expect(greetingOf(result)).toEqual({ ok: false, text: 'too many connections, try again later', code: 'SYS/TEMP', timestamp: undefined });
      expectFailure(result, ErrorCode.Server, 'ServerError');
      expect(result.error).toMatchObject({ responseCode: 'SYS/TEMP' });
      expect(result.events).toHaveLength(2);
      expect(result.clientBytes).toBe('');
    },
  },

  'pipelining.txt': {
    upfront: true,
    check(result, transcript) {
      const body = bodyAfter(transcript, '+OK 120 octets');
      expect(done(result, 'STAT').result).toEqual({ verb: 'STAT', count: 2, size: 320 });
      expect(done(result, 'LIST').result).toEqual({ verb: 'LIST', entries: [{ message: 1, size: 120 }, { message: 2, size: 200 }] });
      expect(done(result, 'UIDL').result).toMatchObject({ entries: [{ uid: 'whqtswO00WBw418f9t5JxYwZ' }, { uid: 'QhdPYR:00WBw1Ph7x7' }] });
      expect(dataOf(result, 'RETR 1')).toBe(body);
      expect(dataOf(result, 'TOP 2 0')).toContain('Subject: second\r\n');
      done(result, 'DELE 1');
      rejected(result, 'DELE 9');
      // The replies were matched in the order of the commands.
      const order = result.events.flatMap((event) => (event.type === 'done' || event.type === 'rejected' ? [event.handle.id] : []));
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expectQuit(result);
    },
  },
};

/** Lockstep-only check: the burst markers of pipelining.txt were written as single writes. */
function checkWrites(result: ReplayResult): void {
  expect(result.writes).toContain('USER alice\r\nPASS secret\r\n');
  expect(result.writes).toContain('STAT\r\nLIST\r\nUIDL\r\nRETR 1\r\nTOP 2 0\r\nDELE 1\r\nDELE 9\r\n');
}

// ─── The tests ───────────────────────────────────────────────────────────────────────────────────────────

describe('the synthetic transcript fixtures', () => {
  it('every fixture has a case in this file, and every case a fixture', () => {
    expect(FILES).toEqual(Object.keys(CASES).sort());
  });

  it.each(FILES)('%s has a two-line header (what it shows, its source) and CRLF comment and C: lines', (file) => {
    const text = readFileSync(new URL(file, ROOT), 'latin1');
    const transcript = loadTranscript(new URL(file, ROOT));
    expect(transcript.header).toHaveLength(2);
    expect(transcript.header[0]!.length).toBeGreaterThan(20);
    expect(transcript.header[1]).toMatch(/^Source: /);
    const lines = text.split(/(?<=\n)/);
    for (const line of lines) {
      if (line.startsWith('#') || line.startsWith('C: ')) expect(line.endsWith('\r\n'), JSON.stringify(line)).toBe(true);
      else expect(line.startsWith('S: ')).toBe(true);
    }
    // Only bare-lf.txt has server lines without CR.
    const bareLf = lines.filter((line) => line.startsWith('S: ') && !line.endsWith('\r\n'));
    expect(bareLf.length > 0).toBe(file === 'bare-lf.txt');
  });
});

describe.each(FILES)('%s', (file) => {
  const transcript = loadTranscript(new URL(file, ROOT));
  const entry = CASES[file];

  it('replays at every split point with the same events, writing exactly its C: lines', () => {
    expect(entry, `a case for ${file}`).toBeDefined();
    const result = replayEverySplit(transcript, { ...entry!.options, mode: 'lockstep' });
    expect(result.clientBytes).toBe(transcript.clientBytes);
    expect(result.refused).toEqual([]);
    for (const command of result.commands) expect(command.handle, `${command.text} was enqueued`).toBeDefined();
    entry!.check(result, transcript);
    if (file === 'pipelining.txt') checkWrites(result);
  });

  if (entry?.upfront === true) {
    it('gives the same events with every command queued before the greeting', () => {
      const lockstep = replay(transcript, { ...entry.options, chunks: (epoch) => [epoch], mode: 'lockstep' });
      const upfront = replayEverySplit(transcript, { ...entry.options, mode: 'upfront' });
      expect(upfront.clientBytes).toBe(transcript.clientBytes);
      expect(upfront.events).toEqual(lockstep.events);
      expect(upfront.state).toBe(lockstep.state);
      expect(upfront.error).toEqual(lockstep.error);
      entry.check(upfront, transcript);
    });
  }
});

describe('Node Buffer chunks', () => {
  // A Buffer takes the engine's native sequence search for body lines; the events must not change.
  it.each(FILES)('%s gives the same result from Buffers as from Uint8Arrays', (file) => {
    const transcript = loadTranscript(new URL(file, ROOT));
    const options = { ...CASES[file]?.options, mode: 'lockstep' as const };
    const expected = replay(transcript, { ...options, chunks: (epoch) => [epoch] });
    const slicings: ReplayOptions['chunks'][] = [
      (epoch) => [Buffer.from(epoch)],
      (epoch) => splitEvenly(Buffer.from(epoch), 1),
      (epoch, index) => seededChunks(Buffer.from(epoch), 7 + index),
      (epoch, index) => seededChunks(Buffer.from(epoch), 9 + index),
    ];
    for (const chunks of slicings) {
      const result = replay(transcript, { ...options, chunks });
      expect(result.events).toEqual(expected.events);
      expect(result.clientBytes).toBe(expected.clientBytes);
      expect(result.state).toBe(expected.state);
    }
  });
});

describe('replays that must differ', () => {
  it('rfc1939-user-pass-failures.txt cannot be queued up front: commands that depend on a failure are refused', () => {
    // The failed USER and PASS are not known in advance, so queueing everything refuses the second USER
    // (the engine projects TRANSACTION after the first PASS): proof that the state table is enforced.
    const transcript = loadTranscript(new URL('rfc1939-user-pass-failures.txt', ROOT));
    const result = replay(transcript, { chunks: (epoch) => [epoch], mode: 'upfront' });
    expect(result.refused.map((refusal) => refusal.error.code)).toContain(ErrorCode.WrongState);
    expect(result.clientBytes).not.toBe(transcript.clientBytes);
  });

  it('rfc5034-auth-cancel.txt with the default PLAIN (initial response) writes other bytes', () => {
    const transcript = loadTranscript(new URL('rfc5034-auth-cancel.txt', ROOT));
    const result = replay(transcript, { chunks: (epoch) => [epoch], mechanism: RFC5034_PLAIN });
    expect(result.clientBytes.startsWith('AUTH PLAIN dGVzdAB0ZXN0AHRlc3Q=\r\n')).toBe(true);
  });
});
