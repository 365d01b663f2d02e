/**
 * DHCore's token protocol (DESIGN §4) over `openid-client`: token-endpoint discovery (cached per issuer),
 * PAT exchange (RFC 8693) and the refresh-token grant, each with exactly the parameters DHCore expects.
 *
 * Every failure becomes a typed error whose message names the cause and never a secret:
 * - endpoint unreachable → `DHCoreError` `network_unreachable`; too slow → `network_timeout`;
 * - 5xx → `HttpError` `token_endpoint_error`; HTML (or any non-JSON) → `HttpError` `token_response_invalid`;
 *   JSON without a usable `access_token` → `HttpError` `token_response_invalid`;
 * - an OAuth error answer (`invalid_grant`, …) → `AuthError` with `oauthError` set;
 * - plain `http://` to a non-loopback host while the endpoint is https → `ConfigError` `config_insecure_url`.
 * openid-client errors are never attached as `cause`: they can carry the token response body. URLs in
 * messages have any user info (`https://user:pass@host`) hidden.
 */
import * as oidc from 'openid-client';
import { AuthError, ConfigError, DHCoreError, HttpError } from '../errors.js';
import { redactUrl } from '../redact.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const PAT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:pat';
export const DHCORE_SCOPE = 'credentials';

/** Where the token endpoint is and who we are. */
export interface OAuthTarget {
  /** DHCore endpoint (used for the http-allowed decision and the client-id fallback). */
  endpoint: string;
  /** Issuer for discovery (`dhcore_issuer`, else the endpoint). */
  issuer: string;
  /** `oauth2_token_endpoint`, when configured: no discovery then. */
  tokenEndpoint?: string | undefined;
  clientId?: string | undefined;
}

/** Transport options. */
export interface HttpOptions {
  fetch?: typeof fetch | undefined;
  /** Per-request timeout (default 30 000 ms). */
  timeoutMs?: number | undefined;
}

/** What a token endpoint handed out. Contains secrets: internal, never logged. */
export interface IssuedTokens {
  accessToken: string;
  refreshToken: string | undefined;
  idToken: string | undefined;
  /** `expires_in` in seconds, if given. */
  expiresIn: number | undefined;
  clientId: string | undefined;
  issuer: string | undefined;
  /** Other fields (`aws_access_key_id`, …) under their own lower-case names. */
  extra: Record<string, string>;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

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

/** Response fields that are protocol, not credentials: not saved as extra fields. */
const PROTOCOL_FIELDS = new Set([
  'access_token',
  'refresh_token',
  'id_token',
  'expires_in',
  'token_type',
  'scope',
  'issued_token_type',
  'client_id',
  'issuer',
  'refresh_expires_in',
  'not-before-policy',
  'session_state',
]);

const discoveryCache = new Map<string, Promise<oidc.ServerMetadata>>();
const clientIdCache = new Map<string, Promise<string | undefined>>();

/** Forget cached discovery documents (tests; a server that moved). */
export function clearDiscoveryCache(): void {
  discoveryCache.clear();
  clientIdCache.clear();
}

function isLoopbackUrl(url: string): boolean {
  try {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host.endsWith('.localhost') || host === '::1' || /^127\./.test(host);
  } catch {
    return false;
  }
}

/** Plain http is allowed for loopback hosts, or when the DHCore endpoint itself is http. */
export function insecureAllowed(endpoint: string, url: string): boolean {
  return endpoint.startsWith('http://') || isLoopbackUrl(url);
}

function assertTransportAllowed(target: OAuthTarget, url: string, key: string): void {
  if (url.startsWith('http://') && !insecureAllowed(target.endpoint, url)) {
    throw new ConfigError(
      'config_insecure_url',
      `${key} ${redactUrl(url)} uses plain http while the endpoint uses https; use https (http is only allowed for loopback hosts).`,
    );
  }
}

/** Short, tag-free, token-free excerpt of a response body for error messages. */
export function redactExcerpt(text: string, max = 160): string {
  const flat = text
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[A-Za-z0-9_\-.~+/=]{24,}/g, '[redacted]');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}

