/**
 * The attack matrix: every request the proxy must refuse, each with its HTTP status or close code and reason,
 * and proof that nothing was connected: the connector records every call (and the proxy under attack has a
 * stub connector that could not connect anywhere anyway), and a local TCP listener counts connections.
 * A control request in each group shows the same setup does reach the connector when it should.
 * Host names resolve through a fake table: no test touches real DNS or any address but 127.0.0.1.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Connector, createProxy, ProxyConfigError, signToken } from '../../proxy/index.js';
import { connect, type CountingServer, countingServer, fakeResolver, startProxy, type TestProxy, until } from './harness.js';

/** A connector that never connects: it fails like an unreachable host. The harness records each call. */
const stubConnector: Connector = async () => {
  throw Object.assign(new Error('stub connector'), { code: 'EHOSTUNREACH' });
};

const PUBLIC_IP = '93.184.215.14';
const ORIGIN = 'https://mail.example.org';

/** Names and what they resolve to, for the address policy through DNS. */
const DNS: Record<string, string[]> = {
  'pop.example.com': [PUBLIC_IP],
  'private.example.com': ['10.1.2.3'],
  'rfc1918-172.example.com': ['172.20.0.5'],
  'rfc1918-192.example.com': ['192.168.1.10'],
  'mixed.example.com': [PUBLIC_IP, '192.168.1.10'],
  'mixed6.example.com': ['2606:4700::1111', 'fd12::1'],
  'metadata.example.com': ['169.254.169.254'],
  'cgnat.example.com': ['100.64.0.1'],
  'zero.example.com': ['0.0.0.0'],
  'unspecified6.example.com': ['::'],
  'ula.example.com': ['fd00::1'],
  'linklocal6.example.com': ['fe80::1%eth0'],
  'mapped-private.example.com': ['::ffff:10.0.0.1'],
  'nat64-metadata.example.com': ['64:ff9b::a9fe:a9fe'],
  '6to4-private.example.com': ['2002:c0a8:0101::1'],
  'multicast.example.com': ['224.0.0.1'],
  'broadcast.example.com': ['255.255.255.255'],
  'reserved.example.com': ['240.0.0.1'],
  'docs.example.com': ['192.0.2.1'],
  'garbage.example.com': ['not-an-ip'],
};

/** 127.0.0.1 and ::1 as a resolver, an operator or a page might spell them. */
const LOOPBACK_SPELLINGS = [
  '127.0.0.1',
  '127.1',
  '127.0.1',
  '127.0.0.1.',
  '2130706433',
  '0x7f000001',
  '017700000001',
  '0177.0.0.1',
  '0177.0.0.01',
  '0x7f.1',
  '0x7F.0.0.1',
  '127.0x0.0.1',
  '127.000.000.001',
  '127.255.255.254',
  '::1',
  '0:0:0:0:0:0:0:1',
  '0000:0000:0000:0000:0000:0000:0000:0001',
  '::0:1',
  '::1%lo',
  '[::1]',
  '::ffff:127.0.0.1',
  '[::ffff:127.0.0.1]',
  '::ffff:7f00:1',
  '0:0:0:0:0:ffff:7f00:0001',
  '::127.0.0.1',
  '64:ff9b::127.0.0.1',
  '64:ff9b::7f00:1',
  '2002:7f00:1::',
];

const loopbackDns = Object.fromEntries(LOOPBACK_SPELLINGS.map((spelling, i) => [`loop${i}.example.com`, [spelling]]));

let local: CountingServer;
let attacked: TestProxy;

beforeAll(async () => {
  local = await countingServer();
  attacked = await startProxy({
    allow: [...Object.keys(DNS), ...Object.keys(loopbackDns)].map((name) => `${name}:110`),
    origins: [ORIGIN],
    resolver: fakeResolver({ ...DNS, ...loopbackDns }),
    connector: stubConnector,
    rateLimit: false, // every request here comes from 127.0.0.1; the flood has its own test
  });
});

afterAll(async () => {
  await attacked.proxy.close();
  await local.close();
});

afterEach(() => {
  // Whatever a test did, the local listener never saw a connection from the attacked proxy.
  expect(local.connections()).toBe(0);
});

/** Opens a WebSocket and waits until the proxy has answered it. */
async function attempt(url: string, path: string, headers: Record<string, string> = {}) {
  const a = connect(url, path, headers);
  const opened = await a.opened;
  const closed = opened.opened ? await a.closed : undefined;
  return { opened, closed };
}

