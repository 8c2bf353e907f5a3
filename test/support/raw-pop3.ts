/**
 * A bare POP3 line client over a Node socket, for server tests that need exact control: send any line, read
 * single-line and multi-line replies as they come, stop reading, drop the connection without QUIT.
 */
import net from 'node:net';

export class RawPop3 {
  readonly socket: net.Socket;
  #buffer = Buffer.alloc(0);
  #closed = false;
  #waiter: (() => void) | undefined;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#buffer = Buffer.concat([this.#buffer, chunk]);
      this.#wake();
    });
    socket.on('close', () => {
      this.#closed = true;
      this.#wake();
    });
    socket.on('error', () => {});
  }

  /** Connects; the greeting is the first line(). */
  static connect(port: number): Promise<RawPop3> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => resolve(new RawPop3(socket)));
      socket.once('error', reject);
    });
  }

  /** Connects, reads the greeting and logs in with USER/PASS (both must succeed). */
  static async login(port: number, user: string, password: string): Promise<RawPop3> {
    const raw = await RawPop3.connect(port);
    await raw.expect(/^\+OK/);
    await raw.command(`USER ${user}`, /^\+OK/);
    await raw.command(`PASS ${password}`, /^\+OK/);
    return raw;
  }

  /** True once the server closed the connection. */
  get closed(): boolean {
    return this.#closed;
  }

  send(text: string): void {
    this.socket.write(text);
  }

  /** The next line, without its CRLF; undefined if the connection closed first. */
  async line(): Promise<string | undefined> {
    for (;;) {
      const end = this.#buffer.indexOf('\r\n');
      if (end !== -1) {
        const line = this.#buffer.subarray(0, end).toString('latin1');
        this.#buffer = this.#buffer.subarray(end + 2);
        return line;
      }
      if (this.#closed) return undefined;
      await new Promise<void>((resolve) => (this.#waiter = resolve));
    }
  }

  /** The next line, which must match. */
  async expect(pattern: RegExp): Promise<string> {
    const line = await this.line();
    if (line === undefined || !pattern.test(line)) throw new Error(`expected ${pattern}, got ${JSON.stringify(line)}`);
    return line;
  }

  /** Sends a command and returns its status line, which must match. */
  command(line: string, pattern: RegExp): Promise<string> {
    this.send(`${line}\r\n`);
    return this.expect(pattern);
  }

  /** The body of a multi-line reply whose +OK was read: its bytes up to the terminator, dot-unstuffed. */
  async body(): Promise<Buffer> {
    const lines: string[] = [];
    for (;;) {
      const line = await this.line();
      if (line === undefined) throw new Error('the connection closed inside a multi-line reply');
      if (line === '.') return Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1');
      lines.push(line.startsWith('.') ? line.slice(1) : line);
    }
  }

  /** Resolves once the server has closed the connection. */
  async whenClosed(): Promise<void> {
    while (!this.#closed) await new Promise<void>((resolve) => (this.#waiter = resolve));
  }

  /** Drops the connection without QUIT, as a lost connection would. */
  drop(): void {
    this.socket.destroy();
  }

  #wake(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }
}
