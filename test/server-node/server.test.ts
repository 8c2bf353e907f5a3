// The Node server driver (core/node/server.ts, socket-connection.ts) with the Maildir store: what a session
// leaves on disk, locking, limits, timers, backpressure, STLS and shutdown, seen from a raw socket.
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { LogEvent } from '../../core/node/server.js';
import { RawPop3 } from '../support/raw-pop3.js';
import { sampleFileNames, sampleMessages } from '../support/sample-maildir.js';
import { type SampleServer, type SampleServerOptions, startSampleServer } from '../support/sample-server.js';

const expected = sampleMessages();
const uids = sampleFileNames().map((name) => name.split(':')[0]!);

let servers: SampleServer[] = [];
const clients: RawPop3[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.drop();
  for (const server of servers.splice(0)) await server.remove();
});

async function start(options: SampleServerOptions = {}): Promise<SampleServer> {
  const server = await startSampleServer(options);
  servers.push(server);
  return server;
}

async function login(s: SampleServer, user = 'demo', password = 'demo'): Promise<RawPop3> {
  const client = await RawPop3.login(s.port, user, password);
  clients.push(client);
  return client;
}

async function connect(port: number): Promise<RawPop3> {
  const client = await RawPop3.connect(port);
  clients.push(client);
  return client;
}

async function uidl(client: RawPop3): Promise<string[]> {
  await client.command('UIDL', /^\+OK/);
  return (await client.body()).toString().split('\r\n').filter(Boolean);
}

/** Resolves once the log has an event matching `match`. */
async function logged(s: SampleServer, match: (event: LogEvent) => boolean, timeout = 5000): Promise<LogEvent> {
  await until(() => s.log.some(match), timeout);
  return s.log.find(match)!;
}

