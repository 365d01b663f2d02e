import type { Command } from 'commander';
import type { ResolveOptions } from '../config/resolve.js';
import { AuthError, ConfigError, DHCoreError, HttpError } from '../errors.js';

/** Options every command accepts (declared once on the root program). */
export interface GlobalOptions {
  config?: string;
  env?: string;
  json?: boolean;
  debug?: boolean;
}

/** Exit codes, documented in `dhcore --help`. */
export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  config: 3,
  auth: 4,
  network: 5,
} as const;

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

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Two aligned columns, for short human-readable summaries. */
export function printTable(rows: ReadonlyArray<readonly [string, string]>): void {
  const width = Math.max(0, ...rows.map(([k]) => k.length));
  for (const [k, v] of rows) process.stdout.write(`${k.padEnd(width)}  ${v}\n`);
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof ConfigError) return EXIT.config;
  if (err instanceof AuthError) return EXIT.auth;
  if (err instanceof HttpError) return EXIT.network;
  if (err instanceof DHCoreError && err.code.startsWith('network')) return EXIT.network;
  return EXIT.failure;
}
