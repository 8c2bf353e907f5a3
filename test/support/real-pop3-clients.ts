/**
 * Real POP3 clients for testing our server: the curl command line and Python's poplib (through
 * poplib-session.py). Both run as child processes, asynchronously, so the server in the test's own process
 * keeps serving while they talk to it.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** What a client process left behind. */
export interface ClientRun {
  readonly code: number;
  readonly stdout: Buffer;
  readonly stderr: string;
}

function run(command: string, args: readonly string[]): Promise<ClientRun> {
  return new Promise((resolve) => {
    execFile(command, args, { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr: stderr.toString() });
    });
  });
}

/** Runs curl with `args` (silent, showing errors, never reading ~/.curlrc). */
export function curl(...args: string[]): Promise<ClientRun> {
  return run('curl', ['-q', '--silent', '--show-error', '--max-time', '20', ...args]);
}

/** A poplib session plan; see test/support/poplib-session.py for the steps and their results. */
export interface PoplibPlan {
  readonly host: string;
  readonly port: number;
  readonly security: 'plain' | 'stls' | 'implicit';
  readonly cafile?: string;
  readonly login: 'user' | 'apop';
  readonly user: string;
  readonly password: string;
  readonly utf8?: boolean;
  readonly steps: readonly (readonly [string, ...(number | string)[]])[];
}

const script = fileURLToPath(new URL('./poplib-session.py', import.meta.url));

/** Runs a poplib session; resolves to the step results, or rejects with Python's error output. */
export async function poplib(plan: PoplibPlan): Promise<unknown[]> {
  const result = await run('python3', [script, JSON.stringify(plan)]);
  if (result.code !== 0) throw new Error(`poplib session failed (exit ${result.code}): ${result.stderr.trim()}`);
  return JSON.parse(result.stdout.toString()) as unknown[];
}
