/**
 * The token lifecycle of a refreshable auth method (`exchange`, `oauth2`): turn the credential into a valid
 * access token, keep it valid, and save what the server issues without ever losing it — also when several
 * processes share one file.
 *
 * - Hot path: a valid token in memory is returned as a cached promise, with no I/O.
 * - Refresh ahead once less than min(300 s, lifetime/2) is left; if that early refresh fails while the token
 *   is still valid, the current token is used and the failure logged.
 * - One refresh at a time: single-flight in the process; across processes, under the profile store's lock the
 *   profile is re-read — a token another process already obtained is adopted; otherwise the newest refresh
 *   token (the file's, else ours) is presented and the answer (rotated refresh token included) is saved BEFORE
 *   the new access token is handed out. Server failures leave the file and the held tokens untouched.
 * - Obtaining is the method's attempt chain: the next attempt only after `invalid_grant`.
 *
 * Built by `openSession()` (session.ts), which decides where tokens are kept.
 */
import type { ResolvedConfig } from '../config/types.js';
import { AuthError, DHCoreError } from '../errors.js';
import type { Http } from '../net/http.js';
import type { ProfileStore, ProfileValues } from '../store/profile-store.js';
import { formatInstant, timesAtIssuance } from './expiry.js';
import type { IssuedTokens } from './grants.js';
import { noTokenError, refusedError } from './messages.js';
import type { Attempt, AuthMethodBehaviour } from './methods.js';
import type { RefreshOutcome, Session, TokenState } from './session.js';
import { type OAuthTarget, targetOf } from './target.js';
import {
  type HeldTokens,
  isDue,
  storedInConfig,
  storedInValues,
  storeValuesOf,
  tokenChange,
  usableTokens,
  validAccess,
} from './token-record.js';

// A builtin through process.getBuiltinModule(), not an ESM import: shorter cold start (see config/resolve.ts).
const { inspect } = process.getBuiltinModule('node:util');

/** The grants (openid-client) are loaded only when a token request is made: a valid saved token starts fast. */
let grantsModule: Promise<typeof import('./grants.js')> | undefined;
const loadGrants = () => {
  grantsModule ??= import('./grants.js');
  return grantsModule;
};

export interface LifecycleParts {
  config: ResolvedConfig;
  method: AuthMethodBehaviour;
  store: ProfileStore;
  http: Http;
  env: Readonly<Record<string, string | undefined>>;
  log: (msg: string) => void;
}

type Mode = 'needed' | 'ahead' | 'forced' | 'rejected';

interface RunResult {
  held: HeldTokens;
  action: RefreshOutcome['action'];
  extra: Record<string, string>;
}

export class TokenLifecycle implements Session {
  readonly config: ResolvedConfig;
  readonly #method: AuthMethodBehaviour;
  readonly #store: ProfileStore;
  readonly #target: OAuthTarget;
  readonly #http: Http;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #log: (msg: string) => void;
  /** The PAT this lifecycle stands on (exchange); becomes the environment's after a successful fallback. */
  #pat: string | undefined;
  #held: HeldTokens;
  /** Cached resolved promise of the current token: the hot path returns it as is. */
  #ready: Promise<string> | undefined;
  #inflight: Promise<string> | undefined;
  #extra: Record<string, string>;
  #last: RefreshOutcome | undefined;

  constructor(parts: LifecycleParts) {
    const { config } = parts;
    this.config = config;
    this.#method = parts.method;
    this.#store = parts.store;
    this.#http = parts.http;
    this.#env = parts.env;
    this.#log = parts.log;
    this.#target = targetOf(config);
    this.#pat = config.get('dhcore_personal_access_token');
    this.#held = usableTokens(storedInConfig(config), this.#patOfMethod());
    this.#ready = this.#held.access !== undefined ? Promise.resolve(this.#held.access) : undefined;
    this.#extra = storeValuesOf(config);
  }

  get authMethod() {
    return this.#method.name;
  }

  get profile(): string {
    return this.config.profile;
  }

