/**
 * Secrets stay secret: with `trace: true`, nothing the engine shows (trace lines, events, handles, error
 * messages, JSON or util.inspect of any of them, a Secret turned into text) contains a password or a SASL
 * payload, in clear or in base64. Each test first checks that the secret really went over the wire, so the
 * search for it elsewhere means something.
 */
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { apopDigest } from '../../core/apop.js';
import { toBase64, utf8 } from '../../core/bytes.js';
import { Pop3ClientEngine, type Pop3Event } from '../../core/client-engine.js';
import { cramMd5, login, plain, scramSha256, xoauth2 } from '../../core/sasl/index.js';
import { REDACTED, Secret } from '../../core/secret.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

const PASSWORD = 'Tr0ub4dor&3-pw';
const TOKEN = 'ya29.a0AfH6SMBx-secret-token-value';

/** A traced session that records everything the engine shows and everything it writes. */
class Recorder {
  readonly engine = new Pop3ClientEngine({ trace: true });
  readonly events: Pop3Event[] = [];
  wire = '';

  serve(text: string): this {
    this.engine.receive(encoder.encode(text));
    return this.pump();
  }

  pump(): this {
    for (let event = this.engine.nextEvent(); event !== undefined; event = this.engine.nextEvent()) this.events.push(event);
    const out = this.engine.takeOutgoing();
    if (out !== undefined) this.wire += decoder.decode(out);
    return this;
  }

  /** The SASL responses the client wrote: every line after the AUTH line up to the end. */
  saslLines(): string[] {
    const lines = this.wire.split('\r\n').filter((line) => line !== '');
    const auth = lines.findIndex((line) => line.startsWith('AUTH '));
    const payloads = lines.slice(auth + 1);
    const initial = lines[auth]?.split(' ')[2];
    return (initial === undefined ? payloads : [initial, ...payloads]).filter((line) => line !== '*');
  }

  /** Every piece of text the engine lets out, other than the wire itself. */
  shown(): string[] {
    const texts: string[] = [];
    for (const event of this.events) {
      texts.push(JSON.stringify(event), inspect(event, { depth: Infinity }), String(Object.values(event)));
      if (event.type === 'trace') texts.push(event.line);
      if ('handle' in event) texts.push(event.handle.command);
      if ('error' in event && event.error !== undefined) {
        texts.push(event.error.message, String(event.error), event.error.stack ?? '', inspect(event.error), JSON.stringify(event.error));
      }
      if (event.type === 'challenge') {
        const secret = event.challenge;
        texts.push(String(secret), `${secret}`, inspect(secret), inspect(secret, { showHidden: true }), JSON.stringify(secret));
      }
    }
    const error = this.engine.error;
    if (error !== undefined) texts.push(error.message, inspect(error));
    return texts;
  }

  traceLines(): string[] {
    return this.events.flatMap((event) => (event.type === 'trace' ? [`${event.from}: ${event.line}`] : []));
  }
}

/** The secret as it may appear: in clear and in base64 at each of the three byte alignments. */
function forms(secret: string): string[] {
  const out = [secret, toBase64(utf8(secret))];
  for (const pad of ['x', 'xy']) {
    const shifted = toBase64(utf8(pad + secret));
    out.push(shifted.slice(4, -4));
  }
  return out;
}

function expectHidden(recorder: Recorder, secrets: readonly string[]): void {
  const shown = recorder.shown();
  expect(shown.length).toBeGreaterThan(0);
  for (const secret of secrets) {
    expect(secret.length).toBeGreaterThan(3);
    for (const text of shown) expect(text).not.toContain(secret);
  }
}

