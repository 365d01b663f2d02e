/**
 * The authenticated client (issue 5): `createClient()` and everything it needs on the request path — where
 * credentials may go (origin rules), diagnostics, the process-wide current profile, and the lazily loaded token
 * lifecycle. (Module count no longer matters for cold start: the published entry point is a bundle, see
 * scripts/bundle.mjs; what does matter is which builtins and chunks are loaded, hence the lazy imports.)
 */
import { resolveConfig } from '../config/resolve.js';
import type { AuthMethod, ResolvedConfig, ResolveOptions } from '../config/types.js';
import { AuthError, DHCoreError } from '../errors.js';
import { redactUrl } from '../redact.js';
import { warnOnce } from '../warnings.js';

// Not `import … from 'node:util'`: its ESM namespace costs ≈1 ms of cold start (see config/resolve.ts).
const { inspect } = process.getBuiltinModule('node:util');

// ---- Where credentials may go ----------------------------------------------------------------------------

/*
 * Only to the endpoint's origin: never to another origin given as an absolute URL, never across a
 * redirect to another origin. Pure helpers, no I/O.
 */

const ABSOLUTE = /^[a-z][a-z\d+\-.]*:/i;

/** Does `target` carry a scheme (`https://…`, `http://…`, `data:…`)? Anything else is a path on the endpoint. */
function isAbsoluteUrl(target: string): boolean {
  return ABSOLUTE.test(target);
}

/**
 * `endpoint` + `path`, keeping any path prefix of the endpoint (`https://host/dhcore` + `/api/auth`). A path
 * always gets a leading `/`, so `@evil.example` can never become the authority of the URL.
 */
function joinEndpoint(endpoint: string, path: string): string {
  return path.charCodeAt(0) === 47 /* '/' */ ? endpoint + path : `${endpoint}/${path}`;
}

