/**
 * A private Dovecot on 127.0.0.1 for the interop tests, and per-test users with fresh mailboxes in it.
 *
 * `startDovecot()` (called once per run by test/global-setup.ts) makes everything under a new temp dir: a CA
 * and a server certificate (SAN DNS:localhost, IP:127.0.0.1) made with openssl, a directory for passwd-files,
 * a config, and the runtime, state, log and mail directories. It starts `dovecot -F -c <config>` as its own
 * child process (never the system service; nothing outside the temp dir is read or written except the
 * Dovecot binaries), waits until both ports answer, and hands back `DovecotInfo` for the tests, which get it
 * with `inject('dovecot')`. `stop()` ends that process by PID: SIGTERM, then SIGKILL after a bound.
 *
 * The temp dir is under os.tmpdir(), not in the checkout: Dovecot reads passwd-files as the `dovecot`
 * user and mail as `nobody`, and a checkout in a private home directory may be out of their reach.
 *
 * Tests call `createUser()` for a user of their own with a freshly written Maildir, so no test depends on
 * what another one did. That runs in the test worker as root: it writes the user's own passwd-file (one file
 * per user, `passwd.d/<user>`: Dovecot 2.3 checks a passwd-file for changes at most once a second, so a user
 * appended to a shared file may stay unknown for up to a second) and chowns the Maildir to `nobody`, the uid
 * every user's mail processes run as (static userdb).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, chown, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { type GeneratedMessage, type MessageSource, type StoredMessage, UIDL_FORMAT, writeMaildir } from './mail-generator.js';

/** What the tests need to reach the server; plain data, so vitest can pass it from the setup to workers. */
export interface DovecotInfo {
  readonly host: '127.0.0.1';
  /** Plain POP3, STLS offered. */
  readonly port: number;
  /** Implicit TLS (RFC 8314). */
  readonly tlsPort: number;
  /** The PEM of the CA that signed the server certificate (which is valid for localhost and 127.0.0.1). */
  readonly ca: string;
  /** The greeting text before its APOP timestamp, as configured (`login_greeting`). */
  readonly greeting: string;
  /** The directory of per-user passwd-files that `createUser` writes. */
  readonly passwdDir: string;
  /** Users' home directories (each one the user's Maildir) are `${homes}/<user>`. */
  readonly homes: string;
  /** Dovecot's log, for failure messages. */
  readonly logFile: string;
}

declare module 'vitest' {
  export interface ProvidedContext {
    dovecot: DovecotInfo;
  }
}

/** A running private Dovecot. */
export interface Dovecot {
  readonly info: DovecotInfo;
  /** Stops the server (SIGTERM, SIGKILL after STOP_TIMEOUT_MS) and removes its temp dir. */
  stop(): Promise<void>;
}

const DOVECOT = process.env.DOVECOT_BIN ?? '/usr/sbin/dovecot';
// dovecot-core has the master binary; the POP3 server itself is in dovecot-pop3d.
const POP3_BINARY = '/usr/lib/dovecot/pop3';
const GREETING = 'Dovecot ready.';
const START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 5_000;
const NOBODY = { uid: 65534, gid: 65534 };

const run = promisify(execFile);

