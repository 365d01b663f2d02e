/**
 * dhcore-credentials — working credentials for DHCore (DigitalHub) from Node.js programs.
 *
 * @example
 * import { createClient } from 'dhcore-credentials';
 * const client = await createClient();
 * const res = await client.fetch('/api/v1/projects');
 * console.log(res.status, await res.json());
 *
 * This entry point stays light: the OAuth client, the file lock and the dev server are loaded only when
 * needed (the dev server lives at `dhcore-credentials/dev-server`).
 */
import { resolveConfig as resolveFromSources } from './config/resolve.js';
import type { ResolvedConfig, ResolveOptions } from './config/types.js';
import { withCurrentProfile } from './profiles/current.js';

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
export { s3Config } from './stores/s3.js';
export type { SqlConfig, SqlConfigOptions } from './stores/sql.js';
export { sqlConfig } from './stores/sql.js';

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
