/**
 * What every command shares: the global options, how they become SDK options, and output helpers. Commands
 * are thin: they parse flags, call the SDK, and print.
 */
import type { Command } from 'commander';
import type { SessionOptions } from '../auth/session.js';
import { configFilePath } from '../config/location.js';
import type { ResolveOptions } from '../config/types.js';
import { EXIT_CODES, errorCategory } from '../errors.js';

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  config?: string;
  env?: string;
  json?: boolean;
  debug?: boolean;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Resolution options from the global flags: `--config` and `-e/--env` beat `$DH_CONFIG` / `$DH_NAME`. */
export function resolveOptionsOf(cmd: Command): ResolveOptions {
  const g = globalOptions(cmd);
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
  return { ...resolveOptionsOf(cmd), refuseUnsaveable: true };
}

/** The config file the command works on: `--config`, else `$DH_CONFIG`, else `~/.dhcore.ini`. */
export function configFileOf(cmd: Command): string {
  return globalOptions(cmd).config?.trim() || configFilePath(process.env);
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Two aligned columns, for short human-readable summaries. */
export function printTable(rows: ReadonlyArray<readonly [string, string]>): void {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

/** The exit code of a failure: its code's category in the error table; 1 for anything unexpected. */
export function exitCodeFor(err: unknown): number {
  return EXIT_CODES[errorCategory(err)];
}
