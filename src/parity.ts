/**
 * Python-SDK parity helpers: the same four functions `digitalhub` offers (`refresh_token`,
 * `get_credentials_and_config`, `get_current_profile`, `set_current_profile`), with the same meaning, so code
 * and habits carry over between the two SDKs sharing one `~/.dhcore.ini`.
 */
import { openSession } from './auth/session.js';
import type { ClientOptions } from './client/client.js';
import { resolveConfig } from './config/resolve.js';
import { withCurrentProfile } from './profiles/current.js';

export type { ProfileFileOptions, SetCurrentProfileOptions } from './profiles/current.js';
export { getCurrentProfile, setCurrentProfile } from './profiles/current.js';

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
  const session = await openSession(opts);
  await session.refresh();
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
  const session = await openSession(resolveOpts);
  const values = session.config.values();
  if (session.authMethod === 'exchange' || session.authMethod === 'oauth2') {
    const accessToken = await session.accessToken();
    // Whatever a token request saved (rotated refresh token, expiry, store credentials) is in the file now.
    Object.assign(values, resolveConfig(resolveOpts).values(), session.storeCredentials(), {
      dhcore_access_token: accessToken,
    });
    // The rotated refresh token lives in the session (file, token cache or memory), not in what resolves now:
    // handing out the spent one would make a child that refreshes trip reuse detection.
    const refresh = session.currentRefreshToken();
    if (refresh !== undefined) values.dhcore_refresh_token = refresh;
    else delete values.dhcore_refresh_token;
    const { expiresAt } = session.state();
    if (expiresAt !== undefined) values.dhcore_expires_at = expiresAt;
  }
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) out[key.toUpperCase()] = value;
  return out;
}
