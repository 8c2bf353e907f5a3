/**
 * Pop3Client's single commands against a scripted server: what goes on the wire, what comes back, and the
 * typed errors (with RFC 3206 codes) for refusals.
 */
import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../../core/client/memory-transport.js';
import { Pop3Client } from '../../core/client/pop3-client.js';
import { ErrorCode, LocalProtocolError, RemoteProtocolError, ServerError } from '../../core/errors.js';
import { capaReply, DEFAULT_CAPA, FakeServer, flush, GREETING, loggedIn, scripted, text } from '../support/fake-server.js';

describe('connect', () => {
  it('reads the greeting, then CAPA', async () => {
    const { client, server } = await scripted();
    expect(client.greeting).toEqual({
      ok: true,
      text: 'fake POP3 ready <1896.697170952@fake.example>',
      code: undefined,
      timestamp: '<1896.697170952@fake.example>',
    });
    expect(client.capabilities?.pipelining).toBe(true);
    expect(client.capabilities?.state).toBe('authorization');
    expect(client.state).toBe('authorization');
    expect(server.received).toEqual(['CAPA']);
  });

  it('tolerates a server without CAPA', async () => {
    const { client } = await scripted({ capa: null });
    expect(client.capabilities).toBeUndefined();
    expect(client.state).toBe('authorization');
  });

  it('rejects with the ServerError of a -ERR greeting, and its response code', async () => {
    const { client, server } = pair();
    void server.send('-ERR [SYS/TEMP] too busy\r\n');
    const error = await client.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).temporary).toBe(true);
    expect(client.state).toBe('failed');
    expect(client.error).toBe(error);
    await expect(client.stat()).rejects.toBe(error);
  });

  it('after close(), rejects instead of waiting for a greeting that cannot come', async () => {
    const { client } = pair();
    client.close();
    await expect(client.connect()).rejects.toMatchObject({ code: ErrorCode.SessionClosed });
  });

  it('may be called only once, and commands need it', async () => {
    const { client } = pair();
    await expect(client.stat()).rejects.toMatchObject({ code: ErrorCode.WrongState });
    const { client: connected } = await scripted();
    await expect(connected.connect()).rejects.toMatchObject({ code: ErrorCode.WrongState });
  });

  it('says how the server broke the protocol', async () => {
    const { client, server } = pair();
    void server.send('hello\r\n');
    const error = await client.connect().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteProtocolError);
    expect((error as RemoteProtocolError).code).toBe(ErrorCode.Protocol);
  });
});

