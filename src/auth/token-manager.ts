/**
 * The token lifecycle (DESIGN §5): turn the resolved credentials into a valid access token, keep it valid,
 * and save what the server issues without ever losing it — also when several processes share one file.
 *
 * ```ts
 * const tm = new TokenManager({ config: resolveConfig() });
 * const token = await tm.accessToken();           // exchange / refresh as needed
 * const fresh = await tm.refresh({ rejectedToken: token }); // after a 401
 * ```
 *
 * Public surface:
 * - `accessToken(): Promise<string>` — a valid access token. Hot path (valid token in memory) does no I/O
 *   and returns a cached promise. Proactive refresh once less than min(300 s, lifetime/2) is left; if that
 *   early refresh fails while the token is still valid, the old token is returned and a warning logged.
 *   Throws `AuthError` for `basic`/`none` (no token) and for an expired `access_token_only` token.
 * - `refresh({ rejectedToken? }): Promise<string>` — force an exchange/refresh (single-flight). With
 *   `rejectedToken` (the token a 401 refused), a different, still-valid token (ours or one another
 *   process saved) is returned without asking the server.
 * - `state()` — `{ authMethod, expiresAt, refreshAt, hasAccessToken, hasRefreshToken, storage }`, no secrets.
 * - `credentials()` — extra credential fields (`aws_*`, `db_*` …) from the profile and token responses.
 *
 * How a refresh/exchange runs: single-flight in the process; then under the config-file lock the profile
 * is re-read — if another process already rotated/exchanged (its token differs from ours and is not due),
 * it is adopted; otherwise the newest refresh token (the file's, else ours) is used, and the answer is
 * written (rotated refresh token included) BEFORE the new access token is handed out. `invalid_grant`
 * with the file's refresh token/PAT → one retry with a different refresh token or PAT from the
 * environment. Server failures leave the file and the in-memory tokens untouched.
 *
 * Storage: tokens go to the profile of the config file (`storage: 'file'`, default) unless the
 * credentials came from options passed in code (then memory, as the file would not be read back), or
 * `storage: 'memory'`. Secrets from the environment (PAT, env tokens) are never written; an exchanged
 * token is tied to its PAT by `dhcore_pat_sha256` (a 16-hex-digit SHA-256 prefix, not the PAT), so a changed
 * PAT invalidates a saved token.
 */
import { TOKEN_FILE_KEYS } from '../config/keys.js';
import type { AuthMethod, ResolvedConfig } from '../config/types.js';
import { AuthError, DHCoreError } from '../errors.js';
import {
  type ProfileChange,
  ProfileStore,
  type ProfileValues,
  type StorageMode,
} from '../store/profile-store.js';
import { formatInstant, timesAtIssuance, timesFromStored } from './expiry.js';
import type { IssuedTokens, OAuthTarget } from './oauth.js';

// A builtin through process.getBuiltinModule(), not an ESM import: shorter cold start (see config/resolve.ts).
const { inspect } = process.getBuiltinModule('node:util');

/** The OAuth layer (openid-client) is loaded only when a token request is made: a valid saved token starts fast. */
let oauthModule: Promise<typeof import('./oauth.js')> | undefined;
const loadOAuth = () => {
  oauthModule ??= import('./oauth.js');
  return oauthModule;
};

export const PAT_FINGERPRINT_KEY = 'dhcore_pat_sha256';

/** Keys we write for a token set (DESIGN §4), plus the PAT fingerprint. */
export const MANAGED_TOKEN_KEYS = [...TOKEN_FILE_KEYS, PAT_FINGERPRINT_KEY] as const;

export interface TokenManagerOptions {
  config: ResolvedConfig;
  /** Where issued tokens go; default 'file' (see the module comment). */
  storage?: StorageMode;
  /** fetch used for token requests (default global fetch). */
  fetch?: typeof fetch;
  /** Per token-request timeout, ms (default 30 000). */
  timeoutMs?: number;
  /** Diagnostics; never receives secret values (default: the `dhcore:auth` debug namespace). */
  logger?: (msg: string) => void;
  /** Environment for the invalid_grant fallback (default process.env). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Cross-process lock tuning (tests/benchmarks). */
  lock?: { staleMs?: number; waitMs?: number };
}

