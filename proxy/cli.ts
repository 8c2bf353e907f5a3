/**
 * `pop3kit proxy`: the WebSocket-to-TCP proxy on the command line. It refuses to start without `--allow`,
 * logs JSON lines (metadata only) to stdout, and on SIGINT or SIGTERM drains and exits 0; a second signal
 * ends the process at once.
 */
import { readFile } from 'node:fs/promises';
import { integerOption, type OptionValues, stringOption, type Subcommand, UsageError } from '../core/node/cli-command.js';
import { type AllowedTargetOptions, createProxy, jsonLinesLogger, type Pop3Proxy, ProxyConfigError, type ProxyOptions, readTokenSecret } from './index.js';
import { nextStopSignal } from '../core/node/signals.js';

const help = `Usage: pop3kit proxy --allow HOST:PORT [--allow HOST:PORT ...] [options]

A WebSocket-to-TCP proxy for POP3 clients in browsers and extensions: one WebSocket, one TCP connection to
an allowed target. The page names its target as ?target=HOST:PORT in the WebSocket URL (optional when only
one is allowed).

  --listen HOST:PORT     where to listen (default 127.0.0.1:8110; put TLS in front for wss:)
  --allow HOST:PORT      a target the proxy may connect to, bytes passed through (TLS on 995 stays end to
                         end); repeat for more. Required: the proxy does not start without one
  --allow-tls HOST:PORT  a target to which the proxy itself connects with TLS, verifying its certificate
                         against HOST; the page then speaks plain POP3 to the proxy
  --ca FILE              CA certificates (PEM) for --allow-tls targets, instead of the system's
  --origin URL           a page origin allowed to connect (exactly scheme://host[:port]); repeat for more.
                         Without any, browsers are refused; '*' allows every origin
  --allow-private        allow targets at private, loopback, link-local, CGNAT and unique-local addresses
  --token-secret FILE    require ?token= signed with the secret in FILE (at least 32 bytes; see signToken)
  --trust-proxy ADDR     a reverse proxy in front of this one whose X-Forwarded-For is believed; repeatable
  --max-connections N    most sessions at once (default 1000)
  --max-per-client N     most sessions at once from one client address (default 16)
  -h, --help             this help

Example, for one real server with pages from one origin:
  pop3kit proxy --listen 127.0.0.1:8110 --allow pop.example.org:995 --origin https://mail.example.org
`;

/** Where the CLI writes, and what stops it: the process's streams and signals unless a test says otherwise. */
export interface ProxyCliIo {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
  /** Resolves when the proxy should stop. Default: the first SIGINT or SIGTERM. */
  readonly stopped?: Promise<string>;
  /** Called once the proxy listens, with its port. */
  readonly onListening?: (port: number) => void;
}

/** The `proxy` subcommand of the `pop3kit` command. */
export const proxyCommand: Subcommand = {
  summary: 'run the WebSocket-to-TCP proxy for browsers and extensions',
  help,
  options: {
    listen: { type: 'string' },
    allow: { type: 'string', multiple: true },
    'allow-tls': { type: 'string', multiple: true },
    ca: { type: 'string' },
    origin: { type: 'string', multiple: true },
    'allow-private': { type: 'boolean' },
    'token-secret': { type: 'string' },
    'trust-proxy': { type: 'string', multiple: true },
    'max-connections': { type: 'string' },
    'max-per-client': { type: 'string' },
  },
  run: (values) => runProxy(values, { stdout: process.stdout, stderr: process.stderr }),
};

const strings = (values: OptionValues, name: string): string[] => (values[name] as string[] | undefined) ?? [];

/** Runs the proxy with parsed options until stopped; resolves to the exit code. */
export async function runProxy(values: OptionValues, io: ProxyCliIo): Promise<number> {
  const allow: AllowedTargetOptions[] = [
    ...strings(values, 'allow').map((target) => ({ target })),
    ...strings(values, 'allow-tls').map((target) => ({ target, tls: true })),
  ];
  if (allow.length === 0) throw new UsageError('--allow HOST:PORT is required: the proxy does not start without an allowlist');
  const listen = stringOption(values, 'listen') ?? '127.0.0.1:8110';
  // The listen address has the target syntax; port 0 (any free port) is allowed here.
  const match = /^(.*):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) throw new UsageError(`--listen ${JSON.stringify(listen)} is not HOST:PORT`);
  const host = match[1]!.replace(/^\[(.*)\]$/, '$1');
  const origins = strings(values, 'origin');
  const caFile = stringOption(values, 'ca');
  const secretFile = stringOption(values, 'token-secret');

  const options: ProxyOptions = {
    allow,
    host,
    port,
    origins: origins.includes('*') ? '*' : origins,
    allowPrivate: values['allow-private'] === true,
    trustProxy: strings(values, 'trust-proxy'),
    maxConnections: integerOption(values, 'max-connections', 1, 1_000_000, 1000),
    maxConnectionsPerClient: integerOption(values, 'max-per-client', 1, 1_000_000, 16),
    logger: jsonLinesLogger(io.stdout),
    ...(caFile === undefined ? {} : { tlsCa: await about('--ca', readFile(caFile, 'utf8')) }),
    ...(secretFile === undefined ? {} : { tokenSecret: await about('--token-secret', readTokenSecret(secretFile)) }),
  };
  if (origins.length === 0) {
    io.stderr.write('pop3kit proxy: no --origin given: browser pages are refused (403); add --origin URL for yours\n');
  }
  let proxy: Pop3Proxy;
  try {
    proxy = await createProxy(options);
  } catch (error) {
    // A refused allowlist or option is a mistake in the command line.
    throw error instanceof ProxyConfigError ? new UsageError(error.message) : error;
  }
  io.onListening?.(proxy.address.port);
  const signal = await (io.stopped ?? nextStopSignal());
  io.stderr.write(`pop3kit proxy: ${signal}, draining\n`);
  await proxy.close();
  return 0;
}

/** Prefixes a file error with the option that named the file. */
async function about<T>(option: string, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw new Error(`${option}: ${error instanceof Error ? error.message : String(error)}`);
  }
}
