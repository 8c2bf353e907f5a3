/**
 * Small helpers shared by the interop tests: opening sessions against the test server (and closing what a
 * failed test left open), bounded waits that turn a hang into a clear failure, and a byte comparison whose
 * failure message shows where two bodies differ (not a 100 KB dump).
 */
import { expect } from 'vitest';
import type { Pop3Client } from '../../core/index.js';
import { connect, type ConnectOptions } from '../../core/node/index.js';
import type { DovecotInfo, TestUser } from './dovecot.js';

/** How long one step of a session may take before the test calls it a hang. */
export const STEP_MS = 10_000;

/**
 * Awaits `promise`, but fails with "<what> did not settle within N ms" when it neither resolves nor rejects
 * in time, so a promise the client forgot to settle fails the test with its name instead of a test timeout.
 */
export async function within<T>(promise: Promise<T>, what: string, ms = STEP_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms (a hang)`)), ms);
  });
  try {
    return await Promise.race([promise, hang]);
  } finally {
    clearTimeout(timer);
  }
}

/** Awaits a promise that must reject (within `ms`) and returns what it rejected with. */
export async function rejectionOf(promise: Promise<unknown>, what: string, ms = STEP_MS): Promise<unknown> {
  const outcome = await within(
    promise.then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    ),
    what,
    ms,
  );
  if (outcome.ok) expect.fail(`${what} should have failed, but resolved with ${String(outcome.value)}`);
  return outcome.error;
}

/** Asserts two byte sequences are equal; on failure, says where they first differ and shows both there. */
export function expectSameBytes(actual: Uint8Array, expected: Uint8Array, label: string): void {
  const a = Buffer.from(actual.buffer, actual.byteOffset, actual.byteLength);
  const b = Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength);
  if (a.equals(b)) return;
  let at = 0;
  while (at < a.length && at < b.length && a[at] === b[at]) at++;
  const show = (bytes: Buffer): string => JSON.stringify(bytes.subarray(Math.max(0, at - 24), at + 24).toString('latin1'));
  expect.fail(
    `${label}: ${a.length} bytes received, ${b.length} expected; first difference at byte ${at}:\n` +
      `  received ${show(a)}\n  expected ${show(b)}`,
  );
}

/**
 * Opens Pop3Clients with the real Node transport, by default to the plain port without TLS (the server is on
 * 127.0.0.1). Every client is remembered, so `closeAll()` in afterEach ends what a failing test left open:
 * a leftover session would hold its mailbox lock.
 */
export class Sessions {
  readonly #dovecot: DovecotInfo;
  readonly #open: Pop3Client[] = [];

  constructor(dovecot: DovecotInfo) {
    this.#dovecot = dovecot;
  }

  /** connect() with these options over the defaults (host 127.0.0.1, the plain port, `tls: 'none'`). */
  async open(options: Partial<ConnectOptions> = {}): Promise<Pop3Client> {
    const client = await within(connect({ host: this.#dovecot.host, port: this.#dovecot.port, tls: 'none', ...options }), 'connect()');
    this.#open.push(client);
    return client;
  }

  /** A session logged in as `user` with USER/PASS. */
  async loggedIn(user: TestUser, options: Partial<ConnectOptions> = {}): Promise<Pop3Client> {
    const client = await this.open(options);
    await within(client.login({ username: user.user, password: user.password, mechanism: 'USER' }), `login as ${user.user}`);
    return client;
  }

  closeAll(): void {
    for (const client of this.#open.splice(0)) client.close();
  }
}
