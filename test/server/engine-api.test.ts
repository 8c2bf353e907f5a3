/**
 * The contract between Pop3ServerEngine and its driver: options are validated; requests are answered once,
 * by the right method; answers that come too late are ignored and wrong ones throw; `wantsInput` and `idle`
 * say when to read and when the idle timer runs; output is bounded; the caller's chunks are not held.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, LocalProtocolError } from '../../core/errors.js';
import { Pop3ServerEngine, type ServerEngineOptions, type ServerEvent } from '../../core/server/server-engine.js';
import { fixtureRandom, runServer } from '../support/server-transcript.js';
import { byteArray, byteString } from '../support/transcript.js';

/** An engine whose requests the test answers by hand. */
class Manual {
  readonly engine: Pop3ServerEngine;
  output = '';
  readonly events: ServerEvent[] = [];

  constructor(options: Partial<ServerEngineOptions> = {}) {
    this.engine = new Pop3ServerEngine({ random: fixtureRandom(), ...options });
    this.drain();
  }

  send(text: string): this {
    this.engine.receive(byteArray(text));
    return this.drain();
  }

  drain(): this {
    for (let out = this.engine.takeOutgoing(); out !== undefined; out = this.engine.takeOutgoing()) this.output += byteString(out);
    for (let event = this.engine.nextEvent(); event !== undefined; event = this.engine.nextEvent()) this.events.push(event);
    return this;
  }

  /** The last event of a type. */
  last<T extends ServerEvent['type']>(type: T): Extract<ServerEvent, { type: T }> {
    const event = this.events.filter((candidate) => candidate.type === type).at(-1);
    expect(event, `a ${type} event`).toBeDefined();
    return event as Extract<ServerEvent, { type: T }>;
  }

  /** Log in as alice with `messages`, answering by hand. */
  login(messages = [{ uid: 'u1', size: 10 }]): this {
    this.send('USER alice\r\nPASS pw\r\n');
    this.engine.resolvePassword(this.last('password').request, 'pw');
    this.drain();
    this.engine.resolveOpen(this.last('open').request, messages);
    this.drain();
    this.output = '';
    return this;
  }
}

const localError = (code: string) => expect.objectContaining({ name: 'LocalProtocolError', code });

describe('options', () => {
  it.each<[string, Partial<ServerEngineOptions>]>([
    ['random', { random: undefined as never }],
    ['greeting', { greeting: 'hi\r\n+OK forged' }],
    ['hostname', { hostname: 'a b' }],
    ['apopTimestamp', { apopTimestamp: 'no-brackets@x' }],
    ['sasl', { sasl: ['GSSAPI' as never] }],
    ['implementation', { implementation: 'x\ny' }],
    ['loginDelay', { loginDelay: -1 }],
    ['expire', { expire: 1.5 }],
    ['scramIterations', { scramIterations: 0 }],
    ['limits', { limits: { maxCommandLine: 3 } }],
  ])('rejects a bad %s', (_, options) => {
    expect(() => new Pop3ServerEngine({ random: fixtureRandom(), ...options })).toThrow(LocalProtocolError);
  });

  it('greets with the configured text and timestamp', () => {
    const manual = new Manual({ greeting: 'ready', apopTimestamp: '<1.2@host>' });
    expect(manual.output).toBe('+OK ready <1.2@host>\r\n');
  });
});

describe('requests and answers', () => {
  it('numbers requests and says what each is for', () => {
    const manual = new Manual({ apopTimestamp: '<1.2@host>' });
    manual.send('APOP alice 0123456789abcdef0123456789abcdef\r\n');
    expect(manual.last('password')).toEqual({ type: 'password', request: 1, user: 'alice', mechanism: 'APOP' });
  });

  it('throws for a request never issued or answered by the wrong method, and changes nothing', () => {
    const manual = new Manual().send('USER alice\r\nPASS pw\r\n');
    const { request } = manual.last('password');
    expect(() => manual.engine.resolvePassword(request + 1, 'pw')).toThrow(localError(ErrorCode.WrongState));
    expect(() => manual.engine.resolveOpen(request, [])).toThrow(localError(ErrorCode.WrongState));
    expect(() => manual.engine.messageEnd(0)).toThrow(LocalProtocolError);
    manual.engine.resolvePassword(request, 'pw');
    expect(manual.drain().last('open').request).toBe(request + 1);
  });

  it('ignores an answer to a request that is over', () => {
    const manual = new Manual().send('USER alice\r\nPASS pw\r\n');
    const { request } = manual.last('password');
    manual.engine.resolvePassword(request, 'wrong');
    manual.drain();
    expect(() => manual.engine.resolvePassword(request, 'pw')).not.toThrow();
    expect(manual.drain().output).toBe('+OK POP3 server ready\r\n+OK send PASS\r\n-ERR [AUTH] authentication failed\r\n');
  });

  it('refuses mailbox data that would break the protocol, and keeps the request open', () => {
    const manual = new Manual().send('USER alice\r\nPASS pw\r\n');
    manual.engine.resolvePassword(manual.last('password').request, 'pw');
    const { request } = manual.drain().last('open');
    for (const messages of [
      [{ uid: 'a b', size: 1 }],
      [{ uid: 'a\r\n+OK', size: 1 }],
      [{ uid: 'x'.repeat(71), size: 1 }],
      [{ uid: '', size: 1 }],
      [{ uid: 'a', size: 1 }, { uid: 'a', size: 2 }],
      [{ uid: 'a', size: -1 }],
      [{ uid: 'a', size: 0.5 }],
    ]) {
      expect(() => manual.engine.resolveOpen(request, messages), JSON.stringify(messages)).toThrow(localError(ErrorCode.BadArgument));
    }
    manual.engine.resolveOpen(request, [{ uid: 'a', size: 1 }]);
    expect(manual.drain().engine.state).toBe('transaction');
    expect(manual.last('login')).toEqual({ type: 'login', user: 'alice', mechanism: 'USER' });
    expect(manual.engine.user).toBe('alice');
  });

  it('after the session closed, answers are ignored and messageData() says stop', () => {
    const manual = new Manual().login().send('RETR 1\r\n');
    const { request } = manual.last('retrieve');
    manual.engine.terminate('connection-lost');
    expect(manual.engine.messageData(request, byteArray('abc'))).toBe(false);
    expect(() => manual.engine.messageEnd(request)).not.toThrow();
    expect(manual.drain().output).toBe('');
  });
});

