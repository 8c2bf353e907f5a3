/**
 * `GET /demo-config.json`: what the page needs to know about this demo process, namely the proxy's URL and
 * the servers the proxy lets it reach. The embedded server's entry carries the sample account, whose
 * password is public on purpose; a real server never gets credentials here (the learner types them).
 */
import { parseTarget } from '../../proxy/index.js';
import type { DemoConfig, DemoTarget } from '../page/demo-config-types.js';

// The types are the page's (it reads the file), so that the two sides cannot drift apart.
export type { DemoConfig, DemoTarget };

/** What the configuration is made from. */
export interface DemoConfigSource {
  readonly proxyUrl: string;
  /** The embedded server's `HOST:PORT`. */
  readonly embedded: string;
  /** The sample account shown for the embedded server, if the sample has one. */
  readonly account: { readonly user: string; readonly password: string } | undefined;
  /** Targets the proxy passes bytes to unchanged. */
  readonly allow: readonly string[];
  /** Targets the proxy connects to with TLS. */
  readonly allowTls: readonly string[];
}

/** Builds the configuration; target names are given in the proxy's form (lower-case host). */
export function demoConfig(source: DemoConfigSource): DemoConfig {
  const other = (target: string, tls: boolean): DemoTarget => {
    const key = parseTarget(target).key;
    return { target: key, label: key, embedded: false, tls };
  };
  return {
    proxyUrl: source.proxyUrl,
    targets: [
      { target: source.embedded, label: 'Embedded sample server', embedded: true, tls: false, ...source.account },
      ...source.allow.map((target) => other(target, false)),
      ...source.allowTls.map((target) => other(target, true)),
    ],
  };
}
