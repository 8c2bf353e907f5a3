/**
 * A tiny POP3 server with a mailbox that outlives its sessions, for the client's batch and "nothing lost"
 * tests: USER/PASS, APOP, CAPA, STAT, LIST, UIDL, RETR, DELE and QUIT. It follows RFC 1939 where those tests
 * look (deletions happen only at QUIT in the TRANSACTION state), answers pipelined commands in order, and can
 * misbehave on purpose: cut the connection after a number of bytes in either direction, or commit at QUIT and
 * vanish without answering.
 */
import { apopDigest } from '../../core/apop.js';
import { type MemoryTransport, type MemoryTransportOptions, memoryTransportPair } from '../../core/client/memory-transport.js';
import { Pop3Client, type Pop3ClientOptions } from '../../core/client/pop3-client.js';
import { dotStuff } from '../../core/stuffing.js';
import { latin1 } from './fake-server.js';

export interface FakeMessage {
  readonly uid: string;
  /** The message, latin1, CRLF line ends. */
  readonly body: string;
}

export interface ServeOptions {
  /** Close the connection once this many bytes have been sent (the cut may fall inside a reply). */
  cutAfterServerBytes?: number;
  /** Close the connection once this many bytes have arrived; only commands complete within them are run. */
  cutAfterClientBytes?: number;
  /** At QUIT, commit the deletions, then close without answering. */
  dropQuitReply?: boolean;
  /** Let commands pile up before answering each (a few event-loop turns), to measure the client's window. */
  lazy?: boolean;
  /** CAPA lines. Default: USER, UIDL, PIPELINING, RESP-CODES. */
  capabilities?: readonly string[];
  /** Answer UIDL with -ERR, like a server without it. */
  noUidl?: boolean;
}

const TIMESTAMP = '<4242.1@fake.example>';

/** A mailbox of messages and the sessions that serve it. */
export class FakeMailbox {
  messages: FakeMessage[];
  readonly password = 'secret';
  /** The most commands received and not yet answered at any moment, over all sessions. */
  maxOutstanding = 0;
  /** Every command line received, over all sessions. */
  readonly received: string[] = [];
  /** Bytes sent, over all sessions. */
  sent = 0;
  /** Chunks (client writes) received, over all sessions. */
  chunks = 0;

  constructor(messages: readonly FakeMessage[]) {
    this.messages = [...messages];
  }

  /** Serve one session on `transport`; resolves when it is over. */
  async serve(transport: MemoryTransport, options: ServeOptions = {}): Promise<void> {
    const session = new Session(this, transport, options);
    await session.run();
  }
}

class Session {
  readonly #mailbox: FakeMailbox;
  readonly #transport: MemoryTransport;
  readonly #options: ServeOptions;
  /** The messages as numbered for this session; deletions are only marks until QUIT. */
  readonly #messages: readonly FakeMessage[];
  readonly #deleted = new Set<number>();
  #state: 'authorization' | 'transaction' = 'authorization';
  #user: string | undefined;
  #sent = 0;
  #receivedBytes = 0;
  #over = false;
  #pending: string[] = [];
  #partial = '';
  #clientEnded = false;
  #wake: (() => void) | undefined;

  constructor(mailbox: FakeMailbox, transport: MemoryTransport, options: ServeOptions) {
    this.#mailbox = mailbox;
    this.#transport = transport;
    this.#options = options;
    this.#messages = [...mailbox.messages];
  }

