/**
 * `pop3kit proxy`: refusing to start without an allowlist (or with a private target and no --allow-private),
 * and a run that relays, logs JSON lines, requires tokens when given a secret, and drains on a signal. The
 * built command (dist/cli.js, made by `npm run build`) is run once as a real process.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../core/node/cli-command.js';
import { proxyCommand, runProxy } from '../../proxy/cli.js';
import { signToken } from '../../proxy/tokens.js';
import { connect, type CountingServer, fakePop3Server, until } from './harness.js';

const CLI = new URL('../../dist/cli.js', import.meta.url);

/** Parses a command line the way core/node/cli.ts does. */
const parse = (args: string[]) => parseArgs({ args, options: proxyCommand.options, strict: true, allowPositionals: false }).values;

/** Runs the subcommand in this process until `stop()`; collects what it writes. */
function start(args: string[]) {
  let stop!: (signal: string) => void;
  const stopped = new Promise<string>((resolve) => (stop = resolve));
  const out: string[] = [];
  const err: string[] = [];
  let port: number | undefined;
  const exit = runProxy(parse(args), {
    stdout: { write: (text: string) => out.push(text) },
    stderr: { write: (text: string) => err.push(text) },
    stopped,
    onListening: (p) => (port = p),
  });
  return { exit, stop, out, err, port: () => port };
}

let pop3: CountingServer;
let dir: string;
beforeAll(async () => {
  pop3 = await fakePop3Server();
  dir = mkdtempSync(path.join(tmpdir(), 'pop3kit-proxy-cli-'));
});
afterAll(async () => {
  await pop3.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('pop3kit proxy', () => {
  it('refuses to start without --allow', async () => {
    const run = start(['--listen', '127.0.0.1:0']);
    await expect(run.exit).rejects.toThrow(UsageError);
    await expect(run.exit).rejects.toThrow(/--allow HOST:PORT is required/);
    expect(run.port()).toBeUndefined();
  });

  it('refuses a loopback target without --allow-private, naming the option', async () => {
    const run = start(['--listen', '127.0.0.1:0', '--allow', pop3.target]);
    await expect(run.exit).rejects.toThrow(/127\.0\.0\.1 is loopback.*--allow-private/);
  });

  it('relays for an allowed origin, logs JSON lines, and drains on a signal', async () => {
    const run = start(['--listen', '127.0.0.1:0', '--allow', pop3.target, '--allow-private', '--origin', 'https://mail.example.org']);
    await until(() => run.port() !== undefined);
    const url = `ws://127.0.0.1:${run.port()}/`;
    expect(await connect(url, '', { origin: 'https://evil.example.net' }).opened).toEqual({ opened: false, status: 403 });
    const page = connect(url, '', { origin: 'https://mail.example.org' });
    await until(() => page.received.length === 1);
    expect(Buffer.concat(page.received).toString()).toBe('+OK fake POP3 ready\r\n');
    run.stop('SIGTERM');
    expect(await page.closed).toEqual({ code: 1001, reason: 'shutting down' });
    expect(await run.exit).toBe(0);
    const events = run.out.join('').trim().split('\n').map((line) => JSON.parse(line).event);
    expect(events).toEqual(['listening', 'refused', 'session-open', 'shutdown', 'session-close', 'shutdown']);
    expect(run.err).toEqual(['pop3kit proxy: SIGTERM, draining\n']);
  });

  it('warns that browsers are refused without --origin', async () => {
    const run = start(['--listen', '127.0.0.1:0', '--allow', pop3.target, '--allow-private']);
    await until(() => run.port() !== undefined);
    run.stop('SIGINT');
    expect(await run.exit).toBe(0);
    expect(run.err[0]).toMatch(/no --origin given: browser pages are refused/);
  });

  it('requires a token signed with the --token-secret file', async () => {
    const secretFile = path.join(dir, 'secret');
    const secret = 'k'.repeat(40);
    writeFileSync(secretFile, `${secret}\n`);
    const run = start(['--listen', '127.0.0.1:0', '--allow', pop3.target, '--allow-private', '--token-secret', secretFile]);
    await until(() => run.port() !== undefined);
    const url = `ws://127.0.0.1:${run.port()}/`;
    expect(await connect(url).closed).toEqual({ code: 1008, reason: 'token-missing' });
    const token = signToken({ target: pop3.target, expiresAt: Date.now() + 60_000 }, secret);
    const page = connect(url, `?token=${encodeURIComponent(token)}`);
    await until(() => page.received.length === 1);
    run.stop('SIGTERM');
    expect(await run.exit).toBe(0);
  });
});

describe('dist/cli.js', () => {
  const built = existsSync(CLI);

  it('was built (npm run build)', () => {
    expect(built, 'dist/cli.js is missing: run `npm run build` before the tests').toBe(true);
  });

  it.runIf(built)('exits 2 without --allow, saying why', async () => {
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
      execFile(process.execPath, [CLI.pathname, 'proxy', '--listen', '127.0.0.1:0'], (error, _, stderr) =>
        resolve({ code: error ? (error.code as number) : 0, stderr }),
      ),
    );
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^pop3kit proxy: --allow HOST:PORT is required/);
  });

  it.runIf(built)('runs, listens, and exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [CLI.pathname, 'proxy', '--listen', '127.0.0.1:0', '--allow', pop3.target, '--allow-private'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('"listening"'), 10_000, 'the listening line');
    const { port } = JSON.parse(out.split('\n')[0]!) as { port: number };
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(out).toContain('"phase":"closed"');
  });
});
