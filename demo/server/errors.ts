/**
 * Why the demo could not start, in a form the command line turns into advice (cli-text.ts): which port was
 * taken, or that the page has not been built.
 */
import { hasErrorCode } from '../../core/node/errno.js';

/** The three listeners of the demo. */
export type DemoService = 'page' | 'proxy' | 'pop3';

/** A listener's port is taken by another process. */
export class PortInUseError extends Error {
  override readonly name = 'PortInUseError';
  constructor(
    readonly service: DemoService,
    readonly port: number,
  ) {
    super(`port ${port} (${service}) is in use`);
  }
}

/** The page's folder has no index.html: the web page was not built. */
export class PageMissingError extends Error {
  override readonly name = 'PageMissingError';
  constructor(readonly root: string) {
    super(`the demo page is not built: ${root} has no index.html`);
  }
}

/** A listen error as a PortInUseError when the port was taken; any other error as it is. */
export function listenError(error: unknown, service: DemoService, port: number): unknown {
  return hasErrorCode(error, 'EADDRINUSE') ? new PortInUseError(service, port) : error;
}