describe('control', () => {
  it('a valid request reaches the connector (so the zero counts below mean something)', async () => {
    const before = attacked.attempts.length;
    const result = await attempt(attacked.url, '?target=pop.example.com:110', { origin: ORIGIN });
    expect(result.closed).toEqual({ code: 1014, reason: 'target unreachable' });
    expect(attacked.attempts.slice(before)).toEqual([[PUBLIC_IP]]);
  });
});

describe('targets', () => {
  it.each([
    ['an unlisted host', '?target=evil.example.net:110'],
    ['a listed host on another port', '?target=pop.example.com:25'],
    ['the local listener', () => `?target=${local.target}`],
    ['the proxy itself', () => `?target=127.0.0.1:${attacked.port}`],
    ['a listed host with a suffix', '?target=pop.example.com:110.evil.net'],
    ['a listed host with userinfo', '?target=user@pop.example.com:110'],
    ['a percent-encoded listed host', '?target=pop%2eexample.com%3a1100'],
    ['a second target parameter after an unlisted one', '?target=evil.example.net:110&target=pop.example.com:110'],
    ...LOOPBACK_SPELLINGS.map((spelling) => [`loopback spelled ${spelling}`, `?target=${encodeURIComponent(spelling)}:110`] as const),
  ] as [string, string | (() => string)][])('refuses %s (1008 target-not-allowed)', async (_, path) => {
    const before = attacked.attempts.length;
    const result = await attempt(attacked.url, typeof path === 'string' ? path : path(), { origin: ORIGIN });
    expect(result.closed).toEqual({ code: 1008, reason: 'target-not-allowed' });
    expect(attacked.attempts.length).toBe(before);
  });

  it('refuses a missing target when several are allowed (1008 target-missing)', async () => {
    const result = await attempt(attacked.url, '', { origin: ORIGIN });
    expect(result.closed).toEqual({ code: 1008, reason: 'target-missing' });
  });
});

describe('addresses a listed name resolves to', () => {
  it.each([
    ['private.example.com', '10.1.2.3 is private'],
    ['rfc1918-172.example.com', '172.20.0.5 is private'],
    ['rfc1918-192.example.com', '192.168.1.10 is private'],
    ['mixed.example.com', '192.168.1.10 is private'],
    ['mixed6.example.com', 'fd12::1 is unique-local'],
    ['metadata.example.com', '169.254.169.254 is link-local'],
    ['cgnat.example.com', '100.64.0.1 is cgnat'],
    ['zero.example.com', '0.0.0.0 is unspecified'],
    ['unspecified6.example.com', ':: is unspecified'],
    ['ula.example.com', 'fd00::1 is unique-local'],
    ['linklocal6.example.com', 'fe80::1 is link-local'],
    ['mapped-private.example.com', '::ffff:a00:1 is private (ipv4-mapped 10.0.0.1)'],
    ['nat64-metadata.example.com', '64:ff9b::a9fe:a9fe is link-local (nat64 169.254.169.254)'],
    ['6to4-private.example.com', '2002:c0a8:101::1 is private (6to4 192.168.1.1)'],
    ['multicast.example.com', '224.0.0.1 is multicast'],
    ['broadcast.example.com', '255.255.255.255 is broadcast'],
    ['reserved.example.com', '240.0.0.1 is reserved'],
    ['docs.example.com', '192.0.2.1 is documentation'],
    ['garbage.example.com', '"not-an-ip" is not an IP address'],
    ...LOOPBACK_SPELLINGS.map((_, i) => [`loop${i}.example.com`, /is loopback|is .*(ipv4-|nat64|6to4).*127\./] as const),
  ] as [string, string | RegExp][])('refuses %s (1008 address-not-allowed)', async (name, detail) => {
    const before = attacked.attempts.length;
    const result = await attempt(attacked.url, `?target=${name}:110`, { origin: ORIGIN });
    expect(result.closed).toEqual({ code: 1008, reason: 'address-not-allowed' });
    expect(attacked.attempts.length).toBe(before);
    const record = attacked.log.filter((r) => r.event === 'refused').at(-1);
    expect(record).toMatchObject({ reason: 'address-not-allowed', target: `${name}:110` });
    expect((record as { detail: string }).detail).toMatch(typeof detail === 'string' ? `${name}: ${detail}` : detail);
  });

  it('resolves once and connects to the address it checked (no DNS rebinding)', async () => {
    let calls = 0;
    // First answer public, every later one loopback: a rebinding attacker's DNS server.
    const rebinding = async () => [{ address: calls++ === 0 ? PUBLIC_IP : '127.0.0.1' }];
    const proxy = await startProxy({ allow: ['rebind.example.com:110'], resolver: rebinding, connector: stubConnector });
    try {
      const result = await attempt(proxy.url, '');
      expect(result.closed?.code).toBe(1014);
      expect(calls).toBe(1);
      expect(proxy.attempts).toEqual([[PUBLIC_IP]]);
    } finally {
      await proxy.proxy.close();
    }
  });
});

