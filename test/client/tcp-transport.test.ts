/**
 * The Node transport against tiny local servers on 127.0.0.1: plain TCP, implicit TLS with a private CA,
 * certificate verification (on by default), the STLS upgrade, STARTTLS injection, timeouts and
 * backpressure. Certificates are made with openssl at test time.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AbortError, ConnectionError, TimeoutError } from '../../core/client/errors.js';
import { ErrorCode } from '../../core/errors.js';
import { connect } from '../../core/node/connect.js';
import { openTcpTransport } from '../../core/node/tcp-transport.js';
import { inReadSlot, releaseReadSlot, takeReadSlot } from '../../core/simd-dot-line-search.js';
import { makeTestCertificates, type TestCertificates } from '../support/openssl-ca.js';

let dir: string;
let certs: TestCertificates;
let otherCa: string;
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'pop3kit-tcp-'));
  certs = makeTestCertificates(dir);
  otherCa = makeTestCertificates(mkdtempSync(path.join(dir, 'other-'))).ca;
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `server` on a free loopback port, remembering it and its connections for afterAll. */
async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  server.on('connection', (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {}); // resets from clients that give up are part of the tests
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

interface Pop3ServerOptions {
  /** Serve implicit TLS. */
  tls?: boolean;
  /** What to write after STLS: the +OK (then the TLS handshake), or anything else (an injection). */
  stlsReply?: string;
  /** Send nothing at all. */
  silent?: boolean;
  /** Leave STLS out of CAPA. */
  noStls?: boolean;
}

/** The SNI names the TLS servers saw. */
const serverNames: (string | false)[] = [];

/** A minimal POP3 server: enough of the protocol for connect, STLS, login, STAT, RETR and QUIT. */
async function pop3Server(options: Pop3ServerOptions = {}): Promise<number> {
  const keyAndCert = { key: readFileSync(certs.keyFile), cert: readFileSync(certs.certFile) };
  const secureContext = tls.createSecureContext(keyAndCert);
  const serve = (socket: net.Socket | tls.TLSSocket, secure: boolean) => {
    if (options.silent === true) return;
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const verb = line.split(' ')[0]!.toUpperCase();
        if (verb === 'STLS') {
          socket.off('data', onData);
          socket.write(options.stlsReply ?? '+OK begin TLS\r\n');
          if (options.stlsReply !== undefined) return;
          const upgraded = new tls.TLSSocket(socket, { isServer: true, secureContext });
          upgraded.on('secure', () => serverNames.push((upgraded as tls.TLSSocket & { servername: string | false }).servername));
          upgraded.on('error', () => {});
          serve(upgraded, true);
          return;
        }
        socket.write(reply(verb, secure || options.noStls === true));
        if (verb === 'QUIT') socket.end();
      }
    };
    socket.on('data', onData);
  };
  const server = options.tls === true
    ? tls.createServer(keyAndCert, (socket) => {
        serverNames.push((socket as tls.TLSSocket & { servername: string | false }).servername);
        socket.write('+OK ready\r\n');
        serve(socket, true);
      })
    : net.createServer((socket) => {
        if (options.silent !== true) socket.write('+OK ready\r\n');
        serve(socket, false);
      });
  server.on('tlsClientError', () => {});
  return listen(server);
}

/** The reply to a command; CAPA offers STLS unless `noStls` (as over TLS, or on a server without it). */
function reply(verb: string, noStls: boolean): string {
  switch (verb) {
    case 'CAPA':
      return `+OK\r\nUSER\r\nUIDL\r\nPIPELINING\r\n${noStls ? '' : 'STLS\r\n'}.\r\n`;
    case 'STAT':
      return '+OK 1 12\r\n';
    case 'RETR':
      return '+OK 12 octets\r\n..dot line\r\n.\r\n';
    default:
      return '+OK\r\n';
  }
}

