/**
 * What the demo's command line prints: the banner once everything listens, and the advice for each way
 * the start can fail.
 */
import type { RunningDemo } from './demo-server.js';
import { type DemoService, PageMissingError, PortInUseError } from './errors.js';

/** The option that sets each listener's port. */
const PORT_OPTION: Readonly<Record<DemoService, string>> = {
  page: '--port',
  proxy: '--proxy-port',
  pop3: '--pop3-port',
};

const SERVICE_NAME: Readonly<Record<DemoService, string>> = {
  page: 'the page server',
  proxy: 'the WebSocket proxy',
  pop3: 'the embedded POP3 server',
};

/** The banner: the URL to open, the embedded server and its account, the proxy and what it allows, how to stop. */
export function banner(demo: RunningDemo): string {
  const [embedded, ...others] = demo.config.targets;
  const account = embedded?.user === undefined ? '' : `, user ${embedded.user}, password ${embedded.password}`;
  const lines = [
    `pop3kit demo: open ${demo.url}`,
    '',
    `  POP3 server   pop3://${demo.pop3.host}:${demo.pop3.port} (sample mailbox${account})`,
    `  proxy         ${demo.proxyUrl}`,
    `  allowed       ${demo.pop3.host}:${demo.pop3.port} (embedded server)`,
    ...others.map((t) => `                ${t.target} (${t.tls ? 'the proxy connects with TLS' : 'passed through'})`),
    '',
    'Press Ctrl-C to stop.',
  ];
  return `${lines.join('\n')}\n`;
}

/** One line saying why the demo did not start and what to do about it. */
export function startupErrorMessage(error: unknown): string {
  if (error instanceof PortInUseError) {
    const option = PORT_OPTION[error.service];
    return `port ${error.port} is in use, so ${SERVICE_NAME[error.service]} cannot listen: choose another with ${option} N (0 picks a free one)`;
  }
  if (error instanceof PageMissingError) {
    return `the demo page is not built (${error.root} has no index.html): run npm run build`;
  }
  return error instanceof Error ? error.message : String(error);
}
