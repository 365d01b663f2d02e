/**
 * The one route to a token. `openSession()` resolves the profile, picks the auth method's behaviour, decides
 * where new tokens are kept, and returns a {@link Session}: the client, the parity helpers and every CLI
 * command get their tokens, headers and refreshes from it, so one failure has one error code everywhere.
 *
 * Refreshable methods (`exchange`, `oauth2`) get the token lifecycle (loaded on demand: a `basic` or
 * `access_token_only` profile starts without it); the others get {@link FixedCredentials}.
 */
import { resolveConfig } from '../config/resolve.js';
import type { AuthMethod, ResolvedConfig, ResolveOptions } from '../config/types.js';
import { type Logger, loggerFor } from '../diagnostics.js';
import { boundedTimeout, type HttpOptions, httpOf } from '../net/http.js';
import { withCurrentProfile } from '../profiles/current.js';
import type { LockOptions } from '../store/lock.js';
import { ProfileStore, type ProfileValues, type StorageMode } from '../store/profile-store.js';
import {
  CACHE_SECTION,
  ensureTokenCacheDir,
  readTokenCache,
  tokenCacheDisabled,
  tokenCacheFile,
} from '../store/token-cache.js';
import { formatInstant } from './expiry.js';
import { noTokenError, notRefreshableError, tokenExpiredError, warnIfSentInClear } from './messages.js';
import { AUTH_METHODS, type AuthMethodBehaviour } from './methods.js';
import { type HeldTokens, storedInConfig, storeValuesOf, usableTokens, validAccess } from './token-record.js';

// A builtin through process.getBuiltinModule(), not an ESM import: shorter cold start (see config/resolve.ts).
const { inspect } = process.getBuiltinModule('node:util');

/** Token state without secrets. */
export interface TokenState {
  authMethod: AuthMethod;
  /** RFC 3339, if known. */
  expiresAt?: string;
  refreshAt?: string;
  hasAccessToken: boolean;
  hasRefreshToken: boolean;
  /** Where new tokens go: the config file's profile, the token cache, or this process only. */
  storage: Storage;
}

export type Storage = 'file' | 'cache' | 'memory';

/** What the last refresh/exchange did, for summaries (no secrets). */
export interface RefreshOutcome {
  /** 'adopted': another process had already done it. */
  action: 'exchanged' | 'refreshed' | 'adopted';
  persisted: boolean;
  inMemory: boolean;
}

/** Credentials of one profile, ready to use. */
export interface Session {
  readonly config: ResolvedConfig;
  readonly authMethod: AuthMethod;
  readonly profile: string;
  /** A valid access token (exchange/refresh as needed, single-flight). `AuthError` when the method has none. */
  accessToken(): Promise<string>;
  /** The `Authorization` header value (Basic, Bearer), or undefined for `none`. */
  authorization(): Promise<string | undefined>;
  /**
   * A new access token now. With `rejectedToken` (the token a 401 refused), a different, still-valid token is
   * returned without asking the server. `AuthError` `auth_not_refreshable` for methods that cannot refresh.
   */
  refresh(opts?: { rejectedToken?: string }): Promise<string>;
  state(): TokenState;
  lastRefresh(): RefreshOutcome | undefined;
  /** Store credentials (`aws_*`, `db_*`, …) from the profile and token responses. Secrets. */
  storeCredentials(): Record<string, string>;
  /** The refresh token to present next (the rotated one, wherever it is kept), if any. Secret. */
  currentRefreshToken(): string | undefined;
}

/** Options of {@link openSession}: resolution options plus how tokens are obtained and kept. */
export interface SessionOptions extends ResolveOptions, HttpOptions {
  /** An already resolved configuration (then the resolution options are not used). */
  config?: ResolvedConfig;
  /** Where new tokens are kept; default: see {@link placementFor}. */
  storage?: StorageMode;
  logger?: Logger;
  /** Cross-process lock tuning (tests, benchmarks). */
  lock?: LockOptions;
  /**
   * Refuse (`config_not_writable`, before any request) to present a rotating refresh token whose successor
   * cannot be saved. The CLI sets it: its process ends, so memory is no place for the only valid token.
   */
  refuseUnsaveable?: boolean;
}

