/**
 * The interactive demo's one Node process (`npm start`): three listeners that work together.
 *
 *   browser ──http──► page server (page-server.ts): the built page, /demo-config.json, mailbox reset
 *   browser ──ws────► proxy (proxy/): only to the embedded server, plus what the operator allows
 *                       └──tcp──► embedded POP3 server (embedded-pop3.ts): the sample mailbox, in memory
 *
 * The proxy accepts pages from the page server's own origins only (and `publicOrigin`), and reaches private
 * addresses for the embedded server's entry alone. The page's Content-Security-Policy in turn lets it
 * connect to nothing but its own origin and the proxy.
 *
 * Start order: the POP3 server (the proxy's allowlist needs its port), the page server (the proxy's origins
 * need its port), the proxy; then the page server learns the proxy's URL and starts answering.
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type AllowedTargetOptions, createProxy, type Pop3Proxy } from '../../proxy/index.js';
import { type DemoConfig, demoConfig } from './demo-config.js';
import { EmbeddedPop3 } from './embedded-pop3.js';
import { listenError, PageMissingError } from './errors.js';
import { listenPageServer, type PageServer } from './page-server.js';
import { readSampleMailbox } from './sample-mailbox.js';
import { SampleStore } from './sample-store.js';

/** Options of startDemo. Every one has a default. */
export interface DemoOptions {
  /** Where the page server and the proxy listen. Default 127.0.0.1. The POP3 server is on 127.0.0.1 always. */
  readonly host?: string;
  /** The page server's port. Default 8080; 0 picks a free port. */
  readonly port?: number;
  /** The proxy's port. Default 8081; 0 picks a free port. */
  readonly proxyPort?: number;
  /** The embedded POP3 server's port. Default 11110; 0 picks a free port. */
  readonly pop3Port?: number;
  /** More targets (`HOST:PORT`, public addresses only) to which the proxy passes bytes unchanged. */
  readonly allow?: readonly string[];
  /** More targets to which the proxy connects with TLS, verifying the certificate. */
  readonly allowTls?: readonly string[];
  /** The page's origin as the browser sees it when that is not this host (`scheme://host[:port]`). */
  readonly publicOrigin?: string;
  /** The built page. Default: dist/demo/, next to the built dist/demo-server.js. */
  readonly root?: string;
  /**
   * The sample mailbox: a users file and one Maildir per user (as `pop3kit serve --maildir` reads).
   * Default: the repository's demo/sample-mailbox/, found from the built dist/demo-server.js.
   */
  readonly sampleMailbox?: string;
  /** Receives one line of metadata per proxy and POP3 server event (never payloads). Default: nothing. */
  readonly log?: (line: string) => void;
}

/** A running demo. */
export interface RunningDemo {
  /** The page, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
  /** The proxy's WebSocket URL, e.g. `ws://127.0.0.1:8081/`. */
  readonly proxyUrl: string;
  /** The embedded POP3 server's address. */
  readonly pop3: { readonly host: string; readonly port: number };
  /** What `/demo-config.json` serves. */
  readonly config: DemoConfig;
  /** Stops the embedded POP3 server; sessions end without committing deletions. */
  stopPop3(): Promise<void>;
  /** Starts it again, on the same port. */
  startPop3(): Promise<void>;
  /** Puts the sample mailbox back; false while a session has it open. */
  resetMailbox(): boolean;
  /** Stops everything; resolves once every listener and connection is closed. Idempotent. */
  close(): Promise<void>;
}

const DEFAULT_ROOT = fileURLToPath(new URL('./demo/', import.meta.url));
const DEFAULT_SAMPLE_MAILBOX = fileURLToPath(new URL('../demo/sample-mailbox/', import.meta.url));
/** How long closing lets busy proxy sessions finish, in milliseconds. */
const PROXY_DRAIN_MS = 2_000;

/**
 * Starts the demo. Rejects with PageMissingError when the page is not built, PortInUseError when a port is
 * taken, ProxyConfigError for an unusable extra target or origin; nothing is left listening then.
 */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const root = path.resolve(options.root ?? DEFAULT_ROOT);
  const index = await stat(path.join(root, 'index.html')).catch(() => undefined);
  if (!index?.isFile()) throw new PageMissingError(root);
  const sample = await readSampleMailbox(options.sampleMailbox ?? DEFAULT_SAMPLE_MAILBOX);
  const store = new SampleStore(sample);
  const host = options.host ?? '127.0.0.1';
  const log = options.log;

  const pop3 = new EmbeddedPop3({ store, port: options.pop3Port ?? 11110, log: log && ((event) => log(`pop3 ${JSON.stringify(event)}`)) });
  let page: PageServer | undefined;
  let proxy: Pop3Proxy | undefined;
  try {
    await pop3.start();
    page = await listenPageServer(host, options.port ?? 8080);
    const embedded = `${pop3.host}:${pop3.port}`;
    const allow: AllowedTargetOptions[] = [
      { target: embedded, allowPrivate: true },
      ...(options.allow ?? []).map((target) => ({ target })),
      ...(options.allowTls ?? []).map((target) => ({ target, tls: true })),
    ];
    const origins = unique([
      `http://127.0.0.1:${page.port}`,
      `http://localhost:${page.port}`,
      `http://${urlHost(host)}:${page.port}`,
      ...(options.publicOrigin === undefined ? [] : [options.publicOrigin]),
    ]);
    const proxyPort = options.proxyPort ?? 8081;
    proxy = await createProxy({
      allow,
      origins,
      host,
      port: proxyPort,
      drainTimeoutMs: PROXY_DRAIN_MS,
      // The lesson and the experiments open a connection per step; the default (10, then 1 a second) is for
      // the open internet, not for one learner clicking through a page on this machine.
      rateLimit: { burst: 60, perSecond: 10 },
      logger: log ? (record) => log(`proxy ${JSON.stringify(record)}`) : () => {},
    }).catch((error: unknown) => {
      throw listenError(error, 'proxy', proxyPort);
    });

    const wsPort = proxy.address.port;
    const proxyUrl = `ws://${urlHost(host)}:${wsPort}/`;
    const [account] = sample.users;
    const config = demoConfig({
      proxyUrl,
      embedded,
      account: account && { user: account[0], password: account[1] },
      allow: options.allow ?? [],
      allowTls: options.allowTls ?? [],
    });
    page.serve({
      root,
      config,
      proxyOrigins: unique([`ws://127.0.0.1:${wsPort}`, `ws://localhost:${wsPort}`, `ws://${urlHost(host)}:${wsPort}`]),
      origins,
      resetMailbox: () => store.reset(),
    });

    // Constants for the closures below, which would not see the narrowing of the `let`s.
    const [started, relaying] = [page, proxy];
    let closing: Promise<void> | undefined;
    return {
      url: `http://${urlHost(host)}:${started.port}/`,
      proxyUrl,
      pop3: { host: pop3.host, port: pop3.port },
      config,
      stopPop3: () => pop3.stop(),
      startPop3: () => pop3.start(),
      resetMailbox: () => store.reset(),
      close: () => (closing ??= stopAll(started, relaying, pop3)),
    };
  } catch (error) {
    await stopAll(page, proxy, pop3);
    throw error;
  }
}

/** Stops the page server and the proxy (which ends its sessions), then the POP3 server. */
async function stopAll(page: PageServer | undefined, proxy: Pop3Proxy | undefined, pop3: EmbeddedPop3): Promise<void> {
  await Promise.all([page?.close(), proxy?.close()]);
  await pop3.stop();
}

/** The host to put in URLs for a listen address: a wildcard address means this machine, as 127.0.0.1. */
function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::' || host === '') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
