/**
 * `headlessLogin`: the interactive login (authorization code + PKCE) against a dev server, with the HTML
 * login form filled in over plain HTTP — no browser. For tests and benchmarks that need real OAuth2 tokens
 * (a refresh token above all) from a running dev server.
 */
import type { TokenEndpointResponse, TokenEndpointResponseHelpers } from 'openid-client';
import type { DevServer } from './index.js';

export interface HeadlessLoginOptions {
  /** Scopes to ask for (default `openid credentials`: the response then carries store credentials too). */
  scope?: string;
  /**
   * The client's redirect URI: any loopback URL (nothing needs to listen there, the code is read from the
   * redirect). Default `http://127.0.0.1:53682/callback`.
   */
  redirectUri?: string;
  /** Who signs in (default: the server's demo user and password). */
  username?: string;
  password?: string;
}

/**
 * Logs in to a dev server as a person would in a browser — authorization URL, the server's login form,
 * redirect back with a code — but headlessly (fetch, cookies kept by hand), then redeems the code with the
 * PKCE verifier. State and ID token are checked by `openid-client`.
 *
 * @returns the token endpoint response: `access_token`, `refresh_token`, `id_token`, `expires_in`, and with
 *   the `credentials` scope the store credentials (`aws_access_key_id`, …).
 * @throws Error if the server refuses the credentials or the flow does not reach the redirect URI.
 *
 * @example
 * import { headlessLogin, startDevServer } from 'dhcore-credentials/dev-server';
 * const server = await startDevServer();
 * const { refresh_token } = await headlessLogin(server);
 */
export async function headlessLogin(
  server: Pick<DevServer, 'issuer' | 'clientId' | 'user' | 'password'>,
  opts: HeadlessLoginOptions = {},
): Promise<TokenEndpointResponse & TokenEndpointResponseHelpers> {
  // Loaded here, not at the top: starting a dev server does not need openid-client.
  const oidc = await import('openid-client');
  const config = await oidc.discovery(new URL(server.issuer), server.clientId, undefined, oidc.None(), {
    execute: [oidc.allowInsecureRequests],
  });
  const redirectUri = opts.redirectUri ?? 'http://127.0.0.1:53682/callback';
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  let url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: opts.scope ?? 'openid credentials',
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  const cookies = new Map<string, string>();
  let form: Record<string, string> | undefined;
  for (let hop = 0; hop < 20; hop++) {
    const res = await fetch(url, {
      method: form ? 'POST' : 'GET',
      redirect: 'manual',
      headers: {
        cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; '),
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
      },
      ...(form ? { body: new URLSearchParams(form).toString() } : {}),
    });
    for (const line of res.headers.getSetCookie()) {
      const pair = line.split(';', 1)[0] ?? '';
      const eq = pair.indexOf('=');
      const value = pair.slice(eq + 1).trim();
      if (value) cookies.set(pair.slice(0, eq).trim(), value);
      else cookies.delete(pair.slice(0, eq).trim());
    }
    const text = await res.text();
    const location = res.headers.get('location');
    if (location) {
      url = new URL(location, url);
      form = undefined;
      if (url.href.startsWith(redirectUri)) {
        return oidc.authorizationCodeGrant(config, url, { pkceCodeVerifier: verifier, expectedState: state });
      }
      continue;
    }
    // The login page (pages.ts): <form id="login" … action="/interaction/<uid>/login">.
    const action = /<form id="login"[^>]*action="([^"]+)"/.exec(text)?.[1];
    if (form) throw new Error(`headless login: the dev server refused the sign-in (HTTP ${res.status})`);
    if (res.status !== 200 || !action) {
      throw new Error(`headless login: no login form at ${url.pathname} (HTTP ${res.status})`);
    }
    url = new URL(action.replaceAll('&amp;', '&'), url);
    form = { username: opts.username ?? server.user, password: opts.password ?? server.password };
  }
  throw new Error('headless login did not reach the redirect URI');
}
