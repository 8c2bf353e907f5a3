/**
 * Pop3Server: the Node driver of the POP3 server. It accepts TCP connections, on plain listeners (with STLS
 * when TLS settings are given) and implicit-TLS listeners (RFC 8314), and runs one Pop3ServerSession
 * (core/server/session.ts) per connection over a SocketConnection (socket-connection.ts).
 *
 * What the driver adds to the session:
 * - timers, which the isomorphic engine and session never own: the idle timeout (RFC 1939 section 3: at
 *   least 10 minutes), the TLS handshake timeout, a stalled-writer timeout, a linger time at close;
 * - a cap on simultaneous connections: one over it gets `-ERR [SYS/TEMP]` (nothing, on a TLS listener,
 *   before any handshake) and is closed;
 * - graceful close(): stop accepting, end sessions once they sit idle, let busy ones finish within a grace
 *   period, then cut them off (no UPDATE: a session ended early deletes nothing);
 * - a log of metadata only (connection ids, addresses, user names, byte counts, reasons). Passwords and SASL
 *   payloads never reach it: the session's events carry none, and the protocol trace is not logged.
 */
import net from 'node:net';
import { hostname } from 'node:os';
import tls from 'node:tls';
import type { MailStore } from '../server/mailbox.js';
import { Pop3ServerSession, type ServerConnection, type ServerSessionOptions, type SessionEvent } from '../server/session.js';
import { handshake, SocketConnection } from './socket-connection.js';

/** A connection that is never used, for checking session options. */
const INERT: ServerConnection = { read: async () => undefined, write: async () => {}, close: () => {} };

/** Options of a Pop3Server. */
export interface Pop3ServerOptions
  extends Omit<ServerSessionOptions, 'tls' | 'timer' | 'onEvent' | 'trace' | 'idleTimeout'> {
  /** Users, passwords and mailboxes, e.g. a MaildirStore. */
  readonly store: MailStore;
  /**
   * Certificate and key (anything tls.createSecureContext takes). Enables STLS on plain listeners and is
   * required for implicit-TLS listeners.
   */
  readonly tls?: tls.SecureContextOptions;
  /** Most connections at once, over all listeners. Default 1000. */
  readonly maxConnections?: number;
  /** Milliseconds a session may wait on its client before it is closed (no reply, no UPDATE). Default 600 000. */
  readonly idleTimeout?: number;
  /** Milliseconds a TLS handshake (implicit, or after STLS) may take. Default 30 000. */
  readonly handshakeTimeout?: number;
  /** Milliseconds close() lets busy sessions finish before ending them. Default 10 000. */
  readonly closeTimeout?: number;
  /** Receives one event per connection milestone; metadata only. An exception it throws is ignored. */
  readonly log?: (event: LogEvent) => void;
}

/** Where to listen. */
export interface ListenOptions {
  /** Default `127.0.0.1`. */
  readonly host?: string;
  /** 0 picks a free port; the address returned says which. */
  readonly port: number;
  /** Implicit TLS (POP3S): the handshake comes first. Needs the server's `tls` option. */
  readonly tls?: boolean;
}

/** What the log callback receives. Values are plain data; none is ever a password or SASL payload. */
export type LogEvent =
  | { readonly type: 'connect'; readonly id: number; readonly remote: string; readonly tls: boolean }
  | { readonly type: 'refused'; readonly remote: string; readonly reason: 'too many connections' | 'closing' }
  | { readonly type: 'tls-failed'; readonly id: number; readonly error: string }
  | { readonly type: 'login'; readonly id: number; readonly user: string; readonly mechanism: string }
  | {
      readonly type: 'login-failed';
      readonly id: number;
      readonly user: string | undefined;
      readonly mechanism: string;
      readonly reason: string;
    }
  | {
      readonly type: 'close';
      readonly id: number;
      readonly reason: string;
      readonly user: string | undefined;
      readonly bytesIn: number;
      readonly bytesOut: number;
      readonly ms: number;
    }
  | { readonly type: 'error'; readonly id: number; readonly error: string };

const DEFAULTS = {
  maxConnections: 1000,
  idleTimeout: 600_000,
  handshakeTimeout: 30_000,
  closeTimeout: 10_000,
  lingerTimeout: 5_000,
};

/**
 * While the server closes, a session idle this long is ended. Long enough for the round trip between the
 * commands of a client that is still working, short enough not to keep a shutdown waiting on a client that
 * sits idle for minutes.
 */
const QUIET_MS = 1000;