/** `scheme://host[:port]` of a URL, or `null` for anything without a network origin (or unparsable). */
function originOf(url: string | URL): string | null {
  try {
    const origin = (typeof url === 'string' ? new URL(url) : url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/** True for hosts that only reach this machine: `localhost`, `*.localhost`, 127.0.0.0/8, `::1`. */
function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  if (/^127(\.\d{1,3}){3}$/.test(h)) return true;
  return h.startsWith('::ffff:') && /^127\./.test(h.slice(7));
}

/** Would a secret sent to `url` travel unencrypted over the network (plain http, not loopback)? */
function isInsecureTransport(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && !isLoopbackHostname(u.hostname);
  } catch {
    return false;
  }
}

/** `origin + pathname` only: what logs and messages may show of a URL (query strings can hold secrets). */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? `${u.protocol}…` : `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

// ---- Diagnostics -----------------------------------------------------------------------------------------

/*
 * `DEBUG=dhcore*` (through the `debug` package) or a `logger` callback. Lines describe flows and
 * timings — method, origin + path, status, milliseconds, auth method, refreshes — and never a header value,
 * token, password, query string or body.
 */

/** Receives one human-readable line per event. Never given a secret. */
export type Logger = (message: string) => void;

/**
 * The logger to use: the caller's, else a `debug` namespace when `DEBUG` is set and enables it, else none.
 * `debug` is only imported when `DEBUG` is set, so a normal start pays nothing for it.
 */
async function resolveLogger(
  option: Logger | undefined,
  namespace: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Logger | undefined> {
  if (option) return option;
  if (!env.DEBUG) return undefined;
  const { default: createDebug } = await import('debug');
  const debug = createDebug(namespace);
  return debug.enabled ? (message: string) => debug(message) : undefined;
}

/** Milliseconds since `start` (a `performance.now()` reading), rounded to 0.1 ms. */
function elapsed(start: number): string {
  return `${Math.round((performance.now() - start) * 10) / 10} ms`;
}

// ---- Current profile -------------------------------------------------------------------------------------

/*
 * The profile chosen in this process by `setCurrentProfile()` (Python SDK parity: the choice applies to
 * this process at once, even when `$DH_NAME` names another one, and is saved for the next processes).
 */

let current: string | undefined;

export function currentProfileOverride(): string | undefined {
  return current;
}

export function setCurrentProfileOverride(name: string | undefined): void {
  current = name;
}

// ---- Token lifecycle -------------------------------------------------------------------------------------

/*
 * The client's view of `src/auth/token-manager.ts`. The manager is imported only when a profile uses
 * tokens that can be exchanged or refreshed, so `basic`, `access_token_only` and `none` clients start without it.
 */

/** What the client needs from the token manager. */
export interface TokenSource {
  /** A valid access token (exchange/refresh as needed, single-flight). */
  accessToken(): Promise<string>;
  /** A new token; with `rejectedToken`, a different still-valid token is returned without a server call. */
  refresh(opts?: { rejectedToken?: string }): Promise<string>;
  /** Non-secret state: `expiresAt` is RFC 3339. */
  state(): { expiresAt?: string; refreshAt?: string; hasRefreshToken: boolean };
  /** Extra credential fields (`aws_*`, …) from the profile and token responses. Secrets. */
  credentials(): Record<string, string>;
}

/** The token manager for `config`, with the transport settings of the client options (same defaults). */
export async function loadTokenSource(
  config: ResolvedConfig,
  opts: ClientOptions,
  logger: Logger | undefined,
): Promise<TokenSource> {
  const { TokenManager } = await import('../auth/token-manager.js');
  const timeoutMs = timeoutOf(opts);
  return new TokenManager({
    config,
    storage: opts.storage ?? 'file',
    fetch: opts.fetch ?? globalThis.fetch,
    env: opts.env ?? process.env,
    // 0 and Infinity disable the client's limit; the token requests then keep the manager's default.
    ...(timeoutMs > 0 && timeoutMs !== Number.POSITIVE_INFINITY ? { timeoutMs } : {}),
    ...(logger ? { logger } : {}),
  });
}

/** `opts.timeoutMs`, defaulted and validated. */
function timeoutOf(opts: ClientOptions): number {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs >= 0)) {
    throw new DHCoreError(
      'config_invalid_option',
      `timeoutMs must be a number of milliseconds >= 0 (got ${timeoutMs}).`,
    );
  }
  return timeoutMs;
}

// ---- Client ----------------------------------------------------------------------------------------------

/** Default per-request timeout (ms) of {@link createClient}. */
const DEFAULT_TIMEOUT_MS = 30_000;
/** Default number of redirects {@link DHCoreClient.fetch} follows (the same as `fetch`). */
const DEFAULT_MAX_REDIRECTS = 20;

/** Options of {@link createClient}: everything {@link resolveConfig} takes, plus transport settings. */
export interface ClientOptions extends ResolveOptions {
  /**
   * Time limit of each `client.fetch` call in ms, like `AbortSignal.timeout()`: connecting, redirects, the 401
   * retry and reading the body. When it expires the request is aborted (its connection closed) and the call
   * rejects with `DHCoreError` `network_timeout` (reading the body, with the signal's `TimeoutError`). Default
   * 30 000; `0` or `Infinity` disables it. Without a caller `signal`, requests that start within the same
   * 1/100 of the limit (at most 100 ms) share one deadline, so the limit may be exceeded by that much.
   */
  timeoutMs?: number;
  /** `fetch` implementation to send requests with (default: the global `fetch`). */
  fetch?: typeof fetch;
  /**
   * Where tokens the client obtains (PAT exchange, refresh) are kept: `'file'` (default) saves them to the
   * profile so the next process reuses them; `'memory'` keeps them in this process only.
   */
  storage?: 'file' | 'memory';
  /** Receives diagnostic lines (flows and timings, never a secret). Default: `DEBUG=dhcore*`. */
  logger?: Logger;
  /** Redirects followed before giving up (default 20). Credentials never follow a redirect to another origin. */
  maxRedirects?: number;
}

/**
 * An authenticated HTTP client for one DHCore profile. Secrets live in private fields: printing the client
 * or `JSON.stringify`-ing it shows only profile, endpoint and auth method.
 */
export interface DHCoreClient {
  /** How requests are authenticated: `exchange`, `oauth2`, `access_token_only`, `basic` or `none`. */
  readonly authMethod: AuthMethod;
  /** Profile (section of the config file) the client was created for. */
  readonly profile: string;
  /** DHCore endpoint, e.g. `https://dhcore.example.com` (no trailing `/`). */
  readonly endpoint: string;
  /** When the current access token expires (RFC 3339), if known. Not a secret. */
  readonly expiresAt: string | undefined;
  /**
   * `fetch` with credentials: a relative path is joined to the endpoint, the `Authorization` header is added
   * for the endpoint's origin only (never for another origin, never across a redirect that leaves it), a 401
   * with a refreshable method triggers one refresh and one retry. Returns the standard `Response`; HTTP error
   * statuses are not thrown.
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response>;
  /** Headers to authenticate a request to the endpoint with another HTTP library (`{}` for `none`). */
  authHeaders(): Promise<Record<string, string>>;
  /** Obtain a new access token now (refresh or PAT exchange). `AuthError` if the method cannot refresh. */
  refresh(): Promise<void>;
}

