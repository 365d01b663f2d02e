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

import { unwrapQuoted } from '../config/resolve.js';
import type { ResolvedConfig } from '../config/types.js';
import { elapsed } from '../diagnostics.js';
import { AuthError, ConfigError, DHCoreError } from '../errors.js';
import type { Http } from '../net/http.js';
import { withoutTrailingSlashes } from '../net/url-text.js';
import type { ProfileChange, ProfileStore, ProfileValues } from '../store/profile-store.js';
import { warnOnce } from '../warnings.js';
import { formatInstant, timesAtIssuance } from './expiry.js';
import type { IssuedTokens } from './grants.js';
import { noTokenError, refusedError } from './messages.js';
import type { Attempt, AuthMethodBehaviour } from './methods.js';
import type { Placement, RefreshOutcome, Session, TokenState } from './session.js';
import { type OAuthTarget, targetOf } from './target.js';
import {
  type HeldTokens,
  isDue,
  storeCredentialsIn,
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
  placement: Placement;
  http: Http;
  env: Readonly<Record<string, string | undefined>>;
  log: (msg: string) => void;
  /** Refuse to present a rotating refresh token whose successor cannot be saved (the CLI). */
  refuseUnsaveable?: boolean;
}

type Mode = 'needed' | 'ahead' | 'forced' | 'rejected';

/** What identifies the server a profile points at: a change means it is not the profile we resolved. */
const IDENTITY_KEYS = [
  'dhcore_endpoint',
  'dhcore_issuer',
  'dhcore_client_id',
  'oauth2_token_endpoint',
] as const;

/** A value as resolution compares it: trimmed, one pair of quotes removed, no trailing `/`. */
function normalized(value: string | undefined): string | null {
  if (value === undefined) return null;
  const v = withoutTrailingSlashes(unwrapQuoted(value.trim()));
  return v === '' ? null : v;
}

interface RunResult {
  held: HeldTokens;
  action: RefreshOutcome['action'];
  extra: Record<string, string>;
}

export class TokenLifecycle implements Session {
  readonly config: ResolvedConfig;
  readonly #method: AuthMethodBehaviour;
  readonly #store: ProfileStore;
  readonly #placement: Placement;
  readonly #target: OAuthTarget;
  readonly #http: Http;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #log: (msg: string) => void;
  readonly #refuseUnsaveable: boolean;
  /** The PAT this lifecycle stands on (exchange); becomes the environment's after a successful fallback. */
  #pat: string | undefined;
  #held: HeldTokens;
  /** Cached resolved promise of the current token: the hot path returns it as is. */
  #ready: Promise<string> | undefined;
  #inflight: Promise<string> | undefined;
  #extra: Record<string, string>;
  #last: RefreshOutcome | undefined;
  /** Set once the profile on disk changed under us: from then on nothing is written. */
  #detached = false;
  /** This process wrote the token cache entry (so its disappearance is a logout, not a first run). */
  #cacheSaved = false;
  /** Identity keys of the profile as this process resolved them (null: absent), see #changedOnDisk. */
  readonly #identity = new Map<string, string | null>();

  constructor(parts: LifecycleParts) {
    const { config } = parts;
    this.config = config;
    this.#method = parts.method;
    this.#store = parts.store;
    this.#placement = parts.placement;
    this.#http = parts.http;
    this.#env = parts.env;
    this.#log = parts.log;
    this.#refuseUnsaveable = parts.refuseUnsaveable === true;
    this.#target = targetOf(config);
    this.#pat = config.get('dhcore_personal_access_token');
    // Tokens a previous process cached for this env-only profile win over the environment's originals.
    const cached = parts.placement.cached;
    const fromCache = cached?.dhcore_access_token !== undefined || cached?.dhcore_refresh_token !== undefined;
    const stored = fromCache ? storedInValues(cached!) : storedInConfig(config);
    const pat = this.#patOfMethod();
    const held = usableTokens(stored, pat);
    const refresh = held.refresh ?? (pat === undefined ? config.get('dhcore_refresh_token') : undefined);
    this.#held = { ...held, refresh };
    this.#ready = this.#held.access !== undefined ? Promise.resolve(this.#held.access) : undefined;
    if (parts.placement.storage === 'file') {
      for (const key of IDENTITY_KEYS) {
        if (config.source(key) === 'file') this.#identity.set(key, normalized(config.get(key)));
      }
    }
    this.#cacheSaved = parts.placement.storage === 'cache' && fromCache;
    this.#extra = { ...storeValuesOf(config), ...(fromCache ? storeCredentialsIn(cached!) : {}) };
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
    return this.readyAccessToken() === undefined ? this.#slowAccessToken() : this.#ready!;
  }

