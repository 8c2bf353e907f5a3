/**
 * A connection that drops (end of stream, reset, failed write) at various points: each gives a typed error
 * saying where, every pending call rejects with it, and later calls do too.
 */
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../../core/client/errors.js';
import { Pop3Client } from '../../core/client/pop3-client.js';
import type { Transport } from '../../core/client/transport.js';
import { ErrorCode, RemoteProtocolError } from '../../core/errors.js';
import { flush, latin1, loggedIn, track } from '../support/fake-server.js';

describe('end of stream', () => {
  it('mid-RETR: POP3_ERR_UNEXPECTED_END saying how far the body got; queued calls reject too', async () => {
    const { client, server } = await loggedIn();
    const retr = track(client.retr(1));
    const dele = track(client.dele(1));
    await server.expect('RETR 1');
    void server.send('+OK\r\n12345678\r\n');
    await flush();
    server.close();
    await flush();
    expect(retr.error).toBeInstanceOf(RemoteProtocolError);
    expect(retr.error).toMatchObject({
      code: ErrorCode.UnexpectedEnd,
      message: 'connection closed in the middle of the body of RETR 1 after 10 octets',
    });
    expect(dele.error).toBe(retr.error);
    expect(client.state).toBe('failed');
    await expect(client.noop()).rejects.toBe(retr.error);
  });

  it('mid-DELE', async () => {
    const { client, server } = await loggedIn();
    const dele = client.dele(2);
    await server.expect('DELE 2');
    server.close();
    await expect(dele).rejects.toMatchObject({
      code: ErrorCode.UnexpectedEnd,
      message: 'connection closed while waiting for the reply to DELE 2',
    });
  });

  it('mid-QUIT: the commit is uncertain, and the error says so', async () => {
    const { client, server } = await loggedIn();
    const quit = client.quit();
    await server.expect('QUIT');
    void server.send('+OK dele');
    await flush();
    server.close();
    await expect(quit).rejects.toMatchObject({
      code: ErrorCode.UnexpectedEnd,
      message: 'connection closed in the middle of the reply line to QUIT',
    });
  });

  it('while idle: the next call reports it', async () => {
    const { client, server } = await loggedIn();
    server.close();
    await flush();
    expect(client.state).toBe('failed');
    await expect(client.stat()).rejects.toMatchObject({ code: ErrorCode.UnexpectedEnd });
  });
});

describe('transport failures', () => {
  it('a failed read is a ConnectionError (POP3_ERR_CONNECTION) with the cause', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const { client, fail } = await scriptedTransport();
    const stat = track(client.stat());
    await flush();
    fail(reset);
    await flush();
    expect(stat.error).toBeInstanceOf(ConnectionError);
    expect(stat.error).toMatchObject({ code: ErrorCode.Connection, message: 'the connection failed: read ECONNRESET', cause: reset });
  });

  it('a failed write is a ConnectionError too', async () => {
    const { client, breakWrites } = await scriptedTransport();
    breakWrites(new Error('write EPIPE'));
    await expect(client.stat()).rejects.toMatchObject({ code: ErrorCode.Connection, message: 'the connection failed: write EPIPE' });
  });

  it('a transport that throws a Pop3Error is reported as it is', async () => {
    const { client, fail } = await scriptedTransport();
    const stat = track(client.stat());
    const error = new ConnectionError('TLS with example:995 failed: bad record mac', { tls: true });
    fail(error);
    await flush();
    expect(stat.error).toBe(error);
    expect(error.code).toBe(ErrorCode.Tls);
  });
});

/**
 * A logged-in client on a hand-driven transport whose reads and writes the test can break. It answers each
 * command line written with the next scripted reply.
 */
async function scriptedTransport() {
  const replies = ['+OK\r\nUSER\r\n.\r\n', '+OK\r\n', '+OK\r\n', '-ERR\r\n'];
  const inbox = ['+OK hi\r\n'];
  let reader: { resolve: (chunk: Uint8Array | undefined) => void; reject: (error: unknown) => void } | undefined;
  let writeError: Error | undefined;
  const deliver = () => {
    const next = inbox.shift();
    if (reader !== undefined && next !== undefined) {
      const { resolve } = reader;
      reader = undefined;
      resolve(latin1(next));
    } else if (next !== undefined) {
      inbox.unshift(next);
    }
  };
  const transport: Transport = {
    read: () =>
      new Promise((resolve, reject) => {
        reader = { resolve, reject };
        deliver();
      }),
    write: (bytes) => {
      if (writeError !== undefined) return Promise.reject(writeError);
      for (const _ of new TextDecoder().decode(bytes).matchAll(/\r\n/g)) {
        const reply = replies.shift();
        if (reply !== undefined) inbox.push(reply);
      }
      deliver();
      return Promise.resolve();
    },
    close: () => reader?.resolve(undefined),
    secure: false,
    local: true,
  };
  const client = new Pop3Client(transport);
  await client.connect();
  await client.login({ username: 'alice', password: 'pw', mechanism: 'USER' });
  return {
    client,
    fail: (error: unknown) => reader?.reject(error),
    breakWrites: (error: Error) => {
      writeError = error;
    },
  };
}
