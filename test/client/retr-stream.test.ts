/**
 * retrStream: the body as a web ReadableStream with real backpressure. While the consumer does not pull,
 * the client stops reading from the transport, the transport fills, and the server's writes wait: memory
 * stays bounded by the high-water marks, not by the message size.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, ServerError } from '../../core/errors.js';
import { flush, latin1, loggedIn, sessionOver, text } from '../support/fake-server.js';
import { ScribblingTransport } from '../support/scribbling-transport.js';

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

describe('retrStream with a BYOB reader', () => {
  // Stuffed lines, an empty line, a `.` CR that is not a terminator, and a line longer than the views.
  const body = `Subject: byob\r\n\r\n.a\r\n..\r\n.\rx\r\n${'y'.repeat(150)}\r\nend\r\n`;
  const wire = `+OK ${body.length} octets\r\n${body.replace(/^\./gm, '..')}.\r\n+OK noop\r\n`;

  it('gives the same bytes at every split of the reply and every view size, and the session goes on', async () => {
    // Splits in two, and in three with the first cut just after the status line: the chunks after it are then
    // read while the body flows (transient with the ScribblingTransport), NOOP's +OK line split across them.
    const head = wire.indexOf('\n') + 2;
    const splits = [
      ...Array.from({ length: wire.length - 1 }, (_, i) => [wire.slice(0, i + 1), wire.slice(i + 1)]),
      ...Array.from({ length: wire.length - head - 1 }, (_, i) => [wire.slice(0, head), wire.slice(head, head + i + 1), wire.slice(head + i + 1)]),
    ];
    let transientReads = 0;
    for (const transient of [false, true]) {
      for (const viewSize of [1, 7, 64 * KiB]) {
        for (const parts of splits) {
          const split = parts.map((part) => part.length).join('+');
          const { client, server, transport } = await sessionOver((inner) => (transient ? new ScribblingTransport(inner) : inner));
          const streamed = client.retrStream(1);
          const noop = client.noop();
          await server.expect('RETR 1');
          await server.expect('NOOP');
          void (async () => {
            for (const part of parts) await server.send(part);
          })();
          const got = await readByob(await streamed, viewSize);
          expect(got, `split ${split}, views of ${viewSize}`).toBe(body);
          await noop;
          if (transient) transientReads += (transport as ScribblingTransport).transientReads;
        }
      }
    }
    expect(transientReads).toBeGreaterThan(0);
  });

  it('gives the same bytes when the reply arrives one byte at a time', async () => {
    const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
    const streamed = client.retrStream(1);
    const noop = client.noop();
    await server.expect('RETR 1');
    await server.expect('NOOP');
    void (async () => {
      for (const char of wire) await server.send(char);
    })();
    expect(await readByob(await streamed, 5)).toBe(body);
    await noop;
  });

  it('reads into the view it is given: the memory comes back, and nothing else is allocated for the reader', async () => {
    const { client, server } = await loggedIn();
    const streamed = client.retrStream(1);
    await server.expect('RETR 1');
    void server.send(`+OK\r\n${'z'.repeat(100)}\r\n.\r\n`);
    const reader = (await streamed).getReader({ mode: 'byob' });
    const memory = new ArrayBuffer(64);
    const first = await reader.read(new Uint8Array(memory, 8, 32));
    expect(first.value!.byteOffset).toBe(8);
    expect(first.value!.length).toBe(32);
    expect(first.value!.buffer.byteLength).toBe(64);
    expect(memory.byteLength).toBe(0); // transferred to the stream, and back with the result
    let got = text(first.value!);
    for (let r = await reader.read(new Uint8Array(first.value!.buffer)); !r.done; r = await reader.read(new Uint8Array(r.value!.buffer))) {
      got += text(r.value!);
    }
    expect(got).toBe(`${'z'.repeat(100)}\r\n`);
  });

  it('keeps bytes the view has no room for, and gives them to the next read before reading again', async () => {
    const { client, server, reads } = await countingSession(64 * KiB);
    const streamed = client.retrStream(1);
    await server.expect('RETR 1');
    void server.send(`+OK\r\n${'a'.repeat(98)}\r\n`);
    const reader = (await streamed).getReader({ mode: 'byob' });
    expect(text((await reader.read(new Uint8Array(60))).value!)).toBe('a'.repeat(60));
    const before = reads();
    expect(text((await reader.read(new Uint8Array(60))).value!)).toBe(`${'a'.repeat(38)}\r\n`);
    expect(reads()).toBe(before); // the second read came from what the client kept
    void server.send('.\r\n');
    expect((await reader.read(new Uint8Array(60))).done).toBe(true);
  });

  it('a reader may switch between default and BYOB reads', async () => {
    const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
    const streamed = client.retrStream(1);
    await server.expect('RETR 1');
    void server.send('+OK\r\nfirst\r\n');
    const stream = await streamed;
    const byDefault = stream.getReader();
    const first = (await byDefault.read()).value!;
    byDefault.releaseLock();
    void server.send('second\r\n.\r\n');
    expect(await readByob(stream, 3)).toBe('second\r\n');
    expect(text(first)).toBe('first\r\n'); // a default reader's chunk is its own: intact after later reads
  });

  it('a BYOB reader released with a read pending: a default reader then gets every byte, in chunks it owns', async () => {
    const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
    const streamed = client.retrStream(1);
    const noop = client.noop();
    await server.expect('RETR 1');
    await server.expect('NOOP');
    void server.send('+OK\r\n');
    const stream = await streamed;
    const byob = stream.getReader({ mode: 'byob' });
    const pending = byob.read(new Uint8Array(4)).catch((error: unknown) => error);
    await flush();
    byob.releaseLock();
    expect(await pending).toBeInstanceOf(TypeError);
    const reader = stream.getReader();
    const chunks: Uint8Array[] = [];
    const reading = (async () => {
      for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    })();
    void (async () => {
      for (const part of ['first li', 'ne\r\n..second\r\n', 'third\r\n.\r\n+OK\r\n']) await server.send(part);
    })();
    await reading;
    await noop;
    // Read after everything else (the transport scribbled over what it lent): each chunk is the reader's own.
    expect(chunks.map(text).join('')).toBe('first line\r\n.second\r\nthird\r\n');
  });

  it('cancelling mid-message discards the rest of the body and keeps the session', async () => {
    const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
    const streamed = client.retrStream(1);
    await server.expect('RETR 1');
    void server.send(`+OK\r\n${'p'.repeat(200)}\r\n`);
    const reader = (await streamed).getReader({ mode: 'byob' });
    expect((await reader.read(new Uint8Array(16))).value!.length).toBe(16);
    await reader.cancel();
    void server.send(`${'q'.repeat(5000)}\r\n.\r\n`);
    const retr = client.retr(2);
    await server.expect('RETR 2');
    void server.send('+OK\r\nsmall\r\n.\r\n');
    expect(text(await retr)).toBe('small\r\n');
  });

  it('aborting mid-message errors the pending read with POP3_ERR_ABORTED and ends the session', async () => {
    const { client, server } = await loggedIn();
    const controller = new AbortController();
    const streamed = client.retrStream(1, { signal: controller.signal });
    await server.expect('RETR 1');
    void server.send('+OK\r\npart\r\n');
    const reader = (await streamed).getReader({ mode: 'byob' });
    expect(text((await reader.read(new Uint8Array(64))).value!)).toBe('part\r\n');
    const pending = reader.read(new Uint8Array(64)).catch((e: unknown) => e);
    await flush();
    controller.abort();
    expect(await pending).toMatchObject({ code: ErrorCode.Aborted, message: 'RETR 1 aborted' });
    expect(client.state).toBe('failed');
  });

  it('a connection cut mid-message errors the pending read with POP3_ERR_UNEXPECTED_END', async () => {
    const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
    const streamed = client.retrStream(1);
    await server.expect('RETR 1');
    void server.send('+OK\r\npart\r\n');
    const stream = await streamed;
    server.close();
    await expect(readByob(stream, 64)).rejects.toMatchObject({ code: ErrorCode.UnexpectedEnd });
  });

  it('while a stream reads transient chunks, a body pipelined behind it is copied out of them', async () => {
    const { client, server, transport } = await sessionOver((inner) => new ScribblingTransport(inner));
    const streamed = client.retrStream(1);
    const retr = client.retr(2);
    const stat = client.stat();
    await server.expect('RETR 1');
    await server.expect('RETR 2');
    await server.expect('STAT');
    void server.send('+OK\r\nstreamed one\r\n');
    const reader = (await streamed).getReader({ mode: 'byob' });
    expect(text((await reader.read(new Uint8Array(64))).value!)).toBe('streamed one\r\n');
    // The stream's end, all of RETR 2 and a STAT reply split across chunks, read while the stream flows.
    const pending = reader.read(new Uint8Array(64));
    void server.send('streamed two\r\n.\r\n+OK\r\n..second\r\nbo').then(() => server.send('dy\r\n.\r\n+OK 2 ').then(() => server.send('300\r\n')));
    expect(text((await pending).value!)).toBe('streamed two\r\n');
    expect((await reader.read(new Uint8Array(64))).done).toBe(true);
    expect(await stat).toEqual({ count: 2, size: 300 });
    expect(text(await retr)).toBe('.second\r\nbody\r\n'); // the chunks it came in have been scribbled over since
    expect(transport.transientReads).toBeGreaterThan(0);
  });
});

/** Everything `stream` holds, read with a BYOB reader into views of `size` bytes (one buffer, reused). */
async function readByob(stream: ReadableStream<Uint8Array>, size: number): Promise<string> {
  const reader = stream.getReader({ mode: 'byob' });
  let out = '';
  let view = new Uint8Array(size);
  for (;;) {
    const { done, value } = await reader.read(view);
    if (done) break;
    expect(value!.length).toBeGreaterThan(0);
    out += text(value!);
    view = new Uint8Array(value!.buffer);
  }
  reader.releaseLock();
  return out;
}

/** A logged-in session whose client transport counts its reads. */
async function countingSession(highWaterMark: number) {
  let reads = 0;
  const session = await sessionOver((inner) => ({
    read: () => {
      reads++;
      return inner.read();
    },
    write: (bytes) => inner.write(bytes),
    close: () => inner.close(),
    secure: false,
    local: true,
  }), highWaterMark);
  return { ...session, reads: () => reads };
}
