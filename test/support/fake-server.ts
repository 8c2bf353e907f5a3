/**
 * A scripted POP3 server for client tests: it sits on the server end of an in-memory transport pair, hands
 * the test each command line the client sends, and writes whatever bytes the test scripts. Strings are
 * latin1 (one character per byte), so a script can say exactly what goes on the wire.
 */
import { expect } from 'vitest';
import { type MemoryTransport, type MemoryTransportOptions, memoryTransportPair } from '../../core/client/memory-transport.js';
import { Pop3Client, type Pop3ClientOptions } from '../../core/client/pop3-client.js';
import type { Transport } from '../../core/client/transport.js';

/** The server side of one scripted session. */
export class FakeServer {
  readonly transport: MemoryTransport;
  /** Every line the client sent, in order, without its line end. */
  readonly received: string[] = [];
  /** Every chunk as it arrived (latin1): shows which lines the client wrote together. */
  readonly chunks: string[] = [];
  #partial = '';
  #unread: string[] = [];
  #wake: (() => void) | undefined;
  #ended = false;

  constructor(transport: MemoryTransport) {
    this.transport = transport;
    void this.#pump();
  }

  /** The next line from the client, without its line end; undefined once the client has closed. */
  async next(): Promise<string | undefined> {
    while (this.#unread.length === 0 && !this.#ended) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    return this.#unread.shift();
  }

  /** Waits for the next line and checks it. */
  async expect(line: string | RegExp): Promise<string> {
    const got = await this.next();
    if (typeof line === 'string') expect(got).toBe(line);
    else expect(got).toMatch(line);
    return got!;
  }

  /** Writes latin1 text (or bytes) to the client. Not awaited by scripts: a write waits while the client is behind. */
  send(data: string | Uint8Array): Promise<void> {
    return this.transport.write(typeof data === 'string' ? latin1(data) : data);
  }

  /** Closes the connection (the client sees the end of the stream). */
  close(): void {
    this.transport.close();
  }

  async #pump(): Promise<void> {
    for (;;) {
      const chunk = await this.transport.read();
      if (chunk === undefined) break;
      this.chunks.push(text(chunk));
      const lines = (this.#partial + text(chunk)).split('\r\n');
      this.#partial = lines.pop()!;
      this.received.push(...lines);
      this.#unread.push(...lines);
      this.#wakeUp();
    }
    this.#ended = true;
    this.#wakeUp();
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/** Latin1 text as bytes. */
export function latin1(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'));
}

/** Bytes as latin1 text. */
export function text(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

/** A CAPA listing reply for the given capability lines. */
export function capaReply(lines: readonly string[]): string {
  return `+OK\r\n${lines.map((line) => `${line}\r\n`).join('')}.\r\n`;
}

export const GREETING = '+OK fake POP3 ready <1896.697170952@fake.example>\r\n';
export const DEFAULT_CAPA = ['USER', 'UIDL', 'TOP', 'PIPELINING', 'RESP-CODES', 'AUTH-RESP-CODE'];

export interface ScriptedOptions {
  /** Sent as the greeting. */
  greeting?: string;
  /** CAPA lines; `null` answers CAPA with -ERR. */
  capa?: readonly string[] | null;
  client?: Pop3ClientOptions;
  transport?: MemoryTransportOptions;
  /** What the client's end of the memory pair is made into before the client gets it. */
  wrap?: (inner: Transport) => Transport;
}

/** A client connected to a FakeServer: greeting and CAPA already exchanged. */
export async function scripted(options: ScriptedOptions = {}): Promise<{ client: Pop3Client; server: FakeServer }> {
  const pair = memoryTransportPair(options.transport);
  const server = new FakeServer(pair.server);
  const client = new Pop3Client(options.wrap?.(pair.client) ?? pair.client, options.client);
  void server.send(options.greeting ?? GREETING);
  const connected = client.connect();
  await server.expect('CAPA');
  void server.send(options.capa === null ? '-ERR unknown command\r\n' : capaReply(options.capa ?? DEFAULT_CAPA));
  await connected;
  return { client, server };
}

/** `client` logged in as alice with USER/PASS. */
export async function loggedIn(options: ScriptedOptions = {}): Promise<{ client: Pop3Client; server: FakeServer }> {
  const session = await scripted(options);
  const { client, server } = session;
  const login = client.login({ username: 'alice', password: 'secret', mechanism: 'USER' });
  await server.expect('USER alice');
  void server.send('+OK\r\n');
  await server.expect('PASS secret');
  void server.send('+OK logged in\r\n');
  await server.expect('CAPA');
  void server.send(capaReply(options.capa ?? DEFAULT_CAPA));
  await login;
  return session;
}

/**
 * How a promise has settled so far, without waiting for it: lets a test assert that nothing is left pending.
 * Give pending microtasks a chance first (see `flush`).
 */
export function track<T>(promise: Promise<T>): { readonly state: 'pending' | 'resolved' | 'rejected'; readonly value?: T; readonly error?: unknown } {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; value?: T; error?: unknown } = { state: 'pending' };
  promise.then(
    (value) => {
      tracked.state = 'resolved';
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

/** Lets every pending promise callback run (a macrotask turn; works under fake timers, which leave setImmediate alone). */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** {@link loggedIn} over the client end of a memory pair as `wrap` makes it into a transport, returned too. */
export async function sessionOver<T extends Transport>(wrap: (inner: Transport) => T, highWaterMark?: number) {
  let transport: T | undefined;
  const session = await loggedIn({ transport: { highWaterMark }, wrap: (inner) => (transport = wrap(inner)) });
  return { ...session, transport: transport! };
}