describe('transaction commands', () => {
  it('stat', async () => {
    const { client, server } = await loggedIn();
    const stat = client.stat();
    await server.expect('STAT');
    void server.send('+OK 2 320\r\n');
    expect(await stat).toEqual({ count: 2, size: 320 });
  });

  it('list and list n', async () => {
    const { client, server } = await loggedIn();
    const all = client.list();
    const one = client.list(2);
    await server.expect('LIST');
    await server.expect('LIST 2');
    void server.send('+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n+OK 2 200\r\n');
    expect(await all).toEqual([
      { message: 1, size: 120 },
      { message: 2, size: 200 },
    ]);
    expect(await one).toEqual({ message: 2, size: 200 });
  });

  it('uidl and uidl n', async () => {
    const { client, server } = await loggedIn();
    const all = client.uidl();
    const one = client.uidl(1);
    await server.expect('UIDL');
    await server.expect('UIDL 1');
    void server.send('+OK\r\n1 whqtswO00WBw418f9t5JxYwZ\r\n2 QhdPYR:00WBw1Ph7x7\r\n.\r\n+OK 1 whqtswO00WBw418f9t5JxYwZ\r\n');
    expect(await all).toEqual([
      { message: 1, uid: 'whqtswO00WBw418f9t5JxYwZ' },
      { message: 2, uid: 'QhdPYR:00WBw1Ph7x7' },
    ]);
    expect(await one).toEqual({ message: 1, uid: 'whqtswO00WBw418f9t5JxYwZ' });
  });

  it('retr returns the dot-unstuffed body, and reports progress', async () => {
    const { client, server } = await loggedIn();
    const progress: number[] = [];
    const retr = client.retr(1, { onProgress: (octets) => progress.push(octets) });
    await server.expect('RETR 1');
    void server.send('+OK 40 octets\r\nSubject: x\r\n\r\n..dotted\r\n');
    void server.send('plain\r\n.\r\n');
    const body = text(await retr);
    expect(body).toBe('Subject: x\r\n\r\n.dotted\r\nplain\r\n');
    expect(progress.at(-1)).toBe(body.length);
    expect(progress.length).toBeGreaterThanOrEqual(2);
  });

  it('retr hands out a plain Uint8Array of its own, not a view into the chunk it came in', async () => {
    const { client, server } = await loggedIn();
    const retr = client.retr(1);
    await server.expect('RETR 1');
    void server.send('+OK 21 octets\r\nSubject: x\r\n\r\nhello\r\n.\r\n');
    const body = await retr;
    expect(text(body)).toBe('Subject: x\r\n\r\nhello\r\n');
    expect(body.constructor).toBe(Uint8Array);
    // Sized from the +OK: small bodies share a 64 KiB arena (test/client/body-collector.test.ts).
    expect(body.buffer.byteLength).toBe(64 * 1024);
  });

  it('retr of an empty body', async () => {
    const { client, server } = await loggedIn();
    const retr = client.retr(1);
    await server.expect('RETR 1');
    void server.send('+OK 0 octets\r\n.\r\n');
    expect((await retr).length).toBe(0);
  });

  it('top', async () => {
    const { client, server } = await loggedIn();
    const top = client.top(3, 0);
    await server.expect('TOP 3 0');
    void server.send('+OK\r\nSubject: x\r\n\r\n.\r\n');
    expect(text(await top)).toBe('Subject: x\r\n\r\n');
  });

  it('dele, rset, noop', async () => {
    const { client, server } = await loggedIn();
    const dele = client.dele(4);
    const rset = client.rset();
    const noop = client.noop();
    await server.expect('DELE 4');
    await server.expect('RSET');
    await server.expect('NOOP');
    void server.send('+OK deleted\r\n+OK\r\n+OK\r\n');
    await expect(Promise.all([dele, rset, noop])).resolves.toEqual([undefined, undefined, undefined]);
  });

  it('a refusal is a ServerError with its code, and the session goes on', async () => {
    const { client, server } = await loggedIn();
    const retr = client.retr(9);
    await server.expect('RETR 9');
    void server.send('-ERR [SYS/PERM] no such message\r\n');
    const error = await retr.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ServerError);
    expect((error as ServerError).permanent).toBe(true);
    expect((error as ServerError).command).toBe('RETR 9');
    const noop = client.noop();
    await server.expect('NOOP');
    void server.send('+OK\r\n');
    await noop;
  });

  it('a bad argument is a local error; nothing is sent', async () => {
    const { client, server } = await loggedIn();
    await expect(client.retr(0)).rejects.toBeInstanceOf(LocalProtocolError);
    await expect(client.dele(-1)).rejects.toMatchObject({ code: ErrorCode.BadArgument });
    const noop = client.noop();
    await server.expect('NOOP');
    void server.send('+OK\r\n');
    await noop;
  });

  it('capa in the TRANSACTION state', async () => {
    const { client, server } = await loggedIn();
    const capa = client.capa();
    await server.expect('CAPA');
    void server.send(capaReply(['TOP', 'UIDL', 'EXPIRE 30']));
    const capabilities = await capa;
    expect(capabilities.state).toBe('transaction');
    expect(capabilities.expire).toEqual({ value: 30, perUser: false });
    expect(client.capabilities).toBe(capabilities);
  });
});