/**
 * Create a client for the resolved profile: finds the credentials, chooses the auth method, and (for PAT
 * exchange and refresh tokens) obtains, refreshes and saves tokens as needed.
 *
 * @example
 * import { createClient } from 'dhcore-credentials';
 * const client = await createClient();               // or createClient({ profile: 'staging' })
 * const res = await client.fetch('/api/v1/projects');
 * if (!res.ok) throw new Error(`DHCore answered ${res.status}`);
 * console.log(await res.json());
 */
export async function createClient(opts: ClientOptions = {}): Promise<DHCoreClient> {
  const logger = await resolveLogger(opts.logger, 'dhcore:client', opts.env ?? process.env);
  // The first performance.now() of a process loads perf_hooks (≈1 ms of cold start): only when it is logged.
  const started = logger ? performance.now() : 0;
  const config = resolveConfig(withCurrentProfile(opts));
  const timeoutMs = timeoutOf(opts);
  const fetchImpl = opts.fetch ?? globalThis.fetch;
  const tokens =
    config.authMethod === 'exchange' || config.authMethod === 'oauth2'
      ? await loadTokenSource(config, opts, logger)
      : undefined;
  if (config.authMethod !== 'none' && isInsecureTransport(config.endpoint)) {
    warnOnce(
      'DHCORE_INSECURE_HTTP',
      `The ${config.authMethod} credentials of profile "${config.profile}" are sent to ${redactUrl(config.endpoint)} over plain http; use https:// for any host but this machine.`,
    );
  }
  const client = new Client(config, {
    tokens,
    fetch: fetchImpl,
    timeoutMs,
    logger,
    maxRedirects: opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS,
  });
  logger?.(
    `client ready: profile ${config.profile}, ${redactUrl(config.endpoint)}, auth ${config.authMethod} (${elapsed(started)})`,
  );
  return client;
}

/** Resolution options with the profile chosen by `setCurrentProfile()` in this process, unless one is given. */
export function withCurrentProfile<T extends ResolveOptions>(opts: T): T {
  const current = currentProfileOverride();
  return opts.profile || current === undefined ? opts : { ...opts, profile: current };
}

interface Transport {
  tokens: TokenSource | undefined;
  fetch: typeof fetch;
  timeoutMs: number;
  logger: Logger | undefined;
  maxRedirects: number;
}

/** One request, normalised: what every hop and the retry are built from. */
interface Prepared {
  url: string;
  /** Is `url` known to be on the endpoint's origin without parsing it (a relative path)? */
  relative: boolean;
  method: string;
  headers: HeadersInit | undefined;
  body: BodyInit | null | undefined;
  /** Can the body be sent again (redirect 307/308, 401 retry)? Streams cannot. */
  replayable: boolean;
  redirect: RequestRedirect;
  signal: AbortSignal | undefined;
  /** Remaining `RequestInit` fields (`dispatcher`, `keepalive`, …), passed through. */
  rest: RequestInit | undefined;
  /** Did the caller set `Authorization` themselves? Then it is theirs: not replaced, no refresh on 401. */
  callerAuth: boolean;
}

// Without the DOM lib these names are not global; derive them from Node's RequestInit.
type HeadersInit = NonNullable<RequestInit['headers']>;
type BodyInit = NonNullable<RequestInit['body']>;
type RequestRedirect = NonNullable<RequestInit['redirect']>;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const CROSS_ORIGIN_STRIPPED = ['authorization', 'proxy-authorization', 'cookie'];
const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
];

class Client implements DHCoreClient {
  readonly #config: ResolvedConfig;
  readonly #origin: string;
  readonly #tokens: TokenSource | undefined;
  /** Fixed `Authorization` value for basic / access_token_only; undefined otherwise. */
  readonly #fixed: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  readonly #deadlines: SharedDeadlines | undefined;
  readonly #log: Logger | undefined;
  readonly #maxRedirects: number;

