/**
 * The fault proxy (test/support/fault-proxy.ts) against plain TCP servers: it forwards faithfully, and each
 * fault happens exactly where it is asked to. The Dovecot interop tests trust these properties.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type FaultOptions, type FaultProxy, startFaultProxy } from '../support/fault-proxy.js';

/** A server that runs `script` for each connection; closed after each test. */
const servers: net.Server[] = [];
const proxies: FaultProxy[] = [];
afterEach(async () => {
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

async function serve(script: (socket: net.Socket) => void): Promise<number> {
  const server = net.createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {}); // resets are what some tests are about
    script(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

async function proxyTo(port: number, faults: Omit<FaultOptions, 'target'> = {}): Promise<FaultProxy> {
  const proxy = await startFaultProxy({ target: { host: '127.0.0.1', port }, ...faults });
  proxies.push(proxy);
  return proxy;
}

/** Everything a socket receives until it closes, how it ended, and the chunks it came in. */
interface Received {
  readonly data: Buffer;
  readonly chunks: number;
  /** 'end' for an orderly FIN, else the error code (ECONNRESET). */
  readonly ending: string;
}

function receiveAll(socket: net.Socket): Promise<Received> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let ending = 'end';
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (ending = error.code ?? error.message));
    socket.on('end', () => socket.end());
    socket.on('close', () => resolve({ data: Buffer.concat(chunks), chunks: chunks.length, ending }));
  });
}

