/**
 * Explicit credential changes to a profile: `loginWithPat` (what `dhcore login --pat` does),
 * `saveInteractiveLogin` (browser and device logins) and `logout`.
 *
 * Logging in is an explicit act (like `gh auth login --with-token`): the PAT itself is saved with the
 * exchanged tokens so the profile keeps working after the access token expires, together with the
 * non-secret configuration it used (endpoint, issuer, client id, token endpoint) when that came from the
 * environment or options — the profile then works on its own.
 *
 * `logout` removes what login and refreshes stored: access/refresh/id token, expiry keys, the PAT
 * fingerprint, secret store credentials issued with the tokens (`aws_secret_access_key`, …), and the PAT
 * itself (unless `keepPat`). Everything else — endpoint, other keys, comments,
 * other profiles — stays. Tokens are not revoked at the server.
 */
import { CURRENT_ENVIRONMENT_KEY, isSecretKey, isStoreCredentialKey } from '../config/keys.js';
import { chooseProfile, configFileFrom } from '../config/location.js';
import { readConfigDocument, resolveConfig } from '../config/resolve.js';
import type { ResolvedConfig, ResolveOptions } from '../config/types.js';
import { AuthError, DHCoreError } from '../errors.js';
import { type HttpOptions, httpOf } from '../net/http.js';
import { ProfileStore } from '../store/profile-store.js';
import { removeTokenCache } from '../store/token-cache.js';
import { formatInstant, timesAtIssuance } from './expiry.js';
import { exchangePat, type IssuedTokens } from './grants.js';
import { warnIfSentInClear } from './messages.js';
import { AUTH_METHODS } from './methods.js';
import { targetOf } from './oidc.js';
import { MANAGED_TOKEN_KEYS, tokenChange } from './token-record.js';
import { placementFor } from './token-session.js';

/** Configuration keys saved with a login when they did not come from the file. */
const PORTABLE_CONFIG_KEYS = [
  'dhcore_endpoint',
  'dhcore_issuer',
  'dhcore_client_id',
  'oauth2_token_endpoint',
];

export interface LoginResult {
  profile: string;
  configFile: string;
  endpoint: string;
  expiresAt: string | undefined;
  /** Keys written (names only). */
  savedKeys: string[];
  /** A PAT was in the profile and was removed: after an interactive login it would win over the new tokens. */
  removedPat: boolean;
}

/** Exchange `pat` and save it, the tokens and the configuration used into the profile (created if needed). */
export function loginWithPat(
  opts: { config: ResolvedConfig; pat: string } & HttpOptions,
): Promise<LoginResult> {
  const { config, pat } = opts;
  const http = httpOf(opts);
  warnIfSentInClear(config, 'personal access token');
  return saveLogin(
    config,
    () =>
      exchangePat(targetOf(config), pat, http).catch((err: unknown) => {
        if (!(err instanceof AuthError) || err.oauthError !== 'invalid_grant') throw err;
        throw new AuthError(
          'auth_invalid_grant',
          `The personal access token was refused (invalid_grant: unknown, expired or revoked); nothing was saved. Create a new one in DHCore and run 'dhcore login --pat -' again.`,
          { oauthError: 'invalid_grant' },
        );
      }),
    { pat },
  );
}

/**
 * Save the tokens an interactive login (browser or device) obtained, with the client id it used.
 * A PAT saved in the profile is removed: it selects 'exchange' before 'oauth2', so it would win.
 */
export function saveInteractiveLogin(
  config: ResolvedConfig,
  issued: IssuedTokens,
  clientId: string,
): Promise<LoginResult> {
  return saveLogin(config, async () => issued, { clientId });
}

/**
 * Both logins save the same way: under the file lock, the tokens as the lifecycle saves them (token-record.ts),
 * plus the non-secret configuration that did not come from the file. Failing to write is an error here,
 * not a memory fallback: the whole point of logging in is to save.
 */
