/**
 * The embedded POP3 server (core/node/server.ts) on 127.0.0.1, which can be stopped and started again on the
 * same port, so that the page can show what happens when a server goes away and comes back.
 */
import { type LogEvent, Pop3Server } from '../../core/node/server.js';
import type { MailStore } from '../../core/server/mailbox.js';
import { listenError } from './errors.js';

/** How long a stop lets busy sessions finish before it cuts them off, in milliseconds. */
const CLOSE_TIMEOUT_MS = 2_000;

/** Options of an EmbeddedPop3. */
export interface EmbeddedPop3Options {
  readonly store: MailStore;
  /** 0 picks a free port on the first start; later starts reuse the port it got. */
  readonly port: number;
  /** Receives the server's connection metadata (never passwords or mail). */
  readonly log?: (event: LogEvent) => void;
}

/** A Pop3Server that can be started again after a stop (a Pop3Server itself closes for good). */
export class EmbeddedPop3 {
  readonly host = '127.0.0.1';
  readonly #options: EmbeddedPop3Options;
  #port: number;
  #server: Pop3Server | undefined;

  constructor(options: EmbeddedPop3Options) {
    this.#options = options;
    this.#port = options.port;
  }

  /** The port: the one asked for, or the one port 0 got once started. */
  get port(): number {
    return this.#port;
  }

  /** Starts listening (nothing happens if it already is). Rejects with PortInUseError when the port is taken. */
  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const server = new Pop3Server({ store: this.#options.store, log: this.#options.log, closeTimeout: CLOSE_TIMEOUT_MS });
    this.#server = server;
    try {
      this.#port = (await server.listen({ host: this.host, port: this.#port })).port;
    } catch (error) {
      this.#server = undefined;
      await server.close();
      throw listenError(error, 'pop3', this.#port);
    }
  }

  /**
   * Stops listening and ends every session: idle ones within a second, busy ones within CLOSE_TIMEOUT_MS.
   * Sessions ended this way commit no deletions. Nothing happens if it is not running.
   */
  async stop(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    await server?.close();
  }
}