describe('utf8 and lang (RFC 6856)', () => {
  it('utf8', async () => {
    const { client, server } = await scripted({ capa: [...DEFAULT_CAPA, 'UTF8'] });
    const utf8 = client.utf8();
    await server.expect('UTF8');
    void server.send('+OK UTF8 enabled\r\n');
    await utf8;
  });

  it('lang lists, lang tag selects', async () => {
    const { client, server } = await scripted({ capa: [...DEFAULT_CAPA, 'LANG'] });
    const list = client.lang();
    await server.expect('LANG');
    void server.send('+OK Language listing follows\r\nen English\r\nde Deutsch\r\n.\r\n');
    expect(await list).toEqual([
      { tag: 'en', description: 'English' },
      { tag: 'de', description: 'Deutsch' },
    ]);
    const select = client.lang('de');
    await server.expect('LANG de');
    void server.send('+OK Sprache geändert\r\n');
    expect(await select).toBeUndefined();
  });
});

describe('quit and close', () => {
  it('quit commits and closes the transport', async () => {
    const { client, server } = await loggedIn();
    const quit = client.quit();
    await server.expect('QUIT');
    void server.send('+OK bye\r\n');
    await quit;
    expect(client.state).toBe('closed');
    expect(client.error).toBeUndefined();
    expect(await server.next()).toBeUndefined(); // the client closed its end
    await expect(client.noop()).rejects.toMatchObject({ code: ErrorCode.SessionClosed });
  });

  it('a -ERR to QUIT (deletions failed) rejects, and the session is over anyway', async () => {
    const { client, server } = await loggedIn();
    const quit = client.quit();
    await server.expect('QUIT');
    void server.send('-ERR [SYS/TEMP] some deleted messages not removed\r\n');
    await expect(quit).rejects.toMatchObject({ code: ErrorCode.Server, responseCode: 'SYS/TEMP' });
    expect(client.state).toBe('closed');
  });

  it('close() ends at once: pending calls reject with POP3_ERR_SESSION_CLOSED, no QUIT is sent', async () => {
    const { client, server } = await loggedIn();
    const stat = client.stat();
    await server.expect('STAT');
    client.close();
    client.close();
    await expect(stat).rejects.toMatchObject({ code: ErrorCode.SessionClosed });
    expect(client.state).toBe('closed');
    expect(await server.next()).toBeUndefined();
    expect(server.received).not.toContain('QUIT');
  });
});

describe('pipelining', () => {
  it('commands queued together leave in one write when PIPELINING is advertised', async () => {
    const { client, server } = await loggedIn();
    const before = server.chunks.length;
    const calls = [client.stat(), client.list(1), client.uidl(1)];
    await server.expect('STAT');
    await server.expect('LIST 1');
    await server.expect('UIDL 1');
    expect(server.chunks.slice(before)).toEqual(['STAT\r\nLIST 1\r\nUIDL 1\r\n']);
    void server.send('+OK 1 10\r\n+OK 1 10\r\n+OK 1 abc\r\n');
    await Promise.all(calls);
  });

  it('one at a time without PIPELINING', async () => {
    const { client, server } = await loggedIn({ capa: ['USER', 'UIDL'] });
    const before = server.chunks.length;
    const calls = [client.stat(), client.noop()];
    await server.expect('STAT');
    await flush();
    expect(server.chunks.slice(before)).toEqual(['STAT\r\n']);
    void server.send('+OK 1 10\r\n');
    await server.expect('NOOP');
    void server.send('+OK\r\n');
    await Promise.all(calls);
  });
});

describe('trace', () => {
  it('shows every line, with the password redacted', async () => {
    const lines: string[] = [];
    const { client, server } = await scripted({ client: { onTrace: (from, line) => lines.push(`${from}: ${line}`) } });
    const login = client.login({ username: 'alice', password: 'hunter2', mechanism: 'USER' });
    await server.expect('USER alice');
    await server.expect('PASS hunter2');
    void server.send('+OK\r\n+OK\r\n');
    await server.expect('CAPA');
    void server.send('-ERR\r\n');
    await login;
    expect(lines).toContain('client: PASS [redacted]');
    expect(lines.join('\n')).not.toContain('hunter2');
    expect(lines[0]).toBe(`server: ${GREETING.trimEnd()}`);
  });
});

function pair(): { client: Pop3Client; server: FakeServer } {
  const { client, server } = memoryTransportPair();
  return { client: new Pop3Client(client), server: new FakeServer(server) };
}