export interface TokenState {
  authMethod: AuthMethod;
  expiresAt?: string;
  refreshAt?: string;
  hasAccessToken: boolean;
  hasRefreshToken: boolean;
  storage: StorageMode;
}

/** Result of the last refresh/exchange, for summaries (no secrets). */
export interface RefreshOutcome {
  /** 'exchanged' | 'refreshed' | 'adopted' (another process had already done it). */
  action: 'exchanged' | 'refreshed' | 'adopted';
  persisted: boolean;
  inMemory: boolean;
}

/** `DEBUG=dhcore*` logging; `debug` is only loaded when DEBUG is set, so a normal start does not pay for it. */
let authDebug: ((msg: string) => void) | undefined;
function debugLog(msg: string): void {
  if (!process.env.DEBUG) return;
  if (authDebug === undefined) {
    const { createRequire } = process.getBuiltinModule('node:module');
    authDebug = (createRequire(import.meta.url)('debug') as typeof import('debug'))('dhcore:auth');
  }
  authDebug(msg);
}

interface Held {
  access: string | undefined;
  refresh: string | undefined;
  expiresAtMs: number | undefined;
  refreshAtMs: number | undefined;
}

const NOTHING_HELD: Held = {
  access: undefined,
  refresh: undefined,
  expiresAtMs: undefined,
  refreshAtMs: undefined,
};

/** The held access token if it has not expired (an unknown expiry counts as valid until a 401). */
function validAccess(h: Held, nowMs: number): string | undefined {
  return h.expiresAtMs === undefined || nowMs < h.expiresAtMs ? h.access : undefined;
}

export function patFingerprint(pat: string): string {
  // node:crypto is fetched here, not imported: loading it costs ≈4 ms of cold start that an oauth2 profile
  // (no PAT) never needs.
  const { createHash } = process.getBuiltinModule('node:crypto');
  return createHash('sha256').update(pat, 'utf8').digest('hex').slice(0, 16);
}

const REFRESHABLE: ReadonlySet<AuthMethod> = new Set(['exchange', 'oauth2']);

export class TokenManager {
  readonly authMethod: AuthMethod;
  readonly profile: string;
  readonly configFile: string;
  readonly #config: ResolvedConfig;
  readonly #store: ProfileStore;
  readonly #target: OAuthTarget;
  readonly #http: { fetch?: typeof fetch; timeoutMs?: number };
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #log: (msg: string) => void;
  #pat: string | undefined;
  #held: Held;
  /** Cached resolved promise of the current token: the hot path returns it as is. */
  #ready: Promise<string> | undefined;
  #inflight: Promise<string> | undefined;
  #extra: Record<string, string> = {};
  #last: RefreshOutcome | undefined;

