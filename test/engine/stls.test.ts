/**
 * STLS (RFC 2595 section 4) and the STARTTLS injection class: bytes that arrive between the +OK to STLS and
 * the end of the TLS handshake were sent (or injected) in plaintext and must never be read as replies.
 */
import { describe, expect, it } from 'vitest';
import { type ClientEngineOptions, Pop3ClientEngine, type Pop3Event } from '../../core/client-engine.js';
import { ErrorCode, LocalProtocolError, RemoteProtocolError } from '../../core/errors.js';
import { drain, serve, written } from '../support/engine.js';


const CAPA = '+OK\r\nUSER\r\nSTLS\r\nPIPELINING\r\nSASL PLAIN\r\n.\r\n';

/** Greeted, CAPA answered (STLS, PIPELINING advertised), STLS sent and not yet answered. */
function stlsInFlight(options?: ClientEngineOptions): Pop3ClientEngine {
  const engine = new Pop3ClientEngine(options);
  serve(engine, '+OK ready\r\n');
  engine.capa();
  serve(engine, CAPA);
  expect(engine.capabilities?.stls).toBe(true);
  engine.stls();
  expect(written(engine)).toBe('CAPA\r\nSTLS\r\n');
  drain(engine);
  return engine;
}

function closedWith(events: readonly Pop3Event[]): RemoteProtocolError {
  const last = events.at(-1);
  expect(last?.type).toBe('closed');
  const error = (last as Extract<Pop3Event, { type: 'closed' }>).error;
  expect(error).toBeInstanceOf(RemoteProtocolError);
  return error as RemoteProtocolError;
}

