/** The in-memory transport pair: ordering, ownership of chunks, backpressure, closing, simulated STLS. */
import { describe, expect, it } from 'vitest';
import { memoryTransportPair } from '../../core/client/memory-transport.js';
import { ErrorCode } from '../../core/errors.js';
import { flush, latin1, loggedIn, text, track } from '../support/fake-server.js';

describe('memoryTransportPair', () => {
  it('carries bytes both ways, in order, as copies the reader owns', async () => {
    const { client, server } = memoryTransportPair();
    const bytes = latin1('hello');
    await client.write(bytes);
    bytes[0] = 0x4a;
    await client.write(latin1(' world'));
    expect(text((await server.read())!)).toBe('hello');
    expect(text((await server.read())!)).toBe(' world');
    const pending = server.read();
    await client.write(latin1('late'));
    expect(text((await pending)!)).toBe('late');
    await server.write(latin1('back'));
    expect(text((await client.read())!)).toBe('back');
    expect(client.local).toBe(true);
  });

  it('copies a Node Buffer too (whose slice() is a view), so a client joining a body in place leaves the writer\'s memory alone', async () => {
    const { client, server } = memoryTransportPair();
    const written = Buffer.from('hello');
    await client.write(written);
    const chunk = (await server.read())!;
    expect(chunk.buffer).not.toBe(written.buffer);
    written[0] = 0x4a;
    expect(text(chunk)).toBe('hello');

    // Through Pop3Client: retr() moves the pieces of a body down over the stuffed dots it dropped, inside the
    // chunk it read. That chunk must be its own, not the server's message memory.
    const session = await loggedIn();
    const reply = Buffer.from('+OK\r\nline\r\n..dot\r\n.\r\n');
    const retr = session.client.retr(1);
    await session.server.expect('RETR 1');
    await session.server.transport.write(reply);
    expect(text(await retr)).toBe('line\r\n.dot\r\n');
    expect(reply.toString('latin1')).toBe('+OK\r\nline\r\n..dot\r\n.\r\n');
  });

  it('write waits while the reader is behind by the high-water mark', async () => {
    const { client, server } = memoryTransportPair({ highWaterMark: 10 });
    await server.write(latin1('12345'));
    const blocked = track(server.write(latin1('67890')));
    await flush();
    expect(blocked.state).toBe('pending');
    expect(client.unread).toBe(10);
    await client.read();
    await flush();
    expect(blocked.state).toBe('resolved');
  });

  it('closing: the peer reads what is left, then the end; blocked and later writes fail', async () => {
    const { client, server } = memoryTransportPair({ highWaterMark: 4 });
    const data = track(server.write(latin1('data'))); // delivered, then waits for the client to read
    const blocked = track(client.write(latin1('more than four')));
    await flush();
    expect([data.state, blocked.state]).toEqual(['pending', 'pending']);
    server.close();
    await flush();
    expect(blocked.error).toMatchObject({ code: ErrorCode.Connection });
    expect(data.error).toMatchObject({ code: ErrorCode.Connection });
    expect(text((await client.read())!)).toBe('data');
    expect(await client.read()).toBeUndefined();
    await expect(client.write(latin1('x'))).rejects.toMatchObject({ code: ErrorCode.Connection });
    expect(await server.read()).toBeUndefined();
  });

  it('close() ends a pending read of the same end', async () => {
    const { client } = memoryTransportPair();
    const read = client.read();
    client.close();
    expect(await read).toBeUndefined();
  });

  it('allows one read at a time', async () => {
    const { client } = memoryTransportPair();
    void client.read();
    await expect(client.read()).rejects.toMatchObject({ code: ErrorCode.WrongState });
  });

  it('secure: both ends start secure; startTls only where asked for', () => {
    const implicit = memoryTransportPair({ secure: true });
    expect([implicit.client.secure, implicit.server.secure]).toEqual([true, true]);
    expect(implicit.client.startTls).toBeUndefined();
    const stls = memoryTransportPair({ startTls: true });
    expect(stls.client.startTls).toBeTypeOf('function');
    expect(stls.server.startTls).toBeUndefined();
  });

  it('simulated STLS: upgrades both ends; unread bytes are an injection', async () => {
    const good = memoryTransportPair({ startTls: true });
    await good.client.startTls!();
    expect([good.client.secure, good.server.secure]).toEqual([true, true]);
    await expect(good.client.startTls!()).rejects.toMatchObject({ code: ErrorCode.WrongState });

    const bad = memoryTransportPair({ startTls: true });
    await bad.server.write(latin1('+OK injected\r\n'));
    await expect(bad.client.startTls!()).rejects.toMatchObject({
      code: ErrorCode.TlsInjection,
      message: expect.stringMatching(/^14 bytes arrived/),
    });
    expect(bad.client.secure).toBe(false);
    expect(await bad.server.read()).toBeUndefined(); // the connection was closed
  });
});
