/**
 * IP addresses: parsing every spelling a resolver or an operator might produce, and deciding which ones the
 * proxy may connect to.
 *
 * Why parse so liberally: the check must see the address the operating system will connect to. glibc's
 * inet_aton (and so getaddrinfo, curl, and WHATWG URL parsing) reads `2130706433`, `0177.0.0.1`, `0x7f.1` and
 * `127.1` all as 127.0.0.1, and `[::ffff:127.0.0.1]` reaches the same host over a dual-stack socket. A checker
 * that only knew dotted decimal would wave those through as "not an IP, must be a host name". So every
 * spelling is normalised to bytes first, and the bytes are classified.
 *
 * Addresses that carry an IPv4 address inside an IPv6 one (IPv4-mapped, IPv4-compatible, NAT64 64:ff9b::/96,
 * 6to4 2002::/16) are classified by the IPv4 address they carry: `::ffff:10.0.0.1` is as private as 10.0.0.1.
 */

/** A parsed IP address in canonical form. */
export interface IpAddress {
  readonly family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  readonly bytes: Uint8Array;
  /** Canonical text: dotted decimal, or RFC 5952 IPv6 (lower case, longest zero run compressed), no zone. */
  readonly text: string;
}

/**
 * What an address is, from the point of view of "may a public proxy connect here?".
 * `public` is the only range allowed by default.
 */
export type AddressRange =
  | 'public'
  /** 127/8, ::1 */
  | 'loopback'
  /** RFC 1918: 10/8, 172.16/12, 192.168/16; deprecated IPv6 site-local fec0::/10; local-use NAT64 64:ff9b:1::/48 */
  | 'private'
  /** 169.254/16 (where cloud metadata services live), fe80::/10 */
  | 'link-local'
  /** RFC 6598 carrier-grade NAT 100.64/10 */
  | 'cgnat'
  /** RFC 4193 unique local fc00::/7 */
  | 'unique-local'
  /** 0.0.0.0, :: (connecting there reaches the local host) */
  | 'unspecified'
  /** 224/4, ff00::/8 */
  | 'multicast'
  /** 255.255.255.255 */
  | 'broadcast'
  /** 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20 */
  | 'documentation'
  /** 198.18/15, 2001:2::/48 */
  | 'benchmarking'
  /** Everything else that is not a routable unicast address: 0/8, 240/4, 192.0.0/24, Teredo, ORCHID, IPv6 outside 2000::/3, ... */
  | 'reserved';

/** The ranges `allowPrivate` opens: real hosts on non-public networks. */
export const PRIVATE_RANGES: ReadonlySet<AddressRange> = new Set(['loopback', 'private', 'link-local', 'cgnat', 'unique-local']);

/** How an IPv6 address carries an IPv4 address, when it does. */
export type Embedding = 'ipv4-mapped' | 'ipv4-compatible' | 'nat64' | '6to4';

/** The result of classifying an address. */
export interface Classification {
  readonly range: AddressRange;
  /** Set when the range is that of an IPv4 address carried inside an IPv6 one. */
  readonly embedded?: { readonly via: Embedding; readonly ipv4: string };
}

// ─── Parsing ─────────────────────────────────────────────────────────────────────────────────────────────

/**
 * Parses `text` as an IP address in any spelling: IPv4 the way inet_aton does (1 to 4 parts, each decimal,
 * octal with a leading 0 or hexadecimal with 0x; the last part fills the remaining bytes; one trailing dot
 * allowed) and IPv6 (RFC 4291 text forms, `::` compression, a dotted IPv4 tail, optional [brackets] and
 * %zone id, which is dropped). Returns undefined when `text` is not an IP address.
 */
export function parseIp(text: string): IpAddress | undefined {
  let s = text.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (s.includes(':')) {
    const zone = s.indexOf('%');
    const bytes = parseIpv6(zone === -1 ? s : s.slice(0, zone));
    return bytes === undefined ? undefined : { family: 6, bytes, text: formatIpv6(bytes) };
  }
  const bytes = parseIpv4(s);
  return bytes === undefined ? undefined : { family: 4, bytes, text: bytes.join('.') };
}

/**
 * True when `host` looks like an IPv4 address attempt: its last label is a number. WHATWG URL parsing treats
 * such a host as IPv4 and fails on it if it is malformed; a host name allowlist entry like `1.2.3.999` or
 * `10.0.0.0x1` must be refused rather than sent to a resolver that might read it some other way.
 */
