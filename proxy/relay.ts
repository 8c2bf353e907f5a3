/**
 * One WebSocket relayed to one TCP connection, bytes only, with backpressure both ways.
 *
 * - Target to page: every TCP chunk goes out as one binary message. When the WebSocket's bufferedAmount
 *   (bytes not yet handed to the kernel) passes the high-water mark, the TCP socket is paused, so the target
 *   is slowed by TCP flow control instead of the proxy's memory filling up. The callback of each send runs
 *   once its bytes are flushed; there the socket resumes when the buffer is down to half the mark.
 * - Page to target: when `socket.write()` returns false the WebSocket stops reading (`ws.pause()`, which
 *   pauses its socket) until the TCP socket drains, so the page is slowed the same way. At most one maximal
 *   message (maxPayload) is buffered beyond the socket's own high-water mark.
 *
 * Timeouts and pings are driven from outside (the proxy ticks every session from one timer, which costs no
 * memory per session); the relay keeps the timestamps and the liveness flag they need.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { CloseCode } from './refusals.js';

/** How a relay ended. */
export interface RelayEnd {
  /** Bytes from the page to the target. */
  readonly bytesUp: number;
  /** Bytes from the target to the page. */
  readonly bytesDown: number;
  /** The first cause of the end: `page closed (1000)`, `target closed`, `idle timeout`, ... */
  readonly reason: string;
}

/** How long a TCP socket may take to flush and close after the page has gone. */
const TARGET_CLOSE_GRACE_MS = 5_000;

/** Relays between an open WebSocket and a connected TCP socket until both are closed. */
export class Relay {
  /** Bytes from the page to the target so far. */
  bytesUp = 0;
  /** Bytes from the target to the page so far. */
  bytesDown = 0;
  /** When a byte last moved either way, in ms (the clock given to the constructor). */
  lastActivity: number;
  /** False after a ping until the page answers it (or sends anything). */
  alive = true;
  readonly #ws: WebSocket;
  readonly #socket: Socket;
  readonly #highWaterMark: number;
  readonly #now: () => number;
  readonly #onEnd: (end: RelayEnd) => void;
  #reason: string | undefined;
  #tcpPaused = false;
  #wsPaused = false;
  #wsClosed = false;
  #socketClosed = false;

  constructor(ws: WebSocket, socket: Socket, options: { highWaterMark: number; now: () => number; onEnd: (end: RelayEnd) => void }) {
    this.#ws = ws;
    this.#socket = socket;
    this.#highWaterMark = options.highWaterMark;
    this.#now = options.now;
    this.#onEnd = options.onEnd;
    this.lastActivity = this.#now();

    socket.on('data', (chunk: Buffer) => this.#fromTarget(chunk));
    socket.on('end', () => this.close(CloseCode.Normal, 'target closed'));
    socket.on('error', (error: NodeJS.ErrnoException) => this.close(CloseCode.BadGateway, `target error: ${error.code ?? error.message}`));
    socket.on('close', () => {
      this.#socketClosed = true;
      this.close(CloseCode.Normal, 'target closed');
      this.#finish();
    });

    ws.on('message', (data: Buffer, isBinary: boolean) => this.#fromPage(data, isBinary));
    ws.on('pong', () => (this.alive = true));
    // ws closes the connection itself on protocol errors (oversize message: 1009, bad frame: 1002, too many
    // fragments: 1008) and reports the cause here first.
    ws.on('error', (error: Error & { code?: string }) => this.#note(`page error: ${error.code ?? error.message}`));
    ws.on('close', (code: number) => {
      this.#wsClosed = true;
      this.#note(`page closed (${code})`);
      // Let the target have what the page sent before it left, but not forever.
      this.#socket.end();
      this.#socket.setTimeout(TARGET_CLOSE_GRACE_MS, () => this.#socket.destroy());
      this.#finish();
    });
    // The proxy paused the WebSocket while it connected to the target.
    ws.resume();
  }

  /** True while bytes are waiting in either direction. */
  get busy(): boolean {
    return this.#ws.bufferedAmount > 0 || this.#socket.writableLength > 0;
  }

  /** Ends the session with a close frame (`code`, `reason`); the first reason given is the one reported. */
  close(code: number, reason: string): void {
    this.#note(reason);
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.close(code, reason);
    if (!this.#socketClosed && !this.#socket.writableEnded) this.#socket.end();
  }

  /** Drops both connections at once, without a close handshake (for a page that stopped answering pings). */
  terminate(reason: string): void {
    this.#note(reason);
    this.#ws.terminate();
    this.#socket.destroy();
  }

  /** Sends a ping; the page must answer before the next one. */
  ping(): void {
    this.alive = false;
    if (this.#ws.readyState === this.#ws.OPEN) this.#ws.ping();
  }

  #note(reason: string): void {
    this.#reason ??= reason;
  }

  #fromTarget(chunk: Buffer): void {
    this.bytesDown += chunk.length;
    this.lastActivity = this.#now();
    this.#ws.send(chunk, { binary: true }, this.#sent);
    if (!this.#tcpPaused && this.#ws.bufferedAmount > this.#highWaterMark) {
      this.#tcpPaused = true;
      this.#socket.pause();
    }
  }

  // One function for every send (not a closure per message): runs when a message's bytes reach the kernel.
  readonly #sent = (): void => {
    if (this.#tcpPaused && this.#ws.bufferedAmount <= this.#highWaterMark / 2) {
      this.#tcpPaused = false;
      this.#socket.resume();
    }
  };

  #fromPage(data: Buffer, isBinary: boolean): void {
    this.alive = true;
    if (!isBinary) {
      this.close(CloseCode.UnsupportedData, 'text frames are not supported');
      return;
    }
    this.bytesUp += data.length;
    this.lastActivity = this.#now();
    // Messages already parsed still arrive after pause() (at most what one socket read held): they are
    // written too, but wait for the same 'drain'.
    if (!this.#socket.write(data) && !this.#wsPaused) {
      this.#wsPaused = true;
      this.#ws.pause();
      this.#socket.once('drain', this.#drained);
    }
  }

  readonly #drained = (): void => {
    this.#wsPaused = false;
    this.#ws.resume();
  };

  #finish(): void {
    if (!this.#wsClosed || !this.#socketClosed) return;
    this.#onEnd({ bytesUp: this.bytesUp, bytesDown: this.bytesDown, reason: this.#reason ?? 'closed' });
  }
}
