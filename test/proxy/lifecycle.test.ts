/**
 * Time and shutdown: connect, idle and session timeouts; pings that drop a page which stopped answering;
 * graceful shutdown that closes quiet sessions at once, lets busy ones finish within a bound and refuses new
 * ones; and the health and metrics endpoints.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { Connector, Resolver } from '../../proxy/index.js';
import { connect, type CountingServer, countingServer, fakePop3Server, startProxy, type TestProxy, until } from './harness.js';

let target: CountingServer | undefined;
let proxy: TestProxy | undefined;
afterEach(async () => {
  await proxy?.proxy.close();
  await target?.close();
  proxy = target = undefined;
});

/** A connector that never connects: it waits until it is aborted. */
const hangingConnector: Connector = ({ signal }) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
/** A resolver that never answers. */
const hangingResolver: Resolver = () => new Promise(() => {});

const lastClose = (p: TestProxy) => p.log.filter((r) => r.event === 'session-close').at(-1) as { reason: string; durationMs: number } | undefined;

describe('timeouts', () => {
  it.each([
    ['connecting', { connector: hangingConnector, allow: ['127.0.0.1:9'] }],
    ['resolving', { resolver: hangingResolver, allow: ['pop.example.com:110'] }],
  ])('gives up %s after the connect timeout (1014)', async (_, options) => {
    proxy = await startProxy({ ...options, allowPrivate: true, connectTimeoutMs: 200 });
    const started = Date.now();
    const page = connect(proxy.url);
    expect(await page.closed).toEqual({ code: 1014, reason: 'target unreachable' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(lastClose(proxy)?.reason).toBe('connect timeout');
    expect(proxy.proxy.metrics()).toMatchObject({ connectFailures: 1, sessionsConnecting: 0, sessionsOpen: 0 });
  });

  it('closes a session with no traffic after the idle timeout, and not one with traffic', async () => {
    target = await countingServer((socket) => socket.on('data', (d) => socket.write(d)));
    proxy = await startProxy({ allow: [target.target], allowPrivate: true, idleTimeoutMs: 300 });
    const idle = connect(proxy.url);
    const busy = connect(proxy.url);
    await Promise.all([idle.opened, busy.opened]);
    const started = Date.now();
    const ticking = setInterval(() => busy.ws.send(Buffer.from('.')), 100);
    try {
      expect(await idle.closed).toEqual({ code: 1008, reason: 'idle timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(250);
      await new Promise((resolve) => setTimeout(resolve, 400));
      expect(busy.ws.readyState).toBe(WebSocket.OPEN);
      expect(busy.received.length).toBeGreaterThan(3);
    } finally {
      clearInterval(ticking);
    }
    expect(await busy.closed).toEqual({ code: 1008, reason: 'idle timeout' });
  });

  it('closes a session after the session timeout, traffic or not', async () => {
    target = await countingServer((socket) => socket.on('data', (d) => socket.write(d)));
    proxy = await startProxy({ allow: [target.target], allowPrivate: true, sessionTimeoutMs: 400 });
    const page = connect(proxy.url);
    await page.opened;
    const started = Date.now();
    const ticking = setInterval(() => page.ws.send(Buffer.from('.')), 50);
    try {
      expect(await page.closed).toEqual({ code: 1008, reason: 'session timeout' });
      expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    } finally {
      clearInterval(ticking);
    }
    await until(() => lastClose(proxy!) !== undefined);
    expect(lastClose(proxy)?.reason).toBe('session timeout');
  });

  it('drops a page that stops answering pings (a half-open peer), keeps one that answers', async () => {
    target = await countingServer();
    proxy = await startProxy({ allow: [target.target], allowPrivate: true, pingIntervalMs: 150 });
    const answering = connect(proxy.url);
    const silent = new WebSocket(proxy.url, { autoPong: false });
    silent.on('error', () => {});
    const silentClosed = new Promise<number>((resolve) => silent.once('close', resolve));
    await answering.opened;
    // Without a close frame: the proxy terminates the connection.
    expect(await silentClosed).toBe(1006);
    await until(() => lastClose(proxy!) !== undefined);
    expect(lastClose(proxy)?.reason).toBe('ping timeout');
    expect(answering.ws.readyState).toBe(WebSocket.OPEN);
    await until(() => target!.connections() === 2);
    expect(target.sockets.map((s) => s.destroyed).sort()).toEqual([false, true]);
    answering.ws.close();
    await answering.closed;
  });
});

describe('graceful shutdown', () => {
  it('closes quiet sessions with 1001 at once, lets busy ones run until the drain timeout, refuses new ones', async () => {
    // Message 1 is quiet after the greeting; message 2 streams a line every 50 ms.
    target = await countingServer((socket: Socket) => {
      socket.write('+OK ready\r\n');
      socket.on('data', () => {
        const streaming = setInterval(() => socket.write('more\r\n'), 50);
        socket.on('close', () => clearInterval(streaming));
      });
    });
    proxy = await startProxy({ allow: [target.target], allowPrivate: true, drainTimeoutMs: 1500 });
    const quiet = connect(proxy.url);
    const busy = connect(proxy.url);
    await Promise.all([quiet.opened, busy.opened]);
    busy.ws.send(Buffer.from('RETR 1\r\n'));
    await until(() => busy.received.length > 2);
    // A handshake under way when the shutdown starts: half of its request is in.
    const late = netConnect(proxy.port, '127.0.0.1');
    let lateAnswer = '';
    late.on('data', (d: Buffer) => (lateAnswer += d.toString()));
    late.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n`);
    await new Promise((resolve) => setTimeout(resolve, 50));

    const started = Date.now();
    const closing = proxy.proxy.close();
    late.write('Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n');
    expect(await quiet.closed).toEqual({ code: 1001, reason: 'shutting down' });
    const quietAfter = Date.now() - started;
    expect(quietAfter).toBeLessThan(1000);
    // Draining: the listener is closed, and a handshake that was under way is refused.
    expect(await connect(proxy.url).opened).toEqual({ opened: false, status: 0 });
    await until(() => lateAnswer !== '');
    expect(lateAnswer).toMatch(/^HTTP\/1\.1 503 shutting-down\r\n/);
    expect(busy.ws.readyState).toBe(WebSocket.OPEN);

    expect(await busy.closed).toEqual({ code: 1001, reason: 'shutting down' });
    const busyAfter = Date.now() - started;
    expect(busyAfter).toBeGreaterThanOrEqual(1400);
    await closing;
    expect(Date.now() - started).toBeLessThan(1500 + 2000 + 500);
    expect(proxy.log.filter((r) => r.event === 'shutdown')).toEqual([
      { event: 'shutdown', phase: 'draining', sessions: 2 },
      { event: 'shutdown', phase: 'closed', sessions: 0 },
    ]);
    expect(proxy.proxy.metrics().refused).toEqual({ 'shutting-down': 1 });
  });

  it('terminates a page that does not complete the close handshake, within the bound', async () => {
    target = await countingServer();
    proxy = await startProxy({ allow: [target.target], allowPrivate: true, drainTimeoutMs: 200 });
    const page = new WebSocket(proxy.url);
    page.on('error', () => {});
    await new Promise((resolve) => page.once('open', resolve));
    page.pause(); // reads nothing more: the close frame is never seen, never answered
    const started = Date.now();
    await proxy.proxy.close();
    const took = Date.now() - started;
    expect(took).toBeLessThan(200 + 2000 + 2000 + 500);
    // The target's connection went with it.
    await until(() => target!.sockets[0]!.destroyed);
    page.terminate();
  });

  it('aborts sessions that are still connecting, and close() is idempotent', async () => {
    proxy = await startProxy({ allow: ['127.0.0.1:9'], allowPrivate: true, connector: hangingConnector });
    const page = connect(proxy.url);
    await page.opened;
    await until(() => proxy!.proxy.metrics().sessionsConnecting === 1);
    await Promise.all([proxy.proxy.close(), proxy.proxy.close()]);
    expect(await page.closed).toEqual({ code: 1001, reason: 'shutting down' });
    expect(lastClose(proxy)?.reason).toBe('shutting down');
  });
});

describe('health and metrics', () => {
  it('answers /healthz and counts sessions, bytes and refusals in /metrics', async () => {
    target = await fakePop3Server();
    proxy = await startProxy({ allow: [target.target], allowPrivate: true, origins: ['https://mail.example.org'] });
    const health = await fetch(`http://127.0.0.1:${proxy.port}/healthz`);
    expect([health.status, await health.json()]).toEqual([200, { status: 'ok' }]);

    const page = connect(proxy.url);
    await until(() => page.received.length === 1);
    page.ws.send(Buffer.from('QUIT\r\n'));
    await page.closed;
    expect(await connect(proxy.url, '', { origin: 'https://evil.example.net' }).opened).toEqual({ opened: false, status: 403 });
    expect(await connect(proxy.url, '?target=127.0.0.1:1').closed).toEqual({ code: 1008, reason: 'target-not-allowed' });
    await until(() => proxy!.proxy.metrics().sessionsOpen === 0);

    const response = await fetch(`http://127.0.0.1:${proxy.port}/metrics`);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({
      sessionsOpen: 0,
      sessionsConnecting: 0,
      sessionsTotal: 1,
      bytesUp: 'QUIT\r\n'.length,
      bytesDown: '+OK fake POP3 ready\r\n+OK bye\r\n'.length,
      connectFailures: 0,
      refused: { 'origin-not-allowed': 1, 'target-not-allowed': 1 },
      draining: false,
    });
  });
});
