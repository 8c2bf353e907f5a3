/**
 * `pop3kit serve`: a POP3 server over the Maildirs in one folder, with users from a users file. It prints
 * the addresses it listens on, logs connection metadata to stderr (never passwords or AUTH payloads), and
 * stops cleanly on SIGINT or SIGTERM: it stops accepting, lets sessions finish for a while, then exits 0.
 * A second signal ends the process at once.
 */
import { readFile, stat } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import { integerOption, type OptionValues, stringOption, type Subcommand, UsageError } from './cli-command.js';
import { MaildirStore } from './maildir.js';
import { type LogEvent, Pop3Server } from './server.js';
import { readUsersFile } from './users-file.js';
import { nextStopSignal } from './signals.js';

const DEFAULT_PORT = 11110;

const help = `Usage: pop3kit serve --maildir DIR --users FILE [options]

Serves the Maildirs in DIR over POP3: user NAME reads DIR/NAME/{cur,new,tmp}.

  --maildir DIR          folder with one Maildir per user (required)
  --users FILE           users file, one name:password a line; # starts a comment (required)
  --host HOST            address to listen on (default 127.0.0.1)
  --port N               POP3 port, 0 for any free port (default ${DEFAULT_PORT})
  --tls-cert PEM         certificate chain (PEM) for TLS; with --tls-key, enables STLS
  --tls-key PEM          private key (PEM) of the certificate
  --tls-port N           also listen for implicit TLS (POP3S) on this port; needs --tls-cert/--tls-key
  --max-connections N    most simultaneous connections (default 1000)
  --quiet                no connection log on stderr
  -h, --help             this help

Example, with the sample mailbox of the repository (copy it: deletions are real):
  cp -r demo/sample-mailbox /tmp/mail
  pop3kit serve --maildir /tmp/mail --users /tmp/mail/users
  curl pop3://demo:demo@127.0.0.1:${DEFAULT_PORT}/1
`;

/** The `serve` subcommand. */
export const serveCommand: Subcommand = {
  summary: 'run a POP3 server over Maildirs (plain with STLS, and implicit TLS)',
  help,
  options: {
    maildir: { type: 'string' },
    users: { type: 'string' },
    host: { type: 'string' },
    port: { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'tls-port': { type: 'string' },
    'max-connections': { type: 'string' },
    quiet: { type: 'boolean' },
  },
  run: serve,
};

async function serve(values: OptionValues): Promise<number> {
  const maildir = stringOption(values, 'maildir', true);
  const usersFile = stringOption(values, 'users', true);
  const host = stringOption(values, 'host') ?? '127.0.0.1';
  const port = integerOption(values, 'port', 0, 65535, DEFAULT_PORT);
  const certFile = stringOption(values, 'tls-cert');
  const keyFile = stringOption(values, 'tls-key');
  const tlsPort = integerOption(values, 'tls-port', 0, 65535);
  const maxConnections = integerOption(values, 'max-connections', 1, 1_000_000, 1000);
  if ((certFile === undefined) !== (keyFile === undefined)) throw new UsageError('--tls-cert and --tls-key go together');
  if (tlsPort !== undefined && certFile === undefined) throw new UsageError('--tls-port needs --tls-cert and --tls-key');

  const isDirectory = await about('--maildir', async () => (await stat(maildir)).isDirectory());
  if (!isDirectory) throw new Error(`--maildir ${maildir}: not a directory`);
  const users = await about('--users', () => readUsersFile(usersFile));
  let tls: SecureContextOptions | undefined;
  if (certFile !== undefined && keyFile !== undefined) {
    tls = { cert: await about('--tls-cert', () => readFile(certFile)), key: await about('--tls-key', () => readFile(keyFile)) };
    // The server would fail the same way; checked here to say which options are at fault.
    await about('--tls-cert/--tls-key', () => createSecureContext(tls));
  }

  const server = new Pop3Server({
    store: new MaildirStore({ root: maildir, password: (user) => users.get(user) }),
    tls,
    maxConnections,
    log: values.quiet === true ? undefined : (event) => process.stderr.write(`pop3kit: ${describe(event)}\n`),
  });
  try {
    const plain = await server.listen({ host, port });
    process.stdout.write(`pop3kit: listening on pop3://${address(plain)}${tls ? ' (STLS available)' : ''}\n`);
    if (tlsPort !== undefined) {
      const secure = await server.listen({ host, port: tlsPort, tls: true });
      process.stdout.write(`pop3kit: listening on pop3s://${address(secure)} (implicit TLS)\n`);
    }
  } catch (error) {
    await server.close();
    throw error;
  }

  const signal = await nextStopSignal();
  process.stdout.write(`pop3kit: ${signal}, stopping\n`);
  await server.close();
  process.stdout.write('pop3kit: stopped\n');
  return 0;
}

/** Runs `work`, prefixing an error with the option whose value caused it. */
async function about<T>(option: string, work: () => T | Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw new Error(`${option}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function address(info: AddressInfo): string {
  return info.family === 'IPv6' ? `[${info.address}]:${info.port}` : `${info.address}:${info.port}`;
}

/**
 * One log line from an event: `key=value` pairs after the event's type. A value that is not a plain word (a
 * SASL user name may hold spaces) is quoted, so no value can pass for another pair.
 */
function describe(event: LogEvent): string {
  const word = (value: unknown) => {
    const text = String(value);
    return /^[\x21-\x7e]+$/.test(text) && !/["=]/.test(text) ? text : JSON.stringify(text);
  };
  return Object.entries(event)
    .map(([key, value]) => (key === 'type' ? String(value) : `${key}=${word(value)}`))
    .join(' ');
}
