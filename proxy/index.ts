/**
 * pop3kit/proxy: a WebSocket-to-TCP proxy that lets a web page or browser extension speak POP3, safe to run
 * on the open internet. Node only.
 *
 * Theory of operation
 * -------------------
 * One HTTP server. Plain requests get `/healthz`, `/metrics` or a 404 (426 on the WebSocket path): no
 * files are served. A WebSocket upgrade on the configured path goes through, in order:
 *
 *   1. admission, answered with an HTTP status and no WebSocket: origin allowlist (403), rate limit per
 *      client address (429), caps in total and per client address (503), shutting down (503);
 *   2. the handshake (binary only, no compression, maxPayload), after which the WebSocket is paused;
 *   3. the target, answered with a close frame (1008 or 1014) and a stable reason: `?target=HOST:PORT` must
 *      be an exact allowlist entry (optional with a single entry), `?token=` must be valid when tokens are on,
 *      and every address of the target must pass the address policy (resolve.ts);
 *   4. the connection to exactly the checked addresses (connect.ts), within the connect timeout;
 *   5. the relay (relay.ts) until either side closes, a timeout fires, or a ping goes unanswered.
 *
 * Nothing connects to a target before step 4. Timeouts and pings of all sessions run off one timer.
 * close() drains: it stops accepting, closes quiet sessions with 1001 at once and busy ones when they go
 * quiet or the drain timeout passes, then terminates whatever is left.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import { clientAddress } from './client-address.js';
import { type AllowedTarget, type ProxyOptions, resolveProxyConfig } from './config.js';
import { defaultConnector } from './connect.js';
import { jsonLinesLogger } from './log.js';
import { Relay } from './relay.js';
import { CloseCode, Refusal, type RefusalReason } from './refusals.js';
import { resolveTarget, systemResolver } from './resolve.js';
import { ConnectionLimits } from './limits.js';
import { verifyToken } from './tokens.js';

export { type AddressRange, addressRefusal, classifyIp, type IpAddress, parseIp } from './address-policy.js';
export { clientAddress } from './client-address.js';
export { type AllowedTargetOptions, type ProxyOptions, ProxyConfigError, type RateLimit, parseTarget } from './config.js';
export { type ConnectRequest, type Connector, defaultConnector } from './connect.js';
export { jsonLinesLogger, type ProxyLogger, type ProxyLogRecord } from './log.js';
export { CloseCode, Refusal, type RefusalReason } from './refusals.js';
export { type Resolver, systemResolver } from './resolve.js';
export { readTokenSecret, signToken, type TokenClaims } from './tokens.js';

/** Counters served at `/metrics`. */
export interface ProxyMetrics {
  /** Sessions relaying now. */
  sessionsOpen: number;
  /** WebSockets accepted and still choosing or connecting to their target. */
  sessionsConnecting: number;
  /** Sessions that reached the relay since start. */
  sessionsTotal: number;
  /** Bytes relayed, page to target and target to page, by sessions that have ended. */
  bytesUp: number;
  bytesDown: number;
  /** Connections to a target that failed (unreachable, timeout, certificate). */
  connectFailures: number;
  /** Refusals since start, by reason. */
  refused: Partial<Record<RefusalReason, number>>;
  draining: boolean;
}

/** A running proxy. */
export interface Pop3Proxy {
  /** Where it listens (useful with port 0). */
  readonly address: AddressInfo;
  /** A copy of the counters. */
  metrics(): ProxyMetrics;
  /** Drains and stops; resolves when every session and the listener are closed. Idempotent. */
  close(): Promise<void>;
}

/** Sessions that have carried no byte for this long count as idle when draining. */
const DRAIN_QUIET_MS = 500;
/** After the drain timeout, how long closing sessions get to finish their close handshake. */
const CLOSE_GRACE_MS = 2_000;

interface Session {
  readonly id: string;
  readonly client: string;
  readonly startedAt: number;
  relay?: Relay;
  /** Aborts the target lookup and connection (timeout, page gone, shutdown). */
  readonly connecting: AbortController;
}

/**
 * Starts a proxy. Rejects with ProxyConfigError when the options would not fail closed (no allowlist, a
 * malformed or private target without allowPrivate, a short token secret), or with the listen error.
 */