describe('STARTTLS injection', () => {
  it('bytes in the same chunk as the +OK to STLS close the session with POP3_ERR_TLS_INJECTION', () => {
    const engine = stlsInFlight();
    serve(engine, '+OK Begin TLS negotiation\r\n+OK injected\r\n');
    const events = drain(engine);
    // The STLS reply itself is honoured; the injected line produces no event of its own.
    expect(events.map((event) => event.type)).toEqual(['done', 'starttls', 'closed']);
    expect(closedWith(events).code).toBe(ErrorCode.TlsInjection);
    expect(engine.state).toBe('failed');
    expect(engine.error?.code).toBe(ErrorCode.TlsInjection);
  });

  it('a single injected byte is enough', () => {
    const engine = stlsInFlight();
    serve(engine, '+OK Begin TLS negotiation\r\n\n');
    expect(closedWith(drain(engine)).code).toBe(ErrorCode.TlsInjection);
  });

  it('bytes in a later chunk, before tlsStarted(), close the session the same way', () => {
    const engine = stlsInFlight();
    serve(engine, '+OK Begin TLS negotiation\r\n');
    expect(drain(engine).map((event) => event.type)).toEqual(['done', 'starttls']);
    expect(engine.state).toBe('starttls');
    serve(engine, '+OK 1 2\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['closed']);
    expect(closedWith(events).code).toBe(ErrorCode.TlsInjection);
  });

  it('commands queued behind STLS fail with the injection error and are never sent', () => {
    const engine = stlsInFlight();
    const capa = engine.capa();
    const user = engine.user('alice');
    serve(engine, '+OK Begin TLS negotiation\r\n');
    serve(engine, '+OK\r\nSTLS\r\n.\r\n+OK\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['done', 'starttls', 'failed', 'failed', 'closed']);
    expect(events[2]).toMatchObject({ handle: capa, error: { code: ErrorCode.TlsInjection } });
    expect(events[3]).toMatchObject({ handle: user, error: { code: ErrorCode.TlsInjection } });
    expect(engine.takeOutgoing()).toBeUndefined();
  });

  it('after an injection, the session is dead: commands throw the injection error and input is ignored', () => {
    const engine = stlsInFlight();
    serve(engine, '+OK Begin TLS negotiation\r\nX');
    drain(engine);
    const error = engine.error;
    expect(() => engine.capa()).toThrow(error);
    serve(engine, '+OK\r\n');
    engine.receiveEnd();
    expect(engine.nextEvent()).toBeUndefined();
  });

  it('the stream ending during the handshake is an unexpected end, not an injection', () => {
    const engine = stlsInFlight();
    serve(engine, '+OK Begin TLS negotiation\r\n');
    drain(engine);
    engine.receiveEnd();
    const error = closedWith(drain(engine));
    expect(error.code).toBe(ErrorCode.UnexpectedEnd);
    expect(error.message).toContain('TLS');
  });
});

describe('after the handshake', () => {
  it('capabilities are forgotten, TLS is on, and the commands queued during the handshake go out', () => {
    const engine = stlsInFlight();
    const capa = engine.capa();
    engine.user('alice');
    serve(engine, '+OK Begin TLS negotiation\r\n');
    expect(written(engine)).toBeUndefined();
    expect(engine.tls).toBe(false);
    engine.tlsStarted();
    expect(engine.state).toBe('authorization');
    expect(engine.tls).toBe(true);
    expect(engine.capabilities).toBeUndefined();
    // The PIPELINING learnt before TLS no longer counts: one command at a time.
    expect(written(engine)).toBe('CAPA\r\n');
    serve(engine, '+OK\r\nUSER\r\nSASL PLAIN SCRAM-SHA-256\r\n.\r\n');
    expect(engine.capabilities?.sasl).toEqual(['PLAIN', 'SCRAM-SHA-256']);
    expect(engine.capabilities?.stls).toBe(false);
    expect(written(engine)).toBe('USER alice\r\n');
    expect(drain(engine)).toContainEqual(expect.objectContaining({ type: 'done', handle: capa }));
  });

  it('commands queued during the handshake itself (after the starttls event) go out too', () => {
    const engine = stlsInFlight();
    serve(engine, '+OK Begin TLS negotiation\r\n');
    drain(engine);
    engine.capa();
    expect(written(engine)).toBeUndefined();
    engine.tlsStarted();
    expect(written(engine)).toBe('CAPA\r\n');
  });

  it('the server may then answer normally; STLS and tlsStarted() are refused from now on', () => {
    const engine = stlsInFlight();
    serve(engine, '+OK Begin TLS negotiation\r\n');
    engine.tlsStarted();
    expect(() => engine.stls()).toThrow(LocalProtocolError);
    expect(() => engine.tlsStarted()).toThrow(LocalProtocolError);
    engine.user('alice');
    engine.pass('pw');
    serve(engine, '+OK\r\n+OK\r\n');
    expect(engine.state).toBe('transaction');
    expect(written(engine)).toBe('USER alice\r\nPASS pw\r\n');
  });
});

describe('a refused STLS', () => {
  it('-ERR keeps the plaintext session in AUTHORIZATION, with no starttls event', () => {
    const engine = stlsInFlight();
    serve(engine, '-ERR TLS not available\r\n');
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['rejected']);
    expect(engine.state).toBe('authorization');
    expect(engine.tls).toBe(false);
    expect(engine.capabilities?.stls).toBe(true);
  });

  it('-ERR never lets the USER and PASS queued behind STLS go out in plaintext', () => {
    // The caller queued credentials expecting TLS first. A man in the middle who answers -ERR to STLS must
    // not get them: the commands that counted on TLS are cancelled, and the caller decides what to do.
    const engine = stlsInFlight();
    const user = engine.user('alice');
    const pass = engine.pass('secret-pw');
    serve(engine, '-ERR TLS not available\r\n');
    expect(written(engine)).toBeUndefined();
    const events = drain(engine);
    expect(events.map((event) => event.type)).toEqual(['rejected', 'failed', 'failed']);
    expect(events[1]).toMatchObject({ handle: user, error: { code: ErrorCode.Cancelled } });
    expect(events[2]).toMatchObject({ handle: pass, error: { code: ErrorCode.Cancelled } });
  });
});
