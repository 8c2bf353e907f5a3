/**
 * IP parsing and classification: every spelling normalised to the same bytes, every range classified, and
 * addresses that carry IPv4 inside IPv6 judged by the IPv4 they carry.
 */
import { describe, expect, it } from 'vitest';
import { addressRefusal, classifyIp, parseIp } from '../../proxy/address-policy.js';

describe('parseIp', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['2130706433', '127.0.0.1'],
    ['0x7f000001', '127.0.0.1'],
    ['0X7F000001', '127.0.0.1'],
    ['017700000001', '127.0.0.1'],
    ['0177.0.0.1', '127.0.0.1'],
    ['0x7f.1', '127.0.0.1'],
    ['127.1', '127.0.0.1'],
    ['127.0.1', '127.0.0.1'],
    ['0x7f.0.0x0.01', '127.0.0.1'],
    ['127.0.0.1.', '127.0.0.1'],
    ['10.0x10000', '10.1.0.0'],
    ['192.168.0x101', '192.168.1.1'],
    ['0', '0.0.0.0'],
    ['0x', '0.0.0.0'],
    ['4294967295', '255.255.255.255'],
    ['::1', '::1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['0000:0000:0000:0000:0000:0000:0000:0001', '::1'],
    ['[::1]', '::1'],
    ['::1%lo', '::1'],
    ['[fe80::1%25eth0]', 'fe80::1'],
    ['::', '::'],
    ['::ffff:127.0.0.1', '::ffff:7f00:1'],
    ['[::FFFF:7F00:1]', '::ffff:7f00:1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952: the first of two equal zero runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // one zero group is not compressed
    ['1::', '1::'],
    ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
  ])('reads %s as %s', (text, canonical) => {
    expect(parseIp(text)?.text).toBe(canonical);
  });

  it.each([
    '',
    'localhost',
    'example.com',
    '1.2.3.4.5',
    '256.0.0.1',
    '1.2.3.256',
    '1.2.65536',
    '4294967296',
    '08.0.0.1', // 8 is not an octal digit
    '0x1g.0.0.1',
    '1..2.3',
    '.1.2.3',
    '127.0.0.1..',
    '::1::',
    ':::',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7::8:9',
    '12345::',
    '::1.2.3',
    '::1.2.3.04', // leading zeros are not allowed in an IPv6 address's IPv4 tail
    '1.2.3.4::',
    ':1::2',
    '1::2:',
    '[::1',
    'g::1',
  ])('does not read %j as an IP address', (text) => {
    expect(parseIp(text)).toBeUndefined();
  });
});

describe('classifyIp', () => {
  it.each([
    ['8.8.8.8', 'public'],
    ['93.184.215.14', 'public'],
    ['2606:4700::1111', 'public'],
    ['0.0.0.0', 'unspecified'],
    ['::', 'unspecified'],
    ['0.1.2.3', 'reserved'],
    ['10.255.255.255', 'private'],
    ['172.15.255.255', 'public'],
    ['172.16.0.0', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.0', 'public'],
    ['192.168.0.1', 'private'],
    ['100.63.255.255', 'public'],
    ['100.64.0.0', 'cgnat'],
    ['100.127.255.255', 'cgnat'],
    ['100.128.0.0', 'public'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.255', 'loopback'],
    ['169.254.169.254', 'link-local'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.1', 'documentation'],
    ['198.51.100.1', 'documentation'],
    ['203.0.113.1', 'documentation'],
    ['192.88.99.1', 'reserved'],
    ['198.18.0.1', 'benchmarking'],
    ['198.19.255.255', 'benchmarking'],
    ['198.20.0.0', 'public'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.255', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['febf::1', 'link-local'],
    ['fec0::1', 'private'],
    ['fc00::1', 'unique-local'],
    ['fdff::1', 'unique-local'],
    ['ff02::1', 'multicast'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['2001::1', 'reserved'], // Teredo
    ['2001:2::1', 'benchmarking'],
    ['2001:10::1', 'reserved'],
    ['2001:20::1', 'reserved'],
    ['100::1', 'reserved'],
    ['64:ff9b:1::1', 'private'],
    ['4000::1', 'reserved'], // outside 2000::/3
    ['::ffff:8.8.8.8', 'public'],
  ])('%s is %s', (text, range) => {
    expect(classifyIp(parseIp(text)!).range).toBe(range);
  });

  it.each([
    ['::ffff:127.0.0.1', 'loopback', 'ipv4-mapped', '127.0.0.1'],
    ['::ffff:10.1.2.3', 'private', 'ipv4-mapped', '10.1.2.3'],
    ['::ffff:0.0.0.0', 'unspecified', 'ipv4-mapped', '0.0.0.0'],
    ['::127.0.0.1', 'loopback', 'ipv4-compatible', '127.0.0.1'],
    ['::169.254.169.254', 'link-local', 'ipv4-compatible', '169.254.169.254'],
    ['64:ff9b::a9fe:a9fe', 'link-local', 'nat64', '169.254.169.254'],
    ['64:ff9b::8.8.8.8', 'public', 'nat64', '8.8.8.8'],
    ['2002:a00:1::', 'private', '6to4', '10.0.0.1'],
    ['2002:7f00:1:ffff::1', 'loopback', '6to4', '127.0.0.1'],
    ['2002:808:808::1', 'public', '6to4', '8.8.8.8'],
  ])('%s carries %s IPv4 (%s %s)', (text, range, via, ipv4) => {
    expect(classifyIp(parseIp(text)!)).toEqual({ range, embedded: { via, ipv4 } });
  });
});

describe('addressRefusal', () => {
  const refusal = (text: string, allowPrivate: boolean) => addressRefusal(parseIp(text)!, allowPrivate);

  it('allows public addresses', () => {
    expect(refusal('8.8.8.8', false)).toBeUndefined();
    expect(refusal('2606:4700::1111', false)).toBeUndefined();
  });

  it.each(['127.0.0.1', '::1', '10.0.0.1', '172.16.0.1', '192.168.1.1', '169.254.169.254', 'fe80::1', '100.64.0.1', 'fd00::1', '::ffff:127.0.0.1', '2002:a00:1::'])(
    'refuses %s, unless private addresses are allowed',
    (text) => {
      expect(refusal(text, false)).toMatch(/ is (loopback|private|link-local|cgnat|unique-local)/);
      expect(refusal(text, true)).toBeUndefined();
    },
  );

  it.each(['0.0.0.0', '::', '::ffff:0.0.0.0', '224.0.0.1', 'ff02::1', '255.255.255.255', '240.0.0.1', '0.1.2.3', '192.0.2.1', '2001:db8::1', '198.18.0.1', '2001::1'])(
    'refuses %s even when private addresses are allowed',
    (text) => {
      expect(refusal(text, true)).toBeDefined();
    },
  );

  it('names the IPv4 address an IPv6 address carries', () => {
    expect(refusal('::ffff:10.0.0.1', false)).toBe('::ffff:a00:1 is private (ipv4-mapped 10.0.0.1)');
  });
});
