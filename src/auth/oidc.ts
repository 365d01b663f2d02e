/**
 * The one OpenID/OAuth setup, over `openid-client`: who we are (client id), where the token endpoint is
 * (configured, else discovered from the issuer — cached per issuer), which plain-http URLs are acceptable (the
 * loopback rule), and how its failures become typed errors. Every grant and both interactive logins build
 * their `oidc.Configuration` here.
 *
 * Failures, never carrying a secret:
 * - endpoint unreachable → `network_unreachable`; too slow → `network_timeout`;
 * - 5xx → `HttpError` `token_endpoint_error`; HTML (or any non-JSON) → `HttpError` `token_response_invalid`;
 * - an OAuth error answer (`invalid_grant`, …) → `AuthError` with `oauthError` set;
 * - plain `http://` to a non-loopback host while the endpoint is https → `ConfigError` `config_insecure_url`.
 * openid-client errors are never attached as `cause`: they can carry the token response body. URLs in
 * messages have any user info (`https://user:pass@host`) hidden.
 */
import * as oidc from 'openid-client';
import { AuthError, ConfigError, DHCoreError, HttpError } from '../errors.js';
import { boundedTimeout, type Http } from '../net/http.js';
import { plainHttpAllowed } from '../net/loopback.js';
import { networkError } from '../net/network-error.js';
import { printable } from '../net/server-text.js';
import { redactUrl } from '../redact.js';
import { type OAuthTarget, sourceOf } from './target.js';

export { type OAuthTarget, targetOf } from './target.js';

/** openid-client (oauth4webapi) error codes we branch on. */
const E = {
  httpForbidden: 'OAUTH_HTTP_REQUEST_FORBIDDEN',
  attributeComparison: 'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
  notConform: 'OAUTH_RESPONSE_IS_NOT_CONFORM',
  invalidResponse: 'OAUTH_INVALID_RESPONSE',
  parseError: 'OAUTH_PARSE_ERROR',
  notJson: 'OAUTH_RESPONSE_IS_NOT_JSON',
  unsupported: 'OAUTH_UNSUPPORTED_OPERATION',
} as const;

const discoveryCache = new Map<string, Promise<oidc.ServerMetadata>>();
const clientIdCache = new Map<string, Promise<string | undefined>>();

/** Forget cached discovery documents and client ids (tests; a server that moved). */
export function clearDiscoveryCache(): void {
  discoveryCache.clear();
  clientIdCache.clear();
}

/** Refuse a plain-http URL that a secret would travel to over a network. */
function assertTransportAllowed(endpoint: string, url: string, key: string): void {
  if (!plainHttpAllowed(endpoint, url)) {
    throw new ConfigError(
      'config_insecure_url',
      `${key} ${redactUrl(url)} uses plain http while the endpoint uses https; use https (http is only allowed for loopback hosts).`,
    );
  }
}

/** Short, tag-free, token-free, printable excerpt of a response body for error messages. */
export function redactExcerpt(text: string, max = 160): string {
  const flat = printable(text)
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[A-Za-z0-9_\-.~+/=]{24,}/g, '[redacted]');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/**
 * A fetch for openid-client that enforces our timeout and turns transport failures into typed errors.
 * `origin` says where the URL was configured (the key and its file or variable), for the fix.
 */
function guardedFetch(http: Http, what: string, origin: string): oidc.CustomFetch {
  const timeoutMs = boundedTimeout(http);
  return async (rawUrl, options) => {
    const url = redactUrl(rawUrl);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await http.fetch(rawUrl, { ...options, signal });
    } catch (err) {
      throw (
        networkError(err, {
          what,
          url,
          fix: `check ${origin} and that the server is up. Saved tokens were kept.`,
          timeoutMs,
          timedOut: timeout.aborted,
        }) ?? err
      );
    }
    const type = res.headers.get('content-type') ?? '';
    if (res.status >= 500) {
      const body = await safeText(res);
      throw new HttpError(
        'token_endpoint_error',
        `${what} failed: ${url} answered HTTP ${res.status}${body ? ` (${redactExcerpt(body)})` : ''}; the server is failing, try again later. Saved tokens were kept.`,
        { status: res.status, url, bodyExcerpt: redactExcerpt(body) },
      );
    }
    if (!/\bjson\b/i.test(type)) {
      const body = await safeText(res);
      const kind =
        /html/i.test(type) || /^\s*</.test(body) ? 'an HTML page' : `'${type || 'no content type'}'`;
      throw new HttpError(
        'token_response_invalid',
        `${what} failed: ${url} answered HTTP ${res.status} with ${kind} instead of JSON; check that it is the DHCore token endpoint (${origin}). Saved tokens were kept.`,
        { status: res.status, url, bodyExcerpt: redactExcerpt(body) },
      );
    }
    return res;
  };
}

