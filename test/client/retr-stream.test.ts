/**
 * retrStream: the body as a web ReadableStream with real backpressure. While the consumer does not pull,
 * the client stops reading from the transport, the transport fills, and the server's writes wait: memory
 * stays bounded by the high-water marks, not by the message size.
 */
import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../../core/client/memory-transport.js';
import { Pop3Client } from '../../core/client/pop3-client.js';
import type { Transport } from '../../core/client/transport.js';
import { ErrorCode, ServerError } from '../../core/errors.js';
import { capaReply, FakeServer, flush, GREETING, latin1, loggedIn, text } from '../support/fake-server.js';

const KiB = 1024;

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += text(chunk);
  return out;
}

describe('retrStream', () => {
  it('streams the dot-unstuffed body, then the session goes on', async () => {
    const { client, server } = await loggedIn();
    const stream = client.retrStream(1);
    await server.expect('RETR 1');
    void server.send('+OK 30 octets\r\nSubject: x\r\n\r\n..a\r\n');
    void server.send('b\r\n.\r\n');
    expect(await readAll(await stream)).toBe('Subject: x\r\n\r\n.a\r\nb\r\n');
    const noop = client.noop();
    await server.expect('NOOP');
    void server.send('+OK\r\n');
    await noop;
  });

  it('rejects with the ServerError when the server refuses', async () => {
    const { client, server } = await loggedIn();
    const stream = client.retrStream(5);
    await server.expect('RETR 5');
    void server.send('-ERR no such message\r\n');
    await expect(stream).rejects.toBeInstanceOf(ServerError);
  });

  it('stops reading from the transport while the consumer does not pull: memory stays bounded', async () => {
    const { client, server, reads } = await countingSession(16 * KiB);
    const piece = latin1(`${'x'.repeat(1022)}\r\n`.repeat(8)); // 8 KiB of lines
    const pieces = 512; // 4 MiB in all
    let written = 0;
    const streamed = client.retrStream(1, { highWaterMark: 16 * KiB });
    await server.expect('RETR 1');
    const writer = (async () => {
      await server.send('+OK\r\n');
      for (let i = 0; i < pieces; i++) {
        await server.send(piece); // waits while the client's transport holds 16 KiB unread
        written += piece.length;
      }
      await server.send('.\r\n');
    })();
    const reader = (await streamed).getReader();
    let consumed = (await reader.read()).value!.length;

    for (let i = 0; i < 50; i++) await flush();
    const stalledReads = reads();
    for (let i = 0; i < 50; i++) await flush();
    expect(reads()).toBe(stalledReads); // no read while the stream is full
    // Written but not consumed: the stream's queue and the transport's, each at most about a high-water
    // mark plus one piece. Never the 4 MiB message.
    expect(written - consumed).toBeLessThanOrEqual(4 * 16 * KiB);
    expect(written).toBeLessThan(pieces * piece.length);

    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      consumed += value.length;
      expect(written - consumed).toBeLessThanOrEqual(4 * 16 * KiB);
    }
    await writer;
    expect(consumed).toBe(pieces * piece.length);
  });

  it('once the body has arrived, later commands go on even if the stream is not read yet', async () => {
    const { client, server } = await loggedIn();
    const streamed = client.retrStream(1, { highWaterMark: 1 });
    const noop = client.noop();
    await server.expect('RETR 1');
    await server.expect('NOOP');
    void server.send('+OK\r\nline one\r\nline two\r\n.\r\n+OK\r\n');
    await noop;
    expect(await readAll(await streamed)).toBe('line one\r\nline two\r\n');
  });

  it('cancelling discards the rest of the body and keeps the session', async () => {
    const { client, server } = await loggedIn();
    const streamed = client.retrStream(1, { highWaterMark: 1 });
    await server.expect('RETR 1');
    void server.send('+OK\r\nfirst\r\n');
    const reader = (await streamed).getReader();
    expect(text((await reader.read()).value!)).toBe('first\r\n');
    await reader.cancel();
    void server.send('second\r\nthird\r\n.\r\n');
    const stat = client.stat();
    await server.expect('STAT');
    void server.send('+OK 1 30\r\n');
    expect(await stat).toEqual({ count: 1, size: 30 });
  });

  it('aborting mid-body errors the stream with POP3_ERR_ABORTED and ends the session', async () => {
    const { client, server } = await loggedIn();
    const controller = new AbortController();
    const streamed = client.retrStream(1, { signal: controller.signal });
    await server.expect('RETR 1');
    void server.send('+OK\r\npart\r\n');
    const reader = (await streamed).getReader();
    await reader.read();
    controller.abort(new Error('user gave up'));
    const error = await reader.read().catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.Aborted, message: 'RETR 1 aborted' });
    expect((error as Error).cause).toEqual(new Error('user gave up'));
    expect(client.state).toBe('failed');
  });

  it('a connection cut mid-body errors the stream with POP3_ERR_UNEXPECTED_END', async () => {
    const { client, server } = await loggedIn();
    const streamed = client.retrStream(1);
    await server.expect('RETR 1');
    void server.send('+OK\r\npart\r\n');
    const stream = await streamed;
    server.close();
    await expect(readAll(stream)).rejects.toMatchObject({ code: ErrorCode.UnexpectedEnd });
  });
});

/** A logged-in session whose client transport counts its reads. */
async function countingSession(highWaterMark: number) {
  const pair = memoryTransportPair({ highWaterMark });
  let reads = 0;
  const inner = pair.client;
  const transport: Transport = {
    read: () => {
      reads++;
      return inner.read();
    },
    write: (bytes) => inner.write(bytes),
    close: () => inner.close(),
    secure: false,
    local: true,
  };
  const server = new FakeServer(pair.server);
  const client = new Pop3Client(transport);
  void server.send(GREETING);
  const connected = client.connect();
  await server.expect('CAPA');
  void server.send(capaReply(['USER', 'PIPELINING']));
  await connected;
  const login = client.login({ username: 'alice', password: 'secret', mechanism: 'USER' });
  await server.expect('USER alice');
  await server.expect('PASS secret');
  void server.send('+OK\r\n+OK\r\n');
  await server.expect('CAPA');
  void server.send('-ERR\r\n');
  await login;
  return { client, server, reads: () => reads };
}
