/**
 * Python-SDK parity helpers: the same four functions `digitalhub` offers (`refresh_token`,
 * `get_credentials_and_config`, `get_current_profile`, `set_current_profile`), with the same meaning, so code
 * and habits carry over between the two SDKs sharing one `~/.dhcore.ini`.
 */

import {
  type ClientOptions,
  createClient,
  currentProfileOverride,
  loadTokenSource,
  setCurrentProfileOverride,
  withCurrentProfile,
} from './client/client.js';
import { CURRENT_ENVIRONMENT_KEY } from './config/keys.js';
import { chooseProfile, configFilePath } from './config/location.js';
import { readConfigDocument, resolveConfig } from './config/resolve.js';
import type { ResolveOptions } from './config/types.js';
import { ConfigError } from './errors.js';
import { editConfigFile } from './store/config-file.js';
import { warnOnce } from './warnings.js';

/** Where the profile choice is read from / written to. */
export interface ProfileFileOptions {
  /** Environment to read `DH_CONFIG` / `DH_NAME` / `HOME` from (default `process.env`). */
  env?: ResolveOptions['env'];
  /** Config file (default `$DH_CONFIG`, else `~/.dhcore.ini`). */
  configFile?: string;
}

/** Options of {@link setCurrentProfile}. */
export interface SetCurrentProfileOptions extends ProfileFileOptions {
  /** Add an empty `[name]` section when the profile does not exist yet (default: refuse). */
  create?: boolean;
}

/**
 * Obtain a new access token for the current profile now (PAT exchange or refresh-token grant) and save it,
 * like `digitalhub.refresh_token()`. Throws `AuthError` (`auth_not_refreshable`) for `basic`,
 * `access_token_only` and `none`, and `AuthError` with `oauthError` when the server refuses.
 *
 * @example
 * import { refreshToken } from 'dhcore-credentials';
 * await refreshToken();                      // or refreshToken({ profile: 'staging' })
 */
export async function refreshToken(opts: ClientOptions = {}): Promise<void> {
  const client = await createClient(opts);
  await client.refresh();
}

/**
 * The current profile's configuration and credentials as one plain object, keyed by the environment-variable
 * names (`DHCORE_ENDPOINT`, `DHCORE_ACCESS_TOKEN`, `AWS_ACCESS_KEY_ID`, …) like the Python SDK — ready to pass
 * as `env` to a child process. For `exchange` and `oauth2` a valid access token is obtained first (exchanging
 * or refreshing if needed), so the object holds usable credentials.
 *
 * **The result contains secrets** (tokens, passwords, store keys): never log or print it.
 *
 * @example
 * import { spawn } from 'node:child_process';
 * import { getCredentialsAndConfig } from 'dhcore-credentials';
 * const creds = await getCredentialsAndConfig();
 * spawn('python', ['job.py'], { env: { ...process.env, ...creds }, stdio: 'inherit' });
 */
export async function getCredentialsAndConfig(opts: ClientOptions = {}): Promise<Record<string, string>> {
  const resolveOpts = withCurrentProfile(opts);
  let config = resolveConfig(resolveOpts);
  const values = config.values();
  if (config.authMethod === 'exchange' || config.authMethod === 'oauth2') {
    const tokens = await loadTokenSource(config, opts, opts.logger);
    const accessToken = await tokens.accessToken();
    // Whatever a token request saved (rotated refresh token, expiry, store credentials) is in the file now.
    config = resolveConfig(resolveOpts);
    Object.assign(values, config.values(), tokens.credentials(), { dhcore_access_token: accessToken });
    const { expiresAt } = tokens.state();
    if (expiresAt !== undefined) values.dhcore_expires_at = expiresAt;
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) out[key.toUpperCase()] = value;
  return out;
}

/**
 * The profile in use, chosen like every other call: `setCurrentProfile()` in this process > `$DH_NAME` >
 * `[DEFAULT] current_environment` of the config file > `__default`. Reads the file, no network.
 *
 * @example
 * import { getCurrentProfile } from 'dhcore-credentials';
 * console.log(getCurrentProfile()); // 'staging'
 */
export function getCurrentProfile(opts: ProfileFileOptions = {}): string {
  const override = currentProfileOverride();
  if (override !== undefined) return override;
  const env = opts.env ?? process.env;
  const doc = readConfigDocument(opts.configFile?.trim() || configFilePath(env));
  return chooseProfile(undefined, env, doc?.get('DEFAULT', CURRENT_ENVIRONMENT_KEY)).profile;
}

/**
 * Make `name` the current profile: writes `[DEFAULT] current_environment = name` to the config file (atomically,
 * under the file lock, keeping every other line as it was), and makes every later call in this process use it —
 * also when `$DH_NAME` names another profile, as in the Python SDK. Refuses a profile the file does not have
 * (`ConfigError` `config_unknown_profile`) unless `{ create: true }`.
 *
 * @example
 * import { setCurrentProfile, createClient } from 'dhcore-credentials';
 * await setCurrentProfile('staging');
 * const client = await createClient(); // client.profile === 'staging'
 */
export async function setCurrentProfile(name: string, opts: SetCurrentProfileOptions = {}): Promise<void> {
  const profile = name.trim();
  if (!profile || /[[\]\r\n]/.test(profile) || profile === 'DEFAULT') {
    throw new ConfigError(
      'config_invalid_profile',
      `"${name}" cannot be a profile name: use a non-empty name without brackets or line breaks, other than DEFAULT.`,
    );
  }
  const env = opts.env ?? process.env;
  const file = opts.configFile?.trim() || configFilePath(env);
  await editConfigFile(file, (doc) => {
    if (!doc.hasSection(profile)) {
      if (!opts.create) {
        const known = doc.sections();
        throw new ConfigError(
          'config_unknown_profile',
          `Profile "${profile}" is not in ${file} (${known.length > 0 ? `known profiles: ${known.join(', ')}` : 'the file has no profiles'}); pass { create: true } to add it, or run 'dhcore register <endpoint> -e ${profile}'.`,
          { file },
        );
      }
      doc.addSection(profile);
    }
    if (doc.get('DEFAULT', CURRENT_ENVIRONMENT_KEY) === profile && doc.hasSection('DEFAULT')) return;
    doc.set('DEFAULT', CURRENT_ENVIRONMENT_KEY, profile);
  });
  setCurrentProfileOverride(profile);
  const fromEnv = env.DH_NAME?.trim();
  if (fromEnv && fromEnv !== profile) {
    warnOnce(
      'DHCORE_DH_NAME_OVERRIDDEN',
      `Current profile set to "${profile}" for this process and in ${file}, but DH_NAME=${fromEnv} is set: other processes started with it will keep using "${fromEnv}".`,
    );
  }
}