  constructor(opts: TokenManagerOptions) {
    const cfg = opts.config;
    this.#config = cfg;
    this.authMethod = cfg.authMethod;
    this.profile = cfg.profile;
    this.configFile = cfg.configFile;
    this.#env = opts.env ?? process.env;
    this.#log = opts.logger ?? ((m) => debugLog(m));
    this.#http = {
      ...(opts.fetch ? { fetch: opts.fetch } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    };
    this.#target = {
      endpoint: cfg.endpoint,
      issuer: cfg.issuer,
      tokenEndpoint: cfg.tokenEndpoint,
      clientId: cfg.clientId,
    };
    const src = cfg.sources;
    const credentialSource =
      cfg.authMethod === 'exchange'
        ? src.dhcore_personal_access_token
        : cfg.authMethod === 'oauth2'
          ? src.dhcore_refresh_token
          : undefined;
    const storage = opts.storage ?? (credentialSource === 'option' ? 'memory' : 'file');
    this.#store = new ProfileStore({
      file: cfg.configFile,
      profile: cfg.profile,
      storage,
      logger: this.#log,
      // A silent lock holder is waited for as long as its token request may take (plus a margin).
      lock: { ...(opts.timeoutMs ? { requestTimeoutMs: opts.timeoutMs } : {}), ...opts.lock },
    });
    this.#pat = cfg.get('dhcore_personal_access_token');
    this.#held = this.#initialTokens(cfg);
    this.#ready = this.#held.access !== undefined ? Promise.resolve(this.#held.access) : undefined;
    for (const key of cfg.keys()) if (isExtraKey(key)) this.#extra[key] = cfg.get(key)!;
  }

  #initialTokens(cfg: ResolvedConfig): Held {
    const src = cfg.sources;
    const access = cfg.get('dhcore_access_token');
    const accessSource = src.dhcore_access_token;
    // Expiry keys only describe the access token if they come from the same place.
    const sameSource = (k: string) => (src[k] === accessSource ? cfg.get(k) : undefined);
    const times = timesFromStored(access, sameSource('dhcore_expires_at'), sameSource('dhcore_refresh_at'));
    const refresh = cfg.get('dhcore_refresh_token');
    if (cfg.authMethod === 'exchange') {
      // Only reuse a saved token that was exchanged from this very PAT.
      const fp = cfg.get(PAT_FINGERPRINT_KEY);
      const ok = access !== undefined && this.#pat !== undefined && fp === patFingerprint(this.#pat);
      return ok ? { access, refresh: undefined, ...times } : NOTHING_HELD;
    }
    if (cfg.authMethod === 'oauth2' || cfg.authMethod === 'access_token_only') {
      return { access, refresh, ...times };
    }
    return NOTHING_HELD;
  }

  /** A valid access token (exchange/refresh as needed, single-flight). */
  accessToken(): Promise<string> {
    const ready = this.#ready;
    if (ready !== undefined) {
      const at = this.#held.refreshAtMs;
      if (at === undefined || Date.now() < at) return ready;
    }
    return this.#slowAccessToken();
  }

  async #slowAccessToken(): Promise<string> {
    const h = this.#held;
    const valid = validAccess(h, Date.now());
    if (!REFRESHABLE.has(this.authMethod)) {
      if (h.access === undefined) throw this.#noTokenError();
      if (valid === undefined) {
        throw new AuthError(
          'auth_token_expired',
          `The access token of profile "${this.profile}" has expired and auth method access_token_only cannot refresh it: run 'dhcore login' (or provide DHCORE_REFRESH_TOKEN or a personal access token).`,
        );
      }
      return valid;
    }
    if (valid === undefined) return this.#singleFlight({ mode: 'needed' });
    // Still valid but inside the refresh window: refresh ahead, fall back to the current token on failure.
    try {
      return await this.#singleFlight({ mode: 'ahead' });
    } catch (err) {
      const still = validAccess(this.#held, Date.now());
      if (still !== undefined) {
        this.#log(
          `refresh ahead of expiry failed (${errorCode(err)}); using the current token until it expires`,
        );
        return still;
      }
      throw err;
    }
  }

  /** Force a refresh/exchange (single-flight); used after a 401. Returns the new token. */
  async refresh(opts: { rejectedToken?: string } = {}): Promise<string> {
    if (!REFRESHABLE.has(this.authMethod)) {
      throw new AuthError(
        'auth_cannot_refresh',
        this.authMethod === 'access_token_only'
          ? `Auth method access_token_only cannot refresh: profile "${this.profile}" has an access token but no refresh token or personal access token; run 'dhcore login'.`
          : this.authMethod === 'basic'
            ? `Auth method basic (user and password) has no token to refresh; use a personal access token ('dhcore login --pat') for token-based access.`
            : `No credentials for profile "${this.profile}" (auth method none): run 'dhcore login'.`,
      );
    }
    const rejected = opts.rejectedToken;
    if (rejected !== undefined) {
      const current = validAccess(this.#held, Date.now());
      if (current !== undefined && current !== rejected) return current;
      return this.#singleFlight({ mode: 'rejected', rejected });
    }
    return this.#singleFlight({ mode: 'forced' });
  }

  /** Token state without secrets. */
  state(): TokenState {
    const h = this.#held;
    return {
      authMethod: this.authMethod,
      ...(h.expiresAtMs !== undefined ? { expiresAt: formatInstant(h.expiresAtMs) } : {}),
      ...(h.refreshAtMs !== undefined ? { refreshAt: formatInstant(h.refreshAtMs) } : {}),
      hasAccessToken: h.access !== undefined,
      hasRefreshToken: h.refresh !== undefined,
      storage: this.#store.mode,
    };
  }

  /** What the last refresh/exchange did (undefined before the first one). */
  lastRefresh(): RefreshOutcome | undefined {
    return this.#last;
  }

  /** Extra credential fields from the profile and the token responses (`aws_*` …). Secrets. */
  credentials(): Record<string, string> {
    return { ...this.#extra };
  }

  #singleFlight(req: Request): Promise<string> {
    if (this.#inflight) return this.#inflight;
    const p = this.#run(req).finally(() => {
      if (this.#inflight === p) this.#inflight = undefined;
    });
    this.#inflight = p;
    return p;
  }

  async #run(req: Request): Promise<string> {
    const outcome = await this.#store.update<RunResult>(async (current) => {
      const adopted = this.#adoptable(current, req);
      if (adopted) return { result: { held: adopted, action: 'adopted' as const, extra: {} } };
      const { issued, viaPat, action } = await this.#obtain(current);
      const times = timesAtIssuance(issued.accessToken, issued.expiresIn, Date.now());
      const held: Held = {
        access: issued.accessToken,
        refresh: issued.refreshToken ?? (viaPat ? undefined : this.#newestRefreshToken(current)),
        ...times,
      };
      return {
        result: { held, action, extra: issued.extra },
        change: tokenChange(issued, times, viaPat),
      };
    });
    const { held, action, extra } = outcome.result;
    this.#held = held;
    Object.assign(this.#extra, extra);
    this.#ready = held.access !== undefined ? Promise.resolve(held.access) : undefined;
    this.#last = { action, persisted: outcome.persisted, inMemory: outcome.inMemory };
    this.#log(
      `${action} access token for profile ${this.profile}${held.expiresAtMs ? `, expires ${formatInstant(held.expiresAtMs)}` : ''}${outcome.inMemory ? ' (kept in memory)' : ''}`,
    );
    if (held.access === undefined) throw this.#noTokenError();
    return held.access;
  }

  /** Under the lock: a token another process already saved that we can use instead of asking the server. */
  #adoptable(current: ProfileValues, req: Request): Held | undefined {
    if (req.mode === 'forced') return undefined;
    const at = current.dhcore_access_token;
    if (at === undefined || at === this.#held.access || at === req.rejected) return undefined;
    if (this.authMethod === 'exchange') {
      if (this.#pat === undefined || current[PAT_FINGERPRINT_KEY] !== patFingerprint(this.#pat))
        return undefined;
    }
    const times = timesFromStored(at, current.dhcore_expires_at, current.dhcore_refresh_at);
    const now = Date.now();
    if (times.expiresAtMs !== undefined && now >= (times.refreshAtMs ?? times.expiresAtMs)) return undefined;
    return {
      access: at,
      refresh:
        this.authMethod === 'exchange' ? undefined : (current.dhcore_refresh_token ?? this.#held.refresh),
      ...times,
    };
  }

  /** The refresh token to present: the file's (the newest, under lock), else the one we hold. */
  #newestRefreshToken(current: ProfileValues): string | undefined {
    return current.dhcore_refresh_token ?? this.#held.refresh;
  }

  async #obtain(
    current: ProfileValues,
  ): Promise<{ issued: IssuedTokens; viaPat: string | undefined; action: 'exchanged' | 'refreshed' }> {
    const { exchangePat, refreshGrant } = await loadOAuth();
    const envPat = envValue(this.#env, 'DHCORE_PERSONAL_ACCESS_TOKEN');
    const envRefresh = envValue(this.#env, 'DHCORE_REFRESH_TOKEN');
    if (this.authMethod === 'exchange') {
      const pat = this.#pat!;
      try {
        return { issued: await exchangePat(this.#target, pat, this.#http), viaPat: pat, action: 'exchanged' };
      } catch (err) {
        if (!isInvalidGrant(err) || envPat === undefined || envPat === pat) throw this.#loginHint(err);
        this.#log(
          'personal access token refused (invalid_grant); retrying with the one from the environment',
        );
        const issued = await exchangePat(this.#target, envPat, this.#http).catch((e: unknown) => {
          throw this.#loginHint(e);
        });
        this.#pat = envPat;
        return { issued, viaPat: envPat, action: 'exchanged' };
      }
    }
    const rt = this.#newestRefreshToken(current);
    if (rt === undefined) throw this.#noTokenError();
    try {
      return {
        issued: await refreshGrant(this.#target, rt, this.#http),
        viaPat: undefined,
        action: 'refreshed',
      };
    } catch (err) {
      if (!isInvalidGrant(err)) throw err;
      if (envRefresh !== undefined && envRefresh !== rt) {
        this.#log(
          'refresh token refused (invalid_grant); retrying with the refresh token from the environment',
        );
        try {
          return {
            issued: await refreshGrant(this.#target, envRefresh, this.#http),
            viaPat: undefined,
            action: 'refreshed',
          };
        } catch (err2) {
          if (!isInvalidGrant(err2) || envPat === undefined) throw this.#loginHint(err2);
        }
      }
      if (envPat !== undefined) {
        this.#log(
          'refresh token refused (invalid_grant); exchanging the personal access token from the environment',
        );
        const issued = await exchangePat(this.#target, envPat, this.#http).catch((e: unknown) => {
          throw this.#loginHint(e);
        });
        return { issued, viaPat: envPat, action: 'exchanged' };
      }
      throw this.#loginHint(err);
    }
  }

  #loginHint(err: unknown): unknown {
    if (!isInvalidGrant(err)) return err;
    const what = this.authMethod === 'exchange' ? 'personal access token' : 'refresh token';
    const key = this.authMethod === 'exchange' ? 'dhcore_personal_access_token' : 'dhcore_refresh_token';
    const login = `dhcore login${this.profile === '__default' ? '' : ` -e ${this.profile}`}`;
    // A secret from the environment is fixed there, not by logging in again over it.
    const message =
      this.#config.sources[key] === 'env'
        ? `The ${what} in $${key.toUpperCase()} was refused (invalid_grant: expired, revoked or already used): set a valid one, or unset it and run '${login}'.`
        : `The ${what} of profile "${this.profile}" was refused (invalid_grant: expired, revoked or already used): run '${login}' to get new credentials.`;
    return new AuthError('auth_invalid_grant', message, { oauthError: 'invalid_grant' });
  }

  #noTokenError(): AuthError {
    if (this.authMethod === 'basic') {
      return new AuthError(
        'auth_no_token',
        `Profile "${this.profile}" uses auth method basic (user and password), which has no access token; use a personal access token ('dhcore login --pat') for token-based access.`,
      );
    }
    return new AuthError(
      'auth_no_token',
      `No access token for profile "${this.profile}" (auth method ${this.authMethod}): run 'dhcore login' or set DHCORE_PERSONAL_ACCESS_TOKEN.`,
    );
  }

  toJSON(): Record<string, unknown> {
    return { profile: this.profile, configFile: this.configFile, ...this.state() };
  }

  toString(): string {
    return `TokenManager(${this.profile}, ${this.authMethod})`;
  }

  [inspect.custom](): string {
    return `TokenManager ${inspect(this.toJSON())}`;
  }
}