describe('refusing to start', () => {
  it.each(LOOPBACK_SPELLINGS.filter((s) => !s.includes('%')))('refuses an allowlist entry %s without allowPrivate', async (spelling) => {
    const host = spelling.includes(':') ? `[${spelling.replace(/^\[|\]$/g, '')}]` : spelling;
    await expect(createProxy({ allow: [`${host}:110`], port: 0, logger: () => {} })).rejects.toThrow(
      /is loopback|is .*(ipv4-|nat64|6to4).*127\..*allowPrivate/,
    );
  });

  it.each(['0.0.0.0:110', '[::]:110', '224.0.0.1:110', '255.255.255.255:110', '240.1.2.3:110', '192.0.2.1:110'])(
    'refuses %s even with allowPrivate',
    async (entry) => {
      await expect(createProxy({ allow: [entry], allowPrivate: true, port: 0, logger: () => {} })).rejects.toThrow(ProxyConfigError);
    },
  );

  it.each([[[]], [undefined]])('refuses an empty allowlist (%s)', async (allow) => {
    await expect(createProxy({ allow: allow as unknown as string[], port: 0, logger: () => {} })).rejects.toThrow(
      /without an allowlist/,
    );
  });
});

describe('origins', () => {
  it.each(['https://evil.example.net', 'null', 'https://mail.example.org.evil.net', 'http://mail.example.org', 'https://mail.example.org:8443'])(
    'refuses origin %s (HTTP 403)',
    async (origin) => {
      const before = attacked.attempts.length;
      const result = await attempt(attacked.url, '?target=pop.example.com:110', { origin });
      expect(result.opened).toEqual({ opened: false, status: 403 });
      expect(attacked.attempts.length).toBe(before);
    },
  );

  it('refuses every browser origin when none is configured', async () => {
    const proxy = await startProxy({ allow: ['pop.example.com:110'], resolver: fakeResolver(DNS), connector: stubConnector });
    try {
      expect((await attempt(proxy.url, '', { origin: ORIGIN })).opened).toEqual({ opened: false, status: 403 });
      expect(proxy.attempts).toEqual([]);
    } finally {
      await proxy.proxy.close();
    }
  });
});

describe('tokens', () => {
  const secret = 'a-token-secret-of-at-least-32-bytes!!';
  let proxy: TestProxy;
  const clock = 1_800_000_000_000;
  beforeAll(async () => {
    proxy = await startProxy({
      allow: ['pop.example.com:110', 'other.example.com:110'],
      resolver: fakeResolver({ ...DNS, 'other.example.com': [PUBLIC_IP] }),
      connector: stubConnector,
      rateLimit: false,
      tokenSecret: secret,
      now: () => clock,
    });
  });
  afterAll(() => proxy.proxy.close());

  const token = (target: string, expiresAt: number, key = secret) => encodeURIComponent(signToken({ target, expiresAt }, key));
  const tamper = (t: string) => {
    const raw = decodeURIComponent(t);
    const [payload, mac] = raw.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    const forged = Buffer.from(JSON.stringify({ ...claims, t: 'other.example.com:110' })).toString('base64url');
    return encodeURIComponent(`${forged}.${mac}`);
  };

  it.each([
    ['missing', () => '?target=pop.example.com:110', 'token-missing'],
    ['empty', () => '?target=pop.example.com:110&token=', 'token-missing'],
    ['expired', () => `?target=pop.example.com:110&token=${token('pop.example.com:110', clock - 60_000)}`, 'token-expired'],
    ['for another target', () => `?target=pop.example.com:110&token=${token('other.example.com:110', clock + 60_000)}`, 'token-wrong-target'],
    ['tampered (target changed)', () => `?target=other.example.com:110&token=${tamper(token('pop.example.com:110', clock + 60_000))}`, 'token-invalid'],
    ['signed with another secret', () => `?target=pop.example.com:110&token=${token('pop.example.com:110', clock + 60_000, `${secret}x`)}`, 'token-invalid'],
    ['not short-lived', () => `?target=pop.example.com:110&token=${token('pop.example.com:110', clock + 24 * 3600_000)}`, 'token-invalid'],
    ['garbage', () => '?target=pop.example.com:110&token=abc', 'token-invalid'],
  ] as [string, () => string, string][])('refuses a %s token (1008)', async (_, path, reason) => {
    const before = proxy.attempts.length;
    const result = await attempt(proxy.url, path());
    expect(result.closed).toEqual({ code: 1008, reason });
    expect(proxy.attempts.length).toBe(before);
  });

  it('accepts a valid token, also one expired by less than the skew (control)', async () => {
    for (const expiresAt of [clock + 60_000, clock - 2_000]) {
      const before = proxy.attempts.length;
      const result = await attempt(proxy.url, `?target=pop.example.com:110&token=${token('pop.example.com:110', expiresAt)}`);
      expect(result.closed?.code).toBe(1014);
      expect(proxy.attempts.length).toBe(before + 1);
    }
  });
});