function connect(port: number): net.Socket {
  return net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A server that writes `pieces` (strings are latin1) with `gap` ms between them, then ends. */
function talker(pieces: (string | Buffer)[], gap = 0): (socket: net.Socket) => void {
  return async (socket) => {
    for (const piece of pieces) {
      if (socket.destroyed) return;
      socket.write(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
      if (gap > 0) await sleep(gap);
    }
    socket.end();
  };
}

describe('fault proxy', () => {
  it('passes 1 MiB each way through unchanged, with half-closes forwarded', async () => {
    const port = await serve((socket) => socket.pipe(socket)); // echo, ends after the client ends
    const proxy = await proxyTo(port);
    const sent = randomBytes(1 << 20);
    const client = connect(proxy.port);
    const received = receiveAll(client);
    client.end(sent);
    const { data, ending } = await received;
    expect(ending).toBe('end');
    expect(data.equals(sent)).toBe(true);
    expect(proxy.stats()).toMatchObject({ connections: 1, cuts: 0, fromServer: sent.length, fromClient: sent.length });
  });

  it('cuts after exactly N bytes from the server: the client gets them, then a FIN', async () => {
    const stream = randomBytes(10_000);
    let serverSawClose: Promise<void> | undefined;
    const port = await serve((socket) => {
      serverSawClose = new Promise((resolve) => socket.once('close', () => resolve()));
      talker([stream.subarray(0, 3000), stream.subarray(3000)], 20)(socket);
    });
    const proxy = await proxyTo(port, { cut: { from: 'server', afterBytes: 4321 } });
    const { data, ending } = await receiveAll(connect(proxy.port));
    expect(ending).toBe('end');
    expect(data.equals(stream.subarray(0, 4321))).toBe(true);
    await serverSawClose; // the server's side is gone too
    expect(proxy.stats().cuts).toBe(1);
  });

  it('cuts at byte 0: the client gets nothing', async () => {
    const port = await serve(talker(['+OK hello\r\n']));
    const proxy = await proxyTo(port, { cut: { from: 'server', afterBytes: 0 } });
    const { data, ending } = await receiveAll(connect(proxy.port));
    expect([data.length, ending]).toEqual([0, 'end']);
  });

  it('cuts after exactly N bytes from the client: the server gets them, the client is disconnected', async () => {
    let serverGot: Promise<Received> | undefined;
    const port = await serve((socket) => (serverGot = receiveAll(socket)));
    const proxy = await proxyTo(port, { cut: { from: 'client', afterBytes: 777 } });
    const sent = randomBytes(5000);
    const client = connect(proxy.port);
    const clientDone = receiveAll(client);
    client.write(sent);
    await clientDone;
    await proxy.cutCount(1);
    const { data, ending } = await serverGot!;
    expect([data.equals(sent.subarray(0, 777)), ending]).toEqual([true, 'end']);
  });

  it('cuts at the k-th match of a pattern, at any offset from its first byte', async () => {
    const stream = 'aaaMARKbbbMARKccc';
    const cases: [occurrence: number, offset: number | undefined, expected: string][] = [
      [1, 0, 'aaa'],
      [2, 0, 'aaaMARKbbb'],
      [2, undefined, 'aaaMARKbbbMARK'], // default: right after the pattern
      [2, 2, 'aaaMARKbbbMA'],
      [2, 6, 'aaaMARKbbbMARKcc'],
    ];
    for (const [occurrence, offset, expected] of cases) {
      // One byte at a time from the server, so every match spans chunks.
      const port = await serve(talker(stream.split(''), 2));
      const proxy = await proxyTo(port, { cut: { from: 'server', pattern: 'MARK', occurrence, ...(offset === undefined ? {} : { offset }) } });
      const { data } = await receiveAll(connect(proxy.port));
      expect(data.toString('latin1'), `occurrence ${occurrence}, offset ${offset}`).toBe(expected);
    }
  });

  it('holds back a partial match only until the next chunk shows it is not one', async () => {
    const port = await serve(talker(['xxMA', 'Zyy', 'MARK', '!'], 30));
    const proxy = await proxyTo(port, { cut: { from: 'server', pattern: 'MARK', offset: 0 } });
    const client = connect(proxy.port);
    const seen: string[] = [];
    client.on('data', (chunk: Buffer) => seen.push(chunk.toString('latin1')));
    const { data } = await receiveAll(client);
    expect(data.toString('latin1')).toBe('xxMAZyy');
    expect(seen[0]).toBe('xx'); // "MA" waited for the next chunk
  });

  it('resets instead of closing when asked', async () => {
    // At byte 0 the client has nothing unread: on Linux a RST that arrives while the receiver still has
    // unread bytes may surface as a plain end of stream, so only this case is deterministic.
    const port = await serve(talker(['+OK hello\r\n']));
    const proxy = await proxyTo(port, { cut: { from: 'server', afterBytes: 0, mode: 'reset' } });
    const { data, ending } = await receiveAll(connect(proxy.port));
    expect([data.length, ending]).toEqual([0, 'ECONNRESET']);
  });

  it('writes one byte at a time', async () => {
    const stream = randomBytes(2000);
    const port = await serve(talker([stream]));
    const proxy = await proxyTo(port, { oneByteWrites: 'server' });
    const { data, chunks } = await receiveAll(connect(proxy.port));
    expect(data.equals(stream)).toBe(true);
    expect(proxy.stats().writes).toBe(2000);
    // The receiver may read a few bytes at once when it falls behind, but far from the single write sent.
    expect(chunks).toBeGreaterThan(100);
  });

  it('stalls a stream for the given time at the trigger, then resumes it', async () => {
    const port = await serve(talker(['hello ', 'world'], 10));
    const proxy = await proxyTo(port, { stall: { from: 'server', afterBytes: 6, ms: 300 } });
    const client = connect(proxy.port);
    const arrivals: [string, number][] = [];
    const start = Date.now();
    client.on('data', (chunk: Buffer) => arrivals.push([chunk.toString('latin1'), Date.now() - start]));
    const { data } = await receiveAll(client);
    expect(data.toString('latin1')).toBe('hello world');
    expect(arrivals[0]![0]).toBe('hello ');
    expect(arrivals.at(-1)![1] - arrivals[0]![1]).toBeGreaterThanOrEqual(280);
    expect(proxy.stats().stalls).toBe(1);
  });

  it('adds latency per direction', async () => {
    const port = await serve((socket) => socket.pipe(socket));
    const proxy = await proxyTo(port, { latency: { client: 150, server: 100 } });
    const client = connect(proxy.port);
    const start = Date.now();
    const echoed = new Promise<number>((resolve) => client.once('data', () => resolve(Date.now() - start)));
    client.write('ping');
    expect(await echoed).toBeGreaterThanOrEqual(240);
    client.destroy();
  });

  it('rejects meaningless triggers', async () => {
    const target = { host: '127.0.0.1', port: 9 } as const;
    await expect(startFaultProxy({ target, cut: { from: 'server', pattern: '' } })).rejects.toThrow(RangeError);
    await expect(startFaultProxy({ target, cut: { from: 'server', afterBytes: -1 } })).rejects.toThrow(RangeError);
    await expect(startFaultProxy({ target, stall: { from: 'client', pattern: 'x', occurrence: 0, ms: 1 } })).rejects.toThrow(RangeError);
  });
});