async function safeText(res: Response): Promise<string> {
  try {
    return (await res.text()).slice(0, 4096);
  } catch {
    return '';
  }
}

/** Map anything openid-client throws to our typed errors (never keeping its error as cause). */
export function mapOAuthError(err: unknown, what: string, rawUrl: string): DHCoreError {
  const url = redactUrl(rawUrl);
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DHCoreError) return e;
  }
  if (err instanceof oidc.ResponseBodyError) {
    const desc = typeof err.error_description === 'string' ? `: ${redactExcerpt(err.error_description)}` : '';
    const hint = err.error === 'invalid_client' ? ' Check DHCORE_CLIENT_ID.' : '';
    // The `error` field is the server's choice too: a code, or nothing of it reaches a terminal.
    const code = printable(err.error).slice(0, 64) || 'no error code';
    return new AuthError(
      err.error === 'invalid_grant' ? 'auth_invalid_grant' : 'auth_refused',
      `${what} refused by ${url} (${code}${desc}).${hint}`,
      { oauthError: code },
    );
  }
  const code = (err as { code?: unknown } | undefined)?.code;
  const name = err instanceof Error ? err.name : '';
  if (code === 'OAUTH_TIMEOUT' || code === 'OAUTH_ABORT' || name === 'TimeoutError') {
    return new DHCoreError('network_timeout', `${what} failed: ${url} timed out. Saved tokens were kept.`);
  }
  if (code === E.httpForbidden) {
    return new ConfigError('config_insecure_url', `${what}: refusing plain http to ${url}; use https.`);
  }
  if (code === E.attributeComparison) {
    return new ConfigError(
      'config_issuer_mismatch',
      `${what}: the discovery document at ${url} names a different issuer; set DHCORE_ISSUER to the issuer it names.`,
    );
  }
  if (code === E.notConform) {
    const status = (err as { cause?: { status?: unknown } }).cause?.status;
    return new HttpError(
      'token_endpoint_error',
      `${what} failed: ${url} answered HTTP ${typeof status === 'number' ? status : '?'} without an OAuth error. Saved tokens were kept.`,
      { status: typeof status === 'number' ? status : 0, url },
    );
  }
  if (
    code === E.invalidResponse ||
    code === E.parseError ||
    code === E.notJson ||
    code === E.unsupported ||
    name === 'UnsupportedOperationError' ||
    name === 'ClientError'
  ) {
    return new HttpError(
      'token_response_invalid',
      `${what} failed: ${url} answered without a usable access_token (${err instanceof Error ? redactExcerpt(err.message) : 'invalid response'}). Saved tokens were kept.`,
      { status: 200, url },
    );
  }
  if (err instanceof TypeError) {
    return new DHCoreError(
      'network_unreachable',
      `${what} failed: cannot reach ${url}. Saved tokens were kept.`,
    );
  }
  return new AuthError(
    'auth_failed',
    `${what} failed (${err instanceof Error ? err.name : 'unknown error'}).`,
  );
}

/**
 * The client id: configured, else `dhcore_client_id` from `<endpoint>/.well-known/configuration` (cached per
 * endpoint). A `ConfigError` naming DHCORE_CLIENT_ID when neither gives one.
 */
