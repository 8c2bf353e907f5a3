/**
 * `GET /demo-config.json`: what the page needs to know about this demo process, namely the proxy's URL and
 * the servers the proxy lets it reach. The embedded server's entry carries the sample account, whose
 * password is public on purpose; a real server never gets credentials here (the learner types them).
 */
import { parseTarget } from '../../proxy/index.js';

/** One server the page may reach through the proxy. */
export interface DemoTarget {
  /** `HOST:PORT` as the proxy's allowlist has it: the page passes it as `?target=`. */
  readonly target: string;
  /** What to call it in the page. */
  readonly label: string;
  /** The embedded sample server (its mailbox can be reset with `POST /api/reset-mailbox`). */
  readonly embedded: boolean;
  /**
   * The proxy connects to this server with TLS and verifies its certificate (`--allow-tls`): the page speaks
   * plain POP3 over the WebSocket. False: the proxy passes bytes through unchanged.
   */
  readonly tls: boolean;
  /** The sample account (embedded server only). */
  readonly user?: string;
  readonly password?: string;
}

/** The body of `/demo-config.json`. */
export interface DemoConfig {
  /** The WebSocket URL of the proxy, e.g. `ws://127.0.0.1:8081/`. */
  readonly proxyUrl: string;
  /** The embedded server first, then the operator's `--allow` targets, then the `--allow-tls` ones. */
  readonly targets: readonly DemoTarget[];
}

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
