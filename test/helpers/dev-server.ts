/**
 * Test helpers around the embedded dev server: start/stop it, and complete its interactive flows
 * (login form, device user-code pages) with plain HTTP + cookies, no browser.
 */
import * as oidc from 'openid-client';
import { afterAll, beforeAll } from 'vitest';
import { type DevServer, type DevServerOptions, startDevServer } from '../../src/dev-server/index.js';

/** Starts a dev server on 127.0.0.1, free port, silent unless DEBUG_DEV_SERVER is set. */
export function startTestServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const logger = process.env.DEBUG_DEV_SERVER
    ? (line: string) => process.stderr.write(`[dev-server] ${line}\n`)
    : undefined;
  return startDevServer({ host: '127.0.0.1', port: 0, ...(logger ? { logger } : {}), ...opts });
}

/**
 * Starts one server for the enclosing `describe` (beforeAll) and always closes it (afterAll).
 * @returns a getter for the running server.
 */
export function useDevServer(opts: DevServerOptions = {}): () => DevServer {
  let server: DevServer | undefined;
  beforeAll(async () => {
    server = await startTestServer(opts);
  });
  afterAll(async () => {
    await server?.close();
  });
  return () => {
    if (!server) throw new Error('dev server not started yet (use it inside a test)');
    return server;
  };
}

/** Runs `fn` with a fresh server and closes it afterwards, whatever happens. */
export async function withDevServer<T>(
  opts: DevServerOptions,
  fn: (server: DevServer) => Promise<T>,
): Promise<T> {
  const server = await startTestServer(opts);
  try {
    return await fn(server);
  } finally {
    await server.close();
  }
}

/** openid-client configuration for the server's public client (http allowed: it is loopback). */
export function discover(server: Pick<DevServer, 'issuer' | 'clientId'>): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(server.issuer), server.clientId, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
}

/**
 * An authorization-code + PKCE request for the server's public client: the URL a browser would open, and the
 * configuration and verifier the token request then needs.
 */
export async function authorizationRequest(
  server: Pick<DevServer, 'issuer' | 'clientId'>,
  redirectUri: string,
  scope = 'openid',
): Promise<{ config: oidc.Configuration; url: URL; verifier: string }> {
  const config = await discover(server);
  const verifier = oidc.randomPKCECodeVerifier();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  return { config, url, verifier };
}

interface Cookie {
  name: string;
  value: string;
  path: string;
}

/** A minimal cookie jar (one host, path matching, deletions) — enough for oidc-provider's cookies. */
export class CookieJar {
  readonly #cookies = new Map<string, Cookie>();

  store(res: Response, url: URL): void {
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      let path = url.pathname.replace(/\/[^/]*$/, '') || '/';
      let expired = false;
      for (const attr of attrs) {
        const [k = '', v = ''] = attr.split('=', 2).map((x) => x.trim());
        if (k.toLowerCase() === 'path') path = v || '/';
        if (k.toLowerCase() === 'expires' && Date.parse(v) <= Date.now()) expired = true;
        if (k.toLowerCase() === 'max-age' && Number(v) <= 0) expired = true;
      }
      const key = `${name};${path}`;
      if (expired || value === '') this.#cookies.delete(key);
      else this.#cookies.set(key, { name, value, path });
    }
  }

  header(url: URL): string {
    return [...this.#cookies.values()]
      .filter(
        (c) =>
          url.pathname === c.path || url.pathname.startsWith(c.path.endsWith('/') ? c.path : `${c.path}/`),
      )
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
  }
}

/** A browser-ish HTTP session: cookies, manual redirects, form submission. */
export class HttpSession {
  readonly jar = new CookieJar();

  async request(url: string | URL, init: { method?: string; form?: Record<string, string> } = {}) {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'text/html' };
    const cookie = this.jar.header(target);
    if (cookie) headers.cookie = cookie;
    let body: string | undefined;
    if (init.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      body = new URLSearchParams(init.form).toString();
    }
    const res = await fetch(target, {
      method: init.method ?? (body ? 'POST' : 'GET'),
      headers,
      body,
      redirect: 'manual',
    });
    this.jar.store(res, target);
    const text = await res.text();
    const location = res.headers.get('location');
    return {
      status: res.status,
      url: target,
      text,
      location: location ? new URL(location, target) : undefined,
    };
  }

  /**
   * Follows redirects (GET) until a page is returned or the location leaves the server (e.g. the client's
   * loopback redirect URI, which nobody listens on). Returns the last response and where it pointed.
   */
  async follow(
    url: string | URL,
    init: { method?: string; form?: Record<string, string> } = {},
    stopAt?: string,
  ) {
    let res = await this.request(url, init);
    for (let hops = 0; hops < 20; hops++) {
      if (!res.location || res.status < 300 || res.status >= 400) return res;
      if (stopAt && res.location.href.startsWith(stopAt)) return res;
      if (res.location.origin !== res.url.origin) return res;
      res = await this.request(res.location);
    }
    throw new Error('too many redirects');
  }
}

