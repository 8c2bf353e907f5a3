/**
 * The POP3 server side: the sans-IO engine, its ready-made async session driver, and the mailbox interfaces
 * with an in-memory store. Browser-safe, like the rest of core/. (For an in-memory connection, a
 * memoryTransportPair end from core/client satisfies ServerConnection.)
 */
export {
  Pop3ServerEngine,
  SERVER_SASL_MECHANISMS,
  type CloseReason,
  type OpenRefusal,
  type ServerEngineOptions,
  type ServerEvent,
  type ServerSaslMechanism,
  type ServerState,
  type TerminateReason,
} from './server-engine.js';
export { type ServerLimits, DEFAULT_SERVER_LIMITS } from './limits.js';
export type { Mailbox, MailboxMessage, MailStore } from './mailbox.js';
export { MemoryMailStore, type MemoryMailbox, type MemoryMailStoreOptions, type MemoryMessage } from './memory-mailbox.js';
export {
  Pop3ServerSession,
  type ServerConnection,
  type ServerSessionOptions,
  type SessionEvent,
  type SessionResult,
} from './session.js';
export { secureRandom, randomTimestamp, type RandomSource } from './randomness.js';
export { CrlfNormalizer, crlfLength, toCrlf } from './line-ends.js';
