/**
 * The demo's HTTP server (node:http): the built page, its configuration, and the mailbox reset.
 *
 *   GET  /demo-config.json     the proxy's URL and the servers it may reach (demo-config.ts)
 *   POST /api/reset-mailbox    the sample mailbox back as it was: 200, or 409 while a session holds it
 *   GET  anything else         a file of the page (static-files.ts)
 *
 * Every response is `cache-control: no-store` and carries the security headers. The Content-Security-Policy
 * lets the page run only its own scripts (and compile WebAssembly) and connect only to its own origin and the
 * proxy; messages may be shown in frames from blob: and data: URLs, and inline styles are allowed for
 * rendered mail.
 *
 * The server listens before the proxy starts (the proxy needs the page's port for its origin allowlist, the
 * page needs the proxy's port for its policy), so it answers 503 until `serve()` gives it the site.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { DemoConfig } from './demo-config.js';
import { listenError } from './errors.js';
import { readStaticFile } from './static-files.js';

/** What the page server serves. */
export interface PageSite {
  /** The folder of the built page. */
  readonly root: string;
  readonly config: DemoConfig;
  /** Origins of the proxy's WebSocket the page may connect to, e.g. `ws://127.0.0.1:8081`. */
  readonly proxyOrigins: readonly string[];
  /** The page's own origins: a POST that comes from a page elsewhere (its Origin header says so) gets 403. */
  readonly origins: readonly string[];
  /** Resets the sample mailbox; false while a session holds it. */
  resetMailbox(): boolean;
}

/** A listening page server. */
export interface PageServer {
  readonly port: number;
  /** Starts answering with `site` (until then every request gets 503). */
  serve(site: PageSite): void;
  /** Stops listening and closes every connection, keep-alive ones included. */
  close(): Promise<void>;
}

/** The page's Content-Security-Policy. */
export function contentSecurityPolicy(proxyOrigins: readonly string[]): string {
  return [
    "default-src 'self'",
    `connect-src 'self' ${proxyOrigins.join(' ')}`,
    "img-src 'self' data: blob:",
    "style-src 'self' 'unsafe-inline'",
    "frame-src 'self' blob: data:",
    // 'wasm-unsafe-eval' lets the engine compile its WebAssembly search of message bodies (no JS eval).
    "script-src 'self' 'wasm-unsafe-eval'",
    "object-src 'none'",
    "base-uri 'none'",
    // No other site may frame the page (and trick a click on its buttons). The message frames are srcdoc
    // documents of the page itself, which this does not touch.
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

const IN_USE_REASON = 'A POP3 session has the mailbox open. End it with QUIT (or disconnect), then reset.';

/** Listens on `host:port` (0 picks a free port). Rejects with PortInUseError when the port is taken. */
export async function listenPageServer(host: string, port: number): Promise<PageServer> {
  let site: PageSite | undefined;
  let headers: Record<string, string> = securityHeaders([]);
  const server = createServer((request, response) => {
    answer(request, response).catch(() => {
      if (!response.headersSent) text(request, response, 500, 'Internal error');
      else response.destroy();
    });
  });

  async function answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (site === undefined) return text(request, response, 503, 'Starting, try again');
    const url = request.url ?? '/';
    let pathname: string;
    try {
      pathname = new URL(url, 'http://page.invalid').pathname;
    } catch {
      return text(request, response, 400, 'Bad request');
    }
    if (pathname === '/api/reset-mailbox') return reset(site, request, response);
    if (request.method !== 'GET' && request.method !== 'HEAD') return text(request, response, 405, 'Method not allowed', { allow: 'GET, HEAD' });
    if (pathname === '/demo-config.json') return json(request, response, 200, site.config);
    const file = await readStaticFile(site.root, url);
    if (file.status === 200) return send(request, response, 200, file.body, file.type);
    return text(request, response, file.status, file.status === 400 ? 'Bad request' : 'Not found');
  }

  function reset(current: PageSite, request: IncomingMessage, response: ServerResponse): void {
    request.resume(); // the body means nothing
    if (request.method !== 'POST') return text(request, response, 405, 'Method not allowed', { allow: 'POST' });
    const origin = request.headers.origin;
    if (origin !== undefined && !current.origins.includes(origin)) {
      return json(request, response, 403, { reset: false, reason: 'This page may not reset the mailbox.' });
    }
    if (current.resetMailbox()) return json(request, response, 200, { reset: true });
    return json(request, response, 409, { reset: false, reason: IN_USE_REASON });
  }

  function json(request: IncomingMessage, response: ServerResponse, status: number, body: unknown): void {
    send(request, response, status, JSON.stringify(body), 'application/json; charset=utf-8');
  }

  function text(request: IncomingMessage, response: ServerResponse, status: number, message: string, extra: Record<string, string> = {}): void {
    send(request, response, status, `${message}\n`, 'text/plain; charset=utf-8', extra);
  }

  function send(
    request: IncomingMessage,
    response: ServerResponse,
    status: number,
    body: string | Buffer,
    type: string,
    extra: Record<string, string> = {},
  ): void {
    response.writeHead(status, { ...headers, ...extra, 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((error: unknown) => {
    throw listenError(error, 'page', port);
  });

  return {
    port: (server.address() as AddressInfo).port,
    serve: (next) => {
      site = next;
      headers = securityHeaders(next.proxyOrigins);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The headers of every response. */
function securityHeaders(proxyOrigins: readonly string[]): Record<string, string> {
  return {
    'cache-control': 'no-store',
    'content-security-policy': contentSecurityPolicy(proxyOrigins),
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
  };
}
