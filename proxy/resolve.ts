/**
 * Resolving an allowed target to the addresses the proxy may connect to.
 *
 * The proxy resolves names itself and checks EVERY address the name has: a name with one public and one
 * private address is refused as a whole, since which one a later connection would use is not ours to
 * predict. The connector then gets exactly these checked addresses, never the name, so there is no second
 * lookup that a DNS rebinding attack could answer differently.
 */
import { lookup } from 'node:dns/promises';
import { addressRefusal, type IpAddress, parseIp } from './address-policy.js';
import type { AllowedTarget } from './config.js';

/** Resolves a host name to its addresses (any text form; they are parsed and checked). */
export type Resolver = (host: string) => Promise<readonly { readonly address: string }[]>;

/** The system resolver (getaddrinfo, so /etc/hosts counts), every address, in the system's order. */
export const systemResolver: Resolver = (host) => lookup(host, { all: true, order: 'verbatim' });

/** The outcome of resolveTarget. */
export type Resolution =
  | { readonly ok: true; readonly addresses: readonly IpAddress[] }
  | { readonly ok: false; readonly reason: 'address-not-allowed' | 'resolve-failed'; readonly detail: string };

/** The checked addresses of `target`, or why it may not be connected to. */
export async function resolveTarget(target: AllowedTarget, resolver: Resolver): Promise<Resolution> {
  if (target.ip !== undefined) {
    const refusal = addressRefusal(target.ip, target.allowPrivate);
    return refusal ? { ok: false, reason: 'address-not-allowed', detail: refusal } : { ok: true, addresses: [target.ip] };
  }
  let answers: readonly { readonly address: string }[];
  try {
    answers = await resolver(target.host);
  } catch (error) {
    return { ok: false, reason: 'resolve-failed', detail: `${target.host}: ${(error as NodeJS.ErrnoException).code ?? 'lookup failed'}` };
  }
  if (answers.length === 0) return { ok: false, reason: 'resolve-failed', detail: `${target.host}: no addresses` };
  const addresses = new Map<string, IpAddress>();
  for (const { address } of answers) {
    const ip = parseIp(address);
    if (ip === undefined) return { ok: false, reason: 'address-not-allowed', detail: `${target.host}: ${JSON.stringify(address)} is not an IP address` };
    const refusal = addressRefusal(ip, target.allowPrivate);
    if (refusal) return { ok: false, reason: 'address-not-allowed', detail: `${target.host}: ${refusal}` };
    addresses.set(ip.text, ip);
  }
  return { ok: true, addresses: [...addresses.values()] };
}
