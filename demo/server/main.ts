/**
 * `npm start` (`node dist/demo-server.js`): starts the demo (demo-server.ts), prints where to find it, and
 * on SIGINT or SIGTERM stops everything and exits 0; a second signal ends the process at once.
 * Exit codes: 1 when it cannot start (a port in use, the page not built), 2 for a bad command line.
 */
import { UsageError } from '../../core/node/cli-command.js';
import { banner, startupErrorMessage } from './cli-text.js';
import { startDemo } from './demo-server.js';
import { HELP, parseDemoArgs } from './options.js';
import { nextStopSignal } from '../../core/node/signals.js';

async function main(): Promise<number> {
  let command;
  try {
    command = parseDemoArgs(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`pop3kit demo: ${error.message}\nSee --help.\n`);
    return 2;
  }
  if (command.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const log = command.verbose ? (line: string) => process.stderr.write(`${line}\n`) : undefined;
  let demo;
  try {
    demo = await startDemo({ ...command.options, log });
  } catch (error) {
    process.stderr.write(`pop3kit demo: ${startupErrorMessage(error)}\n`);
    return 1;
  }
  process.stdout.write(banner(demo));
  const signal = await nextStopSignal();
  process.stdout.write(`pop3kit demo: ${signal}, stopping\n`);
  await demo.close();
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`pop3kit demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
