/**
 * Device authorization grant (RFC 8628) for machines without a browser: show a code and a URL, then poll
 * the token endpoint. openid-client does the polling and honours `interval` and `slow_down`.
 */
import * as oidc from 'openid-client';
import { AuthError, ConfigError, DHCoreError } from '../../errors.js';
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
  /** Told the code to show once the server issued it. */
  onCode: (code: DeviceCode) => void | Promise<void>;
  signal?: AbortSignal;
}

export async function deviceLogin(opts: DeviceLoginOptions): Promise<LoginOutcome> {
  const { setup } = opts;
  const meta = setup.oidc.serverMetadata();
  const endpoint = meta.device_authorization_endpoint;
  if (!endpoint) {
    throw new ConfigError(
      'config_no_device_flow',
      `${setup.issuer} offers no device login (no device_authorization_endpoint); use 'dhcore login' (browser) or 'dhcore login --pat <token>'.`,
    );
  }
  if (opts.signal?.aborted) throw new LoginCancelledError();
  let response: oidc.DeviceAuthorizationResponse;
  try {
    response = await oidc.initiateDeviceAuthorization(setup.oidc, { scope: setup.scope });
  } catch (err) {
    throw mapOAuthError(err, 'Device login', endpoint);
  }
  await opts.onCode({
    userCode: response.user_code,
    verificationUri: response.verification_uri,
    verificationUriComplete: response.verification_uri_complete,
    expiresIn: response.expires_in,
    interval: response.interval ?? 5,
  });
  const tokenEndpoint = meta.token_endpoint ?? setup.issuer;
  try {
    // openid-client only looks at the signal between its (up to 5 s) sleeps: race it so Ctrl-C is
    // immediate. Its own default stop at `expires_in` is replaced by ours, so keep that too.
    const expiry = AbortSignal.timeout(response.expires_in * 1000);
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
      throw new AuthError(
        'auth_device_expired',
        "The code expired before it was approved; run 'dhcore login --device' again.",
      );
    }
    const mapped = err instanceof DHCoreError ? err : mapOAuthError(err, 'Device login', tokenEndpoint);
    throw mapped;
  }
}
