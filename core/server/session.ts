/**
 * Pop3ServerSession: the ready-made driver of Pop3ServerEngine. It wires one engine to a MailStore and to a
 * ServerConnection (a Node socket, a WebSocket bridge, the in-memory pipe of memory-connection.ts) and runs
 * the session to its end. Like the engine it is isomorphic: no Node built-ins, no timers of its own (the
 * idle timer is injected), no clock.
 *
 * Two loops run side by side:
 *   - the reader reads from the connection while the engine `wantsInput` and feeds it;
 *   - the processor writes what the engine has to send (awaiting each write: the connection's backpressure
 *     holds the engine back) and answers its requests from the store, streaming bodies chunk by chunk.
 * When the processor runs out of work while the engine is `idle`, it arms the idle timer; any input disarms
 * it. When the engine closes, the session flushes, releases the mailbox (exactly once, however the session
 * ended), closes the connection and resolves `run()`.
 */
import type { SecretText } from '../secret.js';
import type { Mailbox, MailStore } from './mailbox.js';
import { randomTimestamp, type RandomSource, secureRandom } from './randomness.js';
import { type CloseReason, Pop3ServerEngine, type ServerEngineOptions, type ServerEvent, type ServerState } from './server-engine.js';

/** A byte connection to one client, as a session uses it. */
export interface ServerConnection {
  /**
   * The next bytes from the client, or undefined once the client has ended its stream; rejects when the
   * connection fails. The session never has two reads outstanding.
   */
  read(): Promise<Uint8Array | undefined>;
  /** Send bytes; resolve once the connection can take more (backpressure); reject when it failed. */
  write(bytes: Uint8Array): Promise<void>;
  /**
   * Switch to TLS as the server, after the +OK to STLS has been written. The session calls it only while no
   * read is outstanding, so no TLS handshake byte can be consumed as plaintext. Resolve when the handshake is
   * done, reject if it failed. Leave it out and STLS is not offered.
   */
  startTls?(): Promise<void>;
  /** Close the connection after the last write. A read outstanding must then settle (undefined or rejection). */
  close(): void | Promise<void>;
}

/** Events a session reports for logs. */
export type SessionEvent = Extract<ServerEvent, { type: 'login' | 'login-failed' | 'trace' | 'closed' }>;

export interface ServerSessionOptions extends Omit<ServerEngineOptions, 'random' | 'apopTimestamp' | 'starttls'> {
  /** Random bytes. Default `secureRandom` (Web Crypto). */
  readonly random?: RandomSource;
  /** The APOP timestamp: default a fresh random one per session; `false` turns APOP off. */
  readonly apopTimestamp?: string | false;
  /**
   * Close a session that has been idle (waiting on the client alone) this many milliseconds, without a reply
   * and without UPDATE. RFC 1939 section 3 asks for at least 10 minutes. Needs `timer`.
   */
  readonly idleTimeout?: number;
  /** Start a timer: call `fire` after `ms` milliseconds unless the returned function cancels it first. */
  readonly timer?: (ms: number, fire: () => void) => () => void;
  /** Called for each login, failed login, trace line and the final `closed` event. */
  readonly onEvent?: (event: SessionEvent) => void;
}

/** How a session ended. */
export interface SessionResult {
  readonly reason: CloseReason;
  /** The user who logged in, if one did. */
  readonly user: string | undefined;
}

export class Pop3ServerSession {
  readonly #engine: Pop3ServerEngine;
  readonly #connection: ServerConnection;
  readonly #store: MailStore;
  readonly #options: ServerSessionOptions;
  #mailbox: Mailbox | undefined;
  #started = false;
  #finished = false;
  #connectionLost = false;
  #readOutstanding = false;
  #cancelTimer: (() => void) | undefined;
  /** Wakes the processor: input arrived, the idle timer fired, or shutdown() was called. */
  readonly #work = new Signal();
  /** Wakes the reader: the engine may want input again. */
  readonly #readable = new Signal();