describe('connect() over TCP', () => {
  it('plain TCP: a loopback session logs in without TLS and reads mail', async () => {
    const port = await pop3Server();
    const client = await connect({ host: '127.0.0.1', port, tls: 'none' });
    expect(client.secure).toBe(false);
    expect(client.greeting?.text).toBe('ready');
    expect(await client.login({ username: 'alice', password: 'pw' })).toEqual({ mechanism: 'USER' });
    expect(await client.stat()).toEqual({ count: 1, size: 12 });
    expect(new TextDecoder().decode(await client.retr(1))).toBe('.dot line\r\n');
    await client.quit();
    expect(client.state).toBe('closed');
  });

  it('implicit TLS: verifies the certificate against the given CA, with SNI', async () => {
    const port = await pop3Server({ tls: true });
    const client = await connect({ host: 'localhost', port, ca: certs.ca });
    expect(client.secure).toBe(true);
    expect(serverNames.at(-1)).toBe('localhost');
    await client.login({ username: 'alice', password: 'pw' });
    await client.quit();
  });

  it('implicit TLS to an IP address checks the IP in the certificate', async () => {
    const port = await pop3Server({ tls: true });
    const client = await connect({ host: '127.0.0.1', port, tls: 'implicit', ca: certs.ca });
    expect(client.secure).toBe(true);
    client.close();
  });

  it('a certificate from an unknown CA fails with POP3_ERR_TLS', async () => {
    const port = await pop3Server({ tls: true });
    const error = await connect({ host: 'localhost', port, ca: otherCa }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: ErrorCode.Tls, message: expect.stringMatching(/^TLS with localhost:\d+ failed: /) });
    expect((error as Error & { cause: { code: string } }).cause.code).toMatch(/UNABLE_TO_VERIFY|SELF_SIGNED|CERT/);
  });

  it('the default trust store does not know a private CA either', async () => {
    const port = await pop3Server({ tls: true });
    await expect(connect({ host: 'localhost', port })).rejects.toMatchObject({ code: ErrorCode.Tls });
  });

  it('rejectUnauthorized: false is the explicit way out', async () => {
    const port = await pop3Server({ tls: true });
    const client = await connect({ host: 'localhost', port, ca: otherCa, rejectUnauthorized: false });
    expect(client.secure).toBe(true);
    client.close();
  });

  it('STLS: upgrades before anything else, verifies, and fetches CAPA again', async () => {
    const port = await pop3Server();
    const client = await connect({ host: 'localhost', port, tls: 'starttls', ca: certs.ca });
    expect(client.secure).toBe(true);
    expect(serverNames.at(-1)).toBe('localhost');
    expect(client.capabilities?.stls).toBe(false); // the CAPA asked over TLS
    await client.login({ username: 'alice', password: 'pw', requireTls: true });
    expect(await client.stat()).toEqual({ count: 1, size: 12 });
    await client.quit();
  });

  it("tls: 'starttls' never falls back to plaintext when STLS is not offered", async () => {
    const port = await pop3Server({ noStls: true });
    await expect(connect({ host: '127.0.0.1', port, tls: 'starttls' })).rejects.toMatchObject({
      code: ErrorCode.TlsRequired,
      message: expect.stringMatching(/does not offer STLS/),
    });
  });

  it('STLS verifies the certificate too', async () => {
    const port = await pop3Server();
    await expect(connect({ host: 'localhost', port, tls: 'starttls', ca: otherCa })).rejects.toMatchObject({ code: ErrorCode.Tls });
  });

  it('STLS injection (+OK and a reply in one write) fails with POP3_ERR_TLS_INJECTION', async () => {
    const port = await pop3Server({ stlsReply: '+OK\r\n-ERR injected\r\n' });
    await expect(connect({ host: '127.0.0.1', port, tls: 'starttls', ca: certs.ca })).rejects.toMatchObject({
      code: ErrorCode.TlsInjection,
    });
  });

  it('a refused connection is POP3_ERR_CONNECTION', async () => {
    const port = await pop3Server();
    const closed = servers.pop()!;
    await new Promise((resolve) => closed.close(resolve));
    const error = await connect({ host: '127.0.0.1', port, tls: 'none' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: ErrorCode.Connection, message: expect.stringMatching(/cannot connect to 127\.0\.0\.1:\d+: .*ECONNREFUSED/) });
  });

  it('a server that never greets hits the connect timeout', async () => {
    const port = await pop3Server({ silent: true });
    await expect(connect({ host: '127.0.0.1', port, tls: 'none', connectTimeout: 200 })).rejects.toMatchObject({
      code: ErrorCode.Timeout,
      message: expect.stringMatching(/no greeting/),
    });
  });

  it('a TLS handshake that never completes hits the connect timeout', async () => {
    const port = await pop3Server({ silent: true });
    const error = await connect({ host: '127.0.0.1', port, tls: 'implicit', connectTimeout: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toMatch(/took longer than 200 ms/);
  });

  it('an abort while connecting', async () => {
    const port = await pop3Server({ silent: true });
    const controller = new AbortController();
    const connecting = connect({ host: '127.0.0.1', port, tls: 'implicit', signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(connecting).rejects.toBeInstanceOf(AbortError);
  });
});

describe('TcpTransport', () => {
  it('knows a loopback peer', async () => {
    const port = await pop3Server();
    const transport = await openTcpTransport({ host: '127.0.0.1', port });
    expect(transport.local).toBe(true);
    expect(transport.secure).toBe(false);
    transport.close();
    expect(await transport.read()).toBeUndefined();
  });

  it('refuses to upgrade when plaintext bytes are waiting unread (STARTTLS injection)', async () => {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      socket.write('+OK begin TLS\r\n');
      setTimeout(() => socket.write('+OK injected\r\n'), 20);
    });
    const transport = await openTcpTransport({ host: '127.0.0.1', port: await listen(server), ca: certs.ca });
    expect(new TextDecoder().decode(await transport.read())).toBe('+OK begin TLS\r\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    await expect(transport.startTls()).rejects.toMatchObject({
      code: ErrorCode.TlsInjection,
      message: expect.stringMatching(/^14 bytes arrived/),
    });
    expect(transport.secure).toBe(false);
    expect(await transport.read()).toBeUndefined();
  });

  it('pauses the socket while the reader is behind: the server cannot send everything', async () => {
    const total = 32 * 1024 * 1024;
    let serverSocket!: net.Socket;
    const server = net.createServer((socket) => {
      serverSocket = socket;
      const piece = Buffer.alloc(1024 * 1024, 0x61);
      for (let i = 0; i < total / piece.length; i++) socket.write(piece);
    });
    const transport = await openTcpTransport({ host: '127.0.0.1', port: await listen(server), highWaterMark: 64 * 1024 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Had the client kept reading into its queue, the server would have flushed all of it by now.
    expect(serverSocket.writableLength).toBeGreaterThan(total / 2);
    let received = 0;
    while (received < total) received += (await transport.read())!.length;
    expect(received).toBe(total);
    transport.close();
  });
});

describe('TcpTransport.readTransient', () => {
  /** Byte `i` of the test stream: a pattern that shows any byte out of place. */
  const patternByte = (i: number) => (i * 31 + (i >> 9)) & 0xff;

  /** A server that sends `total` bytes of the pattern at once (over implicit TLS with `secure`), and the client's transport. */
  async function patterned(total: number, highWaterMark?: number, secure = false) {
    const send = (socket: net.Socket) => {
      const bytes = Buffer.alloc(total);
      for (let i = 0; i < total; i++) bytes[i] = patternByte(i);
      socket.end(bytes);
    };
    const keyAndCert = { key: readFileSync(certs.keyFile), cert: readFileSync(certs.certFile) };
    const server = secure ? tls.createServer(keyAndCert, send) : net.createServer(send);
    const port = await listen(server);
    return openTcpTransport({ host: '127.0.0.1', port, highWaterMark, ...(secure ? { tls: true, ca: certs.ca, servername: 'localhost' } : {}) });
  }

  /** The memory a chunk was read into: its buffer, and where in it (read slots share one buffer). */
  const memoryIds = new Map<ArrayBufferLike, number>();
  const memoryOf = (chunk: Uint8Array) => {
    if (!memoryIds.has(chunk.buffer)) memoryIds.set(chunk.buffer, memoryIds.size + 1);
    return `${memoryIds.get(chunk.buffer)}@${chunk.byteOffset}`;
  };

  /** How many read slots of the dot-line search are free now. */
  const freeReadSlots = () => {
    const slots: Uint8Array[] = [];
    for (let slot = takeReadSlot(); slot !== undefined; slot = takeReadSlot()) slots.push(slot);
    for (const slot of slots) releaseReadSlot(slot);
    return slots.length;
  };

  function expectPattern(chunk: Uint8Array, offset: number, what: string): void {
    for (let i = 0; i < chunk.length; i++) {
      if (chunk[i] !== patternByte(offset + i)) expect.fail(`${what}: byte ${offset + i} is ${chunk[i]}, not ${patternByte(offset + i)}`);
    }
  }

  it('reuses a few buffers, and never overwrites a transient chunk before the next read, even when the reader is slow', async () => {
    const total = 4 * 1024 * 1024;
    const transport = await patterned(total);
    const memory = new Set<string>();
    let received = 0;
    let reads = 0;
    for (; ; reads++) {
      const chunk = await transport.readTransient();
      if (chunk === undefined) break;
      memory.add(memoryOf(chunk));
      // Slow now and then: more arrives meanwhile, and must not land in the chunk being held.
      if (reads % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expectPattern(chunk, received, `transient read ${reads}`);
      received += chunk.length;
    }
    expect(received).toBe(total);
    // Three reused buffers, and the fresh memory of the reads made before the first readTransient().
    expect(reads).toBeGreaterThan(32);
    expect(memory.size).toBeLessThanOrEqual(6);
  });

  it('hands the reused buffers of a closed connection to the next one', async () => {
    // Else they would linger until a full garbage collection, which may be tens of MiB of sessions away.
    const total = 1024 * 1024;
    const first = await patterned(total);
    const firstMemory = new Set<string>();
    for (let chunk = await first.readTransient(); chunk !== undefined; chunk = await first.readTransient()) firstMemory.add(memoryOf(chunk));
    first.close();
    const second = await patterned(total);
    let received = 0;
    let inFirstMemory = 0;
    for (let chunk = await second.readTransient(); chunk !== undefined; chunk = await second.readTransient()) {
      if (firstMemory.has(memoryOf(chunk))) inFirstMemory++;
      expectPattern(chunk, received, 'second connection');
      received += chunk.length;
    }
    second.close();
    expect(received).toBe(total);
    expect(inFirstMemory).toBeGreaterThan(0);
  });

  it('reads transient chunks into the dot-line search\'s slots, and gives them back at close', async () => {
    // Bodies are then searched where they lie, without a copy into the search's memory.
    const free = freeReadSlots();
    const transport = await patterned(1024 * 1024);
    let received = 0;
    let inSlots = 0;
    for (let chunk = await transport.readTransient(); chunk !== undefined; chunk = await transport.readTransient()) {
      if (inReadSlot(chunk)) inSlots++;
      expectPattern(chunk, received, 'a transient chunk');
      received += chunk.length;
    }
    expect(received).toBe(1024 * 1024);
    expect(inSlots).toBeGreaterThan(8);
    expect(freeReadSlots()).toBeLessThan(free);
    transport.close();
    expect(freeReadSlots()).toBe(free);
  });

  it('reads into memory of its own when the search has no slot left', async () => {
    const taken: Uint8Array[] = [];
    for (let slot = takeReadSlot(); slot !== undefined; slot = takeReadSlot()) taken.push(slot);
    try {
      const transport = await patterned(1024 * 1024);
      const memory = new Set<string>();
      let received = 0;
      for (let chunk = await transport.readTransient(); chunk !== undefined; chunk = await transport.readTransient()) {
        expect(inReadSlot(chunk)).toBe(false);
        memory.add(memoryOf(chunk));
        expectPattern(chunk, received, 'a transient chunk');
        received += chunk.length;
      }
      expect(received).toBe(1024 * 1024);
      expect(memory.size).toBeLessThanOrEqual(6);
      transport.close();
      expect(freeReadSlots()).toBe(0);
    } finally {
      for (const slot of taken) releaseReadSlot(slot);
    }
  });

  it('lends nothing to read(), whatever came before', async () => {
    const total = 2 * 1024 * 1024;
    const transport = await patterned(total);
    const memory = new Set<ArrayBufferLike>();
    const owned: { chunk: Uint8Array; offset: number }[] = [];
    let transientReads = 0;
    let received = 0;
    for (let reads = 0; ; reads++) {
      // Mixed: runs of transient reads, then runs of ordinary ones, with pauses so chunks queue up.
      const transient = Math.floor(reads / 8) % 2 === 0;
      if (reads % 5 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
      const chunk = await (transient ? transport.readTransient() : transport.read());
      if (chunk === undefined) break;
      expectPattern(chunk, received, `${transient ? 'transient' : 'ordinary'} read ${reads}`);
      if (transient) {
        transientReads++;
        memory.add(chunk.buffer);
      }
      else owned.push({ chunk, offset: received });
      received += chunk.length;
    }
    expect(received).toBe(total);
    // Every ordinary chunk is still intact after all the reads that followed it, and none is lent memory.
    for (const { chunk, offset } of owned) {
      expectPattern(chunk, offset, 'an ordinary chunk at the end');
      expect(memory.has(chunk.buffer)).toBe(false);
    }
    expect(transientReads).toBeGreaterThan(0);
  });

  it('an ordinary chunk pins no more memory than its size (as Node\'s own reads), however much the read was given', async () => {
    // Sizes around the old cut-off (a quarter of the 64 KiB read memory) and well above it.
    for (const size of [20_000, 30_000, 50_000]) {
      const transport = await patterned(size);
      let received = 0;
      for (let chunk = await transport.read(); chunk !== undefined; chunk = await transport.read()) {
        expectPattern(chunk, received, `a chunk of ${chunk.length}`);
        // A chunk of a few KiB may lie in Node's shared pool; anything else in memory of about its size.
        expect(chunk.buffer.byteLength, `the memory under a chunk of ${chunk.length}`).toBeLessThanOrEqual(Math.max(Buffer.poolSize, chunk.length));
        received += chunk.length;
      }
      expect(received).toBe(size);
    }
  });

  it('pauses the socket while a transient chunk waits unread', async () => {
    const total = 16 * 1024 * 1024;
    let serverSocket!: net.Socket;
    const server = net.createServer((socket) => {
      serverSocket = socket;
      socket.end(Buffer.alloc(total, 0x61));
    });
    const transport = await openTcpTransport({ host: '127.0.0.1', port: await listen(server) });
    expect((await transport.readTransient())!.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Had the transport kept reading, the server would have flushed most of it by now.
    expect(serverSocket.writableLength).toBeGreaterThan(total / 2);
    let received = 0;
    for (let chunk = await transport.readTransient(); chunk !== undefined; chunk = await transport.readTransient()) received += chunk.length;
    expect(received).toBeGreaterThan(total / 2);
    transport.close();
  });

  it('implicit TLS reads transient chunks into the read slots too, never overwriting one before the next read', async () => {
    const total = 4 * 1024 * 1024;
    const free = freeReadSlots();
    const transport = await patterned(total, undefined, true);
    let received = 0;
    let reads = 0;
    let inSlots = 0;
    for (; ; reads++) {
      const chunk = await transport.readTransient();
      if (chunk === undefined) break;
      if (inReadSlot(chunk)) inSlots++;
      // Slow now and then: TLS records decrypted meanwhile (a paused TLS socket may still hand out what it
      // has decrypted) go into fresh memory, and nothing into the chunk being held.
      if (reads % 16 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      expectPattern(chunk, received, `transient TLS read ${reads}`);
      received += chunk.length;
    }
    expect(received).toBe(total);
    expect(reads).toBeGreaterThan(64);
    expect(inSlots).toBeGreaterThan(reads / 2);
    transport.close();
    expect(freeReadSlots()).toBe(free);
  });
});
