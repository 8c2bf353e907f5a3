// The `pop3kit` command line (core/node/cli.ts, cli-serve.ts), run as built: node dist/cli.js.
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServe } from '../support/cli-process.js';
import { makeTestCertificates, type TestCertificates } from '../support/openssl-ca.js';
import { curl } from '../support/real-pop3-clients.js';
import { sampleMessages, tempDir, writeSampleMaildirs } from '../support/sample-maildir.js';

const PASSWORD = 'cli-secret-42';
let root: string;
let usersFile: string;
let certificates: TestCertificates;
let remove: () => void;
beforeAll(() => {
  ({ dir: root, remove } = tempDir('cli'));
  usersFile = writeSampleMaildirs(root, { demo: PASSWORD });
  certificates = makeTestCertificates(root);
});
afterAll(() => remove());

describe('pop3kit serve', () => {
  it('prints its addresses, serves curl over plain TCP, STLS and implicit TLS, and stops cleanly on SIGTERM', async () => {
    const serve = await startServe([
      '--host', '127.0.0.1', '--port', '0', '--maildir', root, '--users', usersFile,
      '--tls-cert', certificates.certFile, '--tls-key', certificates.keyFile, '--tls-port', '0',
    ]);
    expect(serve.stdout()).toMatch(/^pop3kit: listening on pop3:\/\/127\.0\.0\.1:\d+ \(STLS available\)\npop3kit: listening on pop3s:\/\/127\.0\.0\.1:\d+ \(implicit TLS\)\n$/);
    const expected = sampleMessages();
    const list = await curl(`pop3://demo:${PASSWORD}@127.0.0.1:${serve.port}/`);
    expect(list.stdout.toString()).toBe(expected.map((m, i) => `${i + 1} ${m.length}\r\n`).join(''));
    const stls = await curl('--ssl-reqd', '--cacert', certificates.caFile, `pop3://demo:${PASSWORD}@127.0.0.1:${serve.port}/2`);
    expect(stls.stdout.equals(expected[1]!)).toBe(true);
    const implicit = await curl('--cacert', certificates.caFile, `pop3s://demo:${PASSWORD}@127.0.0.1:${serve.tlsPort}/4`);
    expect(implicit.stdout.equals(expected[3]!)).toBe(true);

    // A user name with a space and an `=` (possible with SASL) is quoted in the log, so it cannot forge a field.
    const plain = Buffer.from(`\0x user=demo\0${PASSWORD}`).toString('base64');
    const forged = await curl('-X', 'NOOP', '--login-options', 'AUTH=PLAIN', `pop3://x%20user%3Ddemo:${PASSWORD}@127.0.0.1:${serve.port}/`);
    expect(forged.code).toBe(67);

    expect(await serve.stop('SIGTERM')).toBe(0);
    expect(serve.stdout()).toMatch(/pop3kit: SIGTERM, stopping\npop3kit: stopped\n$/);
    expect(serve.stderr()).toContain('login-failed id=');
    expect(serve.stderr()).toContain('user="x user=demo"');
    expect(serve.stderr()).not.toContain(plain);
    // The connection log: metadata, never the password.
    expect(serve.stderr()).toMatch(/pop3kit: login id=\d+ user=demo mechanism=\S+/);
    expect(serve.stderr()).toMatch(/pop3kit: close id=\d+ reason=quit user=demo bytesIn=\d+ bytesOut=\d+ ms=\d+/);
    expect(serve.stderr()).not.toContain(PASSWORD);
  });

  it('stops on SIGINT with an idle session open, and --quiet logs nothing', async () => {
    const serve = await startServe(['--port', '0', '--maildir', root, '--users', usersFile, '--quiet']);
    const idle = net.connect(serve.port, '127.0.0.1');
    idle.on('error', () => {});
    await new Promise((resolve) => idle.once('data', resolve)); // the greeting
    const closed = new Promise((resolve) => idle.once('close', resolve));
    expect(await serve.stop('SIGINT')).toBe(0);
    await closed;
    expect(serve.stderr()).toBe('');
  });

  it('explains what went wrong when it cannot listen', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const run = await runCli(['serve', '--port', String(port), '--maildir', root, '--users', usersFile]);
    taken.close();
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('EADDRINUSE');
  });
});

