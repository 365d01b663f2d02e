/**
 * The authenticated client: `createClient()` and the request path — credentials added for the endpoint's
 * origin only (origin.ts), redirects followed by hand so they stay home, one refresh and one retry on a 401,
 * a time limit per call (deadlines.ts). Tokens come from the session (auth/session.ts), the one route to a
 * token.
 */
import { AUTH_METHODS } from '../auth/methods.js';
import { openSession, type Session, type SessionOptions } from '../auth/session.js';
import type { AuthMethod, ResolveOptions } from '../config/types.js';
import { elapsed, type Logger, loggerFor } from '../diagnostics.js';
import { DHCoreError } from '../errors.js';
import { type Http, httpOf } from '../net/http.js';
import { networkError } from '../net/network-error.js';
import { CROSS_ORIGIN_STRIPPED, describeUrl, originOf, REDIRECT_STATUSES } from '../net/origin.js';
import { redactUrl } from '../redact.js';
import { SharedDeadlines } from './deadlines.js';
import {
  BODY_HEADERS,
  type BodyInit,
  type HeadersInit,
  hopInit,
  type Prepared,
  prepare,
  withAuthorization,
  without,
} from './request.js';
import { type Dispatcher, WireDeadlines } from './wire-deadlines.js';

export type { Logger } from '../diagnostics.js';

// Not `import … from 'node:util'`: its ESM namespace costs ≈1 ms of cold start (see config/resolve.ts).
const { inspect } = process.getBuiltinModule('node:util');

/** Default number of redirects {@link DHCoreClient.fetch} follows (the same as `fetch`). */
const DEFAULT_MAX_REDIRECTS = 20;

/** Options of {@link createClient}: everything {@link resolveConfig} takes, plus transport settings. */
export interface ClientOptions extends ResolveOptions {
  /**
   * Time limit of each `client.fetch` call in ms, like `AbortSignal.timeout()`: connecting, redirects, the 401
   * retry and reading the body. When it expires the request is aborted (its connection closed) and the call
   * rejects with `DHCoreError` `network_timeout`; a body read then fails with that error as the `cause` of
   * fetch's `TypeError('terminated')` (or as the error itself, with a `fetch` given here).
   * Default 30 000; `0` or `Infinity` disables it. Calls that start within the same 1/100 of the limit (at
   * most 100 ms) share one deadline, so the limit may be exceeded by that much. A caller `signal` or
   * `dispatcher` keeps working alongside it. With Node's own fetch the limit is kept at the transport; a
   * `fetch` given here is limited with a deadline signal.
   */
  timeoutMs?: number;
  /** `fetch` implementation to send requests with (default: the global `fetch`). */
  fetch?: typeof fetch;
  /**
   * Where tokens the client obtains (PAT exchange, refresh) are kept: `'file'` saves them to the profile so
   * the next process reuses them; `'memory'` keeps them in this process only. Default: `'file'`, except for
   * credentials passed in code (`overrides`), whose tokens stay in memory.
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
export function createClient(opts: ClientOptions = {}): Promise<DHCoreClient> {
  return clientWith(opts, {});
}

/** {@link createClient} with session options the public API does not offer (the CLI's `refuseUnsaveable`). */
export async function clientWith(
  opts: ClientOptions,
  extra: Pick<SessionOptions, 'refuseUnsaveable'>,
): Promise<DHCoreClient> {
  const logger = loggerFor(opts.logger, 'dhcore:client', opts.env ?? process.env);
  // The first performance.now() of a process loads perf_hooks (≈1 ms of cold start): only when it is logged.
  const started = logger ? performance.now() : 0;
  const http = httpOf(opts);
  const session = await openSession({ ...opts, ...extra, ...(logger ? { logger } : {}) });
  const { config } = session;
  const client = new Client(session, http, logger, opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS);
  logger?.(
    `client ready: profile ${config.profile}, ${redactUrl(config.endpoint)}, auth ${config.authMethod} (${elapsed(started)})`,
  );
  return client;
}

/** The answer to a call's request after its redirects: which hop answered, and whether it carried our credentials. */
interface Sent {
  response: Response;
  authSent: boolean;
  url: string;
}

class Client implements DHCoreClient {
  readonly #session: Session;
  /** Is the Authorization value a refreshable token (refresh once on a 401)? */
  readonly #refreshable: boolean;
  readonly #endpoint: string;
  readonly #origin: string;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;
  /** The time limit kept at the transport (see wire-deadlines.ts); undefined without a limit. */
  readonly #wire: WireDeadlines<Prepared> | undefined;
  /** The time limit kept by signals, for a fetch that cannot be limited at the transport. */
  readonly #deadlines: SharedDeadlines | undefined;
  readonly #log: Logger | undefined;
  readonly #maxRedirects: number;
  /** A token the API rejected right after it was obtained by a refresh (see #answered). */
  #rejectedFresh: string | undefined;
  /** The last token's header value, built once: a new ≈1 KB string per request is copied again by fetch. */
  #bearerToken: string | undefined;
  #bearerValue = '';