export async function createProxy(options: ProxyOptions): Promise<Pop3Proxy> {
  const config = resolveProxyConfig(options);
  const log = options.logger ?? jsonLinesLogger();
  const resolver = options.resolver ?? systemResolver;
  const connector = options.connector ?? defaultConnector;
  const { now } = config;
  const limits = new ConnectionLimits(config);
  const sessions = new Set<Session>();
  const metrics: ProxyMetrics = {
    sessionsOpen: 0,
    sessionsConnecting: 0,
    sessionsTotal: 0,
    bytesUp: 0,
    bytesDown: 0,
    connectFailures: 0,
    refused: {},
    draining: false,
  };

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false,
    maxPayload: config.maxPayload,
    // Against memory exhaustion by tiny fragments (ws 8.21+): browsers send a message as one frame, and a
    // maxPayload message arrives in far fewer TCP segments than this.
    maxFragments: 128,
    maxBufferedChunks: 1024,
    closeTimeout: CLOSE_GRACE_MS,
    // closeTimeout (how long a close handshake may take) is newer than @types/ws.
  } as ConstructorParameters<typeof WebSocketServer>[0]);

  const server = createServer({ maxHeaderSize: 8192 }, answerRequest);
  // Slow or stuck handshakes must not hold sockets open.
  server.headersTimeout = 10_000;
  server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => upgrade(request, socket as Socket, head));

  function refused(reason: RefusalReason, client: string, extra: { session?: string; target?: string; detail?: string } = {}): void {
    metrics.refused[reason] = (metrics.refused[reason] ?? 0) + 1;
    log({ event: 'refused', reason, client, ...extra });
  }

  function answerRequest(request: IncomingMessage, response: ServerResponse): void {
    const path = new URL(request.url ?? '/', 'http://proxy').pathname;
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
    if (request.method === 'GET' && path === '/healthz') json(metrics.draining ? 503 : 200, { status: metrics.draining ? 'draining' : 'ok' });
    else if (request.method === 'GET' && path === '/metrics') json(200, snapshot());
    else response.writeHead(path === config.path ? 426 : 404, { connection: 'close' }).end();
  }

  function snapshot(): ProxyMetrics {
    return { ...metrics, refused: { ...metrics.refused } };
  }

  /** Answers an upgrade request with an HTTP error and closes the socket: no WebSocket is made. */
  function refuseHandshake(socket: Socket, reason: RefusalReason, client: string): void {
    refused(reason, client);
    const status = (Refusal[reason] as { status: number }).status;
    socket.write(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    socket.destroySoon();
  }

  function upgrade(request: IncomingMessage, socket: Socket, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const client = clientAddress(request.socket.remoteAddress, request.headers, config.trustProxy);
    const url = new URL(request.url ?? '/', 'http://proxy');
    if (url.pathname !== config.path) return refuseHandshake(socket, 'not-found', client);
    if (metrics.draining) return refuseHandshake(socket, 'shutting-down', client);
    // A request with an Origin comes from a browser page, which must be one of ours; one without is not from a
    // browser, and anything that is not a browser could send any Origin it liked, so refusing it gains nothing.
    const origin = request.headers.origin;
    if (origin !== undefined && config.origins !== undefined && !config.origins.has(origin)) {
      return refuseHandshake(socket, 'origin-not-allowed', client);
    }
    const overLimit = limits.admit(client);
    if (overLimit) return refuseHandshake(socket, overLimit, client);
    // Counted from here until the socket closes, however the session goes (including a failed handshake).
    socket.once('close', () => limits.release(client));
    wss.handleUpgrade(request, socket, head, (ws) => {
      // No byte from the page is read until the target is connected.
      ws.pause();
      void open(ws, client, url.searchParams);
    });
  }

  /** The allowlist entry the page asks for (and its token allows), or why not. */
  function chooseTarget(query: URLSearchParams): AllowedTarget | { reason: RefusalReason; name?: string } {
    const only = config.targets.size === 1 ? config.targets.keys().next().value : undefined;
    const name = query.get('target') ?? only;
    if (name === undefined) return { reason: 'target-missing' };
    const target = config.targets.get(name.toLowerCase());
    // The name is the page's text: it is logged, but no longer than a target could be.
    if (target === undefined) return { reason: 'target-not-allowed', name: name.slice(0, 270) };
    if (config.tokenSecret === undefined) return target;
    const problem = verifyToken(query.get('token'), {
      secret: config.tokenSecret,
      target: target.key,
      now: now(),
      skewMs: config.tokenSkewMs,
      maxLifetimeMs: config.maxTokenLifetimeMs,
    });
    return problem ? { reason: problem, name: target.key } : target;
  }

  async function open(ws: WebSocket, client: string, query: URLSearchParams): Promise<void> {
    const id = randomUUID();
    const refuse = (reason: RefusalReason, target?: string, detail?: string) => {
      refused(reason, client, { session: id, ...(target === undefined ? {} : { target }), ...(detail === undefined ? {} : { detail }) });
      // Read again, or the page's answering close frame would go unread until the close timeout.
      ws.resume();
      ws.close((Refusal[reason] as { close: number }).close, reason);
    };
    const target = chooseTarget(query);
    if (!('key' in target)) return refuse(target.reason, target.name);

    const session: Session = { id, client, startedAt: now(), connecting: new AbortController() };
    const { signal } = session.connecting;
    sessions.add(session);
    metrics.sessionsConnecting++;
    const timer = setTimeout(() => session.connecting.abort(new Error('connect timeout')), config.connectTimeoutMs);
    const pageGone = () => session.connecting.abort(new Error('page closed'));
    ws.once('close', pageGone);
    ws.on('error', pageGone);
    let socket: Socket | undefined;
    let failure: string | undefined;
    try {
      const resolution = await Promise.race([resolveTarget(target, resolver), aborted(signal)]);
      if (resolution.ok) socket = await connector({ addresses: resolution.addresses, target, tlsCa: config.tlsCa, signal });
      else refuse(resolution.reason, target.key, resolution.detail);
    } catch (error) {
      failure = signal.aborted ? (signal.reason as Error).message : `connect failed: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`;
    } finally {
      clearTimeout(timer);
      ws.off('close', pageGone);
      ws.off('error', pageGone);
      metrics.sessionsConnecting--;
    }
    if (socket !== undefined && signal.aborted) {
      // The connector finished despite the abort: the session is over all the same.
      socket.destroy();
      failure = (signal.reason as Error).message;
    } else if (socket !== undefined) {
      return relay(ws, session, target, socket);
    }
    forget(session);
    if (failure === undefined) return; // refused above
    // A page that left or a shutdown is not the target's failure.
    if (failure !== 'page closed' && failure !== 'shutting down') metrics.connectFailures++;
    log({ event: 'session-close', session: id, client, target: target.key, bytesUp: 0, bytesDown: 0, durationMs: now() - session.startedAt, reason: failure });
    if (ws.readyState === ws.OPEN) {
      ws.resume();
      if (metrics.draining) ws.close(CloseCode.GoingAway, 'shutting down');
      else ws.close(CloseCode.BadGateway, 'target unreachable');
    }
  }

  function relay(ws: WebSocket, session: Session, target: AllowedTarget, socket: Socket): void {
    const { id, client, startedAt } = session;
    metrics.sessionsOpen++;
    metrics.sessionsTotal++;
    log({ event: 'session-open', session: id, client, target: target.key, address: socket.remoteAddress ?? '' });
    session.relay = new Relay(ws, socket, {
      highWaterMark: config.highWaterMark,
      now,
      onEnd: ({ bytesUp, bytesDown, reason }) => {
        metrics.sessionsOpen--;
        metrics.bytesUp += bytesUp;
        metrics.bytesDown += bytesDown;
        log({ event: 'session-close', session: id, client, target: target.key, bytesUp, bytesDown, durationMs: now() - startedAt, reason });
        forget(session);
      },
    });
  }

  function forget(session: Session): void {
    sessions.delete(session);
    if (sessions.size === 0) allClosed?.();
  }

  // ─── Timers: one for all sessions ──────────────────────────────────────────────────────────────────────
  const tickMs = Math.max(10, Math.min(1000, config.idleTimeoutMs / 4, config.sessionTimeoutMs / 4, config.pingIntervalMs / 4));
  let lastPing = now();
  const ticker = setInterval(tick, tickMs);
  ticker.unref();

  function tick(): void {
    const at = now();
    const pingDue = at - lastPing >= config.pingIntervalMs;
    if (pingDue) lastPing = at;
    for (const { relay, startedAt } of sessions) {
      if (relay === undefined) continue;
      if (at - startedAt >= config.sessionTimeoutMs) relay.close(CloseCode.PolicyViolation, 'session timeout');
      else if (at - relay.lastActivity >= config.idleTimeoutMs) relay.close(CloseCode.PolicyViolation, 'idle timeout');
      else if (metrics.draining && !relay.busy && at - relay.lastActivity >= DRAIN_QUIET_MS) relay.close(CloseCode.GoingAway, 'shutting down');
      else if (pingDue) {
        if (relay.alive) relay.ping();
        else relay.terminate('ping timeout');
      }
    }
    limits.sweep();
  }

  // ─── Start and stop ────────────────────────────────────────────────────────────────────────────────────
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  log({ event: 'listening', address: address.address, port: address.port, targets: [...config.targets.keys()] });

  let allClosed: (() => void) | undefined;
  let closing: Promise<void> | undefined;

  async function drain(): Promise<void> {
    metrics.draining = true;
    log({ event: 'shutdown', phase: 'draining', sessions: sessions.size });
    const listenerClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    for (const session of sessions) {
      if (session.relay === undefined) session.connecting.abort(new Error('shutting down'));
    }
    const empty = new Promise<void>((resolve) => {
      allClosed = resolve;
      if (sessions.size === 0) resolve();
    });
    tick(); // quiet sessions go now, not a tick later
    if (!(await within(empty, config.drainTimeoutMs))) {
      for (const { relay } of sessions) relay?.close(CloseCode.GoingAway, 'shutting down');
      if (!(await within(empty, CLOSE_GRACE_MS))) {
        for (const { relay } of sessions) relay?.terminate('shutting down');
      }
    }
    await empty;
    clearInterval(ticker);
    await listenerClosed;
    log({ event: 'shutdown', phase: 'closed', sessions: 0 });
  }

  return {
    address,
    metrics: snapshot,
    close: () => (closing ??= drain()),
  };
}

/** True when `promise` settles within `ms`, false otherwise; the timer never outlives the answer. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(resolve, ms, false)));
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A promise that rejects when `signal` aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}