describe('USER/PASS', () => {
  it.each([
    ['a string', PASSWORD],
    ['a Secret', new Secret(PASSWORD)],
  ])('a password given as %s appears only on the wire', (_how, password) => {
    const session = new Recorder().serve('+OK ready\r\n');
    session.engine.user('alice');
    session.engine.pass(password);
    session.pump().serve('+OK\r\n+OK 1 message\r\n');
    expect(session.wire).toContain(`PASS ${PASSWORD}\r\n`);
    expect(session.traceLines()).toEqual(['server: +OK ready', 'client: USER alice', 'server: +OK', 'client: PASS [redacted]', 'server: +OK 1 message']);
    expectHidden(session, forms(PASSWORD));
  });

  it('a -ERR to PASS names the command redacted', () => {
    const session = new Recorder().serve('+OK ready\r\n');
    session.engine.user('alice');
    session.engine.pass(PASSWORD);
    session.engine.stat();
    session.pump().serve('+OK\r\n-ERR [AUTH] invalid password\r\n');
    expect(session.wire).toContain(PASSWORD);
    const rejected = session.events.find((event) => event.type === 'rejected');
    expect(rejected).toMatchObject({ error: { command: 'PASS [redacted]', message: 'PASS [redacted] failed: [AUTH] invalid password' } });
    expect(session.events.some((event) => event.type === 'failed')).toBe(true);
    expectHidden(session, forms(PASSWORD));
  });

  it('the handle of PASS shows the command redacted', () => {
    const engine = new Pop3ClientEngine();
    engine.user('alice');
    expect(engine.pass(PASSWORD).command).toBe(`PASS ${REDACTED}`);
  });
});

describe('APOP', () => {
  it('the password never crosses the wire and is shown nowhere', () => {
    const session = new Recorder().serve('+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n');
    session.engine.apop('mrose', new Secret(PASSWORD));
    session.pump().serve('+OK maildrop has 2 messages\r\n');
    expect(session.wire).toBe(`APOP mrose ${apopDigest('<1896.697170952@dbc.mtview.ca.us>', PASSWORD)}\r\n`);
    expect(session.engine.state).toBe('transaction');
    expectHidden(session, forms(PASSWORD));
  });
});

