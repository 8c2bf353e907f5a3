/**
 * Who the client is, for caps, rate limits and logs. The TCP peer address, unless that peer is a reverse
 * proxy the operator listed in `trustProxy`: then the X-Forwarded-For header, read from the right, because
 * each proxy appends the address it received from and only the entries added by trusted proxies are
 * believable. Everything to the left of the first untrusted entry may be made up by the client.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { parseIp } from './address-policy.js';

/** Canonical text of an address, IPv4-mapped IPv6 (how dual-stack sockets report IPv4 peers) as plain IPv4. */
function canonical(address: string): string | undefined {
  const ip = parseIp(address);
  if (ip === undefined) return undefined;
  const mapped = ip.family === 6 && ip.bytes.subarray(0, 10).every((b) => b === 0) && ip.bytes[10] === 0xff && ip.bytes[11] === 0xff;
  return mapped ? ip.bytes.subarray(12).join('.') : ip.text;
}

/**
 * The client address of a request that arrived from `peer` with `headers`. With an empty `trustProxy`
 * forwarding headers are never read.
 */
export function clientAddress(peer: string | undefined, headers: IncomingHttpHeaders, trustProxy: readonly string[]): string {
  let client = (peer && canonical(peer)) ?? 'unknown';
  if (trustProxy.length === 0 || !trustProxy.includes(client)) return client;
  const header = headers['x-forwarded-for'];
  // Node joins repeated X-Forwarded-For headers with ", ", which is what a chain of proxies means too.
  const hops = (Array.isArray(header) ? header.join(',') : (header ?? '')).split(',');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = canonical(hops[i]!);
    // Garbage where an address should be: the nearest trusted proxy is the best we know.
    if (hop === undefined) return client;
    client = hop;
    if (!trustProxy.includes(hop)) return hop;
  }
  return client;
}
