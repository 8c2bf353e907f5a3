/** pop3kit/node: the Node-only entry point (sockets). Everything browser-safe is in the main entry. */
export { connect, type ConnectOptions } from './connect.js';
export { openTcpTransport, TcpTransport, type TcpTransportOptions } from './tcp-transport.js';
export { Pop3Server, type ListenOptions, type LogEvent, type Pop3ServerOptions } from './server.js';
export { MaildirStore, isSafeMailboxName, uidOf, type MaildirStoreOptions } from './maildir.js';
export { parseUsers, readUsersFile } from './users-file.js';