describe('frames', () => {
  let target: CountingServer;
  let proxy: TestProxy;
  const bytesAtTarget = () => target.sockets.reduce((n, s) => n + s.bytesRead, 0);
  beforeAll(async () => {
    target = await countingServer();
    proxy = await startProxy({ allow: [target.target], allowPrivate: true, maxPayload: 1024 });
  });
  afterAll(async () => {
    await proxy.proxy.close();
    await target.close();
  });

  it('closes on a text frame with 1003, and the text never reaches the target', async () => {
    const a = connect(proxy.url);
    await a.opened;
    await until(() => target.connections() === 1);
    a.ws.send('USER alice\r\n');
    expect(await a.closed).toEqual({ code: 1003, reason: 'text frames are not supported' });
    expect(bytesAtTarget()).toBe(0);
  });

  it('closes on a message over maxPayload with 1009, and none of it reaches the target', async () => {
    const a = connect(proxy.url);
    await a.opened;
    await until(() => target.connections() === 2);
    a.ws.send(Buffer.alloc(1025, 0x41));
    expect((await a.closed).code).toBe(1009);
    expect(bytesAtTarget()).toBe(0);
    await until(() => proxy.log.filter((r) => r.event === 'session-close').length === 2);
    expect(proxy.log.filter((r) => r.event === 'session-close').map((r) => (r as { reason: string }).reason)).toEqual([
      'text frames are not supported',
      'page error: WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    ]);
  });

  it('closes on a message in too many fragments (ws maxFragments), and none of it reaches the target', async () => {
    const a = connect(proxy.url);
    await a.opened;
    await until(() => target.connections() === 3);
    for (let i = 0; i < 200; i++) a.ws.send(Buffer.from('x'), { binary: true, fin: false });
    a.ws.send(Buffer.from('x'), { binary: true, fin: true });
    expect((await a.closed).code).toBe(1008);
    expect(bytesAtTarget()).toBe(0);
  });

  it('declines permessage-deflate when a client offers it', async () => {
    const { WebSocket } = await import('ws');
    const ws = new WebSocket(proxy.url, { perMessageDeflate: true });
    await new Promise((resolve) => ws.once('open', resolve));
    expect(ws.extensions).toBe('');
    ws.close();
    await new Promise((resolve) => ws.once('close', resolve));
  });

  it('relays a message of exactly maxPayload (control)', async () => {
    const a = connect(proxy.url);
    await a.opened;
    await until(() => target.connections() === 5);
    a.ws.send(Buffer.alloc(1024, 0x42));
    await until(() => bytesAtTarget() === 1024);
    a.ws.close();
    await a.closed;
  });
});

describe('caps and rate limits', () => {
  let target: CountingServer;
  afterEach(async () => target.close());

  it('refuses a third connection from one address (HTTP 503), whatever X-Forwarded-For says', async () => {
    target = await countingServer();
    const proxy = await startProxy({ allow: [target.target], allowPrivate: true, maxConnectionsPerClient: 2, rateLimit: false });
    try {
      const open = [connect(proxy.url, '', { 'x-forwarded-for': '203.0.113.1' }), connect(proxy.url, '', { 'x-forwarded-for': '203.0.113.2' })];
      for (const a of open) expect(await a.opened).toEqual({ opened: true });
      await until(() => target.connections() === 2);
      const third = connect(proxy.url, '', { 'x-forwarded-for': '203.0.113.3' });
      expect(await third.opened).toEqual({ opened: false, status: 503 });
      expect(proxy.proxy.metrics().refused).toEqual({ 'too-many-from-client': 1 });
      expect(target.connections()).toBe(2);
      // A slot frees up when a session ends.
      open[0]!.ws.close();
      await open[0]!.closed;
      await until(() => proxy.proxy.metrics().sessionsOpen === 1);
      const fourth = connect(proxy.url);
      expect(await fourth.opened).toEqual({ opened: true });
      fourth.ws.close();
      open[1]!.ws.close();
      await Promise.all([fourth.closed, open[1]!.closed]);
    } finally {
      await proxy.proxy.close();
    }
  });

  it('refuses connections beyond the total cap (HTTP 503)', async () => {
    target = await countingServer();
    const proxy = await startProxy({ allow: [target.target], allowPrivate: true, maxConnections: 3, rateLimit: false });
    try {
      const open = [connect(proxy.url), connect(proxy.url), connect(proxy.url)];
      for (const a of open) expect(await a.opened).toEqual({ opened: true });
      expect(await connect(proxy.url).opened).toEqual({ opened: false, status: 503 });
      expect(proxy.proxy.metrics().refused).toEqual({ 'too-many-connections': 1 });
      await until(() => target.connections() === 3);
      for (const a of open) a.ws.close();
      await Promise.all(open.map((a) => a.closed));
    } finally {
      await proxy.proxy.close();
    }
  });

  it('rate-limits a flood of new connections from one address (HTTP 429)', async () => {
    target = await countingServer((socket) => socket.end());
    const proxy = await startProxy({ allow: [target.target], allowPrivate: true, rateLimit: { burst: 5, perSecond: 0.5 } });
    try {
      const flood = Array.from({ length: 40 }, () => connect(proxy.url));
      const results = await Promise.all(flood.map((a) => a.opened));
      await Promise.all(flood.map((a) => a.closed));
      const opened = results.filter((r) => r.opened).length;
      expect(opened).toBe(5);
      expect(results.filter((r) => !r.opened && r.status === 429)).toHaveLength(35);
      expect(proxy.proxy.metrics().refused['rate-limited']).toBe(35);
      expect(target.connections()).toBe(5);
    } finally {
      await proxy.proxy.close();
    }
  });

  it('reads X-Forwarded-For only from a trusted reverse proxy, right to left', async () => {
    target = await countingServer();
    const proxy = await startProxy({ allow: [target.target], allowPrivate: true, trustProxy: ['127.0.0.1'], maxConnectionsPerClient: 1, rateLimit: false });
    try {
      // Each request claims a different client (left-most, forgeable) but comes through the same last hop.
      const a = connect(proxy.url, '', { 'x-forwarded-for': '198.51.100.1, 203.0.113.9' });
      const b = connect(proxy.url, '', { 'x-forwarded-for': '198.51.100.2, 203.0.113.9' });
      const c = connect(proxy.url, '', { 'x-forwarded-for': '203.0.113.10' });
      expect(await a.opened).toEqual({ opened: true });
      expect(await b.opened).toEqual({ opened: false, status: 503 });
      expect(await c.opened).toEqual({ opened: true });
      await until(() => proxy.log.filter((r) => r.event === 'session-open').length === 2);
      const clients = proxy.log.filter((r) => r.event === 'session-open' || r.event === 'refused').map((r) => (r as { client: string }).client);
      expect(clients.sort()).toEqual(['203.0.113.10', '203.0.113.9', '203.0.113.9']);
      a.ws.close();
      c.ws.close();
      await Promise.all([a.closed, c.closed]);
    } finally {
      await proxy.proxy.close();
    }
  });
});

describe('plain HTTP', () => {
  it.each([
    ['/', 426],
    ['/index.html', 404],
    ['/../../etc/passwd', 404],
    ['/demo/index.html', 404],
  ])('GET %s answers %i and serves no file', async (path, status) => {
    const response = await fetch(`http://127.0.0.1:${attacked.port}${path}`);
    expect(response.status).toBe(status);
    expect(await response.text()).toBe('');
  });

  it('refuses a WebSocket upgrade on another path (HTTP 404)', async () => {
    expect((await attempt(`ws://127.0.0.1:${attacked.port}/other`, '?target=pop.example.com:110', { origin: ORIGIN })).opened).toEqual({
      opened: false,
      status: 404,
    });
  });
});