/** Where tokens obtained for a profile are kept, and what was saved there before. */
export interface Placement {
  storage: Storage;
  /** The file the profile store writes: the config file, or the token cache entry. */
  file: string;
  section: string;
  /** The cache entry's values when storage is 'cache' (tokens a previous process saved). */
  cached: ProfileValues | undefined;
  /** Why tokens stay in memory: asked for (option, `storage: 'memory'`), or the token cache is off/unusable. */
  memoryBecause?: 'requested' | 'cache-off' | 'cache-unusable';
}

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
  if (requested === 'memory' || (key !== undefined && config.sources[key] === 'option')) {
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

/**
 * The session for the resolved profile.
 *
 * @example
 * const session = await openSession({ profile: 'staging' });
 * const header = await session.authorization(); // 'Bearer …'
 */
export async function openSession(opts: SessionOptions = {}): Promise<Session> {
  const config = opts.config ?? resolveConfig(withCurrentProfile(opts));
  const env = opts.env ?? process.env;
  const method = AUTH_METHODS[config.authMethod];
  const http = httpOf(opts);
  warnIfSentInClear(config);
  if (!method.refreshable) return new FixedCredentials(config, opts.storage === 'memory' ? 'memory' : 'file');
  const placement = placementFor(config, method, opts.storage, env);
  const log = loggerFor(opts.logger, 'dhcore:auth', env) ?? (() => {});
  log(`profile ${config.profile} (auth ${config.authMethod}): ${describeSources(config)}`);
  log(`tokens of profile ${config.profile} are kept in ${describePlacement(placement)}`);
  const { TokenLifecycle } = await import('./lifecycle.js');
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

/** `access_token_only`, `basic` and `none`: credentials that never change. */
class FixedCredentials implements Session {
  readonly config: ResolvedConfig;
  readonly #held: HeldTokens;
  readonly #storage: Storage;

  constructor(config: ResolvedConfig, storage: Storage) {
    this.config = config;
    this.#storage = storage;
    this.#held = usableTokens(storedInConfig(config), undefined);
  }

  get authMethod(): AuthMethod {
    return this.config.authMethod;
  }

  get profile(): string {
    return this.config.profile;
  }

  async accessToken(): Promise<string> {
    if (this.authMethod !== 'access_token_only') throw noTokenError(this.authMethod, this.profile);
    const valid = validAccess(this.#held, Date.now());
    if (valid === undefined) throw tokenExpiredError(this.profile);
    return valid;
  }

  async authorization(): Promise<string | undefined> {
    switch (this.authMethod) {
      case 'basic': {
        const pair = `${this.config.get('dhcore_user')}:${this.config.get('dhcore_password')}`;
        return `Basic ${Buffer.from(pair, 'utf8').toString('base64')}`;
      }
      case 'access_token_only':
        return `Bearer ${await this.accessToken()}`;
      default:
        return undefined;
    }
  }

  async refresh(): Promise<string> {
    throw notRefreshableError(this.authMethod, this.profile);
  }

  state(): TokenState {
    const h = this.#held;
    return {
      authMethod: this.authMethod,
      ...(h.expiresAtMs !== undefined ? { expiresAt: formatInstant(h.expiresAtMs) } : {}),
      ...(h.refreshAtMs !== undefined ? { refreshAt: formatInstant(h.refreshAtMs) } : {}),
      hasAccessToken: this.authMethod === 'access_token_only',
      hasRefreshToken: false,
      storage: this.#storage,
    };
  }

  lastRefresh(): undefined {
    return undefined;
  }

  currentRefreshToken(): undefined {
    return undefined;
  }

  storeCredentials(): Record<string, string> {
    return storeValuesOf(this.config);
  }

  toJSON(): Record<string, unknown> {
    return { profile: this.profile, configFile: this.config.configFile, ...this.state() };
  }

  [inspect.custom](): string {
    return `Session ${inspect(this.toJSON())}`;
  }
}