describe('bodies', () => {
  it('normalises line ends, stuffs dots and ends a body that lacks a final line end', () => {
    const manual = new Manual().login([{ uid: 'u1', size: 12 }]).send('RETR 1\r\n');
    const { request } = manual.last('retrieve');
    for (const piece of ['a\n.b\r', '\n.\rc', '\r', '\n.']) expect(manual.engine.messageData(request, byteArray(piece))).toBe(true);
    manual.engine.messageEnd(request);
    expect(manual.drain().output).toBe('+OK 12 octets\r\na\r\n..b\r\n..\r\nc\r\n..\r\n.\r\n');
  });

  it('sends the +OK only with the first piece, so a store failing at once still gets -ERR', () => {
    const manual = new Manual().login().send('RETR 1\r\nNOOP\r\n');
    expect(manual.output).toBe('');
    manual.engine.requestFailed(manual.last('retrieve').request);
    expect(manual.drain().output).toBe('-ERR [SYS/TEMP] the message cannot be read, try again later\r\n+OK\r\n');
  });

  it('TOP: messageData() returns false once it has its lines; the reply is then complete', () => {
    const manual = new Manual().login().send('TOP 1 1\r\nNOOP\r\n');
    const { request, lines } = manual.last('retrieve');
    expect(lines).toBe(1);
    expect(manual.engine.messageData(request, byteArray('H: v\r\n\r\nl1\r\nl'))).toBe(false);
    manual.engine.messageEnd(request); // too late: ignored
    expect(manual.drain().output).toBe('+OK top of message follows\r\nH: v\r\n\r\nl1\r\n.\r\n+OK\r\n');
  });

  it('passes a chunk that needs no change on without a copy', () => {
    const manual = new Manual().login().send('RETR 1\r\n');
    const { request } = manual.last('retrieve');
    manual.engine.messageData(request, new Uint8Array(0)); // just the +OK
    expect(byteString(manual.engine.takeOutgoing()!)).toBe('+OK 10 octets\r\n');
    const chunk = byteArray('0123456789\r\n');
    manual.engine.messageData(request, chunk);
    expect(manual.engine.takeOutgoing()).toBe(chunk);
  });
});

