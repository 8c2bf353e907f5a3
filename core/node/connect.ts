/**
 * One call from host and port to a Pop3Client that has the greeting and the capabilities: opens the Node
 * transport, starts the session, and with `tls: 'starttls'` upgrades before anything else is sent.
 */
import { ErrorCode, LocalProtocolError } from '../errors.js';
import { Pop3Client, type Pop3ClientOptions } from '../client/pop3-client.js';
import { openTcpTransport, type TcpTransportOptions } from './tcp-transport.js';

/** Options for {@link connect}: where, how, and the client's own options. */
export interface ConnectOptions extends Pop3ClientOptions, Omit<TcpTransportOptions, 'tls' | 'port'> {
  /** Default 995 with implicit TLS, 110 otherwise. */
  port?: number;
  /**
   * `'implicit'` (the default): TLS from the first byte (RFC 8314). `'starttls'`: plain TCP upgraded with
   * STLS right after the greeting; fails with POP3_ERR_TLS_REQUIRED if the server does not offer STLS.
   * `'none'`: no TLS (login() still refuses to send credentials in plaintext to a non-loopback server unless
   * its `requireTls` is false).
   */
  tls?: 'implicit' | 'starttls' | 'none';
  /**
   * Applies to each step: opening the connection (TCP and the implicit TLS handshake), then the greeting
   * and CAPA. Default 30 000 ms.
   */
  connectTimeout?: number;
}

/** Connect to a POP3 server: resolves with a client ready for login(). */
export async function connect(options: ConnectOptions): Promise<Pop3Client> {
  const mode = options.tls ?? 'implicit';
  const port = options.port ?? (mode === 'implicit' ? 995 : 110);
  const transport = await openTcpTransport({ ...options, port, tls: mode === 'implicit' });
  const client = new Pop3Client(transport, options);
  try {
    await client.connect({ signal: options.signal });
    if (mode === 'starttls') {
      if (client.capabilities?.stls !== true) {
        throw new LocalProtocolError(ErrorCode.TlsRequired, `${options.host}:${port} does not offer STLS`);
      }
      await client.startTls({ signal: options.signal });
    }
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}