  constructor(config: ResolvedConfig, t: Transport) {
    this.#config = config;
    this.#origin = originOf(config.endpoint) ?? config.endpoint;
    this.#tokens = t.tokens;
    this.#fetch = t.fetch;
    this.#timeoutMs = t.timeoutMs === Number.POSITIVE_INFINITY ? 0 : t.timeoutMs;
    this.#deadlines = this.#timeoutMs > 0 ? new SharedDeadlines(this.#timeoutMs) : undefined;
    this.#log = t.logger;
    this.#maxRedirects = t.maxRedirects;
    this.#fixed = fixedAuthorization(config);
  }

  get authMethod(): AuthMethod {
    return this.#config.authMethod;
  }

  get profile(): string {
    return this.#config.profile;
  }

  get endpoint(): string {
    return this.#config.endpoint;
  }

  get expiresAt(): string | undefined {
    return this.#tokens ? this.#tokens.state().expiresAt : this.#config.expiresAt;
  }

  async authHeaders(): Promise<Record<string, string>> {
    const value = this.#tokens ? `Bearer ${await this.#tokens.accessToken()}` : this.#fixed;
    return value === undefined ? {} : { Authorization: value };
  }

  async refresh(): Promise<void> {
    if (!this.#tokens) {
      throw new AuthError(
        'auth_not_refreshable',
        `Profile "${this.profile}" uses the ${this.authMethod} auth method, which has no token to refresh; a personal access token (dhcore login --pat) or a refresh token (dhcore login) can be refreshed.`,
      );
    }
    const started = performance.now();
    await this.#tokens.refresh();
    this.#log?.(`token refreshed on request (${elapsed(started)})`);
  }

