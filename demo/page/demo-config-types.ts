/**
 * `GET /demo-config.json`: what the page needs to know about the demo process (`npm start`), namely the
 * proxy's URL and the servers the proxy lets it reach. Types only, shared by the page (app.ts, main.ts) and
 * the demo server that builds the file (demo/server/demo-config.ts), so this module must stay browser-safe.
 */

/** One server the page may reach through the proxy. */
export interface DemoTarget {
  /** `HOST:PORT` as the proxy's allowlist has it: the page passes it as `?target=`. */
  readonly target: string;
  /** What to call it in the page. */
  readonly label: string;
  /** The embedded sample server of `npm start` (its mailbox can be reset with `POST /api/reset-mailbox`). */
  readonly embedded: boolean;
  /**
   * The proxy connects to this server with TLS and verifies its certificate (`--allow-tls`): the page speaks
   * plain POP3 over the WebSocket. False: the proxy passes bytes through unchanged.
   */
  readonly tls: boolean;
  /** The sample account (embedded server only, whose password is public). */
  readonly user?: string;
  readonly password?: string;
}

/** The body of `/demo-config.json`, served by `npm start`. Absent when the page is served without the demo server. */
export interface DemoConfig {
  /** The WebSocket URL of the proxy, e.g. `ws://127.0.0.1:8081/`. */
  readonly proxyUrl: string;
  /** The embedded server first, then the operator's `--allow` targets, then the `--allow-tls` ones. */
  readonly targets: readonly DemoTarget[];
}
