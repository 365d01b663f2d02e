/**
 * Authorization code + PKCE (S256) with a loopback redirect (RFC 8252): a one-shot HTTP server on a
 * free port answers `http://localhost:<port>/callback`, checks `state`, redeems the code through
 * openid-client, lets the caller save the tokens, and only then tells the browser how it went.
 *
 * Only a callback carrying this login's `state` can end the login. Any other (a stranger's link or page
 * sending the browser to our port, with or without an error) gets an error page and is otherwise
 * ignored: the login keeps waiting for the real one.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as oidc from 'openid-client';
import { AuthError, DHCoreError } from '../../errors.js';
import { printable } from '../../net/server-text.js';
import { type IssuedTokens, toIssued } from '../grants.js';
import { mapOAuthError, redactExcerpt } from '../oidc.js';
import { failurePage } from './pages.js';
import { type InteractiveSetup, LoginCancelledError, whoFrom } from './setup.js';

export interface BrowserLoginOptions {
  setup: InteractiveSetup;
  /** Told the authorization URL once the callback server listens (print it, open the browser). */
  onUrl: (url: string, redirectUri: string) => void | Promise<void>;
  /**
   * Given the tokens before the browser gets its answer (save them here); returns the success page.
   * If it throws, the browser shows the failure and the login fails with that error.
   */
  onTokens: (issued: IssuedTokens, who: string | undefined) => Promise<string>;
  /** Give up when the browser has not come back after this long (ms). */
  timeoutMs: number;
  /** Aborting (Ctrl-C) stops the server and rejects with LoginCancelledError. */
  signal?: AbortSignal;
  /** Told when a callback that does not belong to this login was answered and ignored. */
  onIgnoredCallback?: () => void;
}

export interface LoginOutcome {
  issued: IssuedTokens;
  who: string | undefined;
}

const FIX = "Run 'dhcore login' again in your terminal.";

/** Listen on 127.0.0.1 and, when possible, [::1] with the same free port, so `localhost` works either way. */
async function listenLoopback(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<Server[]> {
  const listen = (server: Server, port: number, host: string) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  const v4 = createServer(handler);
  await listen(v4, 0, '127.0.0.1');
  const servers = [v4];
  const v6 = createServer(handler);
  try {
    await listen(v6, (v4.address() as AddressInfo).port, '::1');
    servers.push(v6);
  } catch {
    // No IPv6 loopback here, or the port is taken on it: 127.0.0.1 alone will do.
  }
  return servers;
}

function closeAll(servers: Server[]): Promise<void> {
  return Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((resolve) => {
          s.close(() => resolve());
          s.closeAllConnections();
        }),
    ),
  ).then(() => {});
}

function send(res: ServerResponse, status: number, html: string): Promise<void> {
  return new Promise((resolve) => {
    res.writeHead(status, {
      'content-type': 'text/html; charset=utf-8',
      'cache-control': 'no-store',
      'referrer-policy': 'no-referrer',
      connection: 'close',
    });
    res.end(html, () => resolve());
  });
}

export async function browserLogin(opts: BrowserLoginOptions): Promise<LoginOutcome> {
  const { setup } = opts;
  if (opts.signal?.aborted) throw new LoginCancelledError();
  const verifier = oidc.randomPKCECodeVerifier();
  const challenge = await oidc.calculatePKCECodeChallenge(verifier);
  const state = oidc.randomState();
  const tokenEndpoint = setup.oidc.serverMetadata().token_endpoint ?? setup.issuer;

  let finished = false;
  let settle!: { resolve: (o: LoginOutcome) => void; reject: (e: unknown) => void };
  const done = new Promise<LoginOutcome>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const finish = (outcome: { ok: LoginOutcome } | { err: unknown }) => {
    if ('ok' in outcome) settle.resolve(outcome.ok);
    else settle.reject(outcome.err);
  };

  let redirectUri = '';
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', redirectUri);
    if (req.method !== 'GET' || url.pathname !== '/callback') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found\n');
      return;
    }
    if (finished) {
      await send(res, 409, failurePage('This sign-in has already been handled.', FIX));
      return;
    }
    const params = url.searchParams;
    const fail = async (status: number, err: DHCoreError, fix = FIX) => {
      finished = true;
      await send(res, status, failurePage(err.message, fix));
      finish({ err });
    };
    if (params.get('state') !== state) {
      await send(
        res,
        400,
        failurePage(
          'This sign-in link does not belong to the login waiting in your terminal (state mismatch); it was ignored.',
          'If you did not start it, close this page. Otherwise finish the sign-in from the URL your terminal shows.',
        ),
      );
      opts.onIgnoredCallback?.();
      return;
    }
    const error = params.get('error');
    if (error) {
      const desc = params.get('error_description');
      const denied = error === 'access_denied';
      await fail(
        400,
        new AuthError(
          denied ? 'auth_denied' : 'auth_refused',
          `${denied ? 'Sign-in was cancelled or denied in the browser' : 'The server refused the sign-in'} (${printable(error).slice(0, 64)}${desc ? `: ${printable(redactExcerpt(desc))}` : ''}); run 'dhcore login' again.`,
          { oauthError: error },
        ),
      );
      return;
    }
    if (!params.get('code')) {
      await fail(
        400,
        new AuthError(
          'auth_no_code',
          "The browser came back without an authorization code; run 'dhcore login' again.",
        ),
      );
      return;
    }
    finished = true;
    try {
      const tokens = await oidc.authorizationCodeGrant(setup.oidc, new URL(`${redirectUri}${url.search}`), {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      const issued = toIssued(tokens);
      const who = whoFrom(tokens);
      const html = await opts.onTokens(issued, who);
      await send(res, 200, html);
      finish({ ok: { issued, who } });
    } catch (err) {
      const mapped = err instanceof DHCoreError ? err : mapOAuthError(err, 'Login', tokenEndpoint);
      await send(res, 502, failurePage(mapped.message, FIX));
      finish({ err: mapped });
    }
  };

  const servers = await listenLoopback((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end();
      finish({ err });
    });
  });
  const port = (servers[0]!.address() as AddressInfo).port;
  redirectUri = `http://localhost:${port}/callback`;

  const timer = setTimeout(() => {
    finished = true;
    finish({
      err: new AuthError(
        'auth_login_timeout',
        `No answer from the browser within ${Math.round(opts.timeoutMs / 1000)} s; nothing was saved. Run 'dhcore login' again (use --timeout <seconds> for more time, or 'dhcore login --device' when no browser on this machine can reach it).`,
      ),
    });
  }, opts.timeoutMs);
  const onAbort = () => {
    finished = true;
    finish({ err: new LoginCancelledError() });
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    const authorizationUrl = oidc.buildAuthorizationUrl(setup.oidc, {
      redirect_uri: redirectUri,
      scope: setup.scope,
      code_challenge: challenge,
      code_challenge_method: 'S256',
      state,
    });
    await opts.onUrl(authorizationUrl.href, redirectUri);
    return await done;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onAbort);
    await closeAll(servers);
  }
}
