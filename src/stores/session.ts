/**
 * The one place where store credentials meet the token lifecycle. `s3Config()`, `sqlConfig()`,
 * `dhcore credentials` and `dhcore exec` see DHCore only through {@link openStoreSession}: the store values
 * (`aws_*`, `s3_*`, `db_*`) that belong to the current access token, and a way to renew them, which is
 * renewing the token (refresh or re-exchange: single-flight, the cross-process lock, adopting a token another
 * process saved — all done by the lifecycle).
 */
import {
  type ClientOptions,
  loadTokenSource,
  type TokenSource,
  withCurrentProfile,
} from '../client/client.js';
import { STORE_KEYS } from '../config/keys.js';
import { resolveConfig } from '../config/resolve.js';
import type { AuthMethod, ResolvedConfig, ResolveOptions } from '../config/types.js';
import { AuthError } from '../errors.js';
import { redactUrl } from '../redact.js';

// Not `import … from 'node:util'`: its ESM namespace costs ≈1 ms of cold start (see config/resolve.ts).
const { inspect } = process.getBuiltinModule('node:util');

/** Lower-case names of the store keys, as the INI file and the token responses spell them. */
export const STORE_FILE_KEYS: ReadonlySet<string> = new Set(STORE_KEYS.map((k) => k.toLowerCase()));

/** A profile's store credentials, kept current through the token lifecycle. Holds secrets: never log it. */
export interface StoreSession {
  readonly profile: string;
  readonly endpoint: string;
  readonly configFile: string;
  readonly authMethod: AuthMethod;
  /** Can {@link renew} obtain new store credentials? (`exchange` and `oauth2`: a PAT or a refresh token.) */
  readonly renewable: boolean;
  /** The current store values (`aws_access_key_id`, `db_password`, …), lower-case keys. Secrets. */
  values(): Record<string, string>;
  /**
   * New store credentials now: refresh or re-exchange the token (single-flight; a token another process has
   * saved meanwhile is adopted instead). `AuthError` `auth_cannot_refresh` when the profile cannot renew.
   */
  renew(): Promise<void>;
  /** A valid access token (the lifecycle refreshes it ahead of expiry); the store values follow it. */
  accessToken(): Promise<string>;
  /** When the current access token expires (RFC 3339), if known. */
  expiresAt(): string | undefined;
}

/** Profiles whose token the lifecycle manages (an expired `access_token_only` token is reported by it). */
const TOKEN_METHODS: ReadonlySet<AuthMethod> = new Set(['exchange', 'oauth2', 'access_token_only']);
const RENEWABLE: ReadonlySet<AuthMethod> = new Set(['exchange', 'oauth2']);

/**
 * Open the store session of the profile `opts` resolve to (same options as `createClient`). For a profile
 * with a PAT or a refresh token this obtains a valid access token first (no request when a saved one is
 * still valid), so the values are those of a live token.
 */
export async function openStoreSession(opts: ClientOptions = {}): Promise<StoreSession> {
  const resolveOpts = withCurrentProfile(opts);
  const config = resolveConfig(resolveOpts);
  // Without a logger the lifecycle logs under DEBUG=dhcore:auth, as for createClient().
  const tokens = TOKEN_METHODS.has(config.authMethod)
    ? await loadTokenSource(config, opts, opts.logger)
    : undefined;
  const session = new Session(config, resolveOpts, tokens);
  if (tokens && RENEWABLE.has(config.authMethod)) await session.accessToken();
  return session;
}

class Session implements StoreSession {
  readonly profile: string;
  readonly endpoint: string;
  readonly configFile: string;
  readonly authMethod: AuthMethod;
  readonly renewable: boolean;
  readonly #resolveOpts: ResolveOptions;
  readonly #tokens: TokenSource | undefined;
  readonly #expiresAt: string | undefined;
  #values: Record<string, string>;
  /** The access token the values belong to. */
  #token: string | undefined;
  #renewing: Promise<void> | undefined;

  constructor(config: ResolvedConfig, resolveOpts: ResolveOptions, tokens: TokenSource | undefined) {
    this.profile = config.profile;
    this.endpoint = config.endpoint;
    this.configFile = config.configFile;
    this.authMethod = config.authMethod;
    this.renewable = tokens !== undefined && RENEWABLE.has(config.authMethod);
    this.#resolveOpts = resolveOpts;
    this.#tokens = tokens;
    this.#expiresAt = config.expiresAt;
    this.#values = storeValues(config.values());
  }

  values(): Record<string, string> {
    return { ...this.#values };
  }

  async accessToken(): Promise<string> {
    if (!this.#tokens) throw noToken(this.profile, this.authMethod);
    const token = await this.#tokens.accessToken();
    if (token !== this.#token) this.#adopt(token);
    return token;
  }

  renew(): Promise<void> {
    if (!this.renewable || !this.#tokens) return Promise.reject(cannotRenew(this.profile, this.authMethod));
    const tokens = this.#tokens;
    this.#renewing ??= (async () => {
      // The token whose store values are due: the lifecycle gives a newer one (another process's, or a new
      // one from the server), never this one again.
      const rejected = this.#token;
      const token = await tokens.refresh(rejected !== undefined ? { rejectedToken: rejected } : {});
      this.#adopt(token);
    })().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  expiresAt(): string | undefined {
    return this.#tokens ? this.#tokens.state().expiresAt : this.#expiresAt;
  }

  /**
   * The store values of `token`: what the lifecycle received with it, unless the config file holds this very
   * token — then the file's values (another process may have obtained the token, with its store values).
   */
  #adopt(token: string): void {
    this.#token = token;
    const fromTokens = storeValues(this.#tokens?.credentials() ?? {});
    let fromFile: Record<string, string> = {};
    try {
      const config = resolveConfig(this.#resolveOpts);
      if (config.get('dhcore_access_token') === token) fromFile = storeValues(config.values());
    } catch {
      // The file became unreadable or invalid meanwhile: the values the lifecycle holds still apply.
    }
    this.#values = { ...this.#values, ...fromTokens, ...fromFile };
  }

  toJSON(): Record<string, unknown> {
    return {
      profile: this.profile,
      endpoint: redactUrl(this.endpoint),
      authMethod: this.authMethod,
      storeKeys: Object.keys(this.#values).sort(),
    };
  }

  toString(): string {
    return `StoreSession(${this.profile} → ${redactUrl(this.endpoint)}, ${this.authMethod})`;
  }

  [inspect.custom](): string {
    return `StoreSession ${inspect(this.toJSON())}`;
  }
}

/** Only the store keys of a profile's values. */
function storeValues(values: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    const k = key.toLowerCase();
    if (STORE_FILE_KEYS.has(k) && value !== '') out[k] = value;
  }
  return out;
}

function loginHint(profile: string): string {
  return `dhcore login${profile === '__default' ? '' : ` -e ${profile}`}`;
}

function noToken(profile: string, method: AuthMethod): AuthError {
  return new AuthError(
    'auth_no_token',
    method === 'basic'
      ? `Profile "${profile}" uses auth method basic (user and password), which has no access token; use a personal access token ('dhcore login --pat') to get DHCore store credentials.`
      : `No credentials for profile "${profile}" (auth method ${method}): run '${loginHint(profile)}' or set DHCORE_PERSONAL_ACCESS_TOKEN.`,
  );
}

function cannotRenew(profile: string, method: AuthMethod): AuthError {
  return new AuthError(
    'auth_cannot_refresh',
    `The store credentials of profile "${profile}" cannot be renewed: auth method ${method} has no personal access token or refresh token to get new ones with. Run '${loginHint(profile)}'.`,
  );
}