  async fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    const p = prepare(input, init, this.#config.endpoint);
    const callerSignal = p.signal;
    if (this.#deadlines === undefined) return this.#exchange(p, undefined, callerSignal);
    let timeout: AbortSignal;
    if (callerSignal) {
      // Node's fetch pays for the caller's signal anyway: combine it with a precise timeout of its own.
      timeout = AbortSignal.timeout(this.#timeoutMs);
      p.signal = AbortSignal.any([callerSignal, timeout]);
    } else {
      timeout = this.#deadlines.signal();
      p.signal = timeout;
    }
    return this.#exchange(p, timeout, callerSignal);
  }

  /** One request as the caller sees it: auth, redirects, and on a 401 one refresh and one retry. */
  async #exchange(
    p: Prepared,
    timeout: AbortSignal | undefined,
    callerSignal: AbortSignal | undefined,
  ): Promise<Response> {
    const started = this.#log ? performance.now() : 0;
    try {
      let token = this.#tokens && !p.callerAuth ? await this.#tokens.accessToken() : undefined;
      const auth = token !== undefined ? `Bearer ${token}` : p.callerAuth ? undefined : this.#fixed;
      let sent = await this.#send(p, auth);
      if (sent.response.status === 401 && sent.authSent && token !== undefined && this.#tokens) {
        if (!p.replayable) {
          this.#log?.(
            `${p.method} ${describeUrl(sent.url)} → 401; body is a stream, not retried (token refreshed for the next request)`,
          );
          await this.#tokens.refresh({ rejectedToken: token }).catch((err: unknown) => {
            this.#log?.(`refresh after 401 failed: ${err instanceof DHCoreError ? err.code : 'error'}`);
          });
          return sent.response;
        }
        await sent.response.body?.cancel().catch(() => {});
        this.#log?.(`${p.method} ${describeUrl(sent.url)} → 401; refreshing the token and retrying once`);
        token = await this.#tokens.refresh({ rejectedToken: token });
        sent = await this.#send(p, `Bearer ${token}`);
      }
      if (this.#log) {
        this.#log(`${p.method} ${describeUrl(sent.url)} → ${sent.response.status} (${elapsed(started)})`);
      }
      return sent.response;
    } catch (err) {
      throw this.#transportError(err, p, timeout, callerSignal);
    }
  }

  #timeoutError(p: Prepared, cause?: unknown): DHCoreError {
    const target = `${p.method} ${describeUrl(p.url)}`;
    this.#log?.(`${target} timed out after ${this.#timeoutMs} ms`);
    return new DHCoreError(
      'network_timeout',
      `${target} got no answer within ${this.#timeoutMs} ms; check the endpoint or raise timeoutMs in createClient().`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** Send `p` with `auth` on hops to the endpoint's origin, following redirects by hand (credentials stay home). */
  async #send(
    p: Prepared,
    auth: string | undefined,
  ): Promise<{ response: Response; authSent: boolean; url: string }> {
    let url = p.url;
    let method = p.method;
    let body = p.body;
    let headers = p.headers;
    // Once a hop has left the endpoint's origin, nothing of ours is sent again, even if a redirect comes back.
    let home = p.relative || originOf(url) === this.#origin;
    for (let hop = 0; ; hop++) {
      const authorization = home ? auth : undefined;
      const init: RequestInit = p.rest === undefined ? {} : { ...p.rest };
      init.method = method;
      init.headers = withAuthorization(headers, authorization);
      init.body = body;
      init.signal = p.signal;
      init.redirect = p.redirect === 'error' ? 'error' : 'manual';
      if (isStream(body)) init.duplex = 'half';
      const response = await this.#fetch(url, init);
      if (p.redirect !== 'follow' || !REDIRECT_STATUSES.has(response.status)) {
        return { response, authSent: authorization !== undefined, url };
      }
      const location = response.headers.get('location');
      if (location === null) return { response, authSent: authorization !== undefined, url };
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        return { response, authSent: authorization !== undefined, url };
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:') {
        await response.body?.cancel().catch(() => {});
        throw new DHCoreError(
          'http_redirect_refused',
          `${method} ${describeUrl(url)} redirected to a ${next.protocol} URL, which is not followed.`,
        );
      }
      if (hop >= this.#maxRedirects) {
        await response.body?.cancel().catch(() => {});
        throw new DHCoreError(
          'http_too_many_redirects',
          `${p.method} ${describeUrl(p.url)} was redirected more than ${this.#maxRedirects} times; check the endpoint URL.`,
        );
      }
      const status = response.status;
      if (
        (status === 303 && method !== 'HEAD') ||
        ((status === 301 || status === 302) && method === 'POST')
      ) {
        method = 'GET';
        body = undefined;
        headers = without(headers, BODY_HEADERS);
      } else if (body != null && !p.replayable) {
        // The stream was consumed by the first hop; hand the redirect back rather than send an empty body.
        return { response, authSent: authorization !== undefined, url };
      }
      await response.body?.cancel().catch(() => {});
      const leaving = home && next.origin !== this.#origin;
      if (leaving || next.origin !== originOf(url)) headers = without(headers, CROSS_ORIGIN_STRIPPED);
      if (leaving) home = false;
      this.#log?.(
        `${method} ${describeUrl(url)} → ${status}, following to ${describeUrl(next.href)}${leaving ? ' (other origin: no credentials)' : ''}`,
      );
      url = next.href;
    }
  }

  #transportError(
    err: unknown,
    p: Prepared,
    timeout: AbortSignal | undefined,
    caller: AbortSignal | undefined,
  ) {
    const target = `${p.method} ${describeUrl(p.url)}`;
    if (timeout?.aborted && !caller?.aborted) return this.#timeoutError(p, err);
    // undici reports connection failures as TypeError('fetch failed') with a coded cause (ECONNREFUSED, …);
    // other TypeErrors (bad URL or header, redirect: 'error') are the caller's and stay as they are.
    const code = err instanceof TypeError ? (err.cause as { code?: unknown } | undefined)?.code : undefined;
    if (typeof code === 'string') {
      this.#log?.(`${target} failed: ${code}`);
      return new DHCoreError(
        'network_unreachable',
        `${target} failed (${code}): is DHCore running and reachable at ${redactUrl(this.endpoint)}?`,
        { cause: err },
      );
    }
    return err;
  }

  /** What `JSON.stringify` shows: no secret. */
  toJSON(): Record<string, unknown> {
    return { profile: this.profile, endpoint: redactUrl(this.endpoint), authMethod: this.authMethod };
  }

  toString(): string {
    return `DHCoreClient(${this.profile} → ${redactUrl(this.endpoint)}, ${this.authMethod})`;
  }

  [inspect.custom](): string {
    return `DHCoreClient ${inspect(this.toJSON())}`;
  }
}