async function clientIdFor(target: OAuthTarget, http: Http): Promise<string> {
  if (target.clientId) return target.clientId;
  let pending = clientIdCache.get(target.endpoint);
  if (!pending) {
    pending = (async () => {
      const url = `${target.endpoint}/.well-known/configuration`;
      try {
        const res = await guardedFetch(
          http,
          'Reading the DHCore configuration',
          sourceOf(target, 'endpoint'),
        )(url, {
          method: 'GET',
          headers: { accept: 'application/json' },
          body: undefined,
          redirect: 'manual',
        });
        if (!res.ok) return undefined;
        const json = (await res.json()) as { dhcore_client_id?: unknown };
        return typeof json.dhcore_client_id === 'string' && json.dhcore_client_id
          ? json.dhcore_client_id
          : undefined;
      } catch {
        return undefined;
      }
    })();
    clientIdCache.set(target.endpoint, pending);
  }
  const id = await pending;
  if (!id) {
    clientIdCache.delete(target.endpoint);
    throw new ConfigError(
      'config_missing_client_id',
      `No OAuth client id: set DHCORE_CLIENT_ID (or dhcore_client_id in the profile), or run 'dhcore register ${redactUrl(target.endpoint)}' to read it from the server.`,
    );
  }
  return id;
}

/**
 * Authorization server metadata: for grants, a configured token endpoint, else discovery (cached per issuer);
 * interactive logins always discover (they need the authorization and device endpoints).
 */
async function serverMetadata(
  target: OAuthTarget,
  clientId: string,
  http: Http,
  interactive: boolean,
): Promise<oidc.ServerMetadata> {
  if (target.tokenEndpoint && !interactive) {
    assertTransportAllowed(target.endpoint, target.tokenEndpoint, 'OAUTH2_TOKEN_ENDPOINT');
    return { issuer: target.issuer, token_endpoint: target.tokenEndpoint };
  }
  const issuer = target.issuer;
  let pending = discoveryCache.get(issuer);
  if (!pending) {
    assertTransportAllowed(target.endpoint, issuer, 'DHCORE_ISSUER');
    pending = oidc
      .discovery(new URL(issuer), clientId, undefined, oidc.None(), {
        [oidc.customFetch]: guardedFetch(http, 'Token endpoint discovery', sourceOf(target, 'issuer')),
        execute: issuer.startsWith('http://') ? [oidc.allowInsecureRequests] : [],
        timeout: Math.ceil(boundedTimeout(http) / 1000) + 1,
      })
      .then((config) => ({ ...config.serverMetadata() }))
      .catch((err: unknown) => {
        throw mapOAuthError(err, 'Token endpoint discovery', `${issuer}/.well-known/openid-configuration`);
      });
    discoveryCache.set(issuer, pending);
    pending.catch(() => discoveryCache.delete(issuer));
  }
  const meta = await pending;
  if (!meta.token_endpoint) {
    throw new ConfigError(
      'config_no_token_endpoint',
      `The discovery document of ${redactUrl(issuer)} names no token_endpoint; set OAUTH2_TOKEN_ENDPOINT.`,
    );
  }
  return meta;
}

/** Metadata URLs a secret (grants) or a login (interactive) is sent to; each must pass the plain-http rule. */
const GRANT_ENDPOINTS = ['token_endpoint'] as const;
const LOGIN_ENDPOINTS = [
  'token_endpoint',
  'authorization_endpoint',
  'device_authorization_endpoint',
] as const;

/**
 * The `oidc.Configuration` for `target`: client id, metadata (cached discovery), our fetch (timeout, typed
 * errors), and plain http allowed exactly where the loopback rule allows it. `what` names the operation in
 * error messages ("Token refresh", "Login").
 */
export async function oidcConfiguration(
  target: OAuthTarget,
  http: Http,
  what: string,
  opts: { interactive?: boolean } = {},
): Promise<oidc.Configuration> {
  const clientId = await clientIdFor(target, http);
  const meta = await serverMetadata(target, clientId, http, opts.interactive === true);
  const sensitive = opts.interactive ? LOGIN_ENDPOINTS : GRANT_ENDPOINTS;
  for (const key of sensitive) {
    const url = meta[key];
    if (typeof url === 'string') assertTransportAllowed(target.endpoint, url, key);
  }
  const config = new oidc.Configuration(meta, clientId, undefined, oidc.None());
  config[oidc.customFetch] = guardedFetch(http, what, sourceOf(target, 'tokenEndpoint'));
  config.timeout = Math.ceil(boundedTimeout(http) / 1000) + 1;
  if (sensitive.some((key) => meta[key]?.startsWith('http://'))) oidc.allowInsecureRequests(config);
  return config;
}