/** Starts a private Dovecot, or throws with the reason (never skips: a missing Dovecot is a failure). */
export async function startDovecot(): Promise<Dovecot> {
  if (!existsSync(DOVECOT) || !existsSync(POP3_BINARY)) {
    throw new Error(
      `Dovecot is not installed (need ${DOVECOT} and ${POP3_BINARY}): the interop tests run against a real Dovecot. ` +
        'Install it with `apt-get install --no-install-recommends dovecot-core dovecot-pop3d` (.ci/run does).',
    );
  }
  if (process.getuid?.() !== 0) {
    throw new Error('The Dovecot interop tests must run as root: Dovecot switches to the nobody and dovecot users.');
  }

  const dir = await mkdtemp(path.join(os.tmpdir(), 'pop3kit-dovecot-'));
  try {
    // mkdtemp makes the dir 0700; Dovecot's unprivileged processes must reach the files in it.
    await chmod(dir, 0o755);
    const files = {
      config: path.join(dir, 'dovecot.conf'),
      passwd: path.join(dir, 'passwd.d'),
      log: path.join(dir, 'dovecot.log'),
      homes: path.join(dir, 'home'),
      base: path.join(dir, 'run'),
      state: path.join(dir, 'state'),
    };
    await Promise.all([files.homes, files.state, files.passwd].map((sub) => mkdir(sub, { mode: 0o755 })));
    const tls = await makeCertificates(dir);

    // Free ports are found by binding port 0 and letting go; another process could take one in between, so
    // a start that fails with "Address already in use" is retried with new ports.
    for (let attempt = 1; ; attempt++) {
      const [port, tlsPort] = (await freePorts(2)) as [number, number];
      await writeFile(files.config, config({ ...files, ...tls, port, tlsPort }));
      const info: DovecotInfo = {
        host: '127.0.0.1',
        port,
        tlsPort,
        ca: tls.caPem,
        greeting: GREETING,
        passwdDir: files.passwd,
        homes: files.homes,
        logFile: files.log,
      };
      try {
        const child = await launch(files.config, info);
        return {
          info,
          stop: async () => {
            await stopProcess(child);
            await rm(dir, { recursive: true, force: true });
          },
        };
      } catch (error) {
        if (attempt < 3 && /Address already in use/.test(String(error))) continue;
        throw error;
      }
    }
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
}

interface ConfigPaths {
  readonly passwd: string;
  readonly log: string;
  readonly homes: string;
  readonly base: string;
  readonly state: string;
  readonly cert: string;
  readonly key: string;
  readonly port: number;
  readonly tlsPort: number;
}

/** The whole configuration: nothing is inherited from /etc/dovecot (`-c` reads only this file). */
function config(p: ConfigPaths): string {
  return `# Generated by test/support/dovecot.ts for one test run.
base_dir = ${p.base}
state_dir = ${p.state}
log_path = ${p.log}
info_log_path = ${p.log}
listen = 127.0.0.1
protocols = pop3
# Debian's default greeting is "Dovecot (Debian) ready."; fix it so the tests do not depend on the build.
login_greeting = ${GREETING}

ssl = yes
ssl_cert = <${p.cert}
ssl_key = <${p.key}
ssl_min_protocol = TLSv1.2

disable_plaintext_auth = no
# apop is a mechanism name in Dovecot: it turns on the <timestamp> in the greeting and the APOP command.
auth_mechanisms = plain login cram-md5 scram-sha-256 apop
# Without this a wrong password is answered after 2 seconds (with it, after about half a second).
auth_failure_delay = 0
passdb {
  driver = passwd-file
  # {PLAIN} passwords: CRAM-MD5, SCRAM-SHA-256 and APOP need the password itself. One file per user (see
  # createUser); %u is the user name, in which Dovecot cuts a '/' and what follows.
  args = scheme=PLAIN ${p.passwd}/%u
}
userdb {
  driver = static
  args = uid=${NOBODY.uid} gid=${NOBODY.gid} home=${p.homes}/%u
}

mail_location = maildir:~
# UIDLs from the pre-written dovecot-uidlist: stable and known in advance (see mail-generator.ts).
pop3_uidl_format = ${UIDL_FORMAT}
# A second session on a mailbox gets -ERR [IN-USE] instead of sharing it.
pop3_lock_session = yes

# Dovecot's auth penalty delays every login from an IP address after a failed one (2 s, doubling up to
# 15 s); the tests fail logins on purpose, all from 127.0.0.1. Without access to this socket the auth
# process turns the penalty off (the documented way to disable it).
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}

service pop3-login {
  inet_listener pop3 {
    port = ${p.port}
  }
  inet_listener pop3s {
    port = ${p.tlsPort}
    ssl = yes
  }
  # One long-lived login process for every connection instead of a fork per connection: the tests open
  # hundreds of short sessions.
  service_count = 0
  process_min_avail = 1
}
`;
}

/** A CA and a server certificate signed by it, for localhost and 127.0.0.1. */
async function makeCertificates(dir: string): Promise<{ caPem: string; cert: string; key: string }> {
  const file = (name: string): string => path.join(dir, name);
  const openssl = (...args: string[]): Promise<unknown> => run('openssl', args);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await openssl('req', '-x509', ...ecKey, '-keyout', file('ca.key'), '-out', file('ca.pem'), '-days', '2', '-subj', '/CN=pop3kit interop test CA');
  await openssl('req', ...ecKey, '-keyout', file('server.key'), '-out', file('server.csr'), '-subj', '/CN=localhost');
  await writeFile(file('server.ext'), 'subjectAltName = DNS:localhost, IP:127.0.0.1\nbasicConstraints = CA:FALSE\nextendedKeyUsage = serverAuth\n');
  await openssl(
    'x509', '-req', '-in', file('server.csr'), '-CA', file('ca.pem'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-out', file('server.pem'), '-days', '2', '-extfile', file('server.ext'),
  );
  return { caPem: await readFile(file('ca.pem'), 'utf8'), cert: file('server.pem'), key: file('server.key') };
}

/** Ports that were free a moment ago on 127.0.0.1. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve, reject) => {
      const server = net.createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as net.AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

/** Spawns Dovecot and resolves once it serves both ports; rejects with its output and log tail if not. */
async function launch(configFile: string, info: DovecotInfo): Promise<ChildProcess> {
  // Its own process group, so stopProcess can kill leftovers of this instance (and only those) with the PID.
  const child = spawn(DOVECOT, ['-F', '-c', configFile], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (data: Buffer) => (output += data.toString()));
  child.stderr!.on('data', (data: Buffer) => (output += data.toString()));
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `exited with ${signal ?? `code ${code}`}`));
  child.once('error', (error) => (exited = `failed to start: ${error.message}`));
  // If the test runner dies without running teardown, do not leave a server behind.
  const killOnExit = (): void => {
    if (exited === undefined) kill(child, 'SIGKILL');
  };
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));

  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastProblem = '';
  while (exited === undefined && Date.now() < deadline) {
    try {
      const greeting = await firstLine(info.port);
      if (!greeting.startsWith(`+OK ${GREETING}`)) throw new Error(`unexpected greeting ${JSON.stringify(greeting)}`);
      await canConnect(info.tlsPort);
      return child;
    } catch (error) {
      lastProblem = (error as Error).message;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const why = exited ?? `did not serve ports ${info.port} and ${info.tlsPort} within ${START_TIMEOUT_MS} ms (last: ${lastProblem})`;
  await stopProcess(child);
  throw new Error(`Dovecot ${why}.\n--- its output ---\n${output.trim()}\n--- tail of ${info.logFile} ---\n${logTail(info.logFile)}`);
}

/** The last lines of Dovecot's log, for error messages. */
function logTail(logFile: string, lines = 20): string {
  return existsSync(logFile) ? readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
}

function firstLine(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    let data = '';
    socket.setTimeout(2000, () => socket.destroy(new Error('no greeting within 2 s')));
    socket.on('data', (chunk: Buffer) => {
      data += chunk.toString('latin1');
      const end = data.indexOf('\r\n');
      if (end !== -1) {
        socket.destroy();
        resolve(data.slice(0, end));
      }
    });
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed before a greeting')));
  });
}

