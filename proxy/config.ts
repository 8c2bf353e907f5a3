/**
 * The proxy's options, their defaults, and the validation that makes it fail closed: no allowlist, a
 * malformed target, or an IP target in a refused range stops it from starting.
 */
import type { ConnectionOptions } from 'node:tls';
import { addressRefusal, endsInNumber, type IpAddress, parseIp } from './address-policy.js';
import type { Connector } from './connect.js';
import type { ProxyLogger } from './log.js';
import type { Resolver } from './resolve.js';

/** One allowlist entry with options. A plain `'HOST:PORT'` string is the same with every option off. */
export interface AllowedTargetOptions {
  /** `HOST:PORT`: a host name, an IPv4 address or a bracketed IPv6 address, and a port. */
  readonly target: string;
  /**
   * Originate TLS to this target (the page then speaks plain POP3 to the proxy, which must itself be behind
   * TLS). The certificate is verified against the host name of this entry (or its IP address), with the
   * system CAs or `tlsCa`. Off by default: the proxy passes bytes through, so TLS on port 995 or STLS runs
   * end to end between the page and the server.
   */
  readonly tls?: boolean;
  /** Allow private, loopback, link-local, CGNAT and unique-local addresses for this target only. */
  readonly allowPrivate?: boolean;
}

/** Token bucket per client address: `burst` new connections at once, refilled at `perSecond`. */
export interface RateLimit {
  readonly burst: number;
  readonly perSecond: number;
}

/** Options of createProxy. Only `allow` is required. */
export interface ProxyOptions {
  /** The exact targets the proxy may connect to. Required and non-empty: the proxy will not start without it. */
  readonly allow: readonly (string | AllowedTargetOptions)[];
  /** Where to listen. Default 127.0.0.1, port 8110; port 0 picks a free port. */
  readonly host?: string;
  readonly port?: number;
  /** The URL path of the WebSocket endpoint. Default `/`. */
  readonly path?: string;
  /**
   * Origins (`scheme://host[:port]`, exact) whose pages may connect, or `'*'` for any. Default none: only
   * clients that send no Origin header (not browsers) are accepted, so a browser page needs its origin listed.
   */
  readonly origins?: readonly string[] | '*';
  /**
   * Allow private, loopback, link-local (including 169.254.169.254, cloud metadata), CGNAT and unique-local
   * addresses for every target. Default false. Unspecified, multicast, broadcast, documentation and reserved
   * addresses are refused even then.
   */
  readonly allowPrivate?: boolean;
  /** HMAC-SHA256 secret (at least 32 bytes). When set, every connection needs a valid `?token=` (see tokens.ts). */
  readonly tokenSecret?: string | Uint8Array;
  /** How far a token's expiry may lie in the past (clock skew between page backend and proxy). Default 5 s. */
  readonly tokenSkewMs?: number;
  /** Tokens that expire further in the future than this are refused as not short-lived. Default 10 min. */
  readonly maxTokenLifetimeMs?: number;
  /**
   * Addresses of reverse proxies in front of this one. Only a request that arrives from one of them has its
   * X-Forwarded-For header read, and the client is the right-most address in it that is not one of them.
   * Default none: forwarding headers are ignored.
   */
  readonly trustProxy?: readonly string[];
  /** CA certificates (PEM) for targets with `tls: true`, instead of the system's. */
  readonly tlsCa?: ConnectionOptions['ca'];
  /** Largest WebSocket message accepted from a page, in bytes. Default 64 KiB. */
  readonly maxPayload?: number;
  /** Most open sessions in total. Default 1000. */
  readonly maxConnections?: number;
  /** Most open sessions per client address. Default 16. */
  readonly maxConnectionsPerClient?: number;
  /** New connections per client address; `false` turns the limit off. Default burst 10, 1 per second. */
  readonly rateLimit?: RateLimit | false;
  /** Resolving and connecting to the target (and the TLS handshake the proxy originates). Default 10 s. */
  readonly connectTimeoutMs?: number;
  /** No byte either way for this long ends a session. Default 10 min (RFC 1939's autologout minimum). */
  readonly idleTimeoutMs?: number;
  /** The longest a session may last. Default 1 h. */
  readonly sessionTimeoutMs?: number;
  /** A ping this often; a page that has not answered the previous one is dropped. Default 30 s. */
  readonly pingIntervalMs?: number;
  /** Bytes waiting to be sent to the page above which reading from the target pauses. Default 1 MiB. */
  readonly highWaterMark?: number;
  /** On close(), how long sessions with traffic may finish before all are closed. Default 10 s. */
  readonly drainTimeoutMs?: number;
  /** Where log records go. Default: JSON lines on stdout. */
  readonly logger?: ProxyLogger;
  /** How host names are resolved. Default: the system resolver (getaddrinfo), every address. */
  readonly resolver?: Resolver;
  /** How the proxy connects to a checked address. Default: net / tls (see connect.ts). */
  readonly connector?: Connector;
  /** The clock, in milliseconds since the epoch. Default Date.now. */
  readonly now?: () => number;
}

