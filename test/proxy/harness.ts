/**
 * Helpers for the proxy tests: a proxy with a captured log, a counting fake POP3 server, a WebSocket client
 * that reports how its connection ended, and a connector that records every connection attempt. Everything
 * listens and connects on 127.0.0.1 only, and no test resolves a real host name.
 */
import { fork } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { WebSocket } from 'ws';
import { type Connector, createProxy, defaultConnector, type Pop3Proxy, type ProxyLogRecord, type ProxyOptions } from '../../proxy/index.js';

/** A started proxy, its log records, and every connection attempt it made. */
export interface TestProxy {
  readonly proxy: Pop3Proxy;
  readonly url: string;
  readonly port: number;
  readonly log: ProxyLogRecord[];
  /** One entry per connector call: the addresses it was given. */
  readonly attempts: string[][];
}

/** Starts a proxy on 127.0.0.1, port 0, logging into an array and recording connector calls. */
export async function startProxy(options: Partial<ProxyOptions> & Pick<ProxyOptions, 'allow'>): Promise<TestProxy> {
  const log: ProxyLogRecord[] = [];
  const attempts: string[][] = [];
  const inner = options.connector ?? defaultConnector;
  const connector: Connector = (request) => {
    attempts.push(request.addresses.map((ip) => ip.text));
    return inner(request);
  };
  const proxy = await createProxy({ port: 0, ...options, logger: (record) => log.push(record), connector });
  const { port } = proxy.address;
  return { proxy, url: `ws://127.0.0.1:${port}/`, port, log, attempts };
}

/** A resolver that answers from a table and fails for anything else: tests never touch real DNS. */
export function fakeResolver(table: Record<string, string[]>) {
  return async (host: string) => {
    const addresses = table[host];
    if (addresses === undefined) throw Object.assign(new Error(`no such host ${host}`), { code: 'ENOTFOUND' });
    return addresses.map((address) => ({ address }));
  };
}

/** A local TCP server that counts the connections it accepted. */
export interface CountingServer {
  readonly server: Server;
  readonly port: number;
  readonly target: string;
  readonly sockets: Socket[];
  connections(): number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1 and hands each connection to `onConnection` (default: leave it open). */
export async function countingServer(onConnection: (socket: Socket) => void = () => {}): Promise<CountingServer> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    server,
    port,
    target: `127.0.0.1:${port}`,
    sockets,
    connections: () => sockets.length,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** The messages of the fake POP3 server's one mailbox. */
export const MAILBOX = [
  'From: a@example.org\r\nSubject: one\r\n\r\nHello.\r\n',
  'From: b@example.org\r\nSubject: two\r\n\r\n.a line that starts with a dot\r\nbye\r\n',
];
export const USER = 'alice';
export const PASSWORD = 'pa55-w0rd-very-secret';

/**
 * A small POP3 server (RFC 1939 plus CAPA, AUTH PLAIN, PIPELINING) for relaying whole sessions: USER/PASS or
 * AUTH PLAIN with USER/PASSWORD, STAT, LIST, UIDL, RETR, DELE, NOOP, QUIT.
 */
export async function fakePop3Server(): Promise<CountingServer> {
  return countingServer((socket) => {
    let buffer = '';
    let user: string | undefined;
    let authed = false;
    let awaitingPlain = false;
    const send = (text: string) => socket.write(text);
    const plainOk = (b64: string) => Buffer.from(b64, 'base64').toString() === `\0${USER}\0${PASSWORD}`;
    send('+OK fake POP3 ready\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (awaitingPlain) {
          awaitingPlain = false;
          authed = plainOk(line);
          send(authed ? '+OK logged in\r\n' : '-ERR [AUTH] no\r\n');
          continue;
        }
        const [verb = '', ...args] = line.split(' ');
        switch (verb.toUpperCase()) {
          case 'CAPA':
            send('+OK\r\nUSER\r\nSASL PLAIN\r\nPIPELINING\r\nUIDL\r\n.\r\n');
            break;
          case 'USER':
            user = args[0];
            send('+OK\r\n');
            break;
          case 'PASS':
            authed = user === USER && args.join(' ') === PASSWORD;
            send(authed ? '+OK logged in\r\n' : '-ERR [AUTH] no\r\n');
            break;
          case 'AUTH':
            if (args[1] !== undefined) {
              authed = plainOk(args[1]);
              send(authed ? '+OK logged in\r\n' : '-ERR [AUTH] no\r\n');
            } else {
              awaitingPlain = true;
              send('+ \r\n');
            }
            break;
          case 'STAT':
            send(`+OK ${MAILBOX.length} ${MAILBOX.reduce((n, m) => n + m.length, 0)}\r\n`);
            break;
          case 'LIST':
            send(`+OK\r\n${MAILBOX.map((m, i) => `${i + 1} ${m.length}\r\n`).join('')}.\r\n`);
            break;
          case 'UIDL':
            send(`+OK\r\n${MAILBOX.map((_, i) => `${i + 1} uid-${i + 1}\r\n`).join('')}.\r\n`);
            break;
          case 'RETR': {
            const message = MAILBOX[Number(args[0]) - 1];
            if (!authed || message === undefined) send('-ERR no such message\r\n');
            else send(`+OK ${message.length} octets\r\n${message.replace(/^\./gm, '..')}.\r\n`);
            break;
          }
          case 'DELE':
          case 'NOOP':
            send('+OK\r\n');
            break;
          case 'QUIT':
            socket.end('+OK bye\r\n');
            break;
          default:
            send('-ERR unknown command\r\n');
        }
      }
    });
  });
}

