/**
 * The `pop3kit` command (package.json `bin`, built to dist/cli.js): `pop3kit <subcommand> [options]`.
 *
 * Subcommands are the table below; adding one is a file exporting a Subcommand (cli-command.ts) and a line
 * here. Exit codes: 0 success, 1 failure while running, 2 a bad command line.
 */
import { parseArgs } from 'node:util';
import { type Subcommand, UsageError } from './cli-command.js';
import { serveCommand } from './cli-serve.js';
import { proxyCommand } from '../../proxy/cli.js';

const SUBCOMMANDS: Readonly<Record<string, Subcommand>> = {
  serve: serveCommand,
  proxy: proxyCommand,
};

function overview(): string {
  const width = Math.max(...Object.keys(SUBCOMMANDS).map((name) => name.length));
  const lines = Object.entries(SUBCOMMANDS).map(([name, command]) => `  ${name.padEnd(width)}  ${command.summary}`);
  return `Usage: pop3kit <command> [options]\n\nCommands:\n${lines.join('\n')}\n\nRun "pop3kit <command> --help" for its options.\n`;
}

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return 0;
  }
  const command = name === undefined ? undefined : Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (command === undefined) {
    process.stderr.write(`${name === undefined ? 'pop3kit: no command given' : `pop3kit: unknown command ${JSON.stringify(name)}`}\n\n${overview()}`);
    return 2;
  }
  try {
    const { values } = parseArgs({
      args: [...rest],
      options: { ...command.options, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    });
    if (values.help) {
      process.stdout.write(command.help);
      return 0;
    }
    return await command.run(values);
  } catch (error) {
    // parseArgs reports a bad command line as a TypeError with an ERR_PARSE_ARGS_* code; its first sentence
    // says what is wrong, the rest is advice about positionals that does not apply here.
    const parseError = (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS_') === true;
    const usage = parseError || error instanceof UsageError;
    const text = error instanceof Error ? error.message : String(error);
    const message = parseError ? text.split('. ')[0] : text;
    process.stderr.write(`pop3kit ${name}: ${message}\n${usage ? `Run "pop3kit ${name} --help" for usage.\n` : ''}`);
    return usage ? 2 : 1;
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
