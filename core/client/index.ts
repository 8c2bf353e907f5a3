/** The async client: Pop3Client, the Transport interface it runs over, and the in-memory transport. */
export {
  Pop3Client,
  type CallOptions,
  type Pop3LoginOptions,
  type LoginResult,
  type MailboxStat,
  type Pop3ClientOptions,
  type RetrOptions,
  type RetrStreamOptions,
} from './pop3-client.js';
export type { Transport } from './transport.js';
export { MemoryTransport, memoryTransportPair, type MemoryTransportOptions } from './memory-transport.js';
export { AbortError, ConnectionError, TimeoutError } from './errors.js';
export { chooseLogin, type LoginMechanism, type LoginPlan } from './login.js';
export type { BatchOptions, BatchProgress, MessageInfo, MessageRef, MessageSink, RetrievedMessage } from './batch.js';
export type { DownloadAndDeleteOptions, DownloadResult } from './download-and-delete.js';
export type { FetchNewOptions, FetchNewResult } from './keep-on-server.js';
export { MemoryUidStore, type UidStore } from './uid-store.js';
