/**
 * Pipelining (RFC 2449 section 6.6): one command in flight without PIPELINING, everything queued in one write
 * with it, except behind a barrier (a command that changes the session); replies matched to handles in order.
 */
import { describe, expect, it } from 'vitest';
import { type ClientEngineOptions, type CommandHandle, Pop3ClientEngine, type Pop3Event } from '../../core/client-engine.js';
import { ErrorCode } from '../../core/errors.js';
import { plain } from '../../core/sasl/index.js';
import { drain, greeted, serve, written } from '../support/engine.js';
import { heapAfterGc } from '../support/gc.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const CAPA_PIPELINING = '+OK Capability list follows\r\nUSER\r\nPIPELINING\r\nUIDL\r\nTOP\r\n.\r\n';
const CAPA_PLAIN = '+OK Capability list follows\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n';

/** Logged in with USER/PASS, after a CAPA that did or did not advertise PIPELINING. */
function inTransaction(capa: string, options?: ClientEngineOptions): Pop3ClientEngine {
  const engine = greeted(options);
  engine.capa();
  serve(engine, capa);
  engine.user('alice');
  engine.pass('pw');
  serve(engine, '+OK\r\n+OK\r\n');
  written(engine);
  drain(engine);
  expect(engine.state).toBe('transaction');
  return engine;
}

function message(n: number): string {
  return `Subject: message ${n}\r\n\r\nbody of ${n}\r\n`;
}

describe('without PIPELINING', () => {
  it('keeps one command in flight and sends the next only after each reply', () => {
    const engine = inTransaction(CAPA_PLAIN);
    engine.stat();
    engine.list(1);
    engine.retr(1);
    engine.dele(1);
    expect(engine.pending).toBe(4);
    expect(engine.inFlight).toBe(1);
    expect(written(engine)).toBe('STAT\r\n');
    expect(written(engine)).toBeUndefined();
    serve(engine, '+OK 1 40\r\n');
    expect(written(engine)).toBe('LIST 1\r\n');
    serve(engine, '+OK 1 40\r\n');
    expect(written(engine)).toBe('RETR 1\r\n');
    // A body in progress holds the next command back too.
    serve(engine, '+OK 40 octets\r\nSubject: x\r\n');
    expect(written(engine)).toBeUndefined();
    serve(engine, '\r\nhello\r\n.\r\n');
    expect(written(engine)).toBe('DELE 1\r\n');
    serve(engine, '+OK deleted\r\n');
    expect(written(engine)).toBeUndefined();
    expect(engine.pending).toBe(0);
  });

  it('also before any CAPA: USER and PASS go out one at a time', () => {
    const engine = greeted();
    engine.user('alice');
    engine.pass('pw');
    expect(written(engine)).toBe('USER alice\r\n');
    serve(engine, '+OK\r\n');
    expect(written(engine)).toBe('PASS pw\r\n');
  });
});

describe('with PIPELINING advertised by CAPA', () => {
  it('sends many RETRs in one write', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    for (let n = 1; n <= 5; n++) engine.retr(n);
    expect(engine.inFlight).toBe(5);
    expect(written(engine)).toBe('RETR 1\r\nRETR 2\r\nRETR 3\r\nRETR 4\r\nRETR 5\r\n');
  });

  it('sends USER and PASS together in AUTHORIZATION, and holds STAT behind PASS', () => {
    const engine = greeted();
    engine.capa();
    serve(engine, CAPA_PIPELINING);
    written(engine);
    engine.user('alice');
    engine.pass('pw');
    const stat = engine.stat();
    expect(written(engine)).toBe('USER alice\r\nPASS pw\r\n');
    serve(engine, '+OK\r\n');
    expect(written(engine)).toBeUndefined();
    serve(engine, '+OK logged in\r\n');
    expect(written(engine)).toBe('STAT\r\n');
    serve(engine, '+OK 0 0\r\n');
    expect(drain(engine).at(-1)).toMatchObject({ type: 'done', handle: stat, result: { count: 0, size: 0 } });
  });

  it('sends commands queued while others are in flight as soon as they are queued', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    engine.stat();
    expect(written(engine)).toBe('STAT\r\n');
    engine.noop();
    expect(written(engine)).toBe('NOOP\r\n');
    expect(engine.inFlight).toBe(2);
  });

  it('stops when a later CAPA no longer lists PIPELINING', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    engine.capa();
    serve(engine, CAPA_PLAIN);
    written(engine);
    engine.noop();
    engine.noop();
    expect(written(engine)).toBe('NOOP\r\n');
  });
});

