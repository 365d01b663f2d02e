/**
 * The one place where store credentials meet the token lifecycle. `s3Config()`, `sqlConfig()`,
 * `dhcore credentials` and `dhcore exec` see DHCore only through {@link openStoreSession}: the store values
 * (`aws_*`, `s3_*`, `db_*`) that belong to the current access token, and a way to renew them, which is
 * renewing the token (refresh or re-exchange: single-flight, the cross-process lock, adopting a token another
 * process saved — all done by the lifecycle).
 */
import { noTokenError, notRefreshableError } from '../auth/messages.js';
import { AUTH_METHODS } from '../auth/methods.js';
import { openSession, type Session, type SessionOptions } from '../auth/session.js';
import { STORE_KEYS } from '../config/keys.js';
import type { AuthMethod } from '../config/types.js';
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
   * saved meanwhile is adopted instead). `AuthError` `auth_not_refreshable` when the profile cannot renew.
   */
  renew(): Promise<void>;
  /** A valid access token (the lifecycle refreshes it ahead of expiry); the store values follow it. */
  accessToken(): Promise<string>;
  /** When the current access token expires (RFC 3339), if known. */
  expiresAt(): string | undefined;
}

/**
 * Open the store session of the profile `opts` resolve to (same options as `createClient`). For a profile
 * with a PAT or a refresh token this obtains a valid access token first (no request when a saved one is
 * still valid), so the values are those of a live token.
 */
export async function openStoreSession(opts: SessionOptions = {}): Promise<StoreSession> {
  const store = new StoreValues(await openSession(opts));
  if (store.renewable) await store.accessToken();
  return store;
}

/** A session's store values, and renewing them by renewing its token. */
class StoreValues implements StoreSession {
  readonly #session: Session;
  #values: Record<string, string>;
  #renewing: Promise<void> | undefined;

  constructor(session: Session) {
    this.#session = session;
    this.#values = storeValues(session.config.values());
  }

  get profile(): string {
    return this.#session.profile;
  }

  get endpoint(): string {
    return this.#session.config.endpoint;
  }

  get configFile(): string {
    return this.#session.config.configFile;
  }

  get authMethod(): AuthMethod {
    return this.#session.authMethod;
  }

  get renewable(): boolean {
    return AUTH_METHODS[this.authMethod].refreshable;
  }

  values(): Record<string, string> {
    return { ...this.#values };
  }

  async accessToken(): Promise<string> {
    if (this.authMethod === 'basic' || this.authMethod === 'none')
      throw noTokenError(this.authMethod, this.profile);
    const token = await this.#session.accessToken();
    this.#follow();
    return token;
  }

  renew(): Promise<void> {
    if (!this.renewable) return Promise.reject(notRefreshableError(this.authMethod, this.profile));
    this.#renewing ??= (async () => {
      // The token whose store values are due: the lifecycle gives a newer one (another process's, or a new
      // one from the server), never this one again.
      const current = await this.#session.accessToken();
      await this.#session.refresh({ rejectedToken: current });
      this.#follow();
    })().finally(() => {
      this.#renewing = undefined;
    });
    return this.#renewing;
  }

  expiresAt(): string | undefined {
    return this.#session.state().expiresAt;
  }

  /** The store values that came with the session's current token (issued with it, or saved beside it). */
  #follow(): void {
    this.#values = { ...this.#values, ...storeValues(this.#session.storeCredentials()) };
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