/** An allowlist entry, validated. */
export interface AllowedTarget {
  /** The entry as the page names it: lower-case host as written (IPv6 in brackets), colon, port. */
  readonly key: string;
  /** Host name, or the IP address's canonical text (without brackets). */
  readonly host: string;
  /** Set when the host is an IP address: the proxy connects to it without resolving. */
  readonly ip: IpAddress | undefined;
  readonly port: number;
  readonly tls: boolean;
  readonly allowPrivate: boolean;
}

/** Every option with its default applied, the allowlist validated. */
export interface ProxyConfig
  extends Required<Omit<ProxyOptions, 'allow' | 'origins' | 'tokenSecret' | 'tlsCa' | 'logger' | 'resolver' | 'connector'>> {
  readonly targets: ReadonlyMap<string, AllowedTarget>;
  /** Exact origins, or undefined for any. */
  readonly origins: ReadonlySet<string> | undefined;
  readonly tokenSecret: Uint8Array | undefined;
  readonly tlsCa: ConnectionOptions['ca'] | undefined;
  /** Canonical texts of the trusted reverse proxies. */
  readonly trustProxy: readonly string[];
}

/** The proxy's options were unusable; it did not start. */
export class ProxyConfigError extends Error {
  override readonly name = 'ProxyConfigError';
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 8110,
  path: '/',
  allowPrivate: false,
  tokenSkewMs: 5_000,
  maxTokenLifetimeMs: 10 * 60_000,
  maxPayload: 64 * 1024,
  maxConnections: 1000,
  maxConnectionsPerClient: 16,
  rateLimit: { burst: 10, perSecond: 1 },
  connectTimeoutMs: 10_000,
  idleTimeoutMs: 10 * 60_000,
  sessionTimeoutMs: 60 * 60_000,
  pingIntervalMs: 30_000,
  highWaterMark: 1024 * 1024,
  drainTimeoutMs: 10_000,
} as const;

/** Host name syntax (RFC 1123 labels); anything else is not sent to a resolver. */
const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/**
 * Parses `HOST:PORT` (`[IPv6]:PORT` for IPv6). Throws ProxyConfigError when it is malformed. The IP range is
 * not checked here.
 */
export function parseTarget(text: string): { key: string; host: string; ip: IpAddress | undefined; port: number } {
  const match = /^(\[[^\]]*\]|[^:[\]]+):([1-9][0-9]{0,4})$/.exec(text);
  const port = Number(match?.[2]);
  if (match === null || port > 65535) throw new ProxyConfigError(`target ${JSON.stringify(text)} is not HOST:PORT`);
  const written = match[1]!.toLowerCase();
  const bracketed = written.startsWith('[');
  const ip = parseIp(written);
  if (bracketed && ip?.family !== 6) throw new ProxyConfigError(`target ${JSON.stringify(text)}: not an IPv6 address in brackets`);
  if (bracketed && written.includes('%')) throw new ProxyConfigError(`target ${JSON.stringify(text)}: zone ids are not allowed`);
  if (ip === undefined && (!HOST_NAME.test(written) || endsInNumber(written))) {
    throw new ProxyConfigError(`target ${JSON.stringify(text)}: not a host name or IP address`);
  }
  return { key: `${written}:${port}`, host: ip?.text ?? written, ip, port };
}

function positive(name: string, value: number, allowZero = false): number {
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new ProxyConfigError(`${name} must be a positive number, not ${value}`);
  }
  return value;
}

