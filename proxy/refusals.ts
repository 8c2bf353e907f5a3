/**
 * Every way the proxy turns a client away, with a stable reason code (the string values never change; they
 * appear in logs, in `/metrics` and in close reasons) and how the client is told.
 *
 * Two stages, on purpose:
 * - Before the WebSocket handshake completes, the answer is an HTTP status and no WebSocket ever exists:
 *   cheap, for requests that are abuse or misconfiguration (wrong origin, over a cap, rate limited).
 * - After it, the WebSocket is closed with a code and a reason string the page can read (a browser hides
 *   the HTTP status of a failed handshake from scripts): for things a legitimate page may need to act on, such
 *   as an expired token or an unknown target.
 * In both stages nothing is connected to any target.
 */

/** Standard WebSocket close codes the proxy uses (RFC 6455 section 7.4.1, IANA registry). */
export const CloseCode = {
  Normal: 1000,
  /** The proxy is shutting down. */
  GoingAway: 1001,
  /** A text frame: the proxy carries bytes only. */
  UnsupportedData: 1003,
  /** The request broke the proxy's policy: target, token, address, timeout. */
  PolicyViolation: 1008,
  /** A message larger than maxPayload. */
  MessageTooBig: 1009,
  InternalError: 1011,
  /** The proxy is full or the client is rate limited. */
  TryAgainLater: 1013,
  /** The target could not be resolved or reached, or its certificate did not verify. */
  BadGateway: 1014,
} as const;

/** A refusal: its stable code, the HTTP status before the handshake, or the close code after it. */
export interface RefusalKind {
  readonly status?: number;
  readonly close?: number;
}

/** The refusal reasons. */
export const Refusal = {
  /** A plain HTTP request, or an upgrade on another path. */
  'not-found': { status: 404 },
  /** The path of the proxy without a WebSocket upgrade. */
  'upgrade-required': { status: 426 },
  'origin-not-allowed': { status: 403 },
  'rate-limited': { status: 429 },
  'too-many-connections': { status: 503 },
  'too-many-from-client': { status: 503 },
  'shutting-down': { status: 503 },
  'target-missing': { close: CloseCode.PolicyViolation },
  'target-not-allowed': { close: CloseCode.PolicyViolation },
  'token-missing': { close: CloseCode.PolicyViolation },
  'token-invalid': { close: CloseCode.PolicyViolation },
  'token-expired': { close: CloseCode.PolicyViolation },
  'token-wrong-target': { close: CloseCode.PolicyViolation },
  'address-not-allowed': { close: CloseCode.PolicyViolation },
  'resolve-failed': { close: CloseCode.BadGateway },
} as const satisfies Record<string, RefusalKind>;

/** A stable refusal reason code, e.g. `origin-not-allowed`. */
export type RefusalReason = keyof typeof Refusal;