  readyAccessToken(): string | undefined {
    if (this.#ready === undefined) return undefined;
    const at = this.#held.refreshAtMs;
    return at === undefined || Date.now() < at ? this.#held.access : undefined;
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
      storage: this.#store.mode === 'memory' ? 'memory' : this.#placement.storage,
    };
  }

  lastRefresh(): RefreshOutcome | undefined {
    return this.#last;
  }

  currentRefreshToken(): string | undefined {
    return this.#held.refresh;
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
    const started = performance.now();
    let outcome: { result: RunResult; persisted: boolean; inMemory: boolean };
    if (this.#detached) {
      // The profile on disk is no longer the one this process resolved: never touch it again.
      outcome = { result: await this.#issue(this.#held.refresh), persisted: false, inMemory: true };
    } else {
      // Before the lock: a file that cannot be written cannot be locked either, and no other process can
      // have saved a token to adopt.
      await this.#checkSaveable();
      // Also before it: load the OAuth client and discover the token endpoint, so that under the lock the
      // profile is read right before the request (tools that take no lock get the smallest window).
      await this.#prepare();
      outcome = await this.#store.update<RunResult>(async (current, disk) => {
        const changed =
          this.#placement.storage === 'file'
            ? this.#changedOnDisk(current, disk.exists)
            : this.#placement.storage === 'cache' && this.#cacheSaved && !disk.exists
              ? `the token cache entry of profile ${this.profile} was removed (dhcore logout)`
              : undefined;
        if (changed) {
          this.#detached = true;
          this.#log(
            `${changed}: the new tokens of profile ${this.profile} are kept in this process only, nothing is written`,
          );
          return { result: await this.#issue(this.#held.refresh) };
        }
        const adopted = mode === 'forced' ? undefined : this.#adoptable(current, rejected);
        // Another process's token comes with the store credentials it saved beside it.
        if (adopted) {
          return {
            result: { held: adopted, action: 'adopted' as const, extra: storeCredentialsIn(current) },
          };
        }
        const presented = current.dhcore_refresh_token ?? this.#held.refresh;
        try {
          const result = await this.#issue(presented);
          return { result, change: result.change };
        } catch (err) {
          // A tool that takes no lock (the Python SDK) may have rotated it meanwhile: take what it saved.
          const theirs = isInvalidGrant(err) ? await this.#savedMeanwhile(presented, rejected) : undefined;
          if (theirs === undefined) throw err;
          this.#log(
            'refresh token refused (invalid_grant), but the file now holds a newer valid token: adopted',
          );
          return { result: theirs };
        }
      });
      if (this.#detached) outcome = { ...outcome, inMemory: true };
      if (outcome.persisted && this.#placement.storage === 'cache') this.#cacheSaved = true;
    }
    const { held, action, extra } = outcome.result;
    this.#held = held;
    Object.assign(this.#extra, extra);
    this.#ready = held.access !== undefined ? Promise.resolve(held.access) : undefined;
    this.#last = { action, persisted: outcome.persisted, inMemory: outcome.inMemory };
    this.#log(
      `${action} access token for profile ${this.profile}${held.expiresAtMs ? `, expires ${formatInstant(held.expiresAtMs)}` : ''}${outcome.inMemory ? ' (kept in memory)' : ''} in ${elapsed(started)}`,
    );
    if (held.access === undefined) throw noTokenError(this.#method.name, this.profile);
    return held.access;
  }

  /** Load the grants and discover the token endpoint (cached): the failures a grant would have, earlier. */
  async #prepare(): Promise<void> {
    const { prepareGrants } = await loadGrants();
    await prepareGrants(this.#target, this.#http);
  }

  /** After `invalid_grant`: a different refresh token with a valid access token saved in the file since. */
  async #savedMeanwhile(
    presented: string | undefined,
    rejected: string | undefined,
  ): Promise<RunResult | undefined> {
    if (this.#placement.storage === 'memory') return undefined;
    const values = await this.#store.read();
    // Only a different refresh token counts: the one we presented is the one the server refused.
    if (values.dhcore_refresh_token === undefined || values.dhcore_refresh_token === presented)
      return undefined;
    const adopted = this.#adoptable(values, rejected);
    return adopted && { held: adopted, action: 'adopted', extra: storeCredentialsIn(values) };
  }

  /** Obtain a new token set (the attempt chain) and what saving it would write. */
  async #issue(refreshToken: string | undefined): Promise<RunResult & { change: ProfileChange }> {
    const { issued, attempt } = await this.#obtain(refreshToken);
    if (issued.ignored.length > 0) {
      this.#log(
        `token response fields ignored (not token or store credential fields): ${issued.ignored.join(', ')}`,
      );
    }
    const viaPat = attempt.grant === 'exchange' ? attempt.secret : undefined;
    const times = timesAtIssuance(issued.accessToken, issued.expiresIn, Date.now());
    const held: HeldTokens = {
      access: issued.accessToken,
      refresh: issued.refreshToken ?? (viaPat ? undefined : refreshToken),
      ...times,
    };
    return {
      held,
      action: viaPat ? 'exchanged' : 'refreshed',
      extra: issued.extra,
      change: tokenChange(issued, times, viaPat),
    };
  }

  /**
   * Has the user changed the profile since this process resolved it (logout, remove, register --force)?
   * Then writing would undo what they did. Compared: the profile still exists, its endpoint, issuer, client
   * id and token endpoint, and the credential it was derived from. Returns why, or undefined.
   */
  #changedOnDisk(current: ProfileValues, exists: boolean): string | undefined {
    if (!exists) return `profile ${this.profile} was removed from ${this.#placement.file}`;
    for (const key of IDENTITY_KEYS) {
      const now = normalized(current[key]);
      const expected = this.#identity.get(key);
      if (expected === undefined)
        this.#identity.set(key, now); // not from the file at resolution: pin it now
      else if (expected !== now)
        return `${key} of profile ${this.profile} changed in ${this.#placement.file}`;
    }
    const key = this.#method.credentialKey;
    if (key === undefined || this.config.source(key) !== 'file') return undefined;
    const gone =
      key === 'dhcore_personal_access_token'
        ? current[key]?.trim() !== this.config.get(key)
        : current.dhcore_refresh_token === undefined;
    return gone
      ? `the ${this.#method.credentialName} of profile ${this.profile} was removed or replaced`
      : undefined;
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

  /**
   * A refresh token is single-use: presenting it when its successor cannot be saved loses the session for
   * every other process and the next run. The CLI (`refuseUnsaveable`) refuses before asking the server; a
   * library process goes on with the new tokens in memory and says once that the saved one is spent.
   */
  async #checkSaveable(): Promise<void> {
    if (this.#method.credentialKey !== 'dhcore_refresh_token') return;
    const because = this.#placement.memoryBecause;
    if (because === 'cache-off' || because === 'cache-unusable') {
      // The CLI's memory ends with the process: the next run would present a spent refresh token.
      if (!this.#refuseUnsaveable) return;
      throw new ConfigError(
        'config_not_writable',
        `Cannot keep the rotated refresh token of profile "${this.profile}": it lives only in the environment and the token cache is ${because === 'cache-off' ? 'off (DHCORE_TOKEN_CACHE=off)' : 'unusable'}. Nothing was sent to the server; turn the cache on (unset DHCORE_TOKEN_CACHE, or set XDG_CACHE_HOME to a writable folder), or save the profile with 'dhcore login'.`,
      );
    }
    if (this.#placement.storage === 'memory') return;
    const why = await this.#store.whyNotWritable();
    if (why === undefined) return;
    if (this.#refuseUnsaveable) {
      throw new ConfigError(
        'config_not_writable',
        `Cannot save the rotated refresh token of profile "${this.profile}": ${why}. Nothing was sent to the server, so the saved refresh token is still valid; make it writable (chmod u+w), or choose another file with --config.`,
        { file: this.#placement.file },
      );
    }
    warnOnce(
      `DHCORE_REFRESH_TOKEN_SPENT:${this.#placement.file}`,
      `The refresh token of profile "${this.profile}" rotates, but ${why}: this process keeps the new one in memory, and the one saved in ${this.#placement.file} is now spent — other processes and the next run must log in again.`,
    );
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