/** How a client WebSocket fared. */
export interface Attempt {
  readonly ws: WebSocket;
  /** Resolves once the handshake completed, or with the HTTP status it was refused with. */
  readonly opened: Promise<{ opened: true } | { opened: false; status: number }>;
  /** Resolves when the connection is closed, with the close code and reason. */
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Every binary message received, in order. */
  readonly received: Buffer[];
}

/** Opens a WebSocket to the proxy with `path` (e.g. `?target=...`) and optional headers. */
export function connect(url: string, path = '', headers: Record<string, string> = {}): Attempt {
  const ws = new WebSocket(url + path, { headers, perMessageDeflate: false });
  const received: Buffer[] = [];
  ws.on('message', (data: Buffer) => received.push(data));
  ws.on('error', () => {});
  const opened = new Promise<{ opened: true } | { opened: false; status: number }>((resolve) => {
    ws.once('open', () => resolve({ opened: true }));
    ws.once('unexpected-response', (_request, response) => {
      resolve({ opened: false, status: response.statusCode ?? 0 });
      response.resume();
      ws.terminate();
    });
    ws.once('close', () => resolve({ opened: false, status: 0 }));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  return { ws, opened, closed, received };
}

/** Resolves when `predicate` holds, polling; rejects after `ms`. */
export async function until(predicate: () => boolean, ms = 5_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/**
 * A POP3 conversation through a WebSocket: sends each command as one binary message and waits for its full
 * reply (multi-line for the verbs given). Returns the text of every reply.
 */
export async function converse(attempt: Attempt, commands: string[], multiLine = /^(CAPA|LIST|UIDL|RETR)\b/i): Promise<string[]> {
  const replies: string[] = [];
  let seen = 0;
  const text = () => Buffer.concat(attempt.received).toString('latin1');
  const takeReply = async (multi: boolean) => {
    let reply = '';
    await until(() => {
      const all = text().slice(seen);
      const end = multi && all.startsWith('+OK') ? all.indexOf('\r\n.\r\n') : all.indexOf('\r\n');
      if (end === -1) return false;
      reply = all.slice(0, end + (multi && all.startsWith('+OK') ? 5 : 2));
      return true;
    });
    seen += reply.length;
    return reply;
  };
  replies.push(await takeReply(false)); // greeting
  for (const command of commands) {
    attempt.ws.send(Buffer.from(`${command}\r\n`, 'latin1'));
    replies.push(await takeReply(multiLine.test(command)));
  }
  return replies;
}

/** SHA-256 of some buffers, hex. */
export function sha256(...parts: Uint8Array[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

/** A proxy running in a child process of its own, so that its memory can be measured alone. */
export interface ChildProxy {
  readonly url: string;
  /** The child's memory after a full garbage collection. */
  memory(): Promise<NodeJS.MemoryUsage>;
  /** Graceful: the proxy drains, then the child exits. */
  close(): Promise<void>;
  /** Ends the child at once. */
  kill(): void;
}

let compiled: string | undefined;

/**
 * Compiles proxy/*.ts to JavaScript (TypeScript's transpiler, file by file) under node_modules/.cache, where
 * `ws` resolves, and returns the path of index.js. Done once per test file.
 */
function compileProxy(): string {
  if (compiled !== undefined) return compiled;
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const out = path.join(root, 'node_modules', '.cache', 'pop3kit-test-proxy', String(process.pid));
  mkdirSync(out, { recursive: true });
  process.once('exit', () => rmSync(out, { recursive: true, force: true }));
  for (const name of readdirSync(path.join(root, 'proxy')).filter((n) => n.endsWith('.ts'))) {
    const source = readFileSync(path.join(root, 'proxy', name), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: true },
    });
    writeFileSync(path.join(out, name.replace(/\.ts$/, '.js')), outputText);
  }
  writeFileSync(
    path.join(out, 'child.mjs'),
    `import { createProxy } from './index.js';
const proxy = await createProxy({ ...JSON.parse(process.argv[2]), logger: () => {} });
process.on('message', async (message) => {
  if (message === 'memory') { globalThis.gc(); process.send({ memory: process.memoryUsage() }); }
  if (message === 'close') { await proxy.close(); process.send({ closed: true }); process.disconnect(); }
});
process.send({ port: proxy.address.port });
`,
  );
  compiled = out;
  return out;
}

/** Starts a proxy with JSON-able `options` (port 0) in a child process (node --expose-gc). */
export async function spawnProxy(options: Omit<ProxyOptions, 'logger' | 'resolver' | 'connector' | 'now'>): Promise<ChildProxy> {
  const dir = compileProxy();
  const child = fork(path.join(dir, 'child.mjs'), [JSON.stringify({ port: 0, ...options })], { execArgv: ['--expose-gc'], stdio: 'inherit' });
  const next = <T>(key: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (message: Record<string, unknown>) => {
        if (!(key in message)) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve(message[key] as T);
      };
      const onExit = (code: number) => reject(new Error(`the proxy child exited (${code})`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  const port = await next<number>('port');
  return {
    url: `ws://127.0.0.1:${port}/`,
    memory: () => {
      const reply = next<NodeJS.MemoryUsage>('memory');
      child.send('memory');
      return reply;
    },
    close: async () => {
      if (!child.connected) return;
      const reply = next<boolean>('closed');
      child.send('close');
      await reply;
    },
    kill: () => {
      child.kill();
    },
  };
}
