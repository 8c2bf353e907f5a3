/**
 * The built command line (`node dist/cli.js`, as the package's `bin` runs it) as a child process: start
 * `pop3kit serve`, learn its addresses from what it prints, stop it with a signal. The tests that use it
 * need `npm run build` first (CI builds before it tests).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/cli.js', import.meta.url));

/** A running `pop3kit serve`. */
export interface ServeProcess {
  readonly child: ChildProcess;
  /** Port of the plain (STLS) listener. */
  readonly port: number;
  /** Port of the implicit-TLS listener, when --tls-port was given. */
  readonly tlsPort: number | undefined;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Sends the signal and resolves with the exit code (null when killed by a signal). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Runs the CLI with `args` to its end. */
export function runCli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
    child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Starts `pop3kit serve` with `args` and resolves once it has printed every address it listens on. */
export function startServe(args: readonly string[]): Promise<ServeProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const tls = args.includes('--tls-port');
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (data: Buffer) => (stderr += data.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let started = false;
    const fail = (why: string) => {
      if (started) return;
      child.kill('SIGKILL');
      reject(new Error(`pop3kit serve ${why}: ${stderr.trim()}`));
    };
    const timer = setTimeout(() => fail('printed no address within 10 s'), 10_000);
    void exited.then((code) => fail(`exited with ${code}`));
    child.stdout!.on('data', (data: Buffer) => {
      stdout += data.toString();
      const plain = /listening on pop3:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      const secure = /listening on pop3s:\/\/127\.0\.0\.1:(\d+)/.exec(stdout);
      if (started || !plain || (tls && !secure)) return;
      started = true;
      clearTimeout(timer);
      resolve({
        child,
        port: Number(plain[1]),
        tlsPort: secure ? Number(secure[1]) : undefined,
        stdout: () => stdout,
        stderr: () => stderr,
        stop: (signal = 'SIGTERM') => {
          child.kill(signal);
          return exited;
        },
      });
    });
  });
}