/** One client connection, from accept to close. */
interface Connection {
  readonly socket: net.Socket;
  session: Pop3ServerSession | undefined;
  connection: SocketConnection | undefined;
  /** The session waits on its client alone (its idle timer runs): it can be ended without cutting a reply. */
  idle: boolean;
  /** While the server closes: ends the session if it stays idle (see QUIET_MS). */
  quiet: NodeJS.Timeout | undefined;
}

/** A POP3 server on Node sockets. */
export class Pop3Server {
  readonly #options: Pop3ServerOptions;
  readonly #sessionOptions: Omit<ServerSessionOptions, 'tls' | 'timer' | 'onEvent'>;
  readonly #secureContext: tls.SecureContext | undefined;
  readonly #maxConnections: number;
  readonly #listeners = new Set<net.Server>();
  readonly #connections = new Set<Connection>();
  #nextId = 1;
  #closing: Promise<void> | undefined;
  /** Resolves once the last connection is gone (armed by close()). */
  #drained: (() => void) | undefined;

  /** Throws at once when the TLS settings are unusable (unreadable key, key not matching the certificate). */
  constructor(options: Pop3ServerOptions) {
    const { store: _store, tls: tlsOptions, maxConnections, handshakeTimeout: _h, closeTimeout: _c, log: _log, ...session } = options;
    this.#options = options;
    this.#sessionOptions = {
      // The host name goes into APOP timestamps and CRAM-MD5 challenges; an unusual one is left out.
      ...(/^[A-Za-z0-9.-]+$/.test(hostname()) ? { hostname: hostname() } : {}),
      implementation: 'pop3kit',
      ...session,
      idleTimeout: options.idleTimeout ?? DEFAULTS.idleTimeout,
    };
    this.#secureContext = tlsOptions === undefined ? undefined : tls.createSecureContext(tlsOptions);
    this.#maxConnections = maxConnections ?? DEFAULTS.maxConnections;
    // Bad session options (a greeting with control characters, an unknown SASL mechanism) throw here, once,
    // rather than at every connection: a session checks them when it is made, and this one never runs.
    new Pop3ServerSession(INERT, options.store, { ...this.#sessionOptions, timer: () => () => {} });
  }

  /** Connections open now, sessions and TLS handshakes in progress included. */
  get connections(): number {
    return this.#connections.size;
  }

  /** Starts a listener; resolves with the address it is bound to. Call it once per address (plain, TLS). */
  listen(options: ListenOptions): Promise<net.AddressInfo> {
    if (this.#closing !== undefined) return Promise.reject(new Error('the server is closed'));
    if (options.tls === true && this.#secureContext === undefined) {
      return Promise.reject(new Error('an implicit-TLS listener needs the server to have TLS settings'));
    }
    const implicitTls = options.tls === true;
    const listener = net.createServer((socket) => this.#accept(socket, implicitTls));
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(options.port, options.host ?? '127.0.0.1', () => {
        listener.off('error', reject);
        this.#listeners.add(listener);
        resolve(listener.address() as net.AddressInfo);
      });
    });
  }

  /**
   * Stops accepting and resolves once every connection is closed. A session that waits on its client for
   * QUIET_MS (while closing) is ended then; any still open after `closeTimeout` is cut off. Ended sessions
   * close without UPDATE, so they delete nothing. Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const stopped = [...this.#listeners].map((listener) => new Promise<void>((resolve) => listener.close(() => resolve())));
    const drained = new Promise<void>((resolve) => (this.#drained = resolve));
    for (const c of this.#connections) {
      if (c.session === undefined) c.socket.destroy(); // a TLS handshake in progress
      else if (c.idle) this.#endWhenQuiet(c);
    }
    this.#checkDrained();
    const grace = setTimeout(() => {
      for (const c of this.#connections) {
        c.session?.shutdown();
        // A session stuck on a client that does not read would not get to its shutdown: drop the socket.
        (c.connection ?? c.socket).destroy();
      }
    }, this.#options.closeTimeout ?? DEFAULTS.closeTimeout);
    await drained;
    clearTimeout(grace);
    await Promise.all(stopped);
  }

  /** Ends the session once it has waited on its client for QUIET_MS, unless the client speaks first. */
  #endWhenQuiet(c: Connection): void {
    c.quiet ??= setTimeout(() => c.session?.shutdown(), QUIET_MS);
  }

