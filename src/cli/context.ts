/**
 * What every command shares: the global options, how they become SDK options, and output helpers. Commands
 * are thin: they parse flags, call the SDK, and print.
 */
import type { Command } from 'commander';
import type { SessionOptions } from '../auth/session.js';
import { configFileFrom } from '../config/location.js';
import type { ResolveOptions } from '../config/types.js';
import { EXIT_CODES, errorCategory, UsageError } from '../errors.js';
import { writeOut } from './output.js';

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  config?: string;
  env?: string;
  json?: boolean;
  debug?: boolean;
}

/** The global options; an empty `-e ""` or `--config ""` is a usage error (it would silently mean "the default"). */
export function globalOptions(cmd: Command): GlobalOptions {
  return checkedGlobals(cmd.optsWithGlobals<GlobalOptions>());
}

/** `g` if its values are usable (see {@link globalOptions}); for options parsed without commander too. */
export function checkedGlobals(g: GlobalOptions): GlobalOptions {
  if (g.env !== undefined && !g.env.trim()) {
    throw new UsageError(
      'usage_invalid_option',
      "-e/--env needs a profile name, not an empty value: see 'dhcore list-env', or leave -e out to use the current profile.",
    );
  }
  if (g.config !== undefined && !g.config.trim()) {
    throw new UsageError(
      'usage_invalid_option',
      '--config needs a file name, not an empty value: leave it out to use $DH_CONFIG or ~/.dhcore.ini.',
    );
  }
  return g;
}

/** Resolution options from the global flags: `--config` and `-e/--env` beat `$DH_CONFIG` / `$DH_NAME`. */
export function resolveOptionsOf(cmd: Command): ResolveOptions {
  return resolveOptionsFrom(globalOptions(cmd));
}

/** {@link resolveOptionsOf} for global options already checked. */
export function resolveOptionsFrom(g: GlobalOptions): ResolveOptions {
  return {
    env: process.env,
    ...(g.config ? { configFile: g.config } : {}),
    ...(g.env ? { profile: g.env } : {}),
  };
}

/**
 * Session options for a command that uses tokens: the global flags, and — since a CLI process ends — a refusal
 * to rotate a refresh token whose successor cannot be saved.
 */
export function sessionOptionsOf(cmd: Command): SessionOptions {
  return sessionOptionsFrom(globalOptions(cmd));
}

/** {@link sessionOptionsOf} for global options already checked. */
export function sessionOptionsFrom(g: GlobalOptions): SessionOptions {
  return { ...resolveOptionsFrom(g), refuseUnsaveable: true };
}

/** The config file the command works on: `--config`, else `$DH_CONFIG`, else `~/.dhcore.ini` (`~` expanded). */
export function configFileOf(cmd: Command): string {
  return configFileFrom(globalOptions(cmd).config, process.env);
}

/** `export NAME='value'` lines for `eval`: single quotes, so the shell expands nothing in a value. */
export function exportLines(vars: ReadonlyArray<readonly [string, string]>): string {
  return vars.map(([name, value]) => `export ${name}='${value.replace(/'/g, `'\\''`)}'\n`).join('');
}

export function printJson(value: unknown): void {
  writeOut(`${JSON.stringify(value, null, 2)}\n`);
}

/** Two aligned columns, for short human-readable summaries. */
export function printTable(rows: ReadonlyArray<readonly [string, string]>): void {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  writeOut(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}\n`).join(''));
}

/** The exit code of a failure: its code's category in the error table; 1 for anything unexpected. */
export function exitCodeFor(err: unknown): number {
  return EXIT_CODES[errorCategory(err)];
}
