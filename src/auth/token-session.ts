/**
 * The session of a refreshable auth method (`exchange`, `oauth2`): where its new tokens are kept
 * ({@link placementFor}), the profile store that keeps them, and the token lifecycle over both. Loaded by
 * `openSession()` only for those methods, with everything it needs.
 */
import type { ResolvedConfig } from '../config/types.js';
import { loggerFor } from '../diagnostics.js';
import { boundedTimeout, type Http } from '../net/http.js';
import { ProfileStore, type StorageMode } from '../store/profile-store.js';
import {
  CACHE_SECTION,
  ensureTokenCacheDir,
  readTokenCache,
  tokenCacheDisabled,
  tokenCacheFile,
} from '../store/token-cache.js';
import { TokenLifecycle } from './lifecycle.js';
import type { AuthMethodBehaviour } from './methods.js';
import type { Placement, Session, SessionOptions } from './session.js';

/**
 * Where tokens obtained for `config` are kept, decided here only: the caller's choice of memory; memory for
 * credentials passed in code (the file would not read them back); the profile's section when the config file
 * has it; otherwise — a profile that lives only in the environment — the token cache (memory with
 * `DHCORE_TOKEN_CACHE=off`), because such a run must never create or edit the config file.
 */
export function placementFor(
  config: ResolvedConfig,
  method: AuthMethodBehaviour,
  requested: StorageMode | undefined,
  env: Readonly<Record<string, string | undefined>>,
): Placement {
  const inFile = { file: config.configFile, section: config.profile, cached: undefined };
  const key = method.credentialKey;
  const credential = key === undefined ? undefined : config.get(key);
  if (requested === 'memory' || (key !== undefined && config.source(key) === 'option')) {
    return { storage: 'memory', ...inFile, memoryBecause: 'requested' };
  }
  if (config.inFile || key === undefined || credential === undefined) return { storage: 'file', ...inFile };
  if (tokenCacheDisabled(env)) return { storage: 'memory', ...inFile, memoryBecause: 'cache-off' };
  const file = tokenCacheFile(env, {
    endpoint: config.endpoint,
    clientId: config.clientId,
    credentialKey: key,
    credential,
  });
  // An unusable cache (no folder can be made, an entry that cannot be read) is memory, said once.
  const cached = ensureTokenCacheDir(file) ? readTokenCache(file) : undefined;
  if (cached === undefined) return { storage: 'memory', ...inFile, memoryBecause: 'cache-unusable' };
  return { storage: 'cache', file, section: CACHE_SECTION, cached };
}

/** The lifecycle of `config`'s tokens, kept where {@link placementFor} says. */
export function openTokenSession(
  config: ResolvedConfig,
  method: AuthMethodBehaviour,
  http: Http,
  env: Readonly<Record<string, string | undefined>>,
  opts: SessionOptions,
): Session {
  const placement = placementFor(config, method, opts.storage, env);
  const logger = loggerFor(opts.logger, 'dhcore:auth', env);
  const log = logger ?? (() => {});
  // Listing the sources reads every key of the profile: only for a reader.
  if (logger) logger(`profile ${config.profile} (auth ${config.authMethod}): ${describeSources(config)}`);
  log(`tokens of profile ${config.profile} are kept in ${describePlacement(placement)}`);
  const store = new ProfileStore({
    file: placement.file,
    profile: placement.section,
    storage: placement.storage === 'memory' ? 'memory' : 'file',
    logger: log,
    // A lock holder is waited for as long as its token request may take.
    lock: { requestTimeoutMs: boundedTimeout(http), ...opts.lock },
  });
  return new TokenLifecycle({
    config,
    method,
    store,
    placement,
    http,
    env,
    log,
    refuseUnsaveable: opts.refuseUnsaveable === true,
  });
}

/** Where each configuration and credential value came from (names and sources only). */
function describeSources(config: ResolvedConfig): string {
  const entries = Object.entries(config.sources).filter(
    ([k]) => k.startsWith('dhcore_') || k.startsWith('oauth2_'),
  );
  return entries.map(([key, source]) => `${key} (${source})`).join(', ') || 'no values';
}

function describePlacement(p: Placement): string {
  if (p.storage === 'memory') return 'memory (this process only)';
  return p.storage === 'cache' ? `the token cache ${p.file}` : `[${p.section}] of ${p.file}`;
}
