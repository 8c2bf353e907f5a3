/**
 * pop3kit/node: the Node client entry point (sockets). Everything browser-safe is in the main entry; the
 * Node server is pop3kit/server, kept apart so that a client does not load it.
 */
export { connect, type ConnectOptions } from './connect.js';
export { openTcpTransport, TcpTransport, type TcpTransportOptions } from './tcp-transport.js';
