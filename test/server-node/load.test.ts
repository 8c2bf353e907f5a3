// A bounded load test: 200 concurrent sessions, each downloading the whole sample mailbox (15 messages,
// 1.3 MB) with the project's Pop3Client over its Node transport, against `pop3kit serve` in its own process,
// so that the server's memory can be read from /proc. Every body must be right; the server's resident memory
// may grow only by a bounded amount (it streams: about one chunk per session); it all ends within ~20 s.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connect } from '../../core/node/connect.js';
import { startServe, type ServeProcess } from '../support/cli-process.js';
import { sampleMessages, tempDir, writeSampleMaildirs } from '../support/sample-maildir.js';

const SESSIONS = 200;
const users = Object.fromEntries(Array.from({ length: SESSIONS }, (_, i) => [`load${i + 1}`, `pw-${i + 1}`]));

let serve: ServeProcess;
let remove: () => void;
beforeAll(async () => {
  let root: string;
  ({ dir: root, remove } = tempDir('load'));
  const usersFile = writeSampleMaildirs(root, users); // one Maildir per user: each session needs its own lock
  serve = await startServe(['--port', '0', '--maildir', root, '--users', usersFile, '--quiet']);
});
// The server may take its whole grace period (10 s) to stop if a session is still open.
afterAll(async () => {
  await serve.stop();
  remove();
}, 30_000);

/** Resident and peak resident memory of a process, in bytes (Linux /proc). */
function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)![1]) * 1024;
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

it(`serves ${SESSIONS} concurrent sessions downloading the whole sample mailbox, in bounded memory`, { timeout: 60_000 }, async () => {
  const expected = sampleMessages();
  const mailboxSize = expected.reduce((sum, m) => sum + m.length, 0);
  const before = memory(serve.child.pid!);
  const started = Date.now();

  const session = async (user: string, password: string): Promise<number> => {
    const client = await connect({ host: '127.0.0.1', port: serve.port, tls: 'none' });
    await client.login({ username: user, password });
    let received = 0;
    for (let n = 1; n <= expected.length; n++) {
      const body = await client.retr(n);
      if (!Buffer.from(body.buffer, body.byteOffset, body.byteLength).equals(expected[n - 1]!)) throw new Error(`${user}: message ${n} differs`);
      received += body.length;
    }
    await client.quit();
    return received;
  };
  const received = await Promise.all(Object.entries(users).map(([user, password]) => session(user, password)));

  const seconds = (Date.now() - started) / 1000;
  const after = memory(serve.child.pid!);
  const growth = after.peak - before.rss;
  const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
  console.log(
    `load: ${SESSIONS} sessions, ${mb(SESSIONS * mailboxSize)} MB in ${seconds.toFixed(1)} s; server RSS ${mb(before.rss)} MB before, ` +
      `peak ${mb(after.peak)} MB (growth ${mb(growth)} MB), ${mb(after.rss)} MB after`,
  );
  expect(received).toEqual(Array(SESSIONS).fill(mailboxSize));
  // Buffering whole messages would take over 260 MB (200 copies of the 1.3 MB one); streaming takes a
  // fraction of one of them per session.
  expect(growth).toBeLessThan(160 * 1024 * 1024);
  expect(seconds).toBeLessThan(25);
});
