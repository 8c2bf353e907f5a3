/**
 * The WebSocket transport (core/client/websocket-transport.ts) on Node 20 with the `ws` class passed in, and
 * with a wrapper that hides ws's pause/resume to stand in for a browser WebSocket (which cannot stop reading).
 */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type WebSocket as WsSocket, WebSocket, WebSocketServer } from 'ws';
import { ErrorCode } from '../../core/errors.js';
import { AbortError, ConnectionError, TimeoutError } from '../../core/client/errors.js';
import { Pop3Client } from '../../core/client/pop3-client.js';
import { openWebSocketTransport, WebSocketCloseError, type WebSocketTransport } from '../../core/client/websocket-transport.js';
import { fakePop3Server, PASSWORD, startProxy, until, USER } from './harness.js';

/** `ws` without pause() and resume(): like a browser's WebSocket, it cannot stop reading. */
class BrowserLikeWebSocket extends WebSocket {
  static override readonly CONNECTING = WebSocket.CONNECTING;
  declare pause: never;
  declare resume: never;
  constructor(url: string, protocols?: string | string[]) {
    super(url, protocols);
    Object.defineProperty(this, 'pause', { value: undefined });
    Object.defineProperty(this, 'resume', { value: undefined });
  }
}

let server: WebSocketServer | undefined;
let transport: WebSocketTransport | undefined;
afterEach(async () => {
  transport?.close();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = transport = undefined;
});

/** A WebSocket server on 127.0.0.1 that hands each connection to `onConnection`. */
async function wsServer(onConnection: (ws: WsSocket) => void): Promise<string> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  server = wss;
  wss.on('connection', onConnection);
  await new Promise((resolve) => wss.once('listening', resolve));
  return `ws://127.0.0.1:${(wss.address() as { port: number }).port}/`;
}

async function readAll(t: WebSocketTransport): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for (let chunk = await t.read(); chunk !== undefined; chunk = await t.read()) parts.push(chunk);
  return Buffer.concat(parts);
}