async function saveLogin(
  config: ResolvedConfig,
  obtain: () => Promise<IssuedTokens>,
  opts: { pat?: string; clientId?: string },
): Promise<LoginResult> {
  const store = new ProfileStore({ file: config.configFile, profile: config.profile });
  // Before asking the server: logging in is saving, and a login that cannot be saved is no login.
  const why = await store.whyNotWritable();
  if (why !== undefined) {
    throw new DHCoreError(
      'store_not_writable',
      `Cannot log in to profile "${config.profile}": ${why}. Nothing was sent to the server; make it writable (chmod u+w), or choose another file with --config.`,
    );
  }
  const outcome = await store.update(async (current) => {
    const issued = await obtain();
    const times = timesAtIssuance(issued.accessToken, issued.expiresIn, Date.now());
    const change = tokenChange(issued, times, opts.pat);
    const set: Record<string, string> = { ...change.set };
    if (opts.pat) set.dhcore_personal_access_token = opts.pat;
    for (const key of PORTABLE_CONFIG_KEYS) {
      const value = config.get(key);
      if (value !== undefined && config.source(key) !== 'file' && set[key] === undefined) set[key] = value;
    }
    if (opts.clientId && !set.dhcore_client_id && current.dhcore_client_id !== opts.clientId) {
      set.dhcore_client_id = opts.clientId;
    }
    const del = [...(change.delete ?? [])];
    const removedPat = !opts.pat && current.dhcore_personal_access_token !== undefined;
    if (removedPat) del.push('dhcore_personal_access_token');
    return { result: { times, keys: Object.keys(set), removedPat }, change: { set, delete: del } };
  });
  if (!outcome.persisted) {
    throw new DHCoreError(
      'store_not_writable',
      `Logged in, but ${config.configFile} cannot be written, so nothing was saved: make the file and its folder writable, or choose another file with --config.`,
    );
  }
  const { times, keys, removedPat } = outcome.result;
  return {
    profile: config.profile,
    configFile: config.configFile,
    endpoint: config.endpoint,
    expiresAt: times.expiresAtMs !== undefined ? formatInstant(times.expiresAtMs) : undefined,
    savedKeys: keys.sort(),
    removedPat,
  };
}

/** What {@link logout} removed. */
export interface LogoutResult {
  profile: string;
  configFile: string;
  /** Key names removed (none when the profile is not in the file). */
  removed: string[];
}

/**
 * Remove the stored tokens (and the PAT unless `keepPat`) from the profile chosen as everywhere (option >
 * `$DH_NAME` > current profile > `__default`). Needs no endpoint and no network.
 */
export async function logout(
  opts: {
    configFile?: string;
    profile?: string;
    env?: Readonly<Record<string, string | undefined>>;
    keepPat?: boolean;
  } = {},
): Promise<LogoutResult> {
  const env = opts.env ?? process.env;
  const file = configFileFrom(opts.configFile, env);
  const doc = readConfigDocument(file);
  const { profile } = chooseProfile(opts.profile, env, doc?.get('DEFAULT', CURRENT_ENVIRONMENT_KEY));
  if (doc?.hasSection(profile)) {
    return {
      profile,
      configFile: file,
      removed: await removeTokens({ file, profile, keepPat: opts.keepPat === true }),
    };
  }
  // A profile that lives only in the environment: its tokens are in the token cache.
  const removed = (await removeCachedTokens({ ...opts, configFile: file, profile, env }))
    ? ['token cache']
    : [];
  return { profile, configFile: file, removed };
}

async function removeCachedTokens(opts: ResolveOptions): Promise<boolean> {
  let config: ResolvedConfig;
  try {
    config = resolveConfig(opts);
  } catch {
    return false; // no endpoint or credentials in the environment: nothing can have been cached
  }
  const placement = placementFor(config, AUTH_METHODS[config.authMethod], undefined, opts.env ?? process.env);
  return placement.storage === 'cache' && (await removeTokenCache(placement.file));
}

async function removeTokens(opts: { file: string; profile: string; keepPat: boolean }): Promise<string[]> {
  const store = new ProfileStore({ file: opts.file, profile: opts.profile });
  const why = await store.whyNotWritable();
  if (why !== undefined) {
    throw new DHCoreError(
      'store_not_writable',
      `Cannot log out of profile "${opts.profile}": ${why}, so its tokens are still saved there. Make it writable (chmod u+w) and run 'dhcore logout' again.`,
    );
  }
  const keys: string[] = [...MANAGED_TOKEN_KEYS];
  if (!opts.keepPat) keys.push('dhcore_personal_access_token');
  const outcome = await store.update(async (current) => {
    const present = keys.filter((k) => current[k] !== undefined);
    // Store credentials issued with the tokens (`aws_secret_access_key`, `aws_session_token`, …) go too:
    // after a logout no usable secret from the session is left on disk. Non-secret ones
    // (`aws_endpoint_url`) and the user's own configuration stay.
    for (const key of Object.keys(current)) {
      if (isStoreCredentialKey(key) && isSecretKey(key) && !present.includes(key)) present.push(key);
    }
    return { result: present, change: { delete: present } };
  });
  if (outcome.inMemory) {
    throw new DHCoreError(
      'store_not_writable',
      `Cannot write ${opts.file}: the tokens are still saved there. Make the file and its folder writable and run 'dhcore logout' again.`,
    );
  }
  return outcome.result;
}