describe('AUTH', () => {
  it('PLAIN: the initial response is redacted in the trace and the handle', () => {
    const session = new Recorder().serve('+OK ready\r\n');
    const handle = session.engine.auth(plain({ username: 'alice', password: new Secret(PASSWORD) }));
    session.pump().serve('+OK\r\n');
    const payload = toBase64(utf8(`\0alice\0${PASSWORD}`));
    expect(session.wire).toBe(`AUTH PLAIN ${payload}\r\n`);
    expect(handle.command).toBe(`AUTH PLAIN ${REDACTED}`);
    expect(session.traceLines()).toContain(`client: AUTH PLAIN ${REDACTED}`);
    expectHidden(session, [...forms(PASSWORD), payload]);
  });

  it('PLAIN after an empty challenge: the response line is redacted', () => {
    const session = new Recorder().serve('+OK ready\r\n');
    const mechanism = plain({ username: 'alice', password: PASSWORD });
    // A mechanism that holds its initial response back, so the payload goes out as a challenge response.
    session.engine.auth({ ...mechanism, initialResponse: () => undefined });
    session.pump().serve('+ \r\n').serve('+OK\r\n');
    const payload = toBase64(utf8(`\0alice\0${PASSWORD}`));
    expect(session.wire).toBe(`AUTH PLAIN\r\n${payload}\r\n`);
    expect(session.traceLines()).toEqual(['server: +OK ready', 'client: AUTH PLAIN', `server: + ${REDACTED}`, `client: ${REDACTED}`, 'server: +OK']);
    expectHidden(session, [...forms(PASSWORD), payload]);
  });

  it('LOGIN: both answers are redacted, and so are the prompts', () => {
    const session = new Recorder().serve('+OK ready\r\n');
    session.engine.auth(login({ username: 'alice', password: PASSWORD }));
    session.pump().serve('+ VXNlcm5hbWU6\r\n').serve('+ UGFzc3dvcmQ6\r\n').serve('+OK\r\n');
    expect(session.wire).toBe(`AUTH LOGIN\r\n${toBase64(utf8('alice'))}\r\n${toBase64(utf8(PASSWORD))}\r\n`);
    expect(session.traceLines().filter((line) => line.includes(REDACTED))).toHaveLength(4);
    expectHidden(session, [...forms(PASSWORD), ...session.saslLines()]);
  });

  it('CRAM-MD5: the digest answer is redacted', () => {
    const session = new Recorder().serve('+OK ready\r\n');
    session.engine.auth(cramMd5({ username: 'alice', password: PASSWORD }));
    session.pump().serve('+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+\r\n').serve('+OK\r\n');
    const lines = session.saslLines();
    expect(lines).toHaveLength(1);
    expectHidden(session, [...forms(PASSWORD), ...lines]);
  });

  it('XOAUTH2: the token is redacted, in the initial response and after a JSON error challenge', () => {
    const session = new Recorder().serve('+OK Gpop ready for requests from 127.0.0.1 x1mb\r\n');
    const handle = session.engine.auth(xoauth2({ username: 'someone@gmail.com', accessToken: new Secret(TOKEN) }));
    const error = toBase64(utf8('{"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"}'));
    session.pump().serve(`+ ${error}\r\n`).serve('-ERR [AUTH] Invalid credentials\r\n');
    const payload = toBase64(utf8(`user=someone@gmail.com\x01auth=Bearer ${TOKEN}\x01\x01`));
    expect(session.wire).toBe(`AUTH XOAUTH2 ${payload}\r\n\r\n`);
    expect(session.events).toContainEqual(expect.objectContaining({ type: 'rejected', handle }));
    expectHidden(session, [...forms(TOKEN), payload]);
  });

  it('SCRAM-SHA-256: the client messages, the proof and the server messages are redacted', () => {
    // RFC 7677 section 3.
    const serverFirst = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
    const serverFinal = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';
    const proof = 'dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
    const session = new Recorder().serve('+OK ready\r\n');
    session.engine.auth(scramSha256({ username: 'user', password: new Secret('pencil'), nonce: 'rOprNGfwEbeRWgbNEkqO' }));
    session.pump().serve(`+ ${toBase64(utf8(serverFirst))}\r\n`).serve(`+ ${toBase64(utf8(serverFinal))}\r\n`).serve('+OK\r\n');
    expect(session.engine.state).toBe('transaction');
    const lines = session.saslLines();
    expect(lines).toHaveLength(2); // client-first (initial response), client-final; the last answer is empty
    expect(decoder.decode(Uint8Array.from(atob(lines[1]!), (c) => c.charCodeAt(0)))).toContain(`p=${proof}`);
    expectHidden(session, [...forms('pencil'), ...lines, proof, toBase64(utf8(serverFirst)), toBase64(utf8(serverFinal)), serverFinal]);
  });
});

describe('raw lines and Secret itself', () => {
  it('a raw line given as a Secret is redacted in the trace and the handle', () => {
    const session = new Recorder().serve('+OK ready\r\n');
    const handle = session.engine.raw(new Secret(`XAUTH ${PASSWORD}`));
    session.pump().serve('-ERR no such command\r\n');
    expect(session.wire).toBe(`XAUTH ${PASSWORD}\r\n`);
    expect(handle.command).toBe(REDACTED);
    expectHidden(session, forms(PASSWORD));
  });

  it('every text form of a Secret is the redaction marker', () => {
    const secret = new Secret(PASSWORD);
    const texts = [
      String(secret),
      `${secret}`,
      secret + '',
      JSON.stringify(secret),
      JSON.stringify({ secret }),
      inspect(secret),
      inspect({ nested: { secret } }, { depth: Infinity }),
      inspect(secret, { showHidden: true }),
      inspect(secret, { customInspect: false, showHidden: true }),
    ];
    for (const text of texts) expect(text).not.toContain(PASSWORD);
    expect(String(secret)).toBe(REDACTED);
    expect(secret.reveal()).toBe(PASSWORD);
  });
});