  constructor(connection: ServerConnection, store: MailStore, options: ServerSessionOptions = {}) {
    if (options.idleTimeout !== undefined && options.timer === undefined) {
      throw new TypeError('idleTimeout needs a timer');
    }
    const random = options.random ?? secureRandom;
    const { apopTimestamp, idleTimeout: _idle, timer: _timer, onEvent: _onEvent, ...engineOptions } = options;
    this.#engine = new Pop3ServerEngine({
      ...engineOptions,
      random,
      apopTimestamp: apopTimestamp === false ? undefined : (apopTimestamp ?? randomTimestamp(random, options.hostname ?? 'localhost')),
      starttls: connection.startTls !== undefined,
    });
    this.#connection = connection;
    this.#store = store;
    this.#options = options;
  }

  /** The engine's state, for display (e.g. the demo's state diagram). */
  get state(): ServerState {
    return this.#engine.state;
  }

  /** Run the session to its end. Rejects only on a bug; every ending the protocol knows resolves. */
  async run(): Promise<SessionResult> {
    if (this.#started) throw new Error('a session runs only once');
    this.#started = true;
    const reading = this.#readLoop();
    try {
      await this.#processLoop();
    } finally {
      this.#finished = true;
      this.#cancelIdleTimer();
      this.#readable.notify();
      await this.#mailbox?.close().catch(() => undefined);
      await Promise.resolve(this.#connection.close()).catch(() => undefined);
      await reading;
    }
    return { reason: this.#engine.closeReason!, user: this.#engine.user };
  }

  /** End the session now (server shutdown): no reply, no UPDATE. */
  shutdown(): void {
    this.#engine.terminate('shutdown');
    this.#work.notify();
  }

  async #processLoop(): Promise<void> {
    const engine = this.#engine;
    for (;;) {
      const out = engine.takeOutgoing();
      if (out !== undefined) {
        await this.#send(out);
        continue;
      }
      const event = engine.nextEvent();
      if (event !== undefined) {
        await this.#handle(event);
        if (event.type === 'closed') return;
        continue;
      }
      this.#armIdleTimer();
      this.#readable.notify();
      await this.#work.wait();
    }
  }

  async #readLoop(): Promise<void> {
    const engine = this.#engine;
    while (!this.#finished) {
      if (!engine.wantsInput) {
        await this.#readable.wait();
        continue;
      }
      let chunk: Uint8Array | undefined;
      let failed = false;
      this.#readOutstanding = true;
      try {
        chunk = await this.#connection.read();
      } catch {
        failed = true;
      }
      this.#readOutstanding = false;
      if (this.#finished) return;
      this.#cancelIdleTimer();
      if (failed) this.#lose();
      else if (chunk === undefined) engine.receiveEnd();
      else engine.receive(chunk);
      this.#work.notify();
      if (failed || chunk === undefined) return;
    }
  }

  async #handle(event: ServerEvent): Promise<void> {
    const engine = this.#engine;
    switch (event.type) {
      case 'password': {
        let password: SecretText | undefined;
        try {
          password = await this.#store.password(event.user);
        } catch {
          return engine.requestFailed(event.request);
        }
        return engine.resolvePassword(event.request, password);
      }
      case 'open': {
        let opened: Mailbox | 'in-use';
        try {
          opened = await this.#store.open(event.user);
        } catch {
          return engine.requestFailed(event.request);
        }
        if (opened === 'in-use') return engine.resolveOpen(event.request, 'in-use');
        // Kept before answering, so that it is released however the session goes on from here.
        this.#mailbox = opened;
        return engine.resolveOpen(event.request, opened.messages);
      }
      case 'retrieve':
        return this.#stream(event);
      case 'update':
        try {
          await this.#mailbox!.delete(event.deleted);
        } catch {
          return engine.requestFailed(event.request);
        }
        return engine.resolveUpdate(event.request);
      case 'starttls':
        if (this.#readOutstanding) throw new Error('bug: STLS with a read outstanding');
        try {
          await this.#connection.startTls!();
        } catch {
          return engine.terminate('tls-failed');
        }
        return engine.tlsStarted();
      case 'closed':
      case 'login':
      case 'login-failed':
      case 'trace':
        this.#options.onEvent?.(event);
        return;
    }
  }

  /** Feed a message to the engine, one chunk at a time, each written before the next is read. */
  async #stream(event: Extract<ServerEvent, { type: 'retrieve' }>): Promise<void> {
    const engine = this.#engine;
    try {
      for await (const chunk of this.#mailbox!.read(event.uid)) {
        // false: TOP has its lines, or the session closed. Leaving the loop closes the store's iterator.
        if (!engine.messageData(event.request, chunk)) return;
        const out = engine.takeOutgoing();
        if (out !== undefined) await this.#send(out);
      }
    } catch {
      return engine.requestFailed(event.request);
    }
    engine.messageEnd(event.request);
  }

  async #send(bytes: Uint8Array): Promise<void> {
    if (this.#connectionLost) return;
    try {
      await this.#connection.write(bytes);
    } catch {
      this.#lose();
    }
  }

  #lose(): void {
    this.#connectionLost = true;
    this.#engine.terminate('connection-lost');
  }

  #armIdleTimer(): void {
    const { idleTimeout, timer } = this.#options;
    if (idleTimeout === undefined || this.#cancelTimer !== undefined || !this.#engine.idle) return;
    this.#cancelTimer = timer!(idleTimeout, () => {
      this.#cancelTimer = undefined;
      if (!this.#engine.idle) return;
      this.#engine.terminate('idle-timeout');
      this.#work.notify();
    });
  }

  #cancelIdleTimer(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }
}

/** A wake-up call between the two loops; a notify() with nobody waiting is kept for the next wait(). */
class Signal {
  #waiters: (() => void)[] = [];
  #pending = false;

  wait(): Promise<void> {
    if (this.#pending) {
      this.#pending = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  notify(): void {
    const waiters = this.#waiters;
    if (waiters.length === 0) {
      this.#pending = true;
      return;
    }
    this.#waiters = [];
    for (const wake of waiters) wake();
  }
}