  /** The PAT that stored tokens must have been exchanged from (exchange only). */
  #patOfMethod(): string | undefined {
    return this.#method.credentialKey === 'dhcore_personal_access_token' ? this.#pat : undefined;
  }

  accessToken(): Promise<string> {
    const ready = this.#ready;
    if (ready !== undefined) {
      const at = this.#held.refreshAtMs;
      if (at === undefined || Date.now() < at) return ready;
    }
    return this.#slowAccessToken();
  }

  async authorization(): Promise<string> {
    return `Bearer ${await this.accessToken()}`;
  }

  async #slowAccessToken(): Promise<string> {
    if (validAccess(this.#held, Date.now()) === undefined) return this.#singleFlight('needed');
    // Still valid but inside the refresh window: refresh ahead, fall back to the current token on failure.
    try {
      return await this.#singleFlight('ahead');
    } catch (err) {
      const still = validAccess(this.#held, Date.now());
      if (still === undefined) throw err;
      this.#log(
        `refresh ahead of expiry failed (${errorCode(err)}); using the current token until it expires`,
      );
      return still;
    }
  }

  async refresh(opts: { rejectedToken?: string } = {}): Promise<string> {
    const rejected = opts.rejectedToken;
    if (rejected === undefined) return this.#singleFlight('forced');
    const current = validAccess(this.#held, Date.now());
    if (current !== undefined && current !== rejected) return current;
    return this.#singleFlight('rejected', rejected);
  }

  state(): TokenState {
    const h = this.#held;
    return {
      authMethod: this.#method.name,
      ...(h.expiresAtMs !== undefined ? { expiresAt: formatInstant(h.expiresAtMs) } : {}),
      ...(h.refreshAtMs !== undefined ? { refreshAt: formatInstant(h.refreshAtMs) } : {}),
      hasAccessToken: h.access !== undefined,
      hasRefreshToken: h.refresh !== undefined,
      storage: this.#store.mode,
    };
  }

  lastRefresh(): RefreshOutcome | undefined {
    return this.#last;
  }

  storeCredentials(): Record<string, string> {
    return { ...this.#extra };
  }

  #singleFlight(mode: Mode, rejected?: string): Promise<string> {
    if (this.#inflight) return this.#inflight;
    const p = this.#run(mode, rejected).finally(() => {
      if (this.#inflight === p) this.#inflight = undefined;
    });
    this.#inflight = p;
    return p;
  }

  async #run(mode: Mode, rejected: string | undefined): Promise<string> {
    const outcome = await this.#store.update<RunResult>(async (current) => {
      const adopted = mode === 'forced' ? undefined : this.#adoptable(current, rejected);
      if (adopted) return { result: { held: adopted, action: 'adopted' as const, extra: {} } };
      const refreshToken = current.dhcore_refresh_token ?? this.#held.refresh;
      const { issued, attempt } = await this.#obtain(refreshToken);
      const viaPat = attempt.grant === 'exchange' ? attempt.secret : undefined;
      const times = timesAtIssuance(issued.accessToken, issued.expiresIn, Date.now());
      const held: HeldTokens = {
        access: issued.accessToken,
        refresh: issued.refreshToken ?? (viaPat ? undefined : refreshToken),
        ...times,
      };
      return {
        result: { held, action: viaPat ? 'exchanged' : 'refreshed', extra: issued.extra },
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
    if (held.access === undefined) throw noTokenError(this.#method.name, this.profile);
    return held.access;
  }

  /** Under the lock: a token another process already saved that we can use instead of asking the server. */
  #adoptable(current: ProfileValues, rejected: string | undefined): HeldTokens | undefined {
    const stored = usableTokens(storedInValues(current), this.#patOfMethod());
    const at = stored.access;
    if (at === undefined || at === this.#held.access || at === rejected || isDue(stored, Date.now())) {
      return undefined;
    }
    return this.#patOfMethod() === undefined
      ? { ...stored, refresh: stored.refresh ?? this.#held.refresh }
      : stored;
  }

  /** Run the method's attempt chain: the next attempt only after `invalid_grant`. */
  async #obtain(refreshToken: string | undefined): Promise<{ issued: IssuedTokens; attempt: Attempt }> {
    const attempts = this.#method.attempts({ pat: this.#pat, refreshToken, env: this.#env });
    if (attempts.length === 0) throw noTokenError(this.#method.name, this.profile);
    const { exchangePat, refreshGrant } = await loadGrants();
    let refused: unknown;
    for (const attempt of attempts) {
      if (refused !== undefined && attempt.why) this.#log(attempt.why);
      try {
        const issued =
          attempt.grant === 'exchange'
            ? await exchangePat(this.#target, attempt.secret, this.#http)
            : await refreshGrant(this.#target, attempt.secret, this.#http);
        if (attempt.grant === 'exchange' && this.#patOfMethod() !== undefined) this.#pat = attempt.secret;
        return { issued, attempt };
      } catch (err) {
        if (!isInvalidGrant(err)) throw err;
        refused = err;
      }
    }
    throw refusedError(this.#method, this.config);
  }

  toJSON(): Record<string, unknown> {
    return { profile: this.profile, configFile: this.config.configFile, ...this.state() };
  }

  toString(): string {
    return `TokenLifecycle(${this.profile}, ${this.authMethod})`;
  }

  [inspect.custom](): string {
    return `TokenLifecycle ${inspect(this.toJSON())}`;
  }
}

function isInvalidGrant(err: unknown): boolean {
  return err instanceof AuthError && err.oauthError === 'invalid_grant';
}

function errorCode(err: unknown): string {
  return err instanceof DHCoreError ? err.code : err instanceof Error ? err.name : 'error';
}