describe('the pipelining option', () => {
  it('`pipelining: false` overrides a CAPA that advertises PIPELINING', () => {
    const engine = inTransaction(CAPA_PIPELINING, { pipelining: false });
    engine.retr(1);
    engine.retr(2);
    expect(written(engine)).toBe('RETR 1\r\n');
    serve(engine, `+OK\r\n${message(1)}.\r\n`);
    expect(written(engine)).toBe('RETR 2\r\n');
  });

  it('`pipelining: true` pipelines without CAPA', () => {
    const engine = greeted({ pipelining: true });
    engine.user('alice');
    engine.pass('pw');
    expect(written(engine)).toBe('USER alice\r\nPASS pw\r\n');
  });
});

describe('barriers: nothing is sent behind them until their reply is in', () => {
  it('PASS', () => {
    const engine = greeted({ pipelining: true });
    engine.user('alice');
    engine.pass('pw');
    engine.stat();
    engine.list();
    expect(written(engine)).toBe('USER alice\r\nPASS pw\r\n');
    serve(engine, '+OK\r\n+OK\r\n');
    expect(written(engine)).toBe('STAT\r\nLIST\r\n');
  });

  it('APOP', () => {
    const engine = new Pop3ClientEngine({ pipelining: true });
    serve(engine, '+OK ready <1.2@host>\r\n');
    engine.apop('alice', 'pw');
    engine.stat();
    expect(written(engine)).toMatch(/^APOP alice [0-9a-f]{32}\r\n$/);
    serve(engine, '+OK\r\n');
    expect(written(engine)).toBe('STAT\r\n');
  });

  it('AUTH', () => {
    const engine = greeted({ pipelining: true });
    engine.auth(plain({ username: 'alice', password: 'pw' }));
    engine.stat();
    expect(written(engine)).toBe('AUTH PLAIN AGFsaWNlAHB3\r\n');
    serve(engine, '+OK\r\n');
    expect(written(engine)).toBe('STAT\r\n');
  });

  it('STLS: held through the reply and the handshake, released by tlsStarted()', () => {
    const engine = greeted({ pipelining: true });
    engine.stls();
    engine.capa();
    expect(written(engine)).toBe('STLS\r\n');
    serve(engine, '+OK begin TLS\r\n');
    expect(written(engine)).toBeUndefined();
    engine.tlsStarted();
    expect(written(engine)).toBe('CAPA\r\n');
  });

  it('UTF8', () => {
    const engine = greeted({ pipelining: true });
    engine.utf8();
    engine.user('alice');
    expect(written(engine)).toBe('UTF8\r\n');
    serve(engine, '+OK\r\n');
    expect(written(engine)).toBe('USER alice\r\n');
  });

  it('a raw line', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    engine.raw('XTND XMIT');
    engine.noop();
    expect(written(engine)).toBe('XTND XMIT\r\n');
    serve(engine, '-ERR unknown command\r\n');
    expect(written(engine)).toBe('NOOP\r\n');
  });

  it('QUIT goes out with the commands before it, and ends the session at its own reply', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    const dele = engine.dele(1);
    const quit = engine.quit();
    expect(written(engine)).toBe('DELE 1\r\nQUIT\r\n');
    expect(engine.state).toBe('update');
    serve(engine, '+OK deleted\r\n+OK bye\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type === 'done' && event.handle)).toEqual([dele, quit, false]);
    expect(engine.state).toBe('closed');
  });

  it('a barrier goes out behind non-barriers already in flight', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    engine.noop();
    engine.raw('XTND XMIT');
    engine.noop();
    expect(written(engine)).toBe('NOOP\r\nXTND XMIT\r\n');
    serve(engine, '+OK\r\n');
    expect(written(engine)).toBeUndefined();
    serve(engine, '+OK\r\n');
    expect(written(engine)).toBe('NOOP\r\n');
  });
});