/** A fetch for openid-client that enforces our timeout and turns transport failures into typed errors. */
function guardedFetch(http: HttpOptions, what: string): oidc.CustomFetch {
  const base = http.fetch ?? fetch;
  const timeoutMs = http.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return async (rawUrl, options) => {
    const url = redactUrl(rawUrl);
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await base(rawUrl, { ...options, signal });
    } catch (err) {
      throw transportError(url, err, timeout.aborted, timeoutMs, what);
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
        `${what} failed: ${url} answered HTTP ${res.status} with ${kind} instead of JSON; check that it is the DHCore token endpoint (DHCORE_ENDPOINT / DHCORE_ISSUER / OAUTH2_TOKEN_ENDPOINT). Saved tokens were kept.`,
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

function transportError(
  url: string,
  err: unknown,
  timedOut: boolean,
  timeoutMs: number,
  what: string,
): DHCoreError {
  const name = err instanceof Error ? err.name : '';
  if (timedOut || name === 'TimeoutError') {
    return new DHCoreError(
      'network_timeout',
      `${what} failed: ${url} did not answer within ${timeoutMs} ms; check the network or the server. Saved tokens were kept.`,
    );
  }
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new DHCoreError(
    'network_unreachable',
    `${what} failed: cannot reach ${url}${typeof code === 'string' ? ` (${code})` : ''}; check DHCORE_ENDPOINT and that the server is up. Saved tokens were kept.`,
    { cause: cause instanceof Error ? new Error(cause.message) : undefined },
  );
}

/** Map anything openid-client throws to our typed errors (never keeping its error as cause). */
export function mapOAuthError(err: unknown, what: string, rawUrl: string): DHCoreError {
  const url = redactUrl(rawUrl);
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof DHCoreError) return e;
  }
  if (err instanceof oidc.ResponseBodyError) {
    const desc = typeof err.error_description === 'string' ? `: ${redactExcerpt(err.error_description)}` : '';
    const hint =
      err.error === 'invalid_grant'
        ? " The saved credentials are no longer accepted (expired, revoked or already used): run 'dhcore login'."
        : err.error === 'invalid_client'
          ? ' Check DHCORE_CLIENT_ID.'
          : '';
    return new AuthError(
      err.error === 'invalid_grant' ? 'auth_invalid_grant' : 'auth_refused',
      `${what} refused by ${url} (${err.error}${desc}).${hint}`,
      { oauthError: err.error },
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
  return new DHCoreError(
    'auth_failed',
    `${what} failed (${err instanceof Error ? err.name : 'unknown error'}).`,
  );
}

/**
 * The client id: configured, else `dhcore_client_id` from `<endpoint>/.well-known/configuration`
 * (cached per endpoint). Throws a ConfigError naming DHCORE_CLIENT_ID when neither gives one.
 */
async function clientIdFor(target: OAuthTarget, http: HttpOptions): Promise<string> {
  if (target.clientId) return target.clientId;
  let pending = clientIdCache.get(target.endpoint);
  if (!pending) {
    pending = (async () => {
      const url = `${target.endpoint}/.well-known/configuration`;
      try {
        const res = await guardedFetch(http, 'Reading the DHCore configuration')(url, {
          method: 'GET',
          headers: { accept: 'application/json' },
          body: undefined,
          redirect: 'manual',
        });
        if (!res.ok) return undefined;
        const json = (await res.json()) as { dhcore_client_id?: unknown };
        return typeof json.dhcore_client_id === 'string' ? json.dhcore_client_id : undefined;
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
      'No OAuth client id: set DHCORE_CLIENT_ID (or dhcore_client_id in the profile) to exchange or refresh tokens.',
    );
  }
  return id;
}

/** Authorization server metadata: a configured token endpoint, else discovery (cached per issuer). */
async function serverMetadata(
  target: OAuthTarget,
  clientId: string,
  http: HttpOptions,
): Promise<oidc.ServerMetadata> {
  if (target.tokenEndpoint) {
    assertTransportAllowed(target, target.tokenEndpoint, 'OAUTH2_TOKEN_ENDPOINT');
    return { issuer: target.issuer, token_endpoint: target.tokenEndpoint };
  }
  const issuer = target.issuer;
  let pending = discoveryCache.get(issuer);
  if (!pending) {
    assertTransportAllowed(target, issuer, 'DHCORE_ISSUER');
    const timeoutMs = http.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    pending = oidc
      .discovery(new URL(issuer), clientId, undefined, oidc.None(), {
        [oidc.customFetch]: guardedFetch(http, 'Token endpoint discovery'),
        execute: insecureAllowed(target.endpoint, issuer) ? [oidc.allowInsecureRequests] : [],
        timeout: Math.ceil(timeoutMs / 1000) + 1,
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
  assertTransportAllowed(target, meta.token_endpoint, 'token_endpoint');
  return meta;
}

async function configuration(
  target: OAuthTarget,
  http: HttpOptions,
  what: string,
): Promise<oidc.Configuration> {
  const clientId = await clientIdFor(target, http);
  const meta = await serverMetadata(target, clientId, http);
  const config = new oidc.Configuration(meta, clientId, undefined, oidc.None());
  config[oidc.customFetch] = guardedFetch(http, what);
  config.timeout = Math.ceil((http.timeoutMs ?? DEFAULT_TIMEOUT_MS) / 1000) + 1;
  if (insecureAllowed(target.endpoint, meta.token_endpoint ?? target.issuer))
    oidc.allowInsecureRequests(config);
  return config;
}

/** A token endpoint response as `IssuedTokens` (extra credential fields kept under their own names). */
export function toIssued(res: oidc.TokenEndpointResponse): IssuedTokens {
  const extra: Record<string, string> = {};
  for (const [k, v] of Object.entries(res)) {
    const key = k.toLowerCase();
    if (PROTOCOL_FIELDS.has(key) || !/^[a-z0-9_.-]+$/.test(key)) continue;
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') {
      const value = String(v);
      if (!/[\r\n]/.test(value)) extra[key] = value;
    }
  }
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    accessToken: res.access_token,
    refreshToken: str(res.refresh_token),
    idToken: str(res.id_token),
    expiresIn: typeof res.expires_in === 'number' && res.expires_in > 0 ? res.expires_in : undefined,
    clientId: str(res.client_id),
    issuer: str(res.issuer),
    extra,
  };
}

async function grant(
  target: OAuthTarget,
  http: HttpOptions,
  what: string,
  run: (config: oidc.Configuration) => Promise<oidc.TokenEndpointResponse>,
): Promise<IssuedTokens> {
  const config = await configuration(target, http, what);
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

/** RFC 8693 exchange of a personal access token, with exactly DHCore's parameters. */
export function exchangePat(target: OAuthTarget, pat: string, http: HttpOptions = {}): Promise<IssuedTokens> {
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
  http: HttpOptions = {},
): Promise<IssuedTokens> {
  return grant(target, http, 'Token refresh', (config) =>
    oidc.refreshTokenGrant(config, refreshToken, { scope: DHCORE_SCOPE }),
  );
}