export function endsInNumber(host: string): boolean {
  const labels = host.split('.');
  if (labels[labels.length - 1] === '' && labels.length > 1) labels.pop();
  const last = labels[labels.length - 1] ?? '';
  return /^[0-9]+$/.test(last) || /^0x[0-9a-f]*$/i.test(last);
}

function parseIpv4Part(part: string): number | undefined {
  let digits = part;
  let radix = 10;
  if (/^0x/i.test(part)) {
    digits = part.slice(2);
    radix = 16;
    if (digits === '') return 0; // inet_aton and WHATWG both read a bare 0x as 0
  } else if (part.length > 1 && part.startsWith('0')) {
    digits = part.slice(1);
    radix = 8;
  }
  const valid = radix === 16 ? /^[0-9a-f]+$/i : radix === 8 ? /^[0-7]+$/ : /^[0-9]+$/;
  if (!valid.test(digits)) return undefined;
  const value = Number.parseInt(digits, radix);
  // Beyond 2^32 no part can be valid; the bound also keeps Number exact.
  return value <= 0xffffffff ? value : undefined;
}

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return undefined;
  const numbers: number[] = [];
  for (const part of parts) {
    const n = parseIpv4Part(part);
    if (n === undefined) return undefined;
    numbers.push(n);
  }
  // All parts but the last are one byte each; the last fills the remaining 4 - (parts - 1) bytes.
  const last = numbers.pop()!;
  if (numbers.some((n) => n > 255)) return undefined;
  const lastBytes = 4 - numbers.length;
  if (last >= 2 ** (8 * lastBytes)) return undefined;
  const bytes = new Uint8Array(4);
  numbers.forEach((n, i) => (bytes[i] = n));
  for (let i = 3, rest = last; i >= numbers.length; i--, rest = Math.floor(rest / 256)) bytes[i] = rest % 256;
  return bytes;
}

/** A dotted IPv4 tail inside IPv6 is strict dotted decimal (RFC 4291 section 2.2), unlike inet_aton. */
function parseStrictIpv4(s: string): number[] | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const bytes = parts.map((p) => (/^(0|[1-9][0-9]{0,2})$/.test(p) ? Number(p) : 256));
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