  async run(): Promise<void> {
    void this.#read();
    await this.#send(`+OK fake mailbox ready ${TIMESTAMP}\r\n`);
    while (!this.#over) {
      if (this.#pending.length === 0) {
        if (this.#clientEnded) break;
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        continue;
      }
      if (this.#options.lazy === true) for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      this.#mailbox.maxOutstanding = Math.max(this.#mailbox.maxOutstanding, this.#pending.length);
      await this.#answer(this.#pending.shift()!);
    }
    this.#end();
  }

  async #read(): Promise<void> {
    for (;;) {
      const chunk = await this.#transport.read();
      if (chunk === undefined) break;
      this.#mailbox.chunks++;
      let data = Buffer.from(chunk).toString('latin1');
      const budget = this.#options.cutAfterClientBytes;
      const cut = budget !== undefined && this.#receivedBytes + data.length >= budget;
      if (cut) data = data.slice(0, budget - this.#receivedBytes);
      this.#receivedBytes += data.length;
      const lines = (this.#partial + data).split('\r\n');
      this.#partial = lines.pop()!;
      this.#mailbox.received.push(...lines);
      this.#pending.push(...lines);
      this.#wakeUp();
      if (cut) break;
    }
    this.#clientEnded = true;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  async #answer(line: string): Promise<void> {
    const [verb = '', ...args] = line.split(' ');
    const n = Number(args[0]);
    const message = this.#state === 'transaction' && !this.#deleted.has(n) ? this.#messages[n - 1] : undefined;
    const noSuchMessage = '-ERR no such message\r\n';
    switch (verb.toUpperCase()) {
      case 'CAPA':
        return this.#send(`+OK\r\n${(this.#options.capabilities ?? ['USER', 'UIDL', 'PIPELINING', 'RESP-CODES']).map((c) => `${c}\r\n`).join('')}.\r\n`);
      case 'USER':
        this.#user = args[0];
        return this.#send('+OK\r\n');
      case 'PASS':
        return this.#login(this.#user === 'alice' && args.join(' ') === this.#mailbox.password);
      case 'APOP':
        return this.#login(args[0] === 'alice' && args[1] === apopDigest(TIMESTAMP, this.#mailbox.password));
      case 'STAT': {
        const live = this.#live();
        return this.#send(`+OK ${live.length} ${live.reduce((sum, [, m]) => sum + size(m), 0)}\r\n`);
      }
      case 'LIST':
        return this.#send(`+OK\r\n${this.#live().map(([i, m]) => `${i} ${size(m)}\r\n`).join('')}.\r\n`);
      case 'UIDL':
        if (this.#options.noUidl === true) return this.#send('-ERR unknown command\r\n');
        return this.#send(`+OK\r\n${this.#live().map(([i, m]) => `${i} ${m.uid}\r\n`).join('')}.\r\n`);
      case 'RETR':
        if (!message) return this.#send(noSuchMessage);
        return this.#send(`+OK ${size(message)} octets\r\n${stuffed(message.body)}`);
      case 'DELE':
        if (!message) return this.#send(noSuchMessage);
        this.#deleted.add(n);
        return this.#send(`+OK message ${n} deleted\r\n`);
      case 'QUIT':
        if (this.#state === 'transaction') {
          const gone = new Set([...this.#deleted].map((i) => this.#messages[i - 1]));
          this.#mailbox.messages = this.#mailbox.messages.filter((m) => !gone.has(m));
        }
        if (this.#options.dropQuitReply !== true) await this.#send('+OK bye\r\n');
        this.#over = true;
        return;
      default:
        return this.#send('-ERR unknown command\r\n');
    }
  }

  #login(ok: boolean): Promise<void> {
    if (!ok) return this.#send('-ERR [AUTH] invalid credentials\r\n');
    this.#state = 'transaction';
    return this.#send('+OK logged in\r\n');
  }

  #live(): [number, FakeMessage][] {
    return this.#messages.map((m, i) => [i + 1, m] as [number, FakeMessage]).filter(([i]) => !this.#deleted.has(i));
  }

  async #send(text: string): Promise<void> {
    if (this.#over) return;
    const budget = this.#options.cutAfterServerBytes;
    if (budget !== undefined && this.#sent + text.length >= budget) {
      const part = text.slice(0, budget - this.#sent);
      if (part.length > 0) await this.#transport.write(latin1(part)).catch(() => {});
      this.#sent = budget;
      this.#over = true;
      return;
    }
    this.#sent += text.length;
    this.#mailbox.sent += text.length;
    await this.#transport.write(latin1(text)).catch(() => {
      this.#over = true;
    });
  }

  #end(): void {
    this.#over = true;
    this.#transport.close();
  }
}

function size(message: FakeMessage): number {
  return message.body.length;
}

function stuffed(body: string): string {
  return Buffer.from(dotStuff(latin1(body))).toString('latin1');
}

/** `count` small messages with distinct bodies, some with lines that need dot-stuffing. */
export function sampleMessages(count: number, bodyLines = 3): FakeMessage[] {
  return Array.from({ length: count }, (_, i) => ({
    uid: `uid-${i + 1}`,
    body:
      `Subject: message ${i + 1}\r\nFrom: test@example.com\r\n\r\n` +
      Array.from({ length: bodyLines }, (_, line) => (line % 2 === 0 ? `.line ${line} of ${i + 1}\r\n` : `line ${line}\r\n`)).join(''),
  }));
}

/** A client on a new in-memory connection to `mailbox`, and the session serving it (not yet connected). */
export function connectTo(
  mailbox: FakeMailbox,
  options: { serve?: ServeOptions; client?: Pop3ClientOptions; transport?: MemoryTransportOptions } = {},
): { client: Pop3Client; served: Promise<void> } {
  const pair = memoryTransportPair(options.transport);
  const served = mailbox.serve(pair.server, options.serve);
  return { client: new Pop3Client(pair.client, options.client), served };
}

/** {@link connectTo}, then connect() and login() as alice. */
export async function openSession(
  mailbox: FakeMailbox,
  options: { serve?: ServeOptions; client?: Pop3ClientOptions; transport?: MemoryTransportOptions } = {},
): Promise<{ client: Pop3Client; served: Promise<void> }> {
  const session = connectTo(mailbox, options);
  await session.client.connect();
  await session.client.login({ username: 'alice', password: mailbox.password });
  return session;
}
