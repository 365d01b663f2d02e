/**
 * The saved-token record: which keys a token set occupies in a profile, how an exchanged token is tied to its
 * PAT (a fingerprint, never the PAT), what a token set the server issued writes, and the one rule for "may this
 * stored token be used".
 */
import { isStoreCredentialKey, STORE_KEY_PREFIXES, TOKEN_FILE_KEYS } from '../config/keys.js';
import { valuesWithPrefix } from '../config/resolve.js';
import type { ResolvedConfig } from '../config/types.js';
import { sha256Hex } from '../sha256.js';
import type { ProfileChange, ProfileValues } from '../store/profile-store.js';
import { formatInstant, type TokenTimes, timesFromStored } from './expiry.js';
import type { IssuedTokens } from './grants.js';

/** Key of the PAT fingerprint beside an exchanged token: a changed PAT invalidates the saved token. */
export const PAT_FINGERPRINT_KEY = 'dhcore_pat_sha256';

/** Keys a token set occupies in a profile (what `logout` removes). */
export const MANAGED_TOKEN_KEYS = [...TOKEN_FILE_KEYS, PAT_FINGERPRINT_KEY] as const;

/** A 16-hex-digit SHA-256 prefix of the PAT: identifies it without revealing it. */
export function patFingerprint(pat: string): string {
  return sha256Hex(pat).slice(0, 16);
}

/** Tokens held for use, with their times (epoch ms). */
export interface HeldTokens extends TokenTimes {
  access: string | undefined;
  refresh: string | undefined;
}

export const NO_TOKENS: HeldTokens = {
  access: undefined,
  refresh: undefined,
  expiresAtMs: undefined,
  refreshAtMs: undefined,
};

/** A token record as stored (in the file, the environment or options). */
export interface StoredTokens {
  access: string | undefined;
  refresh: string | undefined;
  expiresAt: string | undefined;
  refreshAt: string | undefined;
  patFingerprint: string | undefined;
}

/** The record in a profile's values as the file holds them. */
export function storedInValues(values: ProfileValues): StoredTokens {
  return {
    access: values.dhcore_access_token,
    refresh: values.dhcore_refresh_token,
    expiresAt: values.dhcore_expires_at,
    refreshAt: values.dhcore_refresh_at,
    patFingerprint: values[PAT_FINGERPRINT_KEY],
  };
}

/** The record a resolution selected. Expiry keys only describe the access token if they come from the same place. */
export function storedInConfig(config: ResolvedConfig): StoredTokens {
  const accessSource = config.source('dhcore_access_token');
  const sameSource = (k: string) => (config.source(k) === accessSource ? config.get(k) : undefined);
  return {
    access: config.get('dhcore_access_token'),
    refresh: config.get('dhcore_refresh_token'),
    expiresAt: sameSource('dhcore_expires_at'),
    refreshAt: sameSource('dhcore_refresh_at'),
    patFingerprint: config.get(PAT_FINGERPRINT_KEY),
  };
}

/**
 * The one "may this stored token be used" rule. With a PAT (`exchange`), only an access token exchanged from
 * this very PAT counts, and there is no refresh token (DHCore issues none for a PAT); otherwise the stored
 * access and refresh tokens are what they are. The access token may be expired: the lifecycle decides.
 */
export function usableTokens(stored: StoredTokens, pat: string | undefined): HeldTokens {
  const times = timesFromStored(stored.access, stored.expiresAt, stored.refreshAt);
  if (pat === undefined) return { access: stored.access, refresh: stored.refresh, ...times };
  const ours = stored.access !== undefined && stored.patFingerprint === patFingerprint(pat);
  return ours ? { access: stored.access, refresh: undefined, ...times } : NO_TOKENS;
}

/** The held access token if it has not expired (an unknown expiry counts as valid until a 401). */
export function validAccess(h: HeldTokens, nowMs: number): string | undefined {
  return h.expiresAtMs === undefined || nowMs < h.expiresAtMs ? h.access : undefined;
}

/** Is it time to refresh `h` (past its refresh moment, or expired)? An unknown expiry is never due. */
export function isDue(h: HeldTokens, nowMs: number): boolean {
  return h.expiresAtMs !== undefined && nowMs >= (h.refreshAtMs ?? h.expiresAtMs);
}

/** The profile change for a token set the server issued: token keys, and store credentials under their own names. */
export function tokenChange(
  issued: IssuedTokens,
  times: TokenTimes,
  viaPat: string | undefined,
): ProfileChange {
  const set: Record<string, string> = { ...issued.extra, dhcore_access_token: issued.accessToken };
  const del: string[] = [];
  if (issued.refreshToken) set.dhcore_refresh_token = issued.refreshToken;
  if (issued.idToken) set.dhcore_id_token = issued.idToken;
  if (times.expiresAtMs !== undefined) {
    set.dhcore_expires_at = formatInstant(times.expiresAtMs);
    set.dhcore_refresh_at = formatInstant(times.refreshAtMs ?? times.expiresAtMs);
  } else {
    // Stale expiry keys would describe the previous token.
    del.push('dhcore_expires_at', 'dhcore_refresh_at');
  }
  if (viaPat !== undefined) set[PAT_FINGERPRINT_KEY] = patFingerprint(viaPat);
  else del.push(PAT_FINGERPRINT_KEY);
  return { set, delete: del };
}

/** The store credentials among a profile's values. Secrets. */
export function storeCredentialsIn(values: ProfileValues): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) if (isStoreCredentialKey(key)) out[key] = value;
  return out;
}

/** The store credentials a resolution holds. Secrets. */
export function storeValuesOf(config: ResolvedConfig): Record<string, string> {
  return storeCredentialsIn(valuesWithPrefix(config, STORE_KEY_PREFIXES));
}
