/** Options: the allowlist syntax, failing closed, and the origins. */
import { describe, expect, it } from 'vitest';
import { parseTarget, ProxyConfigError, resolveProxyConfig } from '../../proxy/config.js';

describe('parseTarget', () => {
  it.each([
    ['pop.example.com:995', { key: 'pop.example.com:995', host: 'pop.example.com', port: 995 }],
    ['POP.Example.COM:110', { key: 'pop.example.com:110', host: 'pop.example.com', port: 110 }],
    ['192.0.2.1:110', { key: '192.0.2.1:110', host: '192.0.2.1', port: 110 }],
    ['[2001:DB8::1]:995', { key: '[2001:db8::1]:995', host: '2001:db8::1', port: 995 }],
    ['0x7f.1:110', { key: '0x7f.1:110', host: '127.0.0.1', port: 110 }],
  ])('reads %s', (text, expected) => {
    expect(parseTarget(text)).toMatchObject(expected);
  });

  it.each([
    'pop.example.com',
    'pop.example.com:',
    'pop.example.com:0',
    'pop.example.com:65536',
    'pop.example.com:0110',
    'pop.example.com:+1',
    ':110',
    '::1:110',
    '[::1%lo]:110',
    '[192.0.2.1]:110',
    'user@pop.example.com:110',
    'pop.example.com/x:110',
    'pop_example.com:110',
    '-pop.example.com:110',
    'pop..example.com:110',
    'pop.example.com.:110',
    '1.2.3.999:110',
    '1.2.3.09:110',
    'pop example.com:110',
  ])('refuses %s', (text) => {
    expect(() => parseTarget(text)).toThrow(ProxyConfigError);
  });
});

describe('resolveProxyConfig', () => {
  it('fails closed without an allowlist', () => {
    expect(() => resolveProxyConfig({ allow: [] })).toThrow(/refusing to start without an allowlist/);
  });

  it('refuses a private IP target unless private addresses are allowed, globally or for that target', () => {
    expect(() => resolveProxyConfig({ allow: ['10.0.0.1:110'] })).toThrow(/10\.0\.0\.1 is private.*--allow-private/);
    expect(resolveProxyConfig({ allow: ['10.0.0.1:110'], allowPrivate: true }).targets.get('10.0.0.1:110')?.allowPrivate).toBe(true);
    const config = resolveProxyConfig({ allow: [{ target: '10.0.0.1:110', allowPrivate: true }, 'pop.example.com:110'] });
    expect(config.targets.get('10.0.0.1:110')?.allowPrivate).toBe(true);
    expect(config.targets.get('pop.example.com:110')?.allowPrivate).toBe(false);
  });

  it('refuses a target listed twice', () => {
    expect(() => resolveProxyConfig({ allow: ['pop.example.com:110', 'POP.example.com:110'] })).toThrow(/listed twice/);
  });

  it('takes exact origins, any origin only when asked, and refuses origins with a path', () => {
    expect([...resolveProxyConfig({ allow: ['a.example:1'], origins: ['https://mail.example.org/', 'chrome-extension://abcdefghijklmnop'] }).origins!]).toEqual([
      'https://mail.example.org',
      'chrome-extension://abcdefghijklmnop',
    ]);
    expect(resolveProxyConfig({ allow: ['a.example:1'], origins: '*' }).origins).toBeUndefined();
    expect(resolveProxyConfig({ allow: ['a.example:1'] }).origins).toEqual(new Set());
    expect(() => resolveProxyConfig({ allow: ['a.example:1'], origins: ['https://mail.example.org/app'] })).toThrow(/scheme:\/\/host/);
    expect(() => resolveProxyConfig({ allow: ['a.example:1'], origins: ['mail.example.org'] })).toThrow(ProxyConfigError);
  });

  it('refuses a short token secret, a bad trusted proxy, and nonsense numbers', () => {
    expect(() => resolveProxyConfig({ allow: ['a.example:1'], tokenSecret: 'short' })).toThrow(/at least 32 bytes/);
    expect(() => resolveProxyConfig({ allow: ['a.example:1'], trustProxy: ['proxy.local'] })).toThrow(/not an IP address/);
    expect(() => resolveProxyConfig({ allow: ['a.example:1'], maxPayload: 0 })).toThrow(/maxPayload/);
    expect(() => resolveProxyConfig({ allow: ['a.example:1'], rateLimit: { burst: 1, perSecond: -1 } })).toThrow(/perSecond/);
  });

  it('has the documented defaults', () => {
    expect(resolveProxyConfig({ allow: ['a.example:1'] })).toMatchObject({
      host: '127.0.0.1',
      port: 8110,
      path: '/',
      allowPrivate: false,
      maxPayload: 65536,
      maxConnections: 1000,
      maxConnectionsPerClient: 16,
      rateLimit: { burst: 10, perSecond: 1 },
      connectTimeoutMs: 10_000,
      idleTimeoutMs: 600_000,
      sessionTimeoutMs: 3_600_000,
      pingIntervalMs: 30_000,
      highWaterMark: 1048576,
    });
  });
});
