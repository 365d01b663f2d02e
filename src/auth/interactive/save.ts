/**
 * Saving what an interactive login obtained, exactly as the token lifecycle saves any token response
 * (DESIGN §4 names, `dhcore_expires_at` + `dhcore_refresh_at`, extra credential fields under their own
 * names), under the config file lock, atomically, mode 0600.
 */
import type { ResolvedConfig } from '../../config/types.js';
import { DHCoreError } from '../../errors.js';
import { ProfileStore } from '../../store/profile-store.js';
import { formatInstant, timesAtIssuance } from '../expiry.js';
import type { IssuedTokens } from '../oauth.js';
import { tokenChange } from '../token-manager.js';

/** Non-secret configuration saved with a login when it came from the environment or options. */
const PORTABLE_CONFIG_KEYS = [
  'dhcore_endpoint',
  'dhcore_issuer',
  'dhcore_client_id',
  'oauth2_token_endpoint',
];

export interface SavedLogin {
  profile: string;
  configFile: string;
  endpoint: string;
  expiresAt: string | undefined;
  /** Key names written (never values). */
  savedKeys: string[];
  /** A personal access token was in the profile and was removed (it would win over the new tokens). */
  removedPat: boolean;
}

export async function saveInteractiveLogin(
  config: ResolvedConfig,
  issued: IssuedTokens,
  clientId: string,
): Promise<SavedLogin> {
  const store = new ProfileStore({ file: config.configFile, profile: config.profile });
  const outcome = await store.update(async (current) => {
    const times = timesAtIssuance(issued.accessToken, issued.expiresIn, Date.now());
    const change = tokenChange(issued, times, undefined);
    const set: Record<string, string> = { ...change.set };
    for (const key of PORTABLE_CONFIG_KEYS) {
      const value = config.get(key);
      if (value !== undefined && config.sources[key] !== 'file' && set[key] === undefined) set[key] = value;
    }
    if (!set.dhcore_client_id && current.dhcore_client_id !== clientId) set.dhcore_client_id = clientId;
    const del = [...(change.delete ?? [])];
    // A saved PAT selects 'exchange' before 'oauth2': logging in as someone in the browser replaces it.
    const removedPat = current.dhcore_personal_access_token !== undefined;
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
