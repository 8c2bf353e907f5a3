/**
 * The command line of `npm start` (`node dist/demo-server.js`): options, their environment fallbacks, and
 * the help text. Parsing is separate from main.ts so that it can be tested without starting anything.
 */
import { parseArgs } from 'node:util';
import { UsageError } from '../../core/node/cli-command.js';
import { addressRefusal, parseTarget, ProxyConfigError } from '../../proxy/index.js';
import type { DemoOptions } from './demo-server.js';

/** The help text. */
export const HELP = `Usage: npm start [-- options]    (or: node dist/demo-server.js [options])

The interactive POP3 demo: serves the page, the WebSocket proxy it connects through, and an embedded POP3
server with the sample mailbox (user demo, password demo).

  --port N               the page's port (default 8080, or $PORT); 0 picks a free port
  --proxy-port N         the WebSocket proxy's port (default 8081)
  --pop3-port N          the embedded POP3 server's port on 127.0.0.1 (default 11110)
  --host HOST            where the page and the proxy listen (default 127.0.0.1)
  --allow HOST:PORT      also let the page reach this POP3 server, bytes passed through; repeatable.
                         Default: $POP3KIT_DEMO_ALLOW, comma-separated
  --allow-tls HOST:PORT  also let the page reach this server, the proxy connecting with TLS (port 995);
                         repeatable. Default: $POP3KIT_DEMO_ALLOW_TLS, comma-separated
  --public-origin URL    the page's origin as browsers see it, if not http://127.0.0.1:PORT or
                         http://localhost:PORT (e.g. behind a reverse proxy); the proxy accepts it too
  --verbose              log connection metadata (never passwords or mail) to stderr
  -h, --help             this help

Other servers must be at public addresses: the proxy reaches a private one only for the embedded server.
Example: npm start -- --allow-tls pop.example.com:995
`;

/** What the command line asks for. */
export type DemoCommand =
  | { readonly help: true }
  | { readonly help: false; readonly options: DemoOptions; readonly verbose: boolean };

/**
 * Parses the arguments (without `node` and the script) with `env` for fallbacks: PORT for `--port`,
 * POP3KIT_DEMO_ALLOW and POP3KIT_DEMO_ALLOW_TLS for `--allow` and `--allow-tls` when none is given.
 * Throws UsageError for a bad command line.
 */
export function parseDemoArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): DemoCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string' },
        'proxy-port': { type: 'string' },
        'pop3-port': { type: 'string' },
        host: { type: 'string' },
        allow: { type: 'string', multiple: true },
        'allow-tls': { type: 'string', multiple: true },
        'public-origin': { type: 'string' },
        verbose: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help === true) return { help: true };

  const allow = targets('--allow', values.allow ?? list(env.POP3KIT_DEMO_ALLOW));
  const allowTls = targets('--allow-tls', values['allow-tls'] ?? list(env.POP3KIT_DEMO_ALLOW_TLS));
  const options: DemoOptions = {
    port: port(values.port === undefined && env.PORT !== undefined ? 'PORT' : '--port', values.port ?? env.PORT, 8080),
    proxyPort: port('--proxy-port', values['proxy-port'], 8081),
    pop3Port: port('--pop3-port', values['pop3-port'], 11110),
    host: values.host ?? '127.0.0.1',
    allow,
    allowTls,
    ...(values['public-origin'] === undefined ? {} : { publicOrigin: origin(values['public-origin']) }),
  };
  return { help: false, options, verbose: values.verbose === true };
}

/** A comma-separated list, without blanks. */
function list(text: string | undefined): string[] {
  return (text ?? '').split(',').map((item) => item.trim()).filter((item) => item !== '');
}

function port(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new UsageError(`${name} must be a port from 0 to 65535, not ${JSON.stringify(text)}`);
  return Number(text);
}

/** Checks `HOST:PORT` syntax and, for an IP address, that it is public (the proxy would refuse it later). */
function targets(name: string, given: readonly string[]): string[] {
  return given.map((target) => {
    try {
      const { ip } = parseTarget(target);
      const refusal = ip && addressRefusal(ip, false);
      if (refusal) throw new ProxyConfigError(`${refusal}; the demo reaches a private address only for its embedded server`);
    } catch (error) {
      if (!(error instanceof ProxyConfigError)) throw error;
      throw new UsageError(`${name} ${target}: ${error.message}`);
    }
    return target;
  });
}

/** `scheme://host[:port]` with scheme http or https, as the proxy's origin allowlist wants it. */
function origin(text: string): string {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    url = undefined;
  }
  if (url === undefined || !/^https?:$/.test(url.protocol) || text.replace(/\/$/, '') !== url.origin) {
    throw new UsageError(`--public-origin must be exactly http(s)://host[:port], not ${JSON.stringify(text)}`);
  }
  return url.origin;
}
