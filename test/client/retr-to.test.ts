/**
 * retrTo(): the body handed piece by piece to a synchronous callback, in pieces valid only during the call;
 * pipelined like any RETR; an exception in the callback fails the call, not the session.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCode, ServerError } from '../../core/errors.js';
import { flush, loggedIn, sessionOver, text, track } from '../support/fake-server.js';
import { ScribblingTransport } from '../support/scribbling-transport.js';

describe('retrTo', () => {
  it('hands the body over dot-unstuffed, in order, and resolves with its size', async () => {
    const { client, server } = await loggedIn();
    let body = '';
    const retr = client.retrTo(1, (piece) => void (body += text(piece)));
    await server.expect('RETR 1');
    void server.send('+OK 30 octets\r\nSubject: x\r\n\r\n..dotted\r\n');
    void server.send('plain\r\n.\r\n');
    expect(await retr).toBe(30);
    expect(body).toBe('Subject: x\r\n\r\n.dotted\r\nplain\r\n');
  });

  it('property: any body, in any chunking over a transport that reuses its memory, arrives whole if copied during the call', async () => {
    const line = fc.stringMatching(/^[ -~]{0,40}$/).map((l) => `${l}\r\n`);
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 60 }), fc.integer({ min: 1, max: 300 }), async (lines, chunk) => {
        const { client, server } = await sessionOver((inner) => new ScribblingTransport(inner));
        const body = lines.join('');
        const copies: Uint8Array[] = [];
        const retr = client.retrTo(1, (piece) => void copies.push(new Uint8Array(piece)));
        await server.expect('RETR 1');
        const wire = `+OK\r\n${body.replace(/^\./gm, '..')}.\r\n`;
        for (let at = 0; at < wire.length; at += chunk) await server.send(wire.slice(at, at + chunk));
        expect(await retr).toBe(body.length);
        expect(copies.map(text).join('')).toBe(body);
        expect(copies.every((piece) => piece.length > 0)).toBe(true);
        client.close();
      }),
      { numRuns: 60 },
    );
  });

  it('is pipelined with what comes before and after it', async () => {
    const { client, server } = await loggedIn();
    let body = '';
    const first = client.retr(1);
    const streamed = client.retrTo(2, (piece) => void (body += text(piece)));
    const stat = client.stat();
    await server.expect('RETR 1');
    await server.expect('RETR 2');
    await server.expect('STAT');
    void server.send('+OK\r\none\r\n.\r\n+OK\r\ntwo\r\n.\r\n+OK 2 10\r\n');
    expect(text(await first)).toBe('one\r\n');
    expect(await streamed).toBe(5);
    expect(body).toBe('two\r\n');
    expect(await stat).toEqual({ count: 2, size: 10 });
  });

  it('a callback that throws: the rest of the body is dropped, the call rejects with AbortError, the session goes on', async () => {
    const { client, server } = await loggedIn();
    const reason = new Error('disk full');
    const calls: string[] = [];
    const retr = track(
      client.retrTo(1, (piece) => {
        calls.push(text(piece));
        throw reason;
      }),
    );
    const noop = client.noop();
    await server.expect('RETR 1');
    await server.expect('NOOP');
    void server.send('+OK\r\nfirst\r\n');
    await flush();
    expect(retr.state).toBe('pending'); // the body has not ended yet
    void server.send('..second\r\nthird\r\n.\r\n+OK\r\n');
    await flush();
    expect(retr.error).toMatchObject({ name: 'AbortError', code: ErrorCode.Aborted, message: 'RETR 1 aborted: onData threw', cause: reason });
    expect(calls).toEqual(['first\r\n']);
    await noop;
    expect(client.state).toBe('transaction');
  });

  it('-ERR rejects with the ServerError and calls nothing', async () => {
    const { client, server } = await loggedIn();
    const calls: Uint8Array[] = [];
    const retr = client.retrTo(9, (piece) => void calls.push(piece));
    await server.expect('RETR 9');
    void server.send('-ERR no such message\r\n');
    await expect(retr).rejects.toBeInstanceOf(ServerError);
    expect(calls).toEqual([]);
  });

  it('a connection cut mid-body rejects with POP3_ERR_UNEXPECTED_END', async () => {
    const { client, server } = await loggedIn();
    const retr = client.retrTo(1, () => {});
    await server.expect('RETR 1');
    void server.send('+OK\r\npart');
    await flush();
    server.close();
    await expect(retr).rejects.toMatchObject({ code: ErrorCode.UnexpectedEnd });
  });

  it('an abort mid-body ends the session', async () => {
    const { client, server } = await loggedIn();
    const controller = new AbortController();
    const retr = client.retrTo(1, () => controller.abort(), { signal: controller.signal });
    await server.expect('RETR 1');
    void server.send('+OK\r\npart\r\n');
    await expect(retr).rejects.toMatchObject({ code: ErrorCode.Aborted, message: 'RETR 1 aborted' });
    expect(client.state).toBe('failed');
  });
});