  /** The session is working (or its idle timer fired): it is not quiet. */
  #busy(c: Connection): void {
    c.idle = false;
    clearTimeout(c.quiet);
    c.quiet = undefined;
  }

  #checkDrained(): void {
    if (this.#connections.size === 0) this.#drained?.();
  }

  #accept(socket: net.Socket, implicitTls: boolean): void {
    const remote = `${socket.remoteAddress}:${socket.remotePort}`;
    socket.on('error', () => {}); // reported through the session, or irrelevant before it
    const refusal = this.#closing !== undefined ? 'closing' : this.#connections.size >= this.#maxConnections ? 'too many connections' : undefined;
    if (refusal !== undefined) {
      this.#log({ type: 'refused', remote, reason: refusal });
      // A TLS client expects a handshake, so it gets no plaintext: only the close.
      if (implicitTls) socket.destroy();
      else socket.end(`-ERR [SYS/TEMP] ${refusal === 'closing' ? 'the server is shutting down' : 'too many connections'}, try again later\r\n`);
      return;
    }
    const id = this.#nextId++;
    const c: Connection = { socket, session: undefined, connection: undefined, idle: false, quiet: undefined };
    this.#connections.add(c);
    socket.once('close', () => {
      // A session removes its connection when it ends; this covers a socket that never got one.
      if (c.session === undefined) this.#forget(c);
    });
    this.#log({ type: 'connect', id, remote, tls: implicitTls });
    if (!implicitTls) return this.#run(c, id, socket, false);
    const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: this.#secureContext });
    secure.on('error', () => {});
    handshake(secure, this.#options.handshakeTimeout ?? DEFAULTS.handshakeTimeout).then(
      () => this.#run(c, id, secure, true),
      (error: unknown) => {
        this.#log({ type: 'tls-failed', id, error: errorText(error) });
        socket.destroy();
      },
    );
  }

  #run(c: Connection, id: number, socket: net.Socket, implicitTls: boolean): void {
    if (socket.destroyed) return; // closed before its session could start (server closing, client gone)
    const started = Date.now();
    const connection = new SocketConnection(socket, {
      secureContext: this.#secureContext,
      handshakeTimeout: this.#options.handshakeTimeout ?? DEFAULTS.handshakeTimeout,
      stallTimeout: this.#sessionOptions.idleTimeout!,
      lingerTimeout: DEFAULTS.lingerTimeout,
    });
    const session = new Pop3ServerSession(connection, this.#options.store, {
      ...this.#sessionOptions,
      tls: implicitTls,
      timer: (ms, fire) => this.#idleTimer(c, ms, fire),
      onEvent: (event) => this.#onSessionEvent(id, event),
    });
    c.session = session;
    c.connection = connection;
    session.run().then(
      (result) => {
        this.#log({
          type: 'close',
          id,
          reason: result.reason,
          user: result.user,
          bytesIn: connection.bytesIn,
          bytesOut: connection.bytesOut,
          ms: Date.now() - started,
        });
      },
      (error: unknown) => {
        // run() rejects only on a bug; the connection must not outlive it.
        this.#log({ type: 'error', id, error: errorText(error) });
        connection.destroy();
      },
    ).finally(() => this.#forget(c));
  }

  /**
   * The session's idle timer. The session arms it exactly when it waits on its client alone, so it also
   * tells a closing server which sessions can be ended without cutting a reply short.
   */
  #idleTimer(c: Connection, ms: number, fire: () => void): () => void {
    c.idle = true;
    if (this.#closing !== undefined) this.#endWhenQuiet(c);
    const timer = setTimeout(() => {
      this.#busy(c);
      fire();
    }, ms);
    return () => {
      this.#busy(c);
      clearTimeout(timer);
    };
  }

  #onSessionEvent(id: number, event: SessionEvent): void {
    switch (event.type) {
      case 'login':
        return this.#log({ type: 'login', id, user: event.user, mechanism: event.mechanism });
      case 'login-failed':
        return this.#log({ type: 'login-failed', id, user: event.user, mechanism: event.mechanism, reason: event.reason });
      case 'closed':
        if (event.reason === 'tls-failed') this.#log({ type: 'tls-failed', id, error: 'STLS handshake failed' });
        return;
      case 'trace':
        return; // the `trace` option is never set: what the client says is not the log's business
    }
  }

  #forget(c: Connection): void {
    if (!this.#connections.delete(c)) return;
    this.#checkDrained();
  }

  #log(event: LogEvent): void {
    try {
      this.#options.log?.(event);
    } catch {
      // A failing logger must not take sessions down with it.
    }
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
