/**
 * Opening the TCP connection to a target: to the checked IP addresses only (an IP host makes Node skip DNS),
 * one after the other until one answers, and, for targets marked `tls`, the TLS handshake with certificate
 * verification against the allowlist entry's host name.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import type { IpAddress } from './address-policy.js';
import type { AllowedTarget } from './config.js';

/** What a connector is asked to do. */
export interface ConnectRequest {
  /** Checked addresses, in order of preference. Connect to these and nothing else. */
  readonly addresses: readonly IpAddress[];
  readonly target: AllowedTarget;
  /** CA certificates for `target.tls`; undefined means the system's. */
  readonly tlsCa: ConnectionOptions['ca'] | undefined;
  /** Aborted on the connect timeout or shutdown: stop and reject. */
  readonly signal: AbortSignal;
}

/**
 * Connects to a target. Resolves with the socket once it is connected (and, for `tls` targets, the
 * certificate verified); rejects otherwise. Injectable, so tests can see every connection attempt.
 */
export type Connector = (request: ConnectRequest) => Promise<Socket>;

/** Connects with Node's net (or tls for `tls` targets), trying each address in turn. */
export const defaultConnector: Connector = async ({ addresses, target, tlsCa, signal }) => {
  let lastError: unknown = new Error('no address to connect to');
  for (const ip of addresses) {
    signal.throwIfAborted();
    try {
      return await connectOne(ip, target, tlsCa, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      lastError = error;
    }
  }
  throw lastError;
};

function connectOne(ip: IpAddress, target: AllowedTarget, tlsCa: ConnectRequest['tlsCa'], signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const base = { host: ip.text, port: target.port, noDelay: true };
    const socket = target.tls
      ? tlsConnect({
          ...base,
          // The certificate must name the host of the allowlist entry; an IP entry is checked against the
          // certificate's IP addresses (and sends no SNI, which may not carry an IP address).
          ...(target.ip === undefined ? { servername: target.host } : {}),
          ca: tlsCa,
          rejectUnauthorized: true,
        })
      : netConnect(base);
    const onAbort = () => {
      socket.destroy();
      reject(signal.reason);
    };
    const settle = () => {
      socket.off('error', onError);
      signal.removeEventListener('abort', onAbort);
    };
    const onError = (error: Error) => {
      settle();
      socket.destroy();
      reject(error);
    };
    socket.once('error', onError);
    socket.once(target.tls ? 'secureConnect' : 'connect', () => {
      settle();
      resolve(socket);
    });
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
