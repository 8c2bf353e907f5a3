/**
 * The test server and the test helpers themselves, checked with a bare socket and no pop3kit code: the
 * Dovecot that global-setup started is configured as the other interop tests assume (greeting, CAPA, the
 * mechanisms, stable UIDLs), and `expectedListSize`, `expectedWireBody` and `expectedTop` predict Dovecot's
 * output byte for byte.
 * When a client test fails on a body comparison, this file says whether the prediction or the client is wrong.
 */
import net from 'node:net';
import { describe, expect, inject, it } from 'vitest';
import { createUser } from '../support/dovecot.js';
import { expectSameBytes } from '../support/interop.js';
import { edgeCaseMessages, expectedListSize, expectedTop, expectedWireBody } from '../support/mail-generator.js';

const dovecot = inject('dovecot');

/** A minimal POP3 conversation over a socket: send a line, read a status line or a whole listing. */
class RawSession {
  #socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #wake: (() => void) | undefined;
  #closed = false;

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake?.();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake?.();
    });
  }

  static open(port: number): Promise<RawSession> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1', noDelay: true }, () => resolve(new RawSession(socket)));
      socket.once('error', reject);
    });
  }

  /** Reads up to and including `terminator`, which is removed from the buffer with what precedes it. */
  async #readThrough(terminator: string): Promise<Buffer> {
    for (;;) {
      const end = this.#buffer.indexOf(terminator, 0, 'latin1');
      if (end !== -1) {
        const data = this.#buffer.subarray(0, end + terminator.length);
        this.#buffer = this.#buffer.subarray(end + terminator.length);
        return data;
      }
      if (this.#closed) throw new Error(`connection closed before ${JSON.stringify(terminator)}`);
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async line(): Promise<string> {
    return (await this.#readThrough('\r\n')).toString('latin1').slice(0, -2);
  }

  async command(line: string): Promise<string> {
    this.#socket.write(`${line}\r\n`);
    return this.line();
  }

  /** The body after a +OK status line, read line by line up to the lone `.`, dot-unstuffed. */
  async body(): Promise<Buffer> {
    const lines: Buffer[] = [];
    for (let line = await this.#readThrough('\r\n'); line.toString('latin1') !== '.\r\n'; line = await this.#readThrough('\r\n')) {
      lines.push(line[0] === 0x2e ? line.subarray(1) : line);
    }
    return Buffer.concat(lines);
  }

  close(): void {
    this.#socket.destroy();
  }
}

describe('the private Dovecot', () => {

  it('greets with the configured text and an APOP timestamp, and offers what the tests rely on', async () => {
    const session = await RawSession.open(dovecot.port);
    const greeting = await session.line();
    expect(greeting.startsWith(`+OK ${dovecot.greeting} <`)).toBe(true);
    expect(greeting).toMatch(/ <[^<>@]+@[^<>]+>$/);
    expect(await session.command('CAPA')).toBe('+OK');
    const capabilities = (await session.body()).toString('latin1').trimEnd().split('\r\n');
    expect(capabilities).toEqual(
      expect.arrayContaining(['TOP', 'UIDL', 'RESP-CODES', 'PIPELINING', 'AUTH-RESP-CODE', 'STLS', 'USER', 'SASL PLAIN LOGIN CRAM-MD5 SCRAM-SHA-256']),
    );
    session.close();
  });

  it('lists and sends every generated message exactly as the mail-generator helpers predict', async () => {
    const messages = edgeCaseMessages();
    const user = await createUser(dovecot, 'server-check', messages);
    const session = await RawSession.open(dovecot.port);
    await session.line();
    expect(await session.command(`USER ${user.user}`)).toBe('+OK');
    expect(await session.command(`PASS ${user.password}`)).toBe('+OK Logged in.');
    expect(await session.command('LIST')).toBe(`+OK ${messages.length} messages:`);
    const sizes = (await session.body()).toString('latin1');
    expect(sizes).toBe(messages.map((m, i) => `${i + 1} ${expectedListSize(m.bytes)}\r\n`).join(''));
    expect(await session.command('UIDL')).toBe('+OK');
    const uidls = (await session.body()).toString('latin1');
    expect(uidls).toBe(user.messages.map((m) => `${m.number} ${m.uidl}\r\n`).join(''));
    for (const [i, message] of messages.entries()) {
      expect(await session.command(`RETR ${i + 1}`), message.name).toMatch(/^\+OK \d+ octets$/);
      expectSameBytes(await session.body(), expectedWireBody(message.bytes), message.name);
      for (const lines of [0, 1, 3]) {
        expect(await session.command(`TOP ${i + 1} ${lines}`)).toBe('+OK');
        expectSameBytes(await session.body(), expectedTop(message.bytes, lines), `${message.name}, TOP ${lines}`);
      }
    }
    expect(await session.command('QUIT')).toBe('+OK Logging out.');
    session.close();
  });
});