function parseIpv6(s: string): Uint8Array | undefined {
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const groupsOf = (half: string): number[] | undefined => {
    if (half === '') return [];
    const groups: number[] = [];
    const pieces = half.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (i === pieces.length - 1 && piece.includes('.')) {
        const v4 = parseStrictIpv4(piece);
        if (v4 === undefined) return undefined;
        groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else if (/^[0-9a-f]{1,4}$/i.test(piece)) {
        groups.push(Number.parseInt(piece, 16));
      } else {
        return undefined;
      }
    }
    return groups;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length === 2 ? groupsOf(halves[1]!) : [];
  if (head === undefined || tail === undefined) return undefined;
  // A dotted tail is only allowed at the very end of the address.
  if (halves.length === 2 && halves[0]!.includes('.')) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/** RFC 5952 text: lower case, no leading zeros, the longest run of two or more zero groups as `::`. */
function formatIpv6(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let bestStart = -1;
  let bestLength = 1; // a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) [bestStart, bestLength] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

// ─── Classification ──────────────────────────────────────────────────────────────────────────────────────

/** True when the first `bits` bits of `bytes` equal those of `prefix` (given as bytes). */
function inPrefix(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if (((bytes[i] ?? 0) & mask) !== ((prefix[i] ?? 0) & mask)) return false;
  }
  return true;
}

const IPV4_RANGES: readonly [prefix: readonly number[], bits: number, range: AddressRange][] = [
  [[255, 255, 255, 255], 32, 'broadcast'],
  [[0, 0, 0, 0], 32, 'unspecified'],
  [[0], 8, 'reserved'], // "this network"
  [[10], 8, 'private'],
  [[100, 64], 10, 'cgnat'],
  [[127], 8, 'loopback'],
  [[169, 254], 16, 'link-local'],
  [[172, 16], 12, 'private'],
  [[192, 0, 0], 24, 'reserved'], // IETF protocol assignments
  [[192, 0, 2], 24, 'documentation'],
  [[192, 88, 99], 24, 'reserved'], // deprecated 6to4 relay anycast
  [[192, 168], 16, 'private'],
  [[198, 18], 15, 'benchmarking'],
  [[198, 51, 100], 24, 'documentation'],
  [[203, 0, 113], 24, 'documentation'],
  [[224], 4, 'multicast'],
  [[240], 4, 'reserved'],
];

// Checked in order; the first match wins. Ranges that embed IPv4 are handled before this table.
const IPV6_RANGES: readonly [prefix: readonly number[], bits: number, range: AddressRange][] = [
  [[0x00, 0x64, 0xff, 0x9b, 0x00, 0x01], 48, 'private'], // RFC 8215 local-use NAT64
  [[0x01, 0x00], 64, 'reserved'], // RFC 6666 discard-only
  [[0x20, 0x01, 0x00, 0x00], 32, 'reserved'], // Teredo: the IPv4 inside is obfuscated and client-chosen
  [[0x20, 0x01, 0x00, 0x02, 0x00, 0x00], 48, 'benchmarking'],
  [[0x20, 0x01, 0x00, 0x10], 28, 'reserved'], // ORCHID
  [[0x20, 0x01, 0x00, 0x20], 28, 'reserved'], // ORCHIDv2
  [[0x20, 0x01, 0x0d, 0xb8], 32, 'documentation'],
  [[0x3f, 0xff], 20, 'documentation'], // RFC 9637
  [[0x20], 3, 'public'], // global unicast
  [[0xfc], 7, 'unique-local'],
  [[0xfe, 0x80], 10, 'link-local'],
  [[0xfe, 0xc0], 10, 'private'], // deprecated site-local
  [[0xff], 8, 'multicast'],
];

function classifyIpv4(bytes: Uint8Array): AddressRange {
  for (const [prefix, bits, range] of IPV4_RANGES) if (inPrefix(bytes, prefix, bits)) return range;
  return 'public';
}

/** The IPv4 address an IPv6 address carries, and how, if it carries one. */
function embeddedIpv4(bytes: Uint8Array): { via: Embedding; ipv4: Uint8Array } | undefined {
  const zeros = (from: number, to: number) => bytes.subarray(from, to).every((b) => b === 0);
  if (zeros(0, 10) && bytes[10] === 0xff && bytes[11] === 0xff) return { via: 'ipv4-mapped', ipv4: bytes.subarray(12) };
  // ::/96 (deprecated IPv4-compatible); :: and ::1 are their own ranges and are checked first.
  if (zeros(0, 12)) return { via: 'ipv4-compatible', ipv4: bytes.subarray(12) };
  if (inPrefix(bytes, [0x00, 0x64, 0xff, 0x9b], 32) && zeros(4, 12)) return { via: 'nat64', ipv4: bytes.subarray(12) };
  if (bytes[0] === 0x20 && bytes[1] === 0x02) return { via: '6to4', ipv4: bytes.subarray(2, 6) };
  return undefined;
}

/** Which range an address is in; for IPv6 that carries IPv4, the range of the IPv4 address. */
export function classifyIp(ip: IpAddress): Classification {
  const { bytes } = ip;
  if (ip.family === 4) return { range: classifyIpv4(bytes) };
  if (bytes.every((b) => b === 0)) return { range: 'unspecified' };
  if (bytes.subarray(0, 15).every((b) => b === 0) && bytes[15] === 1) return { range: 'loopback' };
  const embedded = embeddedIpv4(bytes);
  if (embedded !== undefined) {
    return { range: classifyIpv4(embedded.ipv4), embedded: { via: embedded.via, ipv4: embedded.ipv4.join('.') } };
  }
  for (const [prefix, bits, range] of IPV6_RANGES) if (inPrefix(bytes, prefix, bits)) return { range };
  return { range: 'reserved' }; // outside 2000::/3 and every range above: not assigned for unicast
}

/**
 * Why the proxy must not connect to `ip`, or undefined when it may. Public addresses are always allowed;
 * the private ranges (PRIVATE_RANGES) only with `allowPrivate`; addresses that are not unicast hosts at all
 * (unspecified, multicast, broadcast, documentation, benchmarking, reserved) never, because connecting to
 * them either fails or, for 0.0.0.0 and ::, silently reaches the proxy's own host.
 */
export function addressRefusal(ip: IpAddress, allowPrivate: boolean): string | undefined {
  const { range, embedded } = classifyIp(ip);
  if (range === 'public' || (allowPrivate && PRIVATE_RANGES.has(range))) return undefined;
  const carried = embedded === undefined ? '' : ` (${embedded.via} ${embedded.ipv4})`;
  return `${ip.text} is ${range}${carried}`;
}
