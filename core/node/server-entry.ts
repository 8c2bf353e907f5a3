/**
 * pop3kit/server: the Node POP3 server (sockets, Maildir, users file). A separate entry from pop3kit/node so
 * that a client importing `connect` does not load the server and its file-system code (ESM loads every
 * static import of an entry, used or not).
 */
export { Pop3Server, type ListenOptions, type LogEvent, type Pop3ServerOptions } from './server.js';
export { MaildirStore, isSafeMailboxName, uidOf, type MaildirStoreOptions } from './maildir.js';
export { parseUsers, readUsersFile } from './users-file.js';
