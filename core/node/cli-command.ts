/**
 * What a `pop3kit` subcommand is: a summary for the command list, its help text, its options in the shape
 * `node:util` parseArgs takes, and a `run` that gets the parsed values. cli.ts owns the table of
 * subcommands and does the parsing, `--help` and error reporting the same way for every one of them.
 */
import type { ParseArgsConfig } from 'node:util';

/** Parsed option values: strings, booleans, or lists of them for `multiple` options. */
export type OptionValues = Record<string, string | boolean | (string | boolean)[] | undefined>;

/** One subcommand of the `pop3kit` command line. */
export interface Subcommand {
  /** One line for `pop3kit --help`. */
  readonly summary: string;
  /** The full help text, printed by `pop3kit <name> --help`. */
  readonly help: string;
  /** Its options (`--help` is added for every subcommand). */
  readonly options: NonNullable<ParseArgsConfig['options']>;
  /** Runs the subcommand; resolves to the process exit code. Throw UsageError for a bad command line. */
  run(values: OptionValues): Promise<number>;
}

/** A mistake in the command line: reported with a pointer to `--help`, exit code 2. */
export class UsageError extends Error {}

/** The value of a string option, or throws UsageError naming it when it is required and missing. */
export function stringOption(values: OptionValues, name: string, required: true): string;
export function stringOption(values: OptionValues, name: string, required?: false): string | undefined;
export function stringOption(values: OptionValues, name: string, required = false): string | undefined {
  const value = values[name];
  if (typeof value === 'string') return value;
  if (required) throw new UsageError(`--${name} is required`);
  return undefined;
}

/** An integer option within [min, max], or `fallback` when it is not given. */
export function integerOption(values: OptionValues, name: string, min: number, max: number, fallback: number): number;
export function integerOption(values: OptionValues, name: string, min: number, max: number): number | undefined;
export function integerOption(values: OptionValues, name: string, min: number, max: number, fallback?: number): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < min || value > max) {
    throw new UsageError(`--${name} must be an integer from ${min} to ${max}, not ${JSON.stringify(text)}`);
  }
  return value;
}
