/** Admission control and client addresses: caps, the token bucket, and X-Forwarded-For with trusted proxies. */
import { describe, expect, it } from 'vitest';
import { clientAddress } from '../../proxy/client-address.js';
import { ConnectionLimits } from '../../proxy/limits.js';

describe('ConnectionLimits', () => {
  it('caps sessions per client and in total, and frees a slot on release', () => {
    const limits = new ConnectionLimits({ maxConnections: 3, maxConnectionsPerClient: 2, rateLimit: false, now: () => 0 });
    expect([limits.admit('a'), limits.admit('a'), limits.admit('a')]).toEqual([undefined, undefined, 'too-many-from-client']);
    expect([limits.admit('b'), limits.admit('c')]).toEqual([undefined, 'too-many-connections']);
    expect(limits.open).toBe(3);
    limits.release('a');
    expect([limits.admit('c'), limits.open]).toEqual([undefined, 3]);
  });

  it('rate-limits new connections per client with a token bucket that refills', () => {
    let now = 0;
    const limits = new ConnectionLimits({ maxConnections: 100, maxConnectionsPerClient: 100, rateLimit: { burst: 3, perSecond: 2 }, now: () => now });
    const tries = (client: string, n: number) => Array.from({ length: n }, () => limits.admit(client));
    expect(tries('a', 4)).toEqual([undefined, undefined, undefined, 'rate-limited']);
    expect(tries('b', 1)).toEqual([undefined]); // another client has its own bucket
    now += 499;
    expect(tries('a', 1)).toEqual(['rate-limited']); // 0.998 tokens: not yet, and the try took nothing
    now += 1;
    expect(tries('a', 2)).toEqual([undefined, 'rate-limited']);
    now += 10_000;
    expect(tries('a', 4)).toEqual([undefined, undefined, undefined, 'rate-limited']); // refills to the burst, no more
  });

  it('counts a rate-limited try against the bucket before the caps', () => {
    const limits = new ConnectionLimits({ maxConnections: 10, maxConnectionsPerClient: 1, rateLimit: { burst: 2, perSecond: 1 }, now: () => 0 });
    expect([limits.admit('a'), limits.admit('a'), limits.admit('a')]).toEqual([undefined, 'too-many-from-client', 'rate-limited']);
  });

  it('forgets buckets that have refilled', () => {
    let now = 0;
    const limits = new ConnectionLimits({ maxConnections: 100, maxConnectionsPerClient: 100, rateLimit: { burst: 1, perSecond: 1 }, now: () => now });
    limits.admit('a');
    limits.release('a');
    expect(limits.admit('a')).toBe('rate-limited');
    now += 1000;
    limits.sweep();
    // A forgotten bucket starts full again: the same as a refilled one.
    expect([limits.admit('a'), limits.admit('a')]).toEqual([undefined, 'rate-limited']);
  });
});

describe('clientAddress', () => {
  it('is the TCP peer, as plain IPv4 when it is IPv4-mapped, and forwarding headers are ignored by default', () => {
    expect(clientAddress('::ffff:192.0.2.7', { 'x-forwarded-for': '203.0.113.1' }, [])).toBe('192.0.2.7');
    expect(clientAddress('2001:DB8::1', {}, [])).toBe('2001:db8::1');
    expect(clientAddress(undefined, {}, [])).toBe('unknown');
  });

  it('ignores X-Forwarded-For from a peer that is not a trusted proxy', () => {
    expect(clientAddress('192.0.2.7', { 'x-forwarded-for': '203.0.113.1' }, ['192.0.2.8'])).toBe('192.0.2.7');
  });

  it.each([
    ['the right-most entry when one proxy appended it', '198.51.100.1, 203.0.113.1', '203.0.113.1'],
    ['the right-most untrusted entry behind a chain of trusted proxies', '198.51.100.1, 203.0.113.1, 10.0.0.2', '203.0.113.1'],
    ['never a left-most entry the client made up', '127.0.0.1, 203.0.113.1', '203.0.113.1'],
    ['the nearest trusted proxy when an entry is garbage', 'x, not-an-ip', '10.0.0.1'],
    ['the last trusted hop when every entry is trusted', '10.0.0.2', '10.0.0.2'],
    ['the peer when there is no header', undefined, '10.0.0.1'],
  ])('with a trusted proxy, takes %s', (_, header, expected) => {
    const headers = header === undefined ? {} : { 'x-forwarded-for': header };
    expect(clientAddress('10.0.0.1', headers, ['10.0.0.1', '10.0.0.2'])).toBe(expected);
  });

  it('reads repeated X-Forwarded-For headers as one list', () => {
    expect(clientAddress('10.0.0.1', { 'x-forwarded-for': ['198.51.100.1', '203.0.113.5'] as unknown as string }, ['10.0.0.1'])).toBe('203.0.113.5');
  });
});