describe('replies are matched to handles in order', () => {
  it('single-line, listing and body replies in one chunk, each to its own command', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    const stat = engine.stat();
    const list = engine.list();
    const list2 = engine.list(2);
    const uidl = engine.uidl(2);
    const retr = engine.retr(2);
    const missing = engine.retr(9);
    const top = engine.top(1, 0);
    const dele = engine.dele(2);
    expect(written(engine)).toBe('STAT\r\nLIST\r\nLIST 2\r\nUIDL 2\r\nRETR 2\r\nRETR 9\r\nTOP 1 0\r\nDELE 2\r\n');
    serve(
      engine,
      '+OK 2 320\r\n' +
        '+OK 2 messages\r\n1 120\r\n2 200\r\n.\r\n' +
        '+OK 2 200\r\n' +
        '+OK 2 QhdPYR:00WBw1Ph7x7\r\n' +
        '+OK 200 octets\r\nline one\r\n..dot\r\n.\r\n' +
        '-ERR no such message\r\n' +
        '+OK top of message follows\r\nSubject: one\r\n\r\n.\r\n' +
        '+OK message 2 deleted\r\n',
    );
    const events = drain(engine);
    const done = (handle: CommandHandle) => events.find((event) => event.type === 'done' && event.handle === handle);
    expect(done(stat)).toMatchObject({ result: { verb: 'STAT', count: 2, size: 320 } });
    expect(done(list)).toMatchObject({ result: { verb: 'LIST', entries: [{ message: 1, size: 120 }, { message: 2, size: 200 }] } });
    expect(done(list2)).toMatchObject({ result: { verb: 'LIST', entries: [{ message: 2, size: 200 }] } });
    expect(done(uidl)).toMatchObject({ result: { verb: 'UIDL', entries: [{ message: 2, uid: 'QhdPYR:00WBw1Ph7x7' }] } });
    expect(done(retr)).toMatchObject({ result: { verb: 'RETR', message: 2, octets: 16 } });
    expect(done(top)).toMatchObject({ result: { verb: 'TOP', message: 1 } });
    expect(done(dele)).toMatchObject({ text: 'message 2 deleted' });
    expect(events.find((event) => event.type === 'rejected')).toMatchObject({ handle: missing, error: { text: 'no such message' } });
    const body = (handle: CommandHandle) =>
      events
        .filter((event): event is Extract<Pop3Event, { type: 'data' }> => event.type === 'data' && event.handle === handle)
        .map((event) => decoder.decode(event.chunk))
        .join('');
    expect(body(retr)).toBe('line one\r\n.dot\r\n');
    expect(body(top)).toBe('Subject: one\r\n\r\n');
    // Every handle's events come in the order the commands were queued.
    const order = events.flatMap((event) => ('handle' in event && (event.type === 'done' || event.type === 'rejected') ? [event.handle.id] : []));
    expect(order).toEqual([stat, list, list2, uidl, retr, missing, top, dele].map((handle) => handle.id));
  });

  it('2,000 pipelined RETRs complete in order, each with its own body', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    const handles = Array.from({ length: 2000 }, (_, i) => engine.retr(i + 1));
    const sent = written(engine)!;
    expect(sent.split('\r\n')).toHaveLength(2001);
    expect(sent.startsWith('RETR 1\r\nRETR 2\r\n')).toBe(true);
    expect(sent.endsWith('RETR 2000\r\n')).toBe(true);
    let reply = '';
    for (let n = 1; n <= 2000; n++) reply += `+OK ${message(n).length} octets\r\n${message(n)}.\r\n`;
    // Delivered in uneven chunks that cut replies anywhere.
    const bytes = encoder.encode(reply);
    for (let at = 0, size = 1; at < bytes.length; at += size, size = ((size * 7 + 3) % 4099) + 1) {
      engine.receive(bytes.subarray(at, at + size));
    }
    const events = drain(engine);
    const done = events.filter((event): event is Extract<Pop3Event, { type: 'done' }> => event.type === 'done');
    expect(done.map((event) => event.handle)).toEqual(handles);
    const bodies = new Map<number, string>();
    for (const event of events) {
      if (event.type === 'data') bodies.set(event.handle.id, (bodies.get(event.handle.id) ?? '') + decoder.decode(event.chunk));
    }
    handles.forEach((handle, i) => expect(bodies.get(handle.id)).toBe(message(i + 1)));
    expect(done.every((event, i) => event.result.verb === 'RETR' && event.result.message === i + 1)).toBe(true);
    expect(engine.pending).toBe(0);
  });

  it('from Node Buffers as from plain arrays: the bodies are the same, their pieces plain views of the Buffers', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    const handles = Array.from({ length: 300 }, (_, i) => engine.retr(i + 1));
    written(engine);
    // Every third body has a line that starts with a dot (stuffed on the wire), so bodies come in pieces.
    const bodyOf = (n: number) => (n % 3 === 0 ? `${message(n)}.dot ${n}\r\nlast\r\n` : message(n));
    let reply = '';
    for (let n = 1; n <= 300; n++) reply += `+OK ${bodyOf(n).length} octets\r\n${bodyOf(n).replace(/^\./gm, '..')}.\r\n`;
    const bytes = encoder.encode(reply);
    const bodies = new Map<number, string>();
    for (let at = 0, size = 1; at < bytes.length; at += size, size = ((size * 7 + 3) % 4099) + 1) {
      const chunk = Buffer.from(bytes.subarray(at, at + size));
      engine.receive(chunk);
      for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
        if (event.type !== 'data') continue;
        if (event.chunk.constructor !== Uint8Array || event.chunk.buffer !== chunk.buffer) throw new Error('a piece that is not a plain view of its chunk');
        bodies.set(event.handle.id, (bodies.get(event.handle.id) ?? '') + decoder.decode(event.chunk));
      }
    }
    handles.forEach((handle, i) => expect(bodies.get(handle.id)).toBe(bodyOf(i + 1)));
    expect(engine.pending).toBe(0);
  });

  it('a pipeline that never drains keeps its heap flat: 200,000 RETRs with 1,000 always in flight', () => {
    const engine = inTransaction(CAPA_PIPELINING);
    const reply = encoder.encode('+OK 4 octets\r\nhi\r\n.\r\n'.repeat(250));
    let queued = 0;
    let answered = 0;
    for (; queued < 1000; queued++) engine.retr(queued + 1);
    let heapAt50k = 0;
    while (answered < 200_000) {
      written(engine);
      engine.receive(reply);
      for (let event = engine.nextEvent(); event !== undefined; event = engine.nextEvent()) {
        if (event.type !== 'done') continue;
        // In order through every trim of the queues.
        if (event.result.verb !== 'RETR' || event.result.message !== ++answered) throw new Error(`answer ${answered} was ${JSON.stringify(event.result)}`);
      }
      for (let i = 0; i < 250; i++) engine.retr(++queued);
      if (answered === 50_000) heapAt50k = heapAfterGc();
    }
    expect(engine.pending).toBe(1000);
    // Keeping each answered command (~240 bytes) would add ~35 MiB over the last 150,000.
    expect(heapAfterGc() - heapAt50k).toBeLessThan(4 * 1024 * 1024);
  });

  it('a -ERR to a pipelined PASS cancels what was queued behind it, not what was in flight before it', () => {
    const engine = greeted({ pipelining: true });
    const capa = engine.capa();
    engine.user('alice');
    const pass = engine.pass('wrong');
    const stat = engine.stat();
    expect(written(engine)).toBe('CAPA\r\nUSER alice\r\nPASS wrong\r\n');
    serve(engine, `${CAPA_PIPELINING}+OK\r\n-ERR [AUTH] nope\r\n`);
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['done', 'done', 'rejected', 'failed']);
    expect(events[0]).toMatchObject({ handle: capa });
    expect(events[2]).toMatchObject({ handle: pass });
    expect(events[3]).toMatchObject({ handle: stat, error: { code: ErrorCode.Cancelled } });
    expect(written(engine)).toBeUndefined();
  });
});