  constructor(session: Session, http: Http, logger: Logger | undefined, maxRedirects: number) {
    this.#session = session;
    this.#refreshable = AUTH_METHODS[session.authMethod].refreshable;
    this.#endpoint = session.config.endpoint;
    this.#origin = originOf(this.#endpoint) ?? this.#endpoint;
    this.#fetch = http.fetch;
    this.#timeoutMs = http.timeoutMs;
    if (this.#timeoutMs > 0) {
      // At the transport only with Node's own fetch: a fetch of the caller's may send some requests
      // through a dispatcher of its own, which would leave them without a limit.
      if (this.#fetch === globalThis.fetch) {
        this.#wire = new WireDeadlines(this.#timeoutMs, (p: Prepared) => this.#timeoutError(p));
      }
      this.#deadlines = new SharedDeadlines(this.#timeoutMs, () => this.#timeoutError());
    }
    this.#log = logger;
    this.#maxRedirects = maxRedirects;
  }

  get authMethod(): AuthMethod {
    return this.#session.authMethod;
  }

  get profile(): string {
    return this.#session.profile;
  }

  get endpoint(): string {
    return this.#endpoint;
  }

  get expiresAt(): string | undefined {
    return this.#session.state().expiresAt;
  }

  async authHeaders(): Promise<Record<string, string>> {
    const value = await this.#session.authorization();
    return value === undefined ? {} : { Authorization: value };
  }

  async refresh(): Promise<void> {
    const started = this.#log ? performance.now() : 0;
    await this.#session.refresh();
    this.#log?.(`token refreshed on request (${elapsed(started)})`);
  }