/**
 * Deadline signals for requests without a caller signal. Node's fetch pays for every signal it is given (undici
 * follows it with a listener, a WeakRef and a FinalizationRegistry entry), and a fresh signal per request
 * (`AbortSignal.timeout()`, or a controller and a timer) costs 60–95 µs of CPU in all, about a tenth of the
 * throughput; a shared one about half of that. Requests that start within one short window share a signal
 * that aborts `timeoutMs` after the window closes, so each is aborted between `timeoutMs` and `timeoutMs` +
 * window after it started. At most {@link REQUESTS_PER_SIGNAL} share one: undici drops a request's listener
 * only when the request is garbage-collected, lists all of a signal's listeners for every request it adds,
 * and from 10 of them (events' `defaultMaxListeners`) on also resets the signal's listener limit each time.
 * (Not `setMaxListeners(0, signal)`: in Node 20 undici then creates and swallows an error per request.)
 */
class SharedDeadlines {
  readonly #timeoutMs: number;
  readonly #windowMs: number;
  #signal: AbortSignal | undefined;
  #users = 0;
  /** `performance.now()` at which the current signal stops taking requests (monotonic: immune to clock changes). */
  #closesAt = 0;

  constructor(timeoutMs: number) {
    this.#timeoutMs = timeoutMs;
    this.#windowMs = Math.min(100, timeoutMs / 100);
  }

  /** The signal for a request starting now. */
  signal(): AbortSignal {
    const now = performance.now();
    if (this.#signal !== undefined && now < this.#closesAt && this.#users < REQUESTS_PER_SIGNAL) {
      this.#users++;
      return this.#signal;
    }
    const controller = new AbortController();
    // unref: a deadline alone must not keep the process alive (a pending request's socket does).
    setTimeout(() => {
      controller.abort(new DOMException(`no answer within ${this.#timeoutMs} ms`, 'TimeoutError'));
    }, this.#timeoutMs + this.#windowMs).unref();
    this.#signal = controller.signal;
    this.#users = 1;
    this.#closesAt = now + this.#windowMs;
    return this.#signal;
  }
}

/** Requests sharing one deadline signal: below the 10 listeners at which undici starts counting them. */
const REQUESTS_PER_SIGNAL = 8;

/** `Authorization` for methods whose credentials never change: Basic (UTF-8 `user:password`) or a fixed Bearer. */
function fixedAuthorization(config: ResolvedConfig): string | undefined {
  switch (config.authMethod) {
    case 'basic':
      return `Basic ${Buffer.from(`${config.get('dhcore_user')}:${config.get('dhcore_password')}`, 'utf8').toString('base64')}`;
    case 'access_token_only':
      return `Bearer ${config.get('dhcore_access_token')}`;
    default:
      return undefined;
  }
}

function prepare(input: string | URL | Request, init: RequestInit | undefined, endpoint: string): Prepared {
  if (typeof input === 'string' || input instanceof URL) {
    const relative = typeof input === 'string' && !isAbsoluteUrl(input);
    const url = relative ? joinEndpoint(endpoint, input as string) : String(input);
    const headers = init?.headers;
    const body = init?.body;
    return {
      url,
      relative,
      method: init?.method?.toUpperCase() ?? 'GET',
      headers,
      body,
      replayable: !isStream(body),
      redirect: init?.redirect ?? 'follow',
      signal: init?.signal ?? undefined,
      rest: init,
      callerAuth: headers !== undefined && new Headers(headers).has('authorization'),
    };
  }
  // A Request: its body (if any) is a stream and can be sent once.
  const request = init ? new Request(input, init) : input;
  const headers = new Headers(request.headers);
  return {
    url: request.url,
    relative: false,
    method: request.method,
    headers,
    body: request.body,
    replayable: request.body === null,
    redirect: request.redirect,
    signal: request.signal,
    rest: undefined,
    callerAuth: headers.has('authorization'),
  };
}

/** Bodies that can only be read once: web streams, Node streams and other async iterables. */
function isStream(body: BodyInit | null | undefined): boolean {
  if (body === null || body === undefined || typeof body === 'string') return false;
  if (body instanceof ReadableStream) return true;
  return typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

function withAuthorization(
  headers: HeadersInit | undefined,
  auth: string | undefined,
): HeadersInit | undefined {
  if (auth === undefined) return headers;
  if (headers === undefined) return { authorization: auth };
  const merged = new Headers(headers);
  if (!merged.has('authorization')) merged.set('authorization', auth);
  return merged;
}

function without(headers: HeadersInit | undefined, names: readonly string[]): HeadersInit | undefined {
  if (headers === undefined) return undefined;
  const copy = new Headers(headers);
  for (const name of names) copy.delete(name);
  return copy;
}
