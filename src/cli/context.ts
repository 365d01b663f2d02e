import type { Command } from 'commander';
import type { IniDocument } from '../config/ini.js';
import { CURRENT_ENVIRONMENT_KEY } from '../config/keys.js';
import { configFilePath, type ResolveOptions } from '../config/resolve.js';
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

/** The config file the command works on: `--config`, else `$DH_CONFIG`, else `~/.dhcore.ini`. */
export function configFileOf(cmd: Command): string {
  return globalOptions(cmd).config?.trim() || configFilePath(process.env);
}

/** Environment (section) names in file order; `[DEFAULT]` is not one. */
export function environmentsIn(doc: IniDocument | null): string[] {
  return doc ? doc.sections() : [];
}

/** The file's `[DEFAULT] current_environment`, if set. */
export function currentEnvironmentIn(doc: IniDocument | null): string | undefined {
  const value = doc?.get('DEFAULT', CURRENT_ENVIRONMENT_KEY)?.trim();
  return value ? value : undefined;
}

/** "known environments: a, b" or a hint to register one. */
function knownList(doc: IniDocument | null, file: string): string {
  const known = environmentsIn(doc);
  return known.length > 0
    ? `known environments: ${known.join(', ')}`
    : `${file} has no environments yet; run 'dhcore register <endpoint>'`;
}

/** Throw `config_unknown_profile` unless `name` is an environment (section other than DEFAULT) of `doc`. */
export function requireEnvironment(doc: IniDocument | null, name: string, file: string): void {
  if (doc?.hasSection(name) && name !== 'DEFAULT') return;
  throw new ConfigError(
    'config_unknown_profile',
    `Unknown environment '${name}' in ${file}; ${knownList(doc, file)}. Add it with 'dhcore register <endpoint> -e ${name}'.`,
    { file },
  );
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
