/**
 * pop3kit: the browser-safe entry point. Everything here runs unchanged in browsers, workers, extensions,
 * Deno, Bun and Node: no Node built-ins. The engines (client and server) do no I/O and read no clock; the
 * async drivers on top of them use only the web platform (timers for timeouts, WebSocket, streams).
 * Node-only code is in other entries: the socket client `pop3kit/node`, the POP3 server (sockets, Maildir)
 * `pop3kit/server`, the proxy `pop3kit/proxy`.
 */
export * from './errors.js';
export { Secret, REDACTED, type SecretText } from './secret.js';
export { type Limits, DEFAULT_LIMITS } from './limits.js';
export { type Capabilities, type PerUserValue, parseCapabilities } from './capabilities.js';
export { type StatusLine, parseStatusLine } from './response.js';
export type { Verb, Argument } from './commands.js';
export { type BodyChunk, bodyChunk, DotUnstuffer } from './framer.js';
export { DotStuffer, dotStuff } from './stuffing.js';
export { apopDigest, apopTimestamp } from './apop.js';
export * from './sasl/index.js';
export {
  Pop3ClientEngine,
  type ClientEngineOptions,
  type CommandHandle,
  type CommandResult,
  type Greeting,
  type LanguageEntry,
  type ListEntry,
  type Pop3Event,
  type ResultOf,
  type SessionState,
  type UidlEntry,
} from './client-engine.js';
export * from './client/index.js';
export * from './server/index.js';
export {
  openWebSocketTransport,
  WebSocketCloseError,
  WebSocketTransport,
  type WebSocketConstructor,
  type WebSocketLike,
  type WebSocketTransportOptions,
} from './client/websocket-transport.js';
