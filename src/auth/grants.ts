/**
 * DHCore's two token grants — PAT exchange (RFC 8693) and refresh — with exactly the parameters DHCore expects,
 * over the one OIDC setup, and what a token response becomes ({@link IssuedTokens}).
 */
import * as oidc from 'openid-client';
import { isSecretKey, isStoreCredentialKey } from '../config/keys.js';
import { HttpError } from '../errors.js';
import { type Http, httpOf } from '../net/http.js';
import { redactUrl } from '../redact.js';
import { rememberSecret } from '../secrets.js';
import { mapOAuthError, type OAuthTarget, oidcConfiguration } from './oidc.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const PAT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:pat';
export const DHCORE_SCOPE = 'credentials';

/** What a token endpoint handed out. Contains secrets: internal, never logged. */
export interface IssuedTokens {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** `expires_in` in seconds, if given. */
  expiresIn: number | undefined;
  /** Store credentials (`aws_access_key_id`, …) under their own lower-case names. */
  extra: Record<string, string>;
  /** Names of the other fields, which are not saved (a token response is not configuration). */
  ignored: string[];
}

/** Response fields that are the protocol itself: neither saved as store credentials nor worth logging. */
const PROTOCOL_FIELDS = new Set([
  'access_token',
  'refresh_token',
  'id_token',
  'expires_in',
  'token_type',
  'scope',
  'issued_token_type',
  'refresh_expires_in',
  'not-before-policy',
  'session_state',
]);

/**
 * A token endpoint response as `IssuedTokens`. Besides the tokens only store credentials are kept: a server
 * must not be able to repoint the profile (endpoint, issuer, token endpoint) or plant credentials in it.
 */
export function toIssued(res: oidc.TokenEndpointResponse): IssuedTokens {
  const extra: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(res)) {
    const key = k.toLowerCase();
    if (PROTOCOL_FIELDS.has(key)) continue;
    const scalar = typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
    if (scalar && isStoreCredentialKey(key) && !/[\r\n]/.test(String(v))) extra[key] = String(v);
    else ignored.push(/^[\w.-]{1,64}$/.test(key) ? key : '(unprintable name)');
  }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  for (const secret of [res.access_token, str(res.refresh_token), str(res.id_token)]) rememberSecret(secret);
  for (const [key, value] of Object.entries(extra)) if (isSecretKey(key)) rememberSecret(value);
  return {
    accessToken: res.access_token,
    refreshToken: str(res.refresh_token),
    idToken: str(res.id_token),
    expiresIn: typeof res.expires_in === 'number' && res.expires_in > 0 ? res.expires_in : undefined,
    extra,
    ignored,
  };
}

async function grant(
  target: OAuthTarget,
  http: Http,
  what: string,
  run: (config: oidc.Configuration) => Promise<oidc.TokenEndpointResponse>,
): Promise<IssuedTokens> {
  const config = await oidcConfiguration(target, http, what);
  const url = config.serverMetadata().token_endpoint ?? target.issuer;
  let res: oidc.TokenEndpointResponse;
  try {
    res = await run(config);
  } catch (err) {
    throw mapOAuthError(err, what, url);
  }
  if (typeof res.access_token !== 'string' || res.access_token === '') {
    throw new HttpError(
      'token_response_invalid',
      `${what} failed: ${redactUrl(url)} answered without an access_token.`,
      { status: 200, url: redactUrl(url) },
    );
  }
  return toIssued(res);
}

/** Discover the token endpoint (cached) ahead of a grant, so the grant itself is one request. */
export async function prepareGrants(target: OAuthTarget, http: Http): Promise<void> {
  await oidcConfiguration(target, http, 'Token endpoint discovery');
}

/** RFC 8693 exchange of a personal access token, with exactly DHCore's parameters. */
export function exchangePat(
  target: OAuthTarget,
  pat: string,
  http: Http = httpOf({}),
): Promise<IssuedTokens> {
  rememberSecret(pat);
  return grant(target, http, 'Personal access token exchange', (config) =>
    oidc.genericGrantRequest(config, TOKEN_EXCHANGE_GRANT, {
      subject_token: pat,
      subject_token_type: PAT_TOKEN_TYPE,
      scope: DHCORE_SCOPE,
    }),
  );
}

/** refresh_token grant with `scope=credentials` (the refresh token rotates: use the result's). */
export function refreshGrant(
  target: OAuthTarget,
  refreshToken: string,
  http: Http = httpOf({}),
): Promise<IssuedTokens> {
  rememberSecret(refreshToken);
  return grant(target, http, 'Token refresh', (config) =>
    oidc.refreshTokenGrant(config, refreshToken, { scope: DHCORE_SCOPE }),
  );
}