describe('the command line', () => {
  it('prints the commands with --help, and each command\'s options with <command> --help', async () => {
    const top = await runCli(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/^Usage: pop3kit <command> \[options\]\n\nCommands:\n {2}serve {2}/);
    const serve = await runCli(['serve', '--help']);
    expect(serve.code).toBe(0);
    for (const option of ['--maildir', '--users', '--host', '--port', '--tls-cert', '--tls-key', '--tls-port', '--max-connections', '--quiet']) {
      expect(serve.stdout).toContain(option);
    }
  });

  it.each([
    [['serve', '--bogus'], "pop3kit serve: Unknown option '--bogus'"],
    [['serve', '--users', 'x'], 'pop3kit serve: --maildir is required'],
    [['serve', '--maildir', 'x'], 'pop3kit serve: --users is required'],
    [['serve', '--maildir', 'x', '--users', 'y', '--port', '65536'], 'pop3kit serve: --port must be an integer from 0 to 65535, not "65536"'],
    [['serve', '--maildir', 'x', '--users', 'y', '--port', '1e3'], 'pop3kit serve: --port must be an integer from 0 to 65535, not "1e3"'],
    [['serve', '--maildir', 'x', '--users', 'y', '--tls-cert', 'c'], 'pop3kit serve: --tls-cert and --tls-key go together'],
    [['serve', '--maildir', 'x', '--users', 'y', '--tls-port', '995'], 'pop3kit serve: --tls-port needs --tls-cert and --tls-key'],
    [['serve', '--maildir', 'x', '--users', 'y', 'extra'], "pop3kit serve: Unexpected argument 'extra'"],
  ])('rejects %j with exit code 2', async (args, message) => {
    const run = await runCli(args);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe(`${message}\nRun "pop3kit serve --help" for usage.\n`);
  });

  it('rejects an unknown or missing command with exit code 2 and the command list', async () => {
    for (const args of [['frobnicate'], []]) {
      const run = await runCli(args);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('Commands:\n  serve');
    }
  });

  it('reports unusable files with exit code 1, naming the option', async () => {
    const badUsers = path.join(root, 'bad-users');
    writeFileSync(badUsers, 'no-colon-here\n');
    const cases: [string[], RegExp][] = [
      [['--maildir', path.join(root, 'missing'), '--users', usersFile], /^pop3kit serve: --maildir: ENOENT/],
      [['--maildir', usersFile, '--users', usersFile], /^pop3kit serve: --maildir .*: not a directory/],
      [['--maildir', root, '--users', path.join(root, 'missing')], /^pop3kit serve: --users: ENOENT/],
      [['--maildir', root, '--users', badUsers], /^pop3kit serve: --users: .*bad-users line 1: expected name:password/],
      [['--maildir', root, '--users', usersFile, '--tls-cert', certificates.keyFile, '--tls-key', certificates.keyFile], /^pop3kit serve: --tls-cert\/--tls-key: .*no start line/],
      [['--maildir', root, '--users', usersFile, '--tls-cert', certificates.caFile, '--tls-key', certificates.keyFile], /^pop3kit serve: --tls-cert\/--tls-key: .*key values mismatch/],
      [['--maildir', root, '--users', usersFile, '--tls-cert', path.join(root, 'missing.pem'), '--tls-key', certificates.keyFile], /^pop3kit serve: --tls-cert: ENOENT/],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(['serve', '--port', '0', ...args]);
      expect(run.code).toBe(1);
      expect(run.stderr).toMatch(message);
    }
  });
});
