/**
 * A page in real Chromium, through the real proxy, to a real Dovecot: a private instance started here with
 * the interop tests' helper (test/support/dovecot.ts: its own temp dir and free ports on 127.0.0.1, never the
 * system service). The page loads the browser bundle (dist/pop3kit.browser.js, from `npm run build`), logs
 * in, lists and retrieves every message, checked byte for byte against what Dovecot sends for each file
 * (`expectedWireBody`). Twice: to Dovecot's plain port, and to its implicit-TLS port with the proxy
 * originating TLS and verifying Dovecot's certificate against the allowlist's host name.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as Pop3kit from '../../core/index.js';
import { createUser, type Dovecot, startDovecot, type TestUser } from '../support/dovecot.js';
import { edgeCaseMessages, expectedWireBody, numberedMessages } from '../support/mail-generator.js';
import { fakeResolver, sha256, startProxy, type TestProxy } from './harness.js';
import { bundle, bundlePage, launchChromium, MISSING_BUNDLE } from '../support/browser-page.js';

const PAGE = bundlePage('pop3kit to Dovecot');

let dovecot: Dovecot | undefined;
let user: TestUser;
const messages = [...edgeCaseMessages(), ...numberedMessages(5)];
let proxy: TestProxy | undefined;
let http: Server | undefined;
let browser: Browser | undefined;
let page: Page | undefined;
const pageProblems: string[] = [];

beforeAll(async () => {
  dovecot = await startDovecot();
  user = await createUser(dovecot.info, 'proxy-browser', messages);
  if (bundle === undefined) return;
  const server = createServer((request, response) => {
    if (request.method === 'GET' && request.url === '/') response.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    else if (request.method === 'GET' && request.url === '/pop3kit.browser.js') response.writeHead(200, { 'content-type': 'text/javascript' }).end(bundle);
    else response.writeHead(404).end();
  });
  http = server;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy = await startProxy({
    allow: [`127.0.0.1:${dovecot.info.port}`, { target: `localhost:${dovecot.info.tlsPort}`, tls: true }],
    allowPrivate: true,
    origins: [origin],
    tlsCa: dovecot.info.ca,
    resolver: fakeResolver({ localhost: ['127.0.0.1'] }),
  });
  browser = await launchChromium();
  const opened = await browser.newPage();
  opened.on('console', (message) => {
    if (message.type() === 'error') pageProblems.push(`console error: ${message.text()}`);
  });
  opened.on('pageerror', (error) => pageProblems.push(`page error: ${error.message}`));
  await opened.goto(`${origin}/`);
  page = opened;
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await proxy?.proxy.close();
  http?.closeAllConnections();
  await new Promise((resolve) => (http ? http.close(resolve) : resolve(undefined)));
  await dovecot?.stop();
});

/** Page side: log in, LIST, RETR every message; returns sizes and SHA-256 of every body. */
async function retrieveAll(kit: typeof Pop3kit, { url, username, password }: { url: string; username: string; password: string }) {
  const hex = async (bytes: Uint8Array<ArrayBuffer>) =>
    Array.from(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)), (b) => b.toString(16).padStart(2, '0')).join('');
  const client = new kit.Pop3Client(await kit.openWebSocketTransport(url));
  await client.connect();
  // The page cannot start TLS itself; the proxy's hop is plain loopback or TLS the proxy originates.
  const login = await client.login({ username, password, requireTls: false });
  const list = (await client.list()) as { message: number; size: number }[];
  const bodies = [];
  for (const { message } of list) {
    const body = (await client.retr(message)) as Uint8Array<ArrayBuffer>;
    bodies.push({ message, length: body.length, sha256: await hex(body) });
  }
  await client.quit();
  return { mechanism: login.mechanism, count: list.length, bodies };
}

async function inPage<A, R>(scenario: (kit: typeof Pop3kit, arg: A) => Promise<R>, arg: A): Promise<R> {
  if (bundle === undefined) throw new Error(MISSING_BUNDLE);
  if (page === undefined) throw new Error('the page did not open (see the error of beforeAll)');
  return (await page.evaluate(`(${scenario.toString()})(globalThis.pop3kit, ${JSON.stringify(arg)})`)) as R;
}

describe('a page through the proxy to Dovecot', () => {
  const expected = () =>
    messages.map((m, i) => {
      const wire = expectedWireBody(m.bytes);
      return { message: i + 1, length: wire.length, sha256: sha256(wire) };
    });

  it.each([
    ['its plain port', () => `127.0.0.1:${dovecot!.info.port}`],
    ['its implicit-TLS port, TLS originated and verified by the proxy', () => `localhost:${dovecot!.info.tlsPort}`],
  ])('logs in, lists and retrieves every message byte for byte: %s', async (_, target) => {
    const result = await inPage(retrieveAll, { url: `${proxy!.url}?target=${target()}`, username: user.user, password: user.password });
    expect(result.count).toBe(messages.length);
    expect(result.bodies).toEqual(expected());
    expect(result.mechanism).toBe('SCRAM-SHA-256'); // the strongest Dovecot offers, computed in the page
    expect(pageProblems).toEqual([]);
  });
});