function canConnect(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

function kill(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal); // the group whose leader is the Dovecot we started
  } catch {
    // already gone
  }
}

/** SIGTERM to the Dovecot master (it stops its own children), SIGKILL to its group after STOP_TIMEOUT_MS. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  kill(child, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    exited.then(() => false),
    new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_TIMEOUT_MS))),
  ]);
  clearTimeout(timer);
  if (timedOut) {
    kill(child, 'SIGKILL');
    await exited;
  }
}

// ─── Users (in the test workers) ──────────────────────────────────────────────────────────────────────────

/** A user of the test server with a fresh Maildir. */
export interface TestUser {
  readonly user: string;
  readonly password: string;
  /** The user's home, which is the Maildir. */
  readonly home: string;
  /** The messages as written, in POP3 order. */
  readonly messages: readonly StoredMessage[];
}

let userCount = 0;

/**
 * Adds a user with its own Maildir holding `messages`. The name is unique across test workers and runs
 * (`label`, the worker's PID and a counter), so every test can have a mailbox nobody else touches. The
 * password is `<user>-pw`, unless `password` says otherwise.
 */
export async function createUser(
  info: DovecotInfo,
  label: string,
  messages: readonly MessageSource[],
  options: { password?: string } = {},
): Promise<TestUser> {
  const user = `${label.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${process.pid}-${++userCount}`;
  const password = options.password ?? `${user}-pw`;
  const home = path.join(info.homes, user);
  await mkdir(home, { mode: 0o755 });
  const stored = await writeMaildir(home, messages);
  await chownTree(home);
  // Written whole under a temporary name, then renamed: Dovecot never reads half a file.
  const passwd = path.join(info.passwdDir, user);
  await writeFile(`${passwd}.tmp`, `${user}:{PLAIN}${password}\n`, { mode: 0o644 });
  await rename(`${passwd}.tmp`, passwd);
  return { user, password, home, messages: stored };
}

async function chownTree(dir: string): Promise<void> {
  await chown(dir, NOBODY.uid, NOBODY.gid);
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const entryPath = path.join(dir, entry.name);
    if (entry.isDirectory()) await chownTree(entryPath);
    else await chown(entryPath, NOBODY.uid, NOBODY.gid);
  }
}

/** The base names (see StoredMessage.baseName) of the messages in a user's Maildir right now, sorted. */
export async function messagesOnDisk(user: TestUser): Promise<string[]> {
  const names = await Promise.all(['new', 'cur'].map((sub) => readdir(path.join(user.home, sub))));
  return names.flat().map((name) => name.split(':')[0]!).sort();
}

let deliveryCount = 0;

/**
 * Delivers a new message to a user's Maildir the way a delivery agent does (write in tmp/, rename into new/),
 * while the server runs. Dovecot gives it the next free UID at the next session. Returns its base name.
 */
export async function deliver(user: TestUser, message: GeneratedMessage): Promise<string> {
  const baseName = `1800000000.M${++deliveryCount}P${process.pid}.pop3kit-delivery`;
  const staged = path.join(user.home, 'tmp', baseName);
  await writeFile(staged, message.bytes);
  await chown(staged, NOBODY.uid, NOBODY.gid);
  await rename(staged, path.join(user.home, 'new', baseName));
  return baseName;
}
