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
import type { Logger } from '../diagnostics.js';
import { type HttpOptions, httpOf } from '../net/http.js';
import { withCurrentProfile } from '../profiles/current.js';
import type { LockOptions } from '../store/lock.js';
import type { ProfileValues, StorageMode } from '../store/profile-store.js';
import { formatInstant } from './expiry.js';
import { noTokenError, notRefreshableError, tokenExpiredError, warnIfSentInClear } from './messages.js';
import { AUTH_METHODS } from './methods.js';
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
  /**
   * What accessToken() would give at once, without any work (a held token that is valid and not yet due for
   * refresh); undefined when accessToken() has something to do (or to throw). Lets a request skip a tick.
   */
  readyAccessToken(): string | undefined;
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
  /** Where new tokens are kept; default: see `placementFor` (token-session.ts). */
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
  // The token lifecycle, the profile store and the token cache: loaded on demand, so a `basic` or
  // `access_token_only` profile starts without them.
  const { openTokenSession } = await import('./token-session.js');
  return openTokenSession(config, method, http, env, opts);
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

  readyAccessToken(): string | undefined {
    return this.authMethod === 'access_token_only' ? validAccess(this.#held, Date.now()) : undefined;
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