/** Resolves once `condition` holds; fails after `timeout` ms. */
async function until(condition: () => boolean, timeout = 5000): Promise<void> {
  for (const deadline = Date.now() + timeout; !condition(); await sleep(5)) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const closeOf = (user: string) => (e: LogEvent) => e.type === 'close' && e.user === user;

/** Adds a message of about `megabytes` MB of 78-character lines to the user's Maildir; returns its CRLF form. */
function addLargeMessage(s: SampleServer, user: string, megabytes: number): Buffer {
  const line = `${'The quick brown fox jumps over the lazy dog. '.repeat(2).slice(0, 78)}\n`;
  const text = `Subject: large\n\n${line.repeat(Math.ceil((megabytes * 1_000_000) / line.length))}`;
  writeFileSync(path.join(s.root, user, 'cur', '1800000000.M1P1.big:2,'), text);
  return Buffer.from(text.replaceAll('\n', '\r\n'));
}

describe('Maildir sessions', () => {
  it('keeps UIDs across sessions and server restarts, and appends new mail after moving it to cur/', async () => {
    const s = await start();
    const first = await login(s);
    expect(await uidl(first)).toEqual(uids.map((uid, i) => `${i + 1} ${uid}`));
    await first.command('QUIT', /^\+OK/);

    writeFileSync(path.join(s.root, 'demo', 'new', '1800000001.M9P9.mx'), 'Subject: late\n\nnews\n');
    const restarted = await s.restart();
    servers = [restarted];
    const second = await login(restarted);
    expect(await uidl(second)).toEqual([...uids, '1800000001.M9P9.mx'].map((uid, i) => `${i + 1} ${uid}`));
    expect(readdirSync(path.join(s.root, 'demo', 'new'))).toEqual([]);
    expect(readdirSync(path.join(s.root, 'demo', 'cur'))).toContain('1800000001.M9P9.mx:2,');
    await second.command(`RETR ${expected.length + 1}`, /^\+OK 23 octets/);
    expect((await second.body()).toString()).toBe('Subject: late\r\n\r\nnews\r\n');
  });

  it('answers -ERR [IN-USE] to a second session, and lets it in once the first has quit', async () => {
    const s = await start();
    const first = await login(s);
    const second = await connect(s.port);
    await second.expect(/^\+OK/);
    await second.command('USER demo', /^\+OK/);
    await second.command('PASS demo', /^-ERR \[IN-USE\] /);
    await first.command('QUIT', /^\+OK/);
    await logged(s, closeOf('demo'));
    await second.command('USER demo', /^\+OK/);
    await second.command('PASS demo', /^\+OK/);
  });

  it('deletes nothing when the connection drops after DELE, nor when the client ends its stream', async () => {
    const s = await start();
    const dropped = await login(s);
    await dropped.command('DELE 1', /^\+OK/);
    dropped.drop();
    await logged(s, (e) => e.type === 'close' && e.reason !== 'quit');

    const ended = await login(s);
    await ended.command('DELE 2', /^\+OK/);
    ended.socket.end(); // half-close: the server answers what came, then ends without UPDATE
    await ended.whenClosed();
    expect(readdirSync(path.join(s.root, 'demo', 'cur'))).toHaveLength(expected.length);
    await logged(s, (e) => e.type === 'close' && e.reason === 'end-of-input');

    const check = await login(s);
    await check.command('STAT', new RegExp(`^\\+OK ${expected.length} `));
  });

  it('refuses user names that would leave the mail folder, even when the users file lists them', async () => {
    const first = await start();
    writeFileSync(path.join(first.root, 'users'), 'demo:demo\n../outside:pw\n..:pw\n.:pw\n/etc:pw\ndemo/../demo:pw\n');
    const s = await first.restart();
    servers = [s];
    for (const name of ['../outside', '..', 'demo/../demo', '.', '/etc']) {
      const client = await connect(s.port);
      await client.expect(/^\+OK/);
      client.send(`USER ${name}\r\nPASS pw\r\n`);
      await client.line(); // USER: the answer does not tell whether the user exists
      expect(await client.line()).toMatch(/^-ERR \[AUTH\] /);
      client.drop();
    }
    expect(existsSync(path.join(s.root, '..', 'outside'))).toBe(false);
    expect(readdirSync(s.root).sort()).toEqual(['.sample', 'ca.key', 'ca.pem', 'ca.srl', 'demo', 'server.csr', 'server.ext', 'server.key', 'server.pem', 'users']);
  });
});

describe('limits and timers', () => {
  it('refuses connections over maxConnections with -ERR [SYS/TEMP] (and a bare close on the TLS port)', async () => {
    const s = await start({ server: { maxConnections: 2 } });
    await (await connect(s.port)).expect(/^\+OK/);
    await (await connect(s.port)).expect(/^\+OK/);
    const third = await connect(s.port);
    await third.expect(/^-ERR \[SYS\/TEMP\] /);
    await third.whenClosed();
    const tlsRefused = await connect(s.tlsPort);
    await tlsRefused.whenClosed();
    expect(s.log.filter((e) => e.type === 'refused')).toHaveLength(2);
    expect(s.server.connections).toBe(2);
  });

  it('closes an idle session without UPDATE and releases its mailbox', async () => {
    const s = await start({ server: { idleTimeout: 200 } });
    const client = await login(s);
    await client.command('DELE 1', /^\+OK/);
    await client.whenClosed();
    expect(await logged(s, closeOf('demo'))).toMatchObject({ reason: 'idle-timeout' });
    expect(readdirSync(path.join(s.root, 'demo', 'cur'))).toHaveLength(expected.length);
    const again = await login(s);
    await again.command('QUIT', /^\+OK/);
  });

  it('keeps a slow session that is not idle (a long download read slowly)', async () => {
    const s = await start({ users: { big: 'big' }, server: { idleTimeout: 300 } });
    const message = addLargeMessage(s, 'big', 8);
    const client = await login(s, 'big', 'big');
    client.socket.pause();
    client.send(`RETR ${expected.length + 1}\r\n`);
    await sleep(200);
    client.socket.resume(); // slower than the idle timeout in total, but never stalled for it
    await client.expect(new RegExp(`^\\+OK ${message.length} octets`));
    expect((await client.body()).equals(message)).toBe(true);
  });

  it('drops a client that stops reading for longer than the idle timeout', async () => {
    const s = await start({ users: { big: 'big' }, server: { idleTimeout: 300 } });
    addLargeMessage(s, 'big', 30);
    const client = await login(s, 'big', 'big');
    client.socket.pause();
    client.send(`RETR ${expected.length + 1}\r\n`);
    expect(await logged(s, closeOf('big'))).toMatchObject({ reason: 'connection-lost' });
  });

  it('ends a TLS handshake that does not come within handshakeTimeout', async () => {
    const s = await start({ server: { handshakeTimeout: 200 } });
    const silent = await connect(s.tlsPort);
    await silent.whenClosed();
    expect(s.log).toContainEqual(expect.objectContaining({ type: 'tls-failed', error: 'the TLS handshake timed out' }));
    await until(() => s.server.connections === 0);
  });
});

describe('backpressure', () => {
  it('sends a large message no faster than the client reads it, holding little of it in memory', async () => {
    const s = await start({ users: { big: 'big' } });
    const message = addLargeMessage(s, 'big', 48);
    const client = await login(s, 'big', 'big');
    client.socket.pause();
    const before = process.memoryUsage().arrayBuffers;
    client.send(`RETR ${expected.length + 1}\r\n`);
    await sleep(1000);
    // Loopback buffers hold a few MB; the server itself keeps about one chunk per session.
    const growth = process.memoryUsage().arrayBuffers - before;
    expect(growth).toBeLessThan(16 * 1024 * 1024);
    client.socket.resume();
    await client.expect(/^\+OK/);
    expect((await client.body()).equals(message)).toBe(true);
  });

  it('stops reading commands while its replies are not read', async () => {
    const s = await start();
    const client = await login(s);
    client.socket.pause();
    const burst = Buffer.from('NOOP\r\n'.repeat(1_000_000)); // 6 MB of commands, 5 MB of replies
    for (let i = 0; i < 8; i++) client.socket.write(burst);
    await sleep(1000);
    // The server stopped reading: most of the 48 MB still waits in the client's own socket buffer.
    expect(client.socket.writableLength).toBeGreaterThan(24 * 1024 * 1024);
  });
});

describe('STLS', () => {
  it('never reads a command pipelined behind STLS, before the TLS handshake', async () => {
    const s = await start();
    const client = await connect(s.port);
    await client.expect(/^\+OK/);
    client.send('STLS\r\nUSER demo\r\n');
    await client.expect(/^\+OK/);
    const secure = tls.connect({ socket: client.socket, ca: s.certificates.ca, servername: 'localhost' });
    await new Promise((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    secure.write('PASS demo\r\n');
    const reply = await new Promise<string>((resolve) => secure.once('data', (data: Buffer) => resolve(data.toString())));
    expect(reply).toMatch(/^-ERR/); // the USER before the handshake was never read
    secure.destroy();
  });

  it('fails the handshake when plaintext follows the +OK to STLS, and never reads it as a command', async () => {
    const s = await start();
    const client = await connect(s.port);
    await client.expect(/^\+OK/);
    await client.command('STLS', /^\+OK/);
    client.send('USER demo\r\nPASS demo\r\n');
    await client.whenClosed();
    expect(s.log).toContainEqual(expect.objectContaining({ type: 'tls-failed' }));
    expect(s.log).not.toContainEqual(expect.objectContaining({ type: 'login' }));
  });

  it('logs AUTH logins without their payloads', async () => {
    const s = await start();
    const client = await connect(s.port);
    await client.expect(/^\+OK/);
    const payload = Buffer.from('\0demo\0demo').toString('base64');
    await client.command(`AUTH PLAIN ${payload}`, /^\+OK/);
    await client.command('QUIT', /^\+OK/);
    await logged(s, closeOf('demo'));
    expect(s.log).toContainEqual(expect.objectContaining({ type: 'login', user: 'demo', mechanism: 'PLAIN' }));
    expect(JSON.stringify(s.log)).not.toContain(payload);
  });
});

describe('close()', () => {
  it('stops accepting and ends a session idle for a second, without UPDATE', async () => {
    const s = await start({ server: { closeTimeout: 10_000 } });
    const client = await login(s);
    await client.command('DELE 1', /^\+OK/);
    const started = Date.now();
    await s.server.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(2500);
    await client.whenClosed();
    expect(await logged(s, closeOf('demo'))).toMatchObject({ reason: 'shutdown' });
    expect(readdirSync(path.join(s.root, 'demo', 'cur'))).toHaveLength(expected.length);
    await expect(RawPop3.connect(s.port)).rejects.toThrow(/ECONNREFUSED/);
    await expect(s.server.listen({ port: 0 })).rejects.toThrow('the server is closed');
  });

  it('lets a busy session finish within closeTimeout, then ends it', async () => {
    const s = await start({ users: { big: 'big' }, server: { closeTimeout: 400 } });
    addLargeMessage(s, 'big', 30);
    const client = await login(s, 'big', 'big');
    client.socket.pause();
    client.send(`RETR ${expected.length + 1}\r\n`);
    await sleep(100);
    const started = Date.now();
    await s.server.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(await logged(s, closeOf('big'))).toMatchObject({ reason: 'shutdown' });
  });

  it('waits for a session that finishes during the grace period', async () => {
    const s = await start({ server: { closeTimeout: 10_000 } });
    const client = await login(s);
    client.socket.pause();
    client.send('RETR 14\r\n');
    await sleep(100);
    const closing = s.server.close();
    client.socket.resume();
    await client.expect(/^\+OK/);
    expect((await client.body()).equals(expected[13]!)).toBe(true);
    await client.command('QUIT', /^\+OK/);
    await closing;
    expect(await logged(s, closeOf('demo'))).toMatchObject({ reason: 'quit' });
  });
});