/** Applies the defaults and validates; throws ProxyConfigError for anything that would not fail closed. */
export function resolveProxyConfig(options: ProxyOptions): ProxyConfig {
  if (!Array.isArray(options.allow) || options.allow.length === 0) {
    throw new ProxyConfigError('refusing to start without an allowlist of targets (HOST:PORT)');
  }
  const allowPrivate = options.allowPrivate ?? DEFAULTS.allowPrivate;
  const targets = new Map<string, AllowedTarget>();
  for (const entry of options.allow) {
    const spec: AllowedTargetOptions = typeof entry === 'string' ? { target: entry } : entry;
    const parsed = parseTarget(spec.target);
    const target: AllowedTarget = { ...parsed, tls: spec.tls ?? false, allowPrivate: allowPrivate || (spec.allowPrivate ?? false) };
    // An IP target is checked now, so a mistake shows at start rather than as refusals later.
    const refusal = target.ip && addressRefusal(target.ip, target.allowPrivate);
    if (refusal) {
      throw new ProxyConfigError(`target ${spec.target}: ${refusal}; private addresses need allowPrivate (--allow-private)`);
    }
    if (targets.has(target.key)) throw new ProxyConfigError(`target ${spec.target} is listed twice`);
    targets.set(target.key, target);
  }

  let origins: Set<string> | undefined = new Set();
  if (options.origins === '*') origins = undefined;
  else {
    for (const origin of options.origins ?? []) {
      let parsed: URL;
      try {
        parsed = new URL(origin);
      } catch {
        throw new ProxyConfigError(`origin ${JSON.stringify(origin)} is not a URL`);
      }
      // URL.origin is "null" for schemes it does not know (chrome-extension:), so build it from the parts.
      const normal = `${parsed.protocol}//${parsed.host}`;
      if (parsed.host === '' || origin.replace(/\/$/, '') !== normal) {
        throw new ProxyConfigError(`origin ${JSON.stringify(origin)} must be exactly scheme://host[:port]`);
      }
      origins.add(normal);
    }
  }

  let tokenSecret: Uint8Array | undefined;
  if (options.tokenSecret !== undefined) {
    tokenSecret = typeof options.tokenSecret === 'string' ? new TextEncoder().encode(options.tokenSecret) : options.tokenSecret;
    if (tokenSecret.length < 32) throw new ProxyConfigError('the token secret must be at least 32 bytes');
  }

  const trustProxy = (options.trustProxy ?? []).map((address) => {
    const ip = parseIp(address);
    if (ip === undefined) throw new ProxyConfigError(`trustProxy: ${JSON.stringify(address)} is not an IP address`);
    return ip.text;
  });

  const rateLimit = options.rateLimit ?? DEFAULTS.rateLimit;
  if (rateLimit !== false) {
    positive('rateLimit.burst', rateLimit.burst);
    positive('rateLimit.perSecond', rateLimit.perSecond);
  }
  const path = options.path ?? DEFAULTS.path;
  if (!path.startsWith('/')) throw new ProxyConfigError(`path must start with /, not ${JSON.stringify(path)}`);

  return {
    host: options.host ?? DEFAULTS.host,
    port: positive('port', options.port ?? DEFAULTS.port, true),
    path,
    allowPrivate,
    targets,
    origins,
    tokenSecret,
    tokenSkewMs: positive('tokenSkewMs', options.tokenSkewMs ?? DEFAULTS.tokenSkewMs, true),
    maxTokenLifetimeMs: positive('maxTokenLifetimeMs', options.maxTokenLifetimeMs ?? DEFAULTS.maxTokenLifetimeMs),
    trustProxy,
    tlsCa: options.tlsCa,
    maxPayload: positive('maxPayload', options.maxPayload ?? DEFAULTS.maxPayload),
    maxConnections: positive('maxConnections', options.maxConnections ?? DEFAULTS.maxConnections),
    maxConnectionsPerClient: positive('maxConnectionsPerClient', options.maxConnectionsPerClient ?? DEFAULTS.maxConnectionsPerClient),
    rateLimit,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs),
    idleTimeoutMs: positive('idleTimeoutMs', options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs),
    sessionTimeoutMs: positive('sessionTimeoutMs', options.sessionTimeoutMs ?? DEFAULTS.sessionTimeoutMs),
    pingIntervalMs: positive('pingIntervalMs', options.pingIntervalMs ?? DEFAULTS.pingIntervalMs),
    highWaterMark: positive('highWaterMark', options.highWaterMark ?? DEFAULTS.highWaterMark),
    drainTimeoutMs: positive('drainTimeoutMs', options.drainTimeoutMs ?? DEFAULTS.drainTimeoutMs, true),
    now: options.now ?? Date.now,
  };
}
