// The bench's support processes (pop3-server.mjs, latency-proxy.mjs) run as children that report the port
// they listen on over IPC.
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Start `script` (a file of bench/support/) with `args`, and wait for the port it listens on: { child, port }. */
export function startHelper(script, args) {
  const child = fork(path.join(here, script), args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', ({ port }) => resolve({ child, port }));
    child.once('exit', (code) => reject(new Error(`${script} exited (${code}) before listening`)));
  });
}