  // Not `async`: the promise of #exchange is returned as it is, not wrapped in another (one promise and two
  // ticks less per request). Whatever throws before it is a rejection all the same, as fetch's.
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    let p: Prepared;
    let callerSignal: AbortSignal | undefined;
    try {
      p = prepare(input, init, this.#endpoint);
      callerSignal = p.signal;
      this.#limit(p);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#exchange(p, callerSignal);
  }

  /** The call's time limit: at the transport once a request proved it works, else a deadline signal too. */
  #limit(p: Prepared): void {
    if (this.#deadlines === undefined) return; // no limit
    const wire = this.#wire;
    if (wire !== undefined && !wire.refused) {
      p.deadline = wire.call(p, p.rest?.dispatcher as Dispatcher | undefined);
      if (wire.proven) return;
      // Until a request shows that this fetch sends through the dispatcher it is given, a signal too.
    }
    const timeout = this.#deadlines.signal();
    p.timeout = timeout;
    p.signal = p.signal ? AbortSignal.any([p.signal, timeout]) : timeout;
  }

  /**
   * One request as the caller sees it. The common case (no redirect, no 401) is this one small async function
   * awaiting fetch itself: every further async layer, and every local it keeps, is held by each request until
   * its answer comes. Redirects and the 401 retry continue in {@link #answered}.
   */
  async #exchange(p: Prepared, callerSignal: AbortSignal | undefined): Promise<Response> {
    const started = this.#log ? performance.now() : 0;
    try {
      let token: string | undefined;
      let auth: string | undefined;
      if (!p.callerAuth) {
        // A held token is taken at once; only when there is work to do (or an error to give) is it awaited.
        const session = this.#session;
        const ready = session.readyAccessToken();
        if (this.#refreshable) token = ready ?? (await session.accessToken());
        const bearer = token ?? ready;
        auth = bearer !== undefined ? this.#bearer(bearer) : await session.authorization();
      }
      // Credentials go to the endpoint's origin only.
      const home = p.relative || originOf(p.url) === this.#origin;
      const response = await this.#hop(p, p.url, p.method, p.headers, p.body, home ? auth : undefined);
      this.#checkBypass(p, p.url);
      if ((p.redirect === 'follow' && REDIRECT_STATUSES.has(response.status)) || response.status === 401) {
        return await this.#answered(p, response, home, auth, token, started);
      }
      if (this.#log) {
        this.#log(`${p.method} ${describeUrl(p.url)} → ${response.status} (${elapsed(started)})`);
      }
      return response;
    } catch (err) {
      throw this.#transportError(err, p, callerSignal);
    }
  }

  /**
   * The rest of a call whose first answer is a redirect or a 401: redirects followed, and on a 401 to a
   * refreshable `token` one refresh and one retry.
   */
  async #answered(
    p: Prepared,
    first: Response,
    home: boolean,
    auth: string | undefined,
    token: string | undefined,
    started: number,
  ): Promise<Response> {
    let sent = await this.#follow(
      p,
      { response: first, authSent: home && auth !== undefined, url: p.url },
      auth,
      home,
    );
    if (sent.response.status === 401 && sent.authSent && token !== undefined) {
      // The API rejected this token right after a refresh already: refreshing again would only cost a token
      // request per call (an API that rejects every token). At most one refresh per token.
      if (token === this.#rejectedFresh) {
        this.#log?.(
          `${p.method} ${describeUrl(sent.url)} → 401 again for a token just refreshed; not refreshing`,
        );
        return sent.response;
      }
      if (!p.replayable) {
        this.#log?.(
          `${p.method} ${describeUrl(sent.url)} → 401; body is a stream, not retried (token refreshed for the next request)`,
        );
        await this.#session.refresh({ rejectedToken: token }).catch((err: unknown) => {
          this.#log?.(`refresh after 401 failed: ${err instanceof DHCoreError ? err.code : 'error'}`);
        });
        return sent.response;
      }
      await sent.response.body?.cancel().catch(() => {});
      this.#log?.(`${p.method} ${describeUrl(sent.url)} → 401; refreshing the token and retrying once`);
      token = await this.#session.refresh({ rejectedToken: token });
      auth = this.#bearer(token);
      const response = await this.#hop(p, p.url, p.method, p.headers, p.body, home ? auth : undefined);
      this.#checkBypass(p, p.url);
      sent = await this.#follow(
        p,
        { response, authSent: home && auth !== undefined, url: p.url },
        auth,
        home,
      );
      if (sent.response.status === 401 && sent.authSent) this.#rejectedFresh = token;
    }
    if (this.#log) {
      this.#log(`${p.method} ${describeUrl(sent.url)} → ${sent.response.status} (${elapsed(started)})`);
    }
    return sent.response;
  }

  #bearer(token: string): string {
    if (token !== this.#bearerToken) {
      this.#bearerToken = token;
      this.#bearerValue = `Bearer ${token}`;
    }
    return this.#bearerValue;
  }

  /** The error of a call out of time: for `p`, or (a deadline signal shared by several calls) for any. */
  #timeoutError(p?: Prepared, cause?: unknown): DHCoreError {
    const target = p === undefined ? 'A request' : `${p.method} ${describeUrl(p.url)}`;
    if (p !== undefined) this.#log?.(`${target} timed out after ${this.#timeoutMs} ms`);
    return new DHCoreError(
      'network_timeout',
      `${target} got no complete answer within ${this.#timeoutMs} ms; check the endpoint or raise timeoutMs in createClient().`,
      cause === undefined ? undefined : { cause },
    );
  }

  /** One hop of `p`: fetch with the hop's init. Not async: the caller awaits fetch's own promise. */
  #hop(
    p: Prepared,
    url: string,
    method: string,
    headers: HeadersInit | undefined,
    body: BodyInit | null | undefined,
    authorization: string | undefined,
  ): Promise<Response> {
    p.deadline?.hopSent();
    return this.#fetch(url, hopInit(p, method, withAuthorization(headers, authorization), body, p.deadline));
  }

  /**
   * After a hop's answer: an http(s) answer whose request never went through the call's dispatcher comes from
   * a fetch that ignores `dispatcher`; from then on the limit is kept by signals.
   */
  #checkBypass(p: Prepared, url: string): void {
    if (p.deadline?.bypassed && /^https?:/i.test(url)) this.#wire!.refused = true;
  }

  /** Follows the redirect `sent` answered with, by hand: `auth` goes on hops to the endpoint's origin only. */
  async #follow(p: Prepared, sent: Sent, auth: string | undefined, home: boolean): Promise<Sent> {
    let { response, url } = sent;
    let method = p.method;
    let body = p.body;
    let headers = p.headers;
    let authorization = sent.authSent ? auth : undefined;
    // Once a hop has left the endpoint's origin, nothing of ours is sent again, even if a redirect comes back.
    for (let hop = 0; ; hop++) {
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
      authorization = home ? auth : undefined;
      response = await this.#hop(p, url, method, headers, body, authorization);
      this.#checkBypass(p, url);
    }
  }

  #transportError(err: unknown, p: Prepared, caller: AbortSignal | undefined) {
    const target = `${p.method} ${describeUrl(p.url)}`;
    if (!caller?.aborted) {
      // fetch rejects with the limit's error as the cause: that error, which names the call, is the answer.
      if (p.deadline?.timedOut) return p.deadline.reason();
      if (p.timeout?.aborted) return this.#timeoutError(p, err);
    }
    // Other errors (bad URL or header, redirect: 'error', the caller's abort) are the caller's and stay as they are.
    const mapped = caller?.aborted
      ? undefined
      : networkError(err, {
          what: target,
          url: describeUrl(p.url),
          fix: `is DHCore running and reachable at ${redactUrl(this.endpoint)}?`,
          timeoutMs: this.#timeoutMs,
          timedOut: false,
        });
    if (mapped) this.#log?.(`${target} failed: ${mapped.code}`);
    return mapped ?? err;
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
