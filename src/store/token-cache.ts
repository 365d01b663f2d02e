/**
 * The token cache: where tokens obtained for a profile that lives only in the environment (no section in the
 * config file) are kept, so the next process reuses a valid token and a rotated refresh token is never lost —
 * without creating or editing the config file. One file per endpoint + client id + credential, named by a
 * fingerprint (never the secret itself), in `$XDG_CACHE_HOME/dhcore/` or `~/.cache/dhcore/` (folder 0700).
 * Each file is a one-section INI file, written by the same ProfileStore as the config file: the same lock,
 * atomic 0600 writes and memory fallback. `DHCORE_TOKEN_CACHE=off` keeps such tokens in memory only.
 */
import { profileValues, readConfigDocument } from '../config/resolve.js';
import { sha256Hex } from '../sha256.js';
import { warnOnce } from '../warnings.js';
import type { ProfileValues } from './profile-store.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The section each cache file holds. */
export const CACHE_SECTION = 'tokens';

/** What a cache entry is derived from. The credential (PAT or refresh token) as configured, not rotated. */
export interface CacheKey {
  endpoint: string;
  clientId: string | undefined;
  /** `dhcore_personal_access_token` or `dhcore_refresh_token`. */
  credentialKey: string;
  credential: string;
}

/** Is the cache turned off (`DHCORE_TOKEN_CACHE=off`)? */
export function tokenCacheDisabled(env: Env): boolean {
  return /^(off|0|false|no)$/i.test(env.DHCORE_TOKEN_CACHE?.trim() ?? '');
}

/** `$XDG_CACHE_HOME/dhcore`, else `~/.cache/dhcore`. */
export function tokenCacheDir(env: Env): string {
  const { join } = process.getBuiltinModule('node:path');
  const xdg = env.XDG_CACHE_HOME?.trim();
  if (xdg) return join(xdg, 'dhcore');
  const home = env.HOME?.trim() || env.USERPROFILE?.trim() || process.getBuiltinModule('node:os').homedir();
  return join(home, '.cache', 'dhcore');
}

/** The cache file of `key`: a SHA-256 fingerprint of all its parts names it. */
export function tokenCacheFile(env: Env, key: CacheKey): string {
  const { join } = process.getBuiltinModule('node:path');
  // Each part ends with NUL, so no two keys give the same text.
  const parts = [key.endpoint, key.clientId ?? '', key.credentialKey, key.credential];
  return join(
    tokenCacheDir(env),
    `${sha256Hex(parts.map((part) => `${part}\u0000`).join('')).slice(0, 32)}.ini`,
  );
}

/**
 * Create the cache folder (0700) if needed. False (and one warning) when it cannot be: the tokens then stay in
 * memory, as for a config file that cannot be written.
 */
export function ensureTokenCacheDir(file: string): boolean {
  const { mkdirSync } = process.getBuiltinModule('node:fs');
  const { dirname } = process.getBuiltinModule('node:path');
  const dir = dirname(file);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    return true;
  } catch (err) {
    warnOnce(
      `DHCORE_TOKEN_CACHE_UNAVAILABLE:${dir}`,
      `Cannot create the token cache ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'}): tokens are kept in memory for this process only; set XDG_CACHE_HOME to a writable folder, or DHCORE_TOKEN_CACHE=off to silence this.`,
    );
    return false;
  }
}

/**
 * The values a cache file holds now (`{}` when there is none); undefined, with one warning, when the entry
 * cannot be read (the tokens then stay in memory).
 */
export function readTokenCache(file: string): ProfileValues | undefined {
  try {
    return profileValues(readConfigDocument(file), CACHE_SECTION) ?? {};
  } catch (err) {
    const code = (err as { code?: string }).code ?? 'error';
    warnOnce(
      `DHCORE_TOKEN_CACHE_UNAVAILABLE:${file}`,
      `Cannot read the token cache entry ${file} (${code}): tokens are kept in memory for this process only; remove the file, or set DHCORE_TOKEN_CACHE=off to silence this.`,
    );
    return undefined;
  }
}

/** Remove a cache entry (logout); true if there was one. */
export async function removeTokenCache(file: string): Promise<boolean> {
  const fsp = process.getBuiltinModule('node:fs').promises;
  try {
    await fsp.unlink(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw err;
  }
}