export interface HtmlForm {
  id: string | undefined;
  action: string;
  method: string;
  fields: Record<string, string>;
}

/** Extracts forms (action, method, hidden/text field values) from an HTML page. */
export function parseForms(html: string): HtmlForm[] {
  const forms: HtmlForm[] = [];
  for (const m of html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)) {
    const attrs = parseAttributes(m[1] ?? '');
    const fields: Record<string, string> = {};
    for (const input of (m[2] ?? '').matchAll(/<input\b([^>]*)>/gi)) {
      const a = parseAttributes(input[1] ?? '');
      if (a.name) fields[a.name] = decodeEntities(a.value ?? '');
    }
    forms.push({
      id: attrs.id,
      action: decodeEntities(attrs.action ?? ''),
      method: (attrs.method ?? 'get').toUpperCase(),
      fields,
    });
  }
  return forms;
}

function parseAttributes(source: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of source.matchAll(/([\w.:-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    out[(m[1] ?? '').toLowerCase()] = m[2] ?? m[3] ?? m[4] ?? '';
  }
  return out;
}

function decodeEntities(s: string): string {
  return s
    .replaceAll('&quot;', '"')
    .replaceAll('&#39;', "'")
    .replaceAll('&lt;', '<')
    .replaceAll('&gt;', '>')
    .replaceAll('&amp;', '&');
}

function findForm(html: string, predicate: (f: HtmlForm) => boolean, what: string): HtmlForm {
  const form = parseForms(html).find(predicate);
  if (!form) throw new Error(`no ${what} form on page:\n${html.slice(0, 2000)}`);
  return form;
}

/**
 * Completes an authorization-code login headlessly: opens the authorization URL, fills the login form
 * and follows redirects until the client's redirect URI. Returns the callback URL (with `code`).
 */
export async function completeLogin(
  authorizationUrl: URL | string,
  creds: { username: string; password: string },
  redirectUri: string,
  session = new HttpSession(),
): Promise<URL> {
  let res = await session.follow(authorizationUrl, {}, redirectUri);
  for (let step = 0; step < 5; step++) {
    if (res.location?.href.startsWith(redirectUri)) return res.location;
    if (res.status !== 200)
      throw new Error(`unexpected ${res.status} at ${res.url}: ${res.text.slice(0, 500)}`);
    const form = findForm(res.text, (f) => 'password' in f.fields, 'login');
    res = await session.follow(
      new URL(form.action, res.url),
      { method: 'POST', form: { ...form.fields, username: creds.username, password: creds.password } },
      redirectUri,
    );
  }
  throw new Error('login did not reach the redirect URI');
}

/**
 * Completes the device-flow user side over HTTP: user-code page → confirm page → login form → success.
 * Returns the final page's HTML.
 */
export async function completeDeviceLogin(
  verificationUri: string,
  userCode: string,
  creds: { username: string; password: string },
  session = new HttpSession(),
): Promise<string> {
  let res = await session.follow(verificationUri);
  const input = findForm(res.text, (f) => 'user_code' in f.fields && !('confirm' in f.fields), 'user code');
  res = await session.follow(new URL(input.action, res.url), {
    form: { ...input.fields, user_code: userCode },
  });
  const confirm = findForm(res.text, (f) => 'confirm' in f.fields, 'device confirm');
  res = await session.follow(new URL(confirm.action, res.url), { form: confirm.fields });
  const login = findForm(res.text, (f) => 'password' in f.fields, 'login');
  res = await session.follow(new URL(login.action, res.url), {
    form: { ...login.fields, username: creds.username, password: creds.password },
  });
  if (res.status !== 200) throw new Error(`device login ended with ${res.status}: ${res.text.slice(0, 500)}`);
  return res.text;
}

/** Form POST to the token endpoint with fetch, returning status and parsed JSON (for raw protocol checks). */
export async function tokenRequest(
  server: DevServer,
  form: Record<string, string>,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${server.endpoint}/auth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const PAT_TYPE = 'urn:ietf:params:oauth:token-type:pat';

/** PAT → access token via openid-client's generic grant. */
export function exchangePat(
  config: oidc.Configuration,
  pat: string,
  scope = 'credentials',
): Promise<oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers> {
  return oidc.genericGrantRequest(config, TOKEN_EXCHANGE, {
    subject_token: pat,
    subject_token_type: PAT_TYPE,
    scope,
  });
}

/** Decodes a JWT payload (no verification). */
export function jwtPayload(token: string): Record<string, unknown> {
  const part = token.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;
}

/** GET <endpoint><path> with an optional Authorization header. */
export async function apiGet(server: DevServer, path: string, authorization?: string) {
  const res = await fetch(`${server.endpoint}${path}`, {
    headers: authorization ? { authorization } : {},
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json: json as Record<string, unknown> | undefined };
}

export function basic(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}
