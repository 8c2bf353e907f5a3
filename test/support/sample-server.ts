/**
 * A Pop3Server (core/node/server.ts) over a temporary copy of the sample mailbox, listening on 127.0.0.1 on
 * free ports: a plain listener with STLS and an implicit-TLS one, with a certificate from a throwaway CA.
 */
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { MaildirStore } from '../../core/node/maildir.js';
import { type LogEvent, Pop3Server, type Pop3ServerOptions } from '../../core/node/server.js';
import { readUsersFile } from '../../core/node/users-file.js';
import { makeTestCertificates, type TestCertificates } from './openssl-ca.js';
import { tempDir, writeSampleMaildirs } from './sample-maildir.js';

export interface SampleServer {
  readonly server: Pop3Server;
  /** DIR of the store: one Maildir per user. */
  readonly root: string;
  readonly port: number;
  readonly tlsPort: number;
  readonly certificates: TestCertificates;
  /** Everything the server logged. */
  readonly log: LogEvent[];
  /** Closes the server; the files stay until remove(). */
  close(): Promise<void>;
  /** Starts a new server (a restart) on the same files and certificate; its ports differ. */
  restart(): Promise<SampleServer>;
  /** Closes the server and removes the files. */
  remove(): Promise<void>;
}

export interface SampleServerOptions {
  /** name → password; default `{ demo: 'demo' }`. Each user gets a copy of the sample mailbox. */
  readonly users?: Record<string, string>;
  /** Further server options. */
  readonly server?: Partial<Pop3ServerOptions>;
}

/** Copies the sample mailbox into a temporary folder and serves it. */
export async function startSampleServer(options: SampleServerOptions = {}): Promise<SampleServer> {
  const { dir, remove } = tempDir('server');
  const usersFile = writeSampleMaildirs(dir, options.users ?? { demo: 'demo' });
  const certificates = makeTestCertificates(dir);
  return serve(dir, usersFile, certificates, options, remove);
}

async function serve(
  root: string,
  usersFile: string,
  certificates: TestCertificates,
  options: SampleServerOptions,
  removeFiles: () => void,
): Promise<SampleServer> {
  const users = await readUsersFile(usersFile);
  const log: LogEvent[] = [];
  const server = new Pop3Server({
    store: new MaildirStore({ root, password: (user) => users.get(user) }),
    tls: { cert: readFileSync(certificates.certFile), key: readFileSync(certificates.keyFile) },
    log: (event) => log.push(event),
    ...options.server,
  });
  const plain: AddressInfo = await server.listen({ host: '127.0.0.1', port: 0 });
  const secure: AddressInfo = await server.listen({ host: '127.0.0.1', port: 0, tls: true });
  return {
    server,
    root,
    port: plain.port,
    tlsPort: secure.port,
    certificates,
    log,
    close: () => server.close(),
    restart: async () => {
      await server.close();
      return serve(root, usersFile, certificates, options, removeFiles);
    },
    remove: async () => {
      await server.close();
      removeFiles();
    },
  };
}