interface RunResult {
  held: Held;
  action: RefreshOutcome['action'];
  extra: Record<string, string>;
}

interface Request {
  mode: 'needed' | 'ahead' | 'forced' | 'rejected';
  rejected?: string;
}

/** The profile change for a token set the server issued (DESIGN §4 names; extra fields under their own). */
export function tokenChange(
  issued: IssuedTokens,
  times: { expiresAtMs: number | undefined; refreshAtMs: number | undefined },
  viaPat: string | undefined,
): ProfileChange {
  const set: Record<string, string> = { ...issued.extra, dhcore_access_token: issued.accessToken };
  const del: string[] = [];
  if (issued.refreshToken) set.dhcore_refresh_token = issued.refreshToken;
  if (issued.idToken) set.dhcore_id_token = issued.idToken;
  if (issued.clientId) set.dhcore_client_id = issued.clientId;
  if (issued.issuer) set.dhcore_issuer = issued.issuer;
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

function isExtraKey(key: string): boolean {
  return !key.startsWith('dhcore_') && !key.startsWith('oauth2_') && key !== 'current_environment';
}

function isInvalidGrant(err: unknown): boolean {
  return err instanceof AuthError && err.oauthError === 'invalid_grant';
}

function errorCode(err: unknown): string {
  return err instanceof DHCoreError ? err.code : err instanceof Error ? err.name : 'error';
}

function envValue(env: Readonly<Record<string, string | undefined>>, key: string): string | undefined {
  const v = env[key]?.trim();
  return v ? v : undefined;
}
