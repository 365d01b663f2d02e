/**
 * When store credentials are renewed: when `aws_credentials_expiration` (else the access token's expiry) is
 * near — less than min(300 s, half their lifetime) left, the window the token lifecycle uses, so short-lived
 * keys are not renewed on every use and hour-long ones five minutes early.
 *
 * The lifetime of store credentials is not in the response; they are issued with the access token, so it is
 * taken as their expiry minus the token's `iat` (else unknown: the 300 s maximum).
 */
import { jwtTimes, parseInstant, refreshWindowMs } from '../auth/expiry.js';
import { AuthError } from '../errors.js';
import type { StoreSession } from './session.js';

export class FreshStoreValues {
  readonly #session: StoreSession;
  /** An expiry we renewed for and got back unchanged: asking again would only repeat that. */
  #settled: string | undefined;

  constructor(session: StoreSession) {
    this.#session = session;
  }

  get session(): StoreSession {
    return this.#session;
  }

  /** The store values, renewed first if they are due. */
  async values(): Promise<Record<string, string>> {
    const session = this.#session;
    if (!session.renewable) return session.values();
    // The lifecycle refreshes the token ahead of its own expiry; the store values follow the token.
    const token = await session.accessToken();
    // No await between reading the values and renewing: concurrent callers join one renewal.
    const expiration = session.values().aws_credentials_expiration;
    if (expiration === undefined || expiration === this.#settled || !isDue(expiration, token)) {
      return session.values();
    }
    await session.renew();
    const renewed = session.values();
    if (renewed.aws_credentials_expiration === expiration) {
      this.#settled = expiration;
      const expiresAtMs = parseInstant(expiration);
      if (expiresAtMs !== undefined && Date.now() >= expiresAtMs) {
        throw new AuthError(
          'auth_store_credentials_expired',
          `DHCore keeps handing out S3 credentials for profile "${session.profile}" that expired at ${expiration}; check the server's clock and its store configuration.`,
        );
      }
    }
    return renewed;
  }
}

/** Is less than the refresh window left before `expiration`? Unparsable values are never due. */
export function isDue(expiration: string, accessToken: string | undefined, nowMs = Date.now()): boolean {
  const expiresAtMs = parseInstant(expiration);
  if (expiresAtMs === undefined) return false;
  const { iat } = jwtTimes(accessToken);
  const lifetimeMs = iat !== undefined ? expiresAtMs - iat * 1000 : undefined;
  return nowMs >= expiresAtMs - refreshWindowMs(lifetimeMs);
}