describe('WebSocketTransport', () => {
  it('reads binary messages in order, writes binary, and ends at a normal close', async () => {
    let got = '';
    const url = await wsServer((ws) => {
      ws.on('message', (data: Buffer, isBinary) => {
        got += `${isBinary ? 'binary' : 'text'}:${data.toString()}`;
        ws.send(Buffer.from('one '));
        ws.send(Buffer.from('two'));
        ws.close(1000);
      });
    });
    transport = await openWebSocketTransport(url, { WebSocket });
    // A page cannot run TLS: there is no startTls(), and nothing claims a secure or local path.
    expect(['startTls' in transport, transport.secure, transport.local]).toEqual([false, false, false]);
    await transport.write(new TextEncoder().encode('hello'));
    expect((await readAll(transport)).toString()).toBe('one two');
    expect(got).toBe('binary:hello');
    expect(await transport.read()).toBeUndefined();
    await expect(transport.write(new Uint8Array([1]))).rejects.toThrow(ConnectionError);
  });

  it('fails reads with WebSocketCloseError carrying the proxy close code and reason', async () => {
    const url = await wsServer((ws) => ws.close(1008, 'token-expired'));
    transport = await openWebSocketTransport(url, { WebSocket });
    const error = await transport.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WebSocketCloseError);
    expect(error).toMatchObject({ code: ErrorCode.Connection, closeCode: 1008, reason: 'token-expired' });
    await expect(transport.write(new Uint8Array([1]))).rejects.toBe(error);
  });

  it('fails on a text message: the peer is not a pop3kit proxy', async () => {
    const url = await wsServer((ws) => ws.send('+OK hello'));
    transport = await openWebSocketTransport(url, { WebSocket });
    await expect(transport.read()).rejects.toThrow(/sent a text message: not a pop3kit proxy/);
  });

  it('resolves a pending read with undefined on close()', async () => {
    const url = await wsServer(() => {});
    transport = await openWebSocketTransport(url, { WebSocket });
    const pending = transport.read();
    transport.close();
    expect(await pending).toBeUndefined();
  });

  it('pauses a WebSocket that can stop reading (ws) at the high-water mark', async () => {
    let sender: WsSocket | undefined;
    const url = await wsServer((ws) => (sender = ws));
    transport = await openWebSocketTransport(url, { WebSocket, highWaterMark: 64 * 1024 });
    await until(() => sender !== undefined);
    const chunk = Buffer.alloc(16 * 1024, 1);
    for (let i = 0; i < 2048; i++) sender!.send(chunk); // 32 MiB, more than kernel buffers hold
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Reading stopped at the mark; the rest waits in the server's send buffer and the kernel.
    expect(transport.unread).toBeGreaterThanOrEqual(64 * 1024);
    expect(transport.unread).toBeLessThan(64 * 1024 + 64 * 1024);
    expect(sender!.bufferedAmount).toBeGreaterThan(8 * 1024 * 1024);
    let total = 0;
    while (total < 2048 * chunk.length) total += (await transport.read())!.length;
    expect(total).toBe(2048 * chunk.length);
  });

  it('fails with a typed error, instead of growing, when a browser WebSocket delivers more than maxUnread', async () => {
    let sender: WsSocket | undefined;
    const url = await wsServer((ws) => (sender = ws));
    transport = await openWebSocketTransport(url, { WebSocket: BrowserLikeWebSocket, maxUnread: 256 * 1024 });
    await until(() => sender !== undefined);
    for (let i = 0; i < 64; i++) sender!.send(Buffer.alloc(16 * 1024));
    const closed = new Promise<number>((resolve) => sender!.once('close', resolve));
    expect(await closed).toBe(1008);
    expect(transport.unread).toBe(0); // dropped when it failed
    const error = await transport.read().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect((error as Error).message).toMatch(/more than 262144 bytes .* arrived unread; a browser WebSocket cannot apply backpressure/);
  });

  it('rejects the open with the HTTP refusal as a 1006 WebSocketCloseError', async () => {
    const proxy = await startProxy({ allow: ['pop.example.com:110'], origins: [] });
    try {
      class WithOrigin extends WebSocket {
        constructor(url: string) {
          super(url, { origin: 'https://evil.example.net' });
        }
      }
      const error = await openWebSocketTransport(proxy.url, { WebSocket: WithOrigin }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(WebSocketCloseError);
      expect(error).toMatchObject({ closeCode: 1006 });
      expect(proxy.attempts).toEqual([]);
    } finally {
      await proxy.proxy.close();
    }
  });

  it('times out a handshake that never completes, and can be aborted', async () => {
    const silent: Server = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(silent.address() as { port: number }).port}/`;
    try {
      await expect(openWebSocketTransport(url, { WebSocket, connectTimeout: 100 })).rejects.toThrow(TimeoutError);
      const controller = new AbortController();
      const opening = openWebSocketTransport(url, { WebSocket, signal: controller.signal });
      controller.abort();
      await expect(opening).rejects.toThrow(AbortError);
    } finally {
      silent.close();
    }
  });

  it('needs a WebSocket class on Node 20, and a wss: URL to claim `secure`', async () => {
    expect((globalThis as { WebSocket?: unknown }).WebSocket).toBeUndefined();
    await expect(openWebSocketTransport('ws://127.0.0.1:1/')).rejects.toMatchObject({ code: ErrorCode.NotSupported });
    await expect(openWebSocketTransport('ws://127.0.0.1:1/', { WebSocket, secure: true })).rejects.toMatchObject({ code: ErrorCode.BadArgument });
  });
});

describe('Pop3Client over the proxy', () => {
  it('refuses to log in without TLS by default: the transport cannot start TLS', async () => {
    const pop3 = await fakePop3Server();
    const proxy = await startProxy({ allow: [pop3.target], allowPrivate: true });
    try {
      transport = await openWebSocketTransport(proxy.url, { WebSocket });
      const client = new Pop3Client(transport);
      await client.connect();
      await expect(client.login({ username: USER, password: PASSWORD })).rejects.toMatchObject({ code: ErrorCode.TlsRequired });
      // Nothing but CAPA (sent by connect()) reached the server: no user name, no password.
      expect(pop3.sockets.map((s) => s.bytesRead)).toEqual(['CAPA\r\n'.length]);
    } finally {
      transport?.close();
      await proxy.proxy.close();
      await pop3.close();
    }
  });
});
