/**
 * dhcore-credentials — working credentials for DHCore (DigitalHub) from Node.js programs.
 *
 * @example
 * import { createClient } from 'dhcore-credentials';
 * const client = await createClient();
 * const res = await client.fetch('/api/v1/projects');
 * console.log(res.status, await res.json());
 *
 * This entry point stays light: the OAuth client, the file lock, the store helpers and the dev server are
 * loaded only when needed (the dev server lives at `dhcore-credentials/dev-server`).
 */
import { resolveConfig as resolveFromSources } from './config/resolve.js';
import type { ResolvedConfig, ResolveOptions } from './config/types.js';
import { withCurrentProfile } from './profiles/current.js';
import type { S3Config, S3ConfigOptions } from './stores/s3.js';
import type { SqlConfig, SqlConfigOptions } from './stores/sql.js';

export type { ClientOptions, DHCoreClient, Logger } from './client/client.js';
export { createClient } from './client/client.js';
export type { AuthMethod, ResolvedConfig, ResolveOptions, ValueSource } from './config/types.js';
export type { ErrorCategory, ErrorCode } from './errors.js';
export {
  AuthError,
  ConfigError,
  DHCoreError,
  ERROR_CODES,
  EXIT_CODES,
  HttpError,
  UsageError,
} from './errors.js';
export type { ProfileFileOptions, SetCurrentProfileOptions } from './parity.js';
export { getCredentialsAndConfig, getCurrentProfile, refreshToken, setCurrentProfile } from './parity.js';
export type { S3Config, S3ConfigOptions, S3Credentials } from './stores/s3.js';
export type { SqlConfig, SqlConfigOptions } from './stores/sql.js';

/**
 * Resolve which DHCore, profile, credentials and auth method apply — from options, environment and the config
 * file, exactly as the Python SDK does. No network, no writes. Secret values are readable through `get()` but
 * hidden when the result is printed or serialized.
 *
 * @example
 * import { resolveConfig } from 'dhcore-credentials';
 * const cfg = resolveConfig({ profile: 'staging' });
 * console.log(cfg.endpoint, cfg.authMethod, cfg.sources.dhcore_endpoint); // 'https://…' 'oauth2' 'file'
 */
export function resolveConfig(opts: ResolveOptions = {}): ResolvedConfig {
  return resolveFromSources(withCurrentProfile(opts));
}

// The store helpers are loaded on their first call: a program that only talks to DHCore never compiles them.

/**
 * The S3 configuration of the current profile (or `opts.profile`), from the store credentials DHCore hands out
 * with the `credentials` scope. Obtains a valid token first if needed. Throws `ConfigError`
 * `config_missing_store_credentials` naming the keys the profile lacks.
 *
 * @example
 * import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
 * import { s3Config } from 'dhcore-credentials';
 * const cfg = await s3Config();
 * const s3 = new S3Client(cfg);
 * await s3.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: 'data.csv' }));
 */
export async function s3Config(opts?: S3ConfigOptions): Promise<S3Config> {
  return (await import('./stores/s3.js')).s3Config(opts);
}

/**
 * The PostgreSQL configuration of the current profile (or `opts.profile`), from the store credentials DHCore
 * hands out with the `credentials` scope. Throws `ConfigError` `config_missing_store_credentials` naming the
 * keys the profile lacks, and `config_unsupported_store` when `DB_PLATFORM` is not PostgreSQL.
 *
 * @example
 * import pg from 'pg';
 * import { sqlConfig } from 'dhcore-credentials';
 * const pool = new pg.Pool(await sqlConfig());
 * const { rows } = await pool.query('select current_user');
 */
export async function sqlConfig(opts?: SqlConfigOptions): Promise<SqlConfig> {
  return (await import('./stores/sql.js')).sqlConfig(opts);
}
