/**
 * The happy paths: whole POP3 sessions relayed to a local POP3 server, raw and through Pop3Client over the
 * WebSocket transport; every byte value carried untouched both ways; TLS end to end through the proxy
 * (port 995 is just bytes to it); TLS originated by the proxy with certificate verification; and logs
 * that hold metadata only.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { createWebSocketStream, WebSocket } from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Pop3Client } from '../../core/client/pop3-client.js';
import { openWebSocketTransport } from '../../core/client/websocket-transport.js';
import { Pop3Server } from '../../core/node/server.js';
import { MemoryMailStore } from '../../core/server/memory-mailbox.js';
import { makeTestCertificates, type TestCertificates } from '../support/openssl-ca.js';
import {
  connect,
  converse,
  type CountingServer,
  countingServer,
  fakePop3Server,
  fakeResolver,
  MAILBOX,
  PASSWORD,
  startProxy,
  type TestProxy,
  until,
  USER,
} from './harness.js';

let pop3: CountingServer;
let proxy: TestProxy;

beforeAll(async () => {
  pop3 = await fakePop3Server();
  proxy = await startProxy({ allow: [pop3.target], allowPrivate: true, origins: ['https://mail.example.org'] });
});

afterAll(async () => {
  await proxy.proxy.close();
  await pop3.close();
});

describe('a whole POP3 session', () => {
  it('is relayed command by command, and the proxy closes normally after QUIT', async () => {
    const before = proxy.log.length;
    const plain = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');
    // The single allowed target may be left out of the URL.
    const page = connect(proxy.url, '', { origin: 'https://mail.example.org' });
    expect(await page.opened).toEqual({ opened: true });
    const replies = await converse(page, ['CAPA', `USER ${USER}`, `PASS ${PASSWORD}`, `AUTH PLAIN ${plain}`, 'STAT', 'LIST', 'RETR 1', 'RETR 2', 'QUIT']);
    expect(replies).toEqual([
      '+OK fake POP3 ready\r\n',
      '+OK\r\nUSER\r\nSASL PLAIN\r\nPIPELINING\r\nUIDL\r\n.\r\n',
      '+OK\r\n',
      '+OK logged in\r\n',
      '+OK logged in\r\n',
      `+OK 2 ${MAILBOX[0]!.length + MAILBOX[1]!.length}\r\n`,
      `+OK\r\n1 ${MAILBOX[0]!.length}\r\n2 ${MAILBOX[1]!.length}\r\n.\r\n`,
      `+OK ${MAILBOX[0]!.length} octets\r\n${MAILBOX[0]}.\r\n`,
      `+OK ${MAILBOX[1]!.length} octets\r\n${MAILBOX[1]!.replace(/^\./gm, '..')}.\r\n`,
      '+OK bye\r\n',
    ]);
    expect(await page.closed).toEqual({ code: 1000, reason: 'target closed' });

    await until(() => proxy.log.slice(before).some((r) => r.event === 'session-close'));
    const records = proxy.log.slice(before);
    const sent = ['CAPA', `USER ${USER}`, `PASS ${PASSWORD}`, `AUTH PLAIN ${plain}`, 'STAT', 'LIST', 'RETR 1', 'RETR 2', 'QUIT'].reduce((n, c) => n + c.length + 2, 0);
    expect(records).toEqual([
      { event: 'session-open', session: expect.any(String), client: '127.0.0.1', target: pop3.target, address: '127.0.0.1' },
      {
        event: 'session-close',
        session: records[0]!.event === 'session-open' ? records[0]!.session : '',
        client: '127.0.0.1',
        target: pop3.target,
        bytesUp: sent,
        bytesDown: replies.join('').length,
        durationMs: expect.any(Number),
        reason: 'target closed',
      },
    ]);
    // Metadata only: neither the password nor the AUTH PLAIN payload (nor any part of the mail) is logged.
    const logged = JSON.stringify(records);
    for (const secret of [PASSWORD, plain, plain.slice(4, 20), 'Subject', 'USER', 'PASS']) expect(logged).not.toContain(secret);
  });

  it('serves Pop3Client over the WebSocket transport: login, list, retr byte for byte', async () => {
    const transport = await openWebSocketTransport(`${proxy.url}?target=${pop3.target}`, { WebSocket, local: true });
    const client = new Pop3Client(transport);
    await client.connect();
    await client.login({ username: USER, password: PASSWORD, mechanism: 'USER' });
    expect(await client.stat()).toEqual({ count: 2, size: MAILBOX[0]!.length + MAILBOX[1]!.length });
    expect(await client.list()).toEqual(MAILBOX.map((m, i) => ({ message: i + 1, size: m.length })));
    for (const [i, message] of MAILBOX.entries()) {
      expect(Buffer.from(await client.retr(i + 1)).toString('latin1')).toBe(message);
    }
    await client.quit();
  });
});

describe('the embedded POP3 server through the proxy', () => {
  it.each(['USER', 'PLAIN'])('serves Pop3Client logging in with %s; the log holds no secret', async (mechanism) => {
    const store = new MemoryMailStore();
    store.addUser(USER, PASSWORD);
    const messages = ['Subject: first\r\n\r\nHello\r\n.dot line\r\n', `Subject: big\r\n\r\n${'x'.repeat(100)}\r\n`.repeat(3000)];
    for (const message of messages) store.deliver(USER, message);
    const server = new Pop3Server({ store });
    const { port } = await server.listen({ port: 0 });
    const embedded = await startProxy({ allow: [`127.0.0.1:${port}`], allowPrivate: true });
    try {
      const transport = await openWebSocketTransport(embedded.url, { WebSocket, local: true });
      const client = new Pop3Client(transport);
      await client.connect();
      expect(await client.login({ username: USER, password: PASSWORD, mechanism })).toEqual({ mechanism });
      expect(await client.list()).toEqual(messages.map((m, i) => ({ message: i + 1, size: m.length })));
      for (const [i, message] of messages.entries()) expect(Buffer.from(await client.retr(i + 1)).toString()).toBe(message);
      await client.quit();
      await until(() => embedded.log.some((r) => r.event === 'session-close'));
      const logged = JSON.stringify(embedded.log);
      const plain = Buffer.from(`\0${USER}\0${PASSWORD}`).toString('base64');
      for (const secret of [PASSWORD, plain, plain.slice(8, 24), 'Subject']) expect(logged).not.toContain(secret);
      expect(embedded.log.find((r) => r.event === 'session-close')).toMatchObject({ reason: 'target closed', bytesDown: expect.any(Number) });
    } finally {
      await embedded.proxy.close();
      await server.close();
    }
  });
});

describe('bytes', () => {
  it('carries every byte value untouched, both ways', async () => {
    const echo = await countingServer((socket) => socket.pipe(socket));
    const echoProxy = await startProxy({ allow: [echo.target], allowPrivate: true });
    try {
      const page = connect(echoProxy.url);
      await page.opened;
      const all = Buffer.from(Array.from({ length: 256 * 64 }, (_, i) => (i * 7) % 256));
      for (let offset = 0; offset < all.length; offset += 1000) page.ws.send(all.subarray(offset, offset + 1000));
      await until(() => Buffer.concat(page.received).length === all.length);
      expect(Buffer.concat(page.received).equals(all)).toBe(true);
      page.ws.close();
      expect(await page.closed).toEqual({ code: 1005, reason: '' });
      await until(() => echoProxy.log.some((r) => r.event === 'session-close'));
      expect(echoProxy.log.find((r) => r.event === 'session-close')).toMatchObject({ bytesUp: all.length, bytesDown: all.length, reason: 'page closed (1005)' });
    } finally {
      await echoProxy.proxy.close();
      await echo.close();
    }
  });
});

describe('many small messages to a target that stopped reading', () => {
  it('pause the page once and wait for one drain (no listener pile-up); every byte arrives', async () => {
    let serverSide: Socket | undefined;
    const target = await countingServer((socket) => {
      serverSide = socket;
      socket.pause();
    });
    const small = await startProxy({ allow: [target.target], allowPrivate: true });
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    try {
      const page = connect(small.url);
      await page.opened;
      await until(() => serverSide !== undefined);
      // Enough tiny messages to fill the kernel buffers, so the proxy's writes report a full buffer many times.
      const message = Buffer.alloc(512, 0x2a);
      const count = 40_000;
      for (let i = 0; i < count; i++) page.ws.send(message);
      await new Promise((resolve) => setTimeout(resolve, 300));
      let received = 0;
      serverSide!.on('data', (d: Buffer) => (received += d.length));
      serverSide!.resume();
      await until(() => received === count * message.length, 20_000, 'every small message at the target');
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings).toEqual([]);
      page.ws.close();
      await page.closed;
    } finally {
      process.off('warning', onWarning);
      await small.proxy.close();
      await target.close();
    }
  });
});

describe('TLS', () => {
  let dir: string;
  let certs: TestCertificates;
  let tlsPop3: TlsServer;
  let tlsPort: number;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'pop3kit-proxy-tls-'));
    certs = makeTestCertificates(dir);
    // A POP3S server that greets and answers QUIT: enough to show a real TLS session got through.
    tlsPop3 = createTlsServer({ cert: readFileSync(certs.certFile), key: readFileSync(certs.keyFile) }, (socket) => {
      socket.write('+OK POP3S ready\r\n');
      socket.on('data', (data) => {
        if (data.toString().startsWith('QUIT')) socket.end('+OK bye\r\n');
        else socket.write('-ERR\r\n');
      });
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => tlsPop3.listen(0, '127.0.0.1', resolve));
    tlsPort = (tlsPop3.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => tlsPop3.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('passes TLS through untouched: the page does the handshake with the server, through the proxy', async () => {
    const passthrough = await startProxy({ allow: [`127.0.0.1:${tlsPort}`], allowPrivate: true });
    try {
      const ws = new WebSocket(passthrough.url);
      await new Promise((resolve) => ws.once('open', resolve));
      const stream = createWebSocketStream(ws);
      const secure = tlsConnect({ socket: stream, servername: 'localhost', ca: certs.ca });
      await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
      expect(secure.authorized).toBe(true);
      let text = '';
      secure.on('data', (d: Buffer) => (text += d.toString()));
      await until(() => text.includes('ready'));
      secure.write('QUIT\r\n');
      await until(() => text.includes('bye'));
      expect(text).toBe('+OK POP3S ready\r\n+OK bye\r\n');
      secure.destroy();
    } finally {
      await passthrough.proxy.close();
    }
  });

  it('originates TLS for a `tls` target and verifies the certificate against the entry host name', async () => {
    const originating = await startProxy({
      allow: [{ target: `localhost:${tlsPort}`, tls: true }],
      allowPrivate: true,
      tlsCa: certs.ca,
      resolver: fakeResolver({ localhost: ['127.0.0.1'] }),
    });
    try {
      const page = connect(originating.url);
      await page.opened;
      await until(() => Buffer.concat(page.received).toString() === '+OK POP3S ready\r\n');
      page.ws.send(Buffer.from('QUIT\r\n'));
      expect(await page.closed).toEqual({ code: 1000, reason: 'target closed' });
      expect(Buffer.concat(page.received).toString()).toBe('+OK POP3S ready\r\n+OK bye\r\n');
    } finally {
      await originating.proxy.close();
    }
  });

  it.each([
    ['a certificate for another name', { target: 'pop.test', ca: true }, /ERR_TLS_CERT_ALTNAME_INVALID/],
    ['an untrusted certificate (no custom CA)', { target: 'localhost', ca: false }, /UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER/],
  ])('refuses %s (1014)', async (_, { target, ca }, reason) => {
    const originating = await startProxy({
      allow: [{ target: `${target}:${tlsPort}`, tls: true }],
      allowPrivate: true,
      ...(ca ? { tlsCa: certs.ca } : {}),
      resolver: fakeResolver({ [target]: ['127.0.0.1'] }),
    });
    try {
      const page = connect(originating.url);
      await page.opened;
      expect(await page.closed).toEqual({ code: 1014, reason: 'target unreachable' });
      expect(page.received).toEqual([]);
      expect(originating.log.find((r) => r.event === 'session-close')).toMatchObject({ reason: expect.stringMatching(reason) });
    } finally {
      await originating.proxy.close();
    }
  });
});
