/**
 * `npm start` as a newcomer runs it: in a fresh copy of the repository (every file git tracks or would track,
 * nothing built), with the installed node_modules linked in. Resolves once the demo prints its URL.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));

export interface StartedCheckout {
  /** The page's URL as printed. */
  readonly url: string;
  /** Everything the process printed so far. */
  readonly output: () => string;
  /** Stops the process (SIGINT, as Ctrl-C) and removes the copy; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Copy the repository without build output or installed packages, as a clone would have it. */
export function cleanCopy(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'pop3kit-checkout-'));
  const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], { cwd: REPOSITORY, encoding: 'utf8' })
    .split('\0')
    .filter((name) => name !== '');
  for (const name of files) {
    const target = path.join(dir, name);
    mkdirSync(path.dirname(target), { recursive: true });
    try {
      copyFileSync(path.join(REPOSITORY, name), target);
    } catch {
      // A file git lists but the working tree has deleted.
    }
  }
  symlinkSync(path.join(REPOSITORY, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  return dir;
}

/** Run `npm start -- ARGS` in a clean copy and wait (up to `timeoutMs`) for the URL it prints. */
export async function npmStartInCleanCopy(args: readonly string[], timeoutMs = 120_000): Promise<StartedCheckout> {
  const dir = cleanCopy();
  const child: ChildProcess = spawn('npm', ['start', '--', ...args], { cwd: dir, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stop = async () => {
    // npm runs the demo in a shell: signal the whole process group, as a terminal's Ctrl-C does.
    // Even when npm itself has exited: the demo it started may still run in the group. A group that is
    // gone altogether (ESRCH) has nothing left to stop.
    try {
      process.kill(-child.pid!, 'SIGINT');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    const code = await exited;
    rmSync(dir, { recursive: true, force: true });
    return code;
  };
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start printed no URL within ${timeoutMs} ms:\n${output}`)), timeoutMs);
    const look = () => {
      const match = /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', look);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited with ${code} before printing a URL:\n${output}`));
    });
  }).catch(async (error: unknown) => {
    await stop();
    throw error;
  });
  return { url, output: () => output, stop };
}