describe('reading: wantsInput, idle, and the caller owning its chunks', () => {
  it('keeps a copy of unread input, so the caller may reuse its chunk', () => {
    const manual = new Manual();
    const chunk = byteArray('USER alice\r\nPASS pw\r\nSTAT\r\n');
    manual.engine.receive(chunk);
    manual.drain();
    chunk.fill(0x58); // the caller reuses its buffer while PASS is being checked
    manual.engine.resolvePassword(manual.last('password').request, 'pw');
    manual.engine.resolveOpen(manual.drain().last('open').request, [{ uid: 'u', size: 3 }]);
    expect(manual.drain().output).toContain('+OK 1 3\r\n');
  });

  it('does not read ahead while a login is being checked (no read may be outstanding at STLS)', () => {
    const manual = new Manual({ starttls: true });
    expect(manual.engine.wantsInput).toBe(true);
    manual.send('USER alice\r\nPASS pw\r\nSTLS\r\nUSER evil\r\n');
    expect(manual.engine.wantsInput).toBe(false);
    manual.engine.resolvePassword(manual.last('password').request, 'wrong');
    manual.drain();
    expect(manual.engine.state).toBe('starttls');
    expect(manual.last('starttls')).toEqual({ type: 'starttls' });
    expect(manual.engine.wantsInput).toBe(false);
    manual.engine.receive(byteArray('PASS injected\r\n')); // before the handshake: dropped
    manual.engine.tlsStarted();
    expect(manual.engine.tls).toBe(true);
    manual.send('PASS pw\r\n');
    expect(manual.output.endsWith('+OK begin TLS negotiation\r\n-ERR PASS must follow USER\r\n')).toBe(true);
  });

  it('reads ahead in the TRANSACTION state while a body streams, up to maxBufferedInput', () => {
    const manual = new Manual({ limits: { maxBufferedInput: 32 } }).login().send('RETR 1\r\n');
    const { request } = manual.last('retrieve');
    expect(manual.engine.wantsInput).toBe(true);
    manual.send('NOOP\r\n'.repeat(5));
    expect(manual.engine.wantsInput).toBe(true);
    manual.send('NOOP\r\n'.repeat(1));
    expect(manual.engine.wantsInput).toBe(false); // 36 bytes wait
    manual.engine.messageEnd(request);
    expect(manual.drain().engine.wantsInput).toBe(true);
    expect(manual.output.split('+OK\r\n').length - 1).toBe(6);
  });

  it('is idle only when nothing is in progress and nothing waits to be sent', () => {
    const engine = new Pop3ServerEngine({ random: fixtureRandom() });
    expect(engine.idle).toBe(false); // the greeting waits
    engine.takeOutgoing();
    expect(engine.idle).toBe(true);
    engine.receive(byteArray('AUTH PLAIN\r\n'));
    expect(engine.idle).toBe(false);
    engine.takeOutgoing();
    expect(engine.idle).toBe(true); // waiting for the client's SASL answer
    engine.receive(byteArray('AGFsaWNlAHB3\r\n'));
    expect(engine.idle).toBe(false); // the password lookup is pending
    engine.terminate('idle-timeout');
    expect(engine.idle).toBe(false);
    expect(engine.wantsInput).toBe(false);
  });

  it('stops reading after QUIT, the end of input, and during TLS', () => {
    const quit = new Manual().send('QUIT\r\n');
    expect(quit.engine.wantsInput).toBe(false);
    const ended = new Manual();
    ended.engine.receiveEnd();
    expect(ended.engine.wantsInput).toBe(false);
    expect(ended.drain().last('closed')).toEqual({ type: 'closed', reason: 'end-of-input' });
    ended.engine.receive(byteArray('NOOP\r\n'));
    expect(ended.drain().output).toBe('+OK POP3 server ready\r\n');
  });

  it('ends a session whose client ends its stream while waiting for TLS', () => {
    const manual = new Manual({ starttls: true }).send('STLS\r\n');
    manual.engine.receiveEnd();
    expect(manual.drain().last('closed').reason).toBe('end-of-input');
    expect(() => manual.engine.tlsStarted()).toThrow(localError(ErrorCode.WrongState));
  });
});

describe('bounded output', () => {
  it('starts no new command while maxBufferedOutput bytes wait, and resumes as they are taken', () => {
    const burst = `USER alice\r\nPASS alice-pw\r\n${'LIST\r\n'.repeat(50)}QUIT\r\n`;
    const reference = runServer();
    reference.receive(byteArray(burst));
    const listReply = '+OK maildrop has 4 messages (193 octets)\r\n1 72\r\n2 62\r\n3 37\r\n4 22\r\n.\r\n';
    expect(reference.output[0]!.split(listReply).length - 1).toBe(50);

    // Answered by hand here, to watch every takeOutgoing().
    const bounded = new Manual({ limits: { maxBufferedOutput: 64 } });
    bounded.engine.receive(byteArray(burst));
    let total = '';
    for (;;) {
      const event = bounded.engine.nextEvent();
      if (event?.type === 'password') bounded.engine.resolvePassword(event.request, 'alice-pw');
      if (event?.type === 'open') bounded.engine.resolveOpen(event.request, reference.store.messages('alice')!);
      if (event !== undefined) continue;
      const out = bounded.engine.takeOutgoing();
      if (out === undefined) break;
      // Each take holds what was queued before the limit was reached, plus at most one more reply.
      expect(out.length).toBeLessThan(64 + listReply.length);
      total += byteString(out);
    }
    expect(bounded.output + total).toBe(reference.output[0]);
  });
});

describe('terminate', () => {
  it('drops pending output when the connection is gone, keeps it on shutdown, and closes once', () => {
    const lost = new Pop3ServerEngine({ random: fixtureRandom() });
    lost.terminate('connection-lost');
    expect(lost.takeOutgoing()).toBeUndefined();
    const shutdown = new Pop3ServerEngine({ random: fixtureRandom() });
    shutdown.terminate('shutdown');
    shutdown.terminate('idle-timeout');
    expect(byteString(shutdown.takeOutgoing()!)).toBe('+OK POP3 server ready\r\n');
    expect(shutdown.nextEvent()).toEqual({ type: 'closed', reason: 'shutdown' });
    expect(shutdown.nextEvent()).toBeUndefined();
    expect(shutdown.closeReason).toBe('shutdown');
  });
});
