/**
 * What the token path tells the user when it cannot give a token: one wording per situation, the same from
 * the SDK and the CLI, each naming the fix.
 */
import type { AuthMethod, ResolvedConfig } from '../config/types.js';
import { AuthError } from '../errors.js';
import { isInsecureTransport } from '../net/loopback.js';
import { redactUrl } from '../redact.js';
import { warnOnce } from '../warnings.js';
import type { AuthMethodBehaviour } from './methods.js';

/**
 * Warn once when credentials would travel over plain http to a host that is not this machine: the PAT or
 * refresh token to the token endpoint, the access token, password or bearer to the endpoint.
 */
export function warnIfSentInClear(config: ResolvedConfig, what?: string): void {
  const method = config.authMethod;
  if (method === 'none' && what === undefined) return;
  const secret =
    what ??
    (method === 'exchange'
      ? 'personal access token'
      : method === 'oauth2'
        ? 'refresh token'
        : `${method} credentials`);
  const grants = method === 'exchange' || method === 'oauth2' || what !== undefined;
  const urls = grants ? [config.tokenEndpoint, config.issuer, config.endpoint] : [config.endpoint];
  const url = urls.find((u): u is string => u !== undefined && isInsecureTransport(u));
  if (!url) return;
  warnOnce(
    'DHCORE_INSECURE_HTTP',
    `The ${secret} of profile "${config.profile}" is sent over plain http to ${redactUrl(url)}, which is not this machine, so anyone on the network can read it; use https://.`,
  );
}

/** `dhcore login`, with `-e <profile>` unless it is the default profile. */
export function loginCommand(profile: string): string {
  return `dhcore login${profile === '__default' ? '' : ` -e ${profile}`}`;
}

const PAT_LOGIN = "a personal access token ('dhcore login --pat -' reads it from stdin)";

/** The method has no access token and cannot obtain one. */
export function noTokenError(method: AuthMethod, profile: string): AuthError {
  if (method === 'basic') {
    return new AuthError(
      'auth_no_token',
      `Profile "${profile}" uses auth method basic (user and password), which has no access token; use ${PAT_LOGIN} for token-based access.`,
    );
  }
  return new AuthError(
    'auth_no_token',
    `No access token for profile "${profile}" (auth method ${method}): run '${loginCommand(profile)}' or set DHCORE_PERSONAL_ACCESS_TOKEN.`,
  );
}

/** A refresh was asked of a method that cannot refresh. */
export function notRefreshableError(method: AuthMethod, profile: string): AuthError {
  const message =
    method === 'access_token_only'
      ? `Auth method access_token_only cannot refresh: profile "${profile}" has an access token but no refresh token or personal access token; run '${loginCommand(profile)}'.`
      : method === 'basic'
        ? `Profile "${profile}" uses auth method basic (user and password), which has no token to refresh; use ${PAT_LOGIN} for token-based access.`
        : `No credentials for profile "${profile}" (auth method none), so there is no token to refresh: run '${loginCommand(profile)}'.`;
  return new AuthError('auth_not_refreshable', message);
}

/** The stored access token expired and the method cannot get another. */
export function tokenExpiredError(profile: string): AuthError {
  return new AuthError(
    'auth_token_expired',
    `The access token of profile "${profile}" has expired and auth method access_token_only cannot refresh it: run '${loginCommand(profile)}' (or provide DHCORE_REFRESH_TOKEN or a personal access token).`,
  );
}

/** The server refused the credential the method stands on (`invalid_grant`). */
export function refusedError(method: AuthMethodBehaviour, config: ResolvedConfig): AuthError {
  const key = method.credentialKey ?? 'dhcore_refresh_token';
  const what = method.credentialName;
  const login = loginCommand(config.profile);
  // A secret from the environment is fixed there, not by logging in again over it.
  const message =
    config.source(key) === 'env'
      ? `The ${what} in $${key.toUpperCase()} was refused (invalid_grant: expired, revoked or already used): set a valid one, or unset it and run '${login}'.`
      : `The ${what} of profile "${config.profile}" was refused (invalid_grant: expired, revoked or already used): run '${login}' to get new credentials.`;
  return new AuthError('auth_invalid_grant', message, { oauthError: 'invalid_grant' });
}
