/**
 * Device authorization grant (RFC 8628) for machines without a browser: show a code and a URL, then poll
 * the token endpoint. openid-client does the polling and honours `interval` and `slow_down`.
 *
 * The code, the URLs and any error text come from the server and are shown to the user: they are made
 * printable first (no escape sequences or control characters), and the caller can check that the page the
 * user is sent to is on the issuer's or the endpoint's host ({@link verificationHostIsExpected}).
 */
import * as oidc from 'openid-client';
import { AuthError, ConfigError, DHCoreError } from '../../errors.js';
import { printable } from '../../net/server-text.js';
import { toIssued } from '../grants.js';
import { mapOAuthError } from '../oidc.js';
import type { LoginOutcome } from './browser.js';
import { type InteractiveSetup, LoginCancelledError, whoFrom } from './setup.js';

export interface DeviceCode {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | undefined;
  /** Seconds until the code expires. */
  expiresIn: number;
  /** Seconds between polls the server asked for (5 if it said nothing). */
  interval: number;
}

export interface DeviceLoginOptions {
  setup: InteractiveSetup;
  /** Told the code to show once the server issued it (every text already made printable). */
  onCode: (code: DeviceCode) => void | Promise<void>;
  signal?: AbortSignal;
  /** Give up after this long (ms) even if the code is still valid; default: when the code expires. */
  timeoutMs?: number | undefined;
}

/** Is the verification page on one of `hosts` (the issuer's, the endpoint's)? False for anything unparsable. */
export function verificationHostIsExpected(verificationUri: string, hosts: readonly string[]): boolean {
  let host: string;
  try {
    host = new URL(verificationUri).hostname.toLowerCase();
  } catch {
    return false;
  }
  return hosts.some((h) => {
    try {
      return new URL(h).hostname.toLowerCase() === host;
    } catch {
      return false;
    }
  });
}

/** The same error with its message made printable (it may quote the server). */
function printableError<E extends Error>(err: E): E {
  err.message = printable(err.message);
  return err;
}

export async function deviceLogin(opts: DeviceLoginOptions): Promise<LoginOutcome> {
  const { setup } = opts;
  const meta = setup.oidc.serverMetadata();
  const endpoint = meta.device_authorization_endpoint;
  if (!endpoint) {
    throw new ConfigError(
      'config_no_device_flow',
      `${setup.issuer} offers no device login (no device_authorization_endpoint); use 'dhcore login' (browser) or 'dhcore login --pat -' (the personal access token on stdin).`,
    );
  }
  if (opts.signal?.aborted) throw new LoginCancelledError();
  let response: oidc.DeviceAuthorizationResponse;
  try {
    response = await oidc.initiateDeviceAuthorization(setup.oidc, { scope: setup.scope });
  } catch (err) {
    throw printableError(mapOAuthError(err, 'Device login', endpoint));
  }
  await opts.onCode({
    userCode: printable(response.user_code),
    verificationUri: printable(response.verification_uri),
    verificationUriComplete:
      response.verification_uri_complete === undefined
        ? undefined
        : printable(response.verification_uri_complete),
    expiresIn: response.expires_in,
    interval: response.interval ?? 5,
  });
  const codeLifetimeMs = response.expires_in * 1000;
  const ourLimit = opts.timeoutMs !== undefined && opts.timeoutMs < codeLifetimeMs;
  const tokenEndpoint = meta.token_endpoint ?? setup.issuer;
  try {
    // openid-client only looks at the signal between its (up to 5 s) sleeps: race it so Ctrl-C is
    // immediate. Its own default stop at `expires_in` is replaced by ours, so keep that too.
    const expiry = AbortSignal.timeout(ourLimit ? (opts.timeoutMs as number) : codeLifetimeMs);
    const signal = opts.signal ? AbortSignal.any([opts.signal, expiry]) : expiry;
    const polling = oidc.pollDeviceAuthorizationGrant(setup.oidc, response, undefined, { signal });
    polling.catch(() => {});
    const tokens = await Promise.race([
      polling,
      new Promise<never>((_, reject) => {
        if (signal.aborted) reject(signal.reason);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      }),
    ]);
    return { issued: toIssued(tokens), who: whoFrom(tokens) };
  } catch (err) {
    if (opts.signal?.aborted) throw new LoginCancelledError();
    if (err instanceof oidc.ResponseBodyError) {
      if (err.error === 'expired_token') {
        throw new AuthError(
          'auth_device_expired',
          "The code expired before it was approved; run 'dhcore login --device' again.",
          { oauthError: err.error },
        );
      }
      if (err.error === 'access_denied') {
        throw new AuthError(
          'auth_denied',
          "The sign-in was denied on the verification page; run 'dhcore login --device' again.",
          { oauthError: err.error },
        );
      }
    }
    const code = (err as { code?: unknown } | undefined)?.code;
    const name = err instanceof Error ? err.name : '';
    if (
      code === 'OAUTH_TIMEOUT' ||
      code === 'OAUTH_ABORT' ||
      name === 'TimeoutError' ||
      name === 'AbortError'
    ) {
      if (ourLimit) {
        throw new AuthError(
          'auth_login_timeout',
          `No approval within ${Math.round((opts.timeoutMs as number) / 1000)} s; nothing was saved. Run 'dhcore login --device' again (use --timeout <seconds> for more time).`,
        );
      }
      throw new AuthError(
        'auth_device_expired',
        "The code expired before it was approved; run 'dhcore login --device' again.",
      );
    }
    const mapped = err instanceof DHCoreError ? err : mapOAuthError(err, 'Device login', tokenEndpoint);
    throw printableError(mapped);
  }
}
