import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { type DevServer, headlessLogin } from '../src/dev-server/index.js';
import {
  apiGet,
  authorizationRequest,
  completeDeviceLogin,
  completeLogin,
  discover,
  HttpSession,
  jwtPayload,
  parseForms,
  useDevServer,
} from './helpers/dev-server.js';

/** The code + PKCE login through the public helper, with an openid-client configuration for later grants. */
async function loginWithPkce(s: DevServer, scope: string, redirectUri: string) {
  const tokens = await headlessLogin(s, { scope, redirectUri });
  return { config: await discover(s), tokens };
}

describe('dev server: authorization code + PKCE (public native client)', () => {
  const server = useDevServer();

  it('logs in through the HTML form and issues access, refresh and id tokens', async () => {
    const s = server();
    const { tokens } = await loginWithPkce(
      s,
      'openid profile credentials',
      'http://localhost:53682/callback',
    );
    expect(tokens.refresh_token).toBeTypeOf('string');
    expect(tokens.id_token).toBeTypeOf('string');
    expect(tokens.claims()?.sub).toBe(s.user);
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.aws_access_key_id).toBeTypeOf('string');
    const claims = jwtPayload(tokens.access_token);
    expect(claims.sub).toBe(s.user);
    expect(typeof claims.exp).toBe('number');
    expect((await apiGet(s, '/api/auth', `Bearer ${tokens.access_token}`)).status).toBe(200);
  });

  it('accepts any port on a 127.0.0.1 loopback redirect and gives a refresh token without offline_access', async () => {
    const s = server();
    const { tokens } = await loginWithPkce(s, 'openid', 'http://127.0.0.1:1234/callback');
    expect(tokens.refresh_token).toBeTypeOf('string');
    expect(tokens.aws_access_key_id).toBeUndefined();
  });

  it('rejects a wrong password on the login form and lets the user retry', async () => {
    const s = server();
    const { url } = await authorizationRequest(s, 'http://localhost:4000/callback');
    const session = new HttpSession();
    const page = await session.follow(url);
    expect(page.status).toBe(200);
    const form = parseForms(page.text).find((f) => 'password' in f.fields);
    expect(form).toBeDefined();
    const bad = await session.follow(new URL(form!.action, page.url), {
      form: { username: s.user, password: 'wrong' },
    });
    expect(bad.status).toBe(401);
    expect(bad.text).toMatch(/Wrong username or password/);
    const callback = await completeLogin(
      url,
      { username: s.user, password: s.password },
      'http://localhost:4000/callback',
      session,
    );
    expect(callback.searchParams.get('code')).toBeTruthy();
  });

  it('a second login in the same browser session skips the form (consent is automatic)', async () => {
    const s = server();
    const redirectUri = 'http://localhost:4100/callback';
    const session = new HttpSession();
    const first = await authorizationRequest(s, redirectUri, 'openid credentials');
    const signedIn = await completeLogin(
      first.url,
      { username: s.user, password: s.password },
      redirectUri,
      session,
    );
    expect(signedIn.searchParams.get('code')).toBeTruthy();
    const { config, url, verifier } = await authorizationRequest(s, redirectUri, 'openid credentials');
    const res = await session.follow(url, {}, redirectUri);
    expect(res.location?.href).toMatch(/^http:\/\/localhost:4100\/callback\?code=/);
    const tokens = await oidc.authorizationCodeGrant(config, res.location!, { pkceCodeVerifier: verifier });
    expect(tokens.refresh_token).toBeTypeOf('string');
  });

  it('the Cancel button returns access_denied to the client', async () => {
    const s = server();
    const { url } = await authorizationRequest(s, 'http://localhost:4200/callback');
    const session = new HttpSession();
    const page = await session.follow(url);
    const cancel = parseForms(page.text).find((f) => f.action.endsWith('/abort'));
    expect(cancel).toBeDefined();
    const res = await session.follow(
      new URL(cancel!.action, page.url),
      { method: 'POST' },
      'http://localhost:4200',
    );
    expect(res.location?.searchParams.get('error')).toBe('access_denied');
  });

  it('refuses a PKCE-less request and a non-loopback redirect', async () => {
    const s = server();
    const noPkce = new URL(`${s.endpoint}/auth/authorize`);
    noPkce.search = new URLSearchParams({
      client_id: s.clientId,
      response_type: 'code',
      scope: 'openid',
      redirect_uri: 'http://localhost:4000/callback',
    }).toString();
    const r1 = await new HttpSession().request(noPkce);
    expect(r1.location?.searchParams.get('error')).toBe('invalid_request');

    const badRedirect = new URL(noPkce);
    badRedirect.searchParams.set('redirect_uri', 'http://evil.example/callback');
    // An unregistered redirect is never redirected to: the error page is shown instead.
    const r2 = await fetch(badRedirect, { redirect: 'manual' });
    expect(r2.status).toBe(400);
    expect(r2.headers.get('location')).toBeNull();
    expect(await r2.text()).toMatch(/invalid_redirect_uri/);
  });

  it('wrong PKCE verifier → invalid_grant', async () => {
    const s = server();
    const redirectUri = 'http://localhost:4001/callback';
    const { config, url } = await authorizationRequest(s, redirectUri);
    const callback = await completeLogin(url, { username: s.user, password: s.password }, redirectUri);
    const err = await oidc
      .authorizationCodeGrant(config, callback, { pkceCodeVerifier: oidc.randomPKCECodeVerifier() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(oidc.ResponseBodyError);
    expect((err as oidc.ResponseBodyError).error).toBe('invalid_grant');
  });
});

describe('headlessLogin (dhcore-credentials/dev-server)', () => {
  const server = useDevServer();

  it('defaults: the demo user, scope openid credentials; one code redeemed for working tokens', async () => {
    const s = server();
    const before = s.stats().byGrant.authorization_code ?? 0;
    const tokens = await headlessLogin(s);
    expect(s.stats().byGrant.authorization_code).toBe(before + 1);
    expect(tokens.refresh_token).toBeTypeOf('string');
    expect(tokens.claims()?.sub).toBe(s.user);
    expect(tokens.aws_access_key_id).toBeTypeOf('string');
    expect((await apiGet(s, '/api/auth', `Bearer ${tokens.access_token}`)).status).toBe(200);
  });

  it('a wrong password is an error naming the refusal, and no code is redeemed', async () => {
    const s = server();
    const before = s.stats().tokenRequests;
    await expect(headlessLogin(s, { password: 'wrong' })).rejects.toThrow(
      /dev server refused the sign-in \(HTTP 401\)/,
    );
    expect(s.stats().tokenRequests).toBe(before);
  });
});

describe('dev server: refresh token rotation and reuse detection', () => {
  const server = useDevServer();

  it('rotates refresh tokens on every use', async () => {
    const s = server();
    const { config, tokens } = await loginWithPkce(s, 'openid credentials', 'http://localhost:5000/callback');
    const rt1 = tokens.refresh_token!;
    const second = await oidc.refreshTokenGrant(config, rt1, { scope: 'credentials' });
    expect(second.refresh_token).toBeTypeOf('string');
    expect(second.refresh_token).not.toBe(rt1);
    expect(second.access_token).not.toBe(tokens.access_token);
    expect(second.aws_access_key_id).toBeTypeOf('string');
    expect(second.expires_in).toBe(3600);
    expect((await apiGet(s, '/api/auth', `Bearer ${second.access_token}`)).status).toBe(200);
    const third = await oidc.refreshTokenGrant(config, second.refresh_token!);
    expect(third.refresh_token).not.toBe(second.refresh_token);
  });

  it('replaying a used refresh token → invalid_grant and the whole family is revoked', async () => {
    const s = server();
    const { config, tokens } = await loginWithPkce(s, 'openid credentials', 'http://localhost:5001/callback');
    const rt1 = tokens.refresh_token!;
    const rt2 = (await oidc.refreshTokenGrant(config, rt1)).refresh_token!;
    const rt3 = (await oidc.refreshTokenGrant(config, rt2)).refresh_token!;

    // An attacker (or a second process that lost a race) replays rt1.
    const replay = await oidc.refreshTokenGrant(config, rt1).catch((e: unknown) => e);
    expect(replay).toBeInstanceOf(oidc.ResponseBodyError);
    expect((replay as oidc.ResponseBodyError).error).toBe('invalid_grant');
    expect((replay as oidc.ResponseBodyError).error_description).toMatch(/already used/);

    // The newest token of the family, never used, is dead too.
    const latest = await oidc.refreshTokenGrant(config, rt3).catch((e: unknown) => e);
    expect(latest).toBeInstanceOf(oidc.ResponseBodyError);
    expect((latest as oidc.ResponseBodyError).error).toBe('invalid_grant');
  });

  it('an unknown refresh token → invalid_grant with a readable description', async () => {
    const s = server();
    const config = await discover(s);
    const err = await oidc.refreshTokenGrant(config, 'not-a-refresh-token').catch((e: unknown) => e);
    expect((err as oidc.ResponseBodyError).error).toBe('invalid_grant');
    expect((err as oidc.ResponseBodyError).error_description).toMatch(/not found/);
  });

  it('a second login is an independent family', async () => {
    const s = server();
    const a = await loginWithPkce(s, 'openid', 'http://localhost:5002/callback');
    const b = await loginWithPkce(s, 'openid', 'http://localhost:5002/callback');
    const a2 = await oidc.refreshTokenGrant(a.config, a.tokens.refresh_token!);
    await oidc.refreshTokenGrant(a.config, a.tokens.refresh_token!).catch(() => undefined); // kill family A
    await expect(oidc.refreshTokenGrant(a.config, a2.refresh_token!)).rejects.toThrow();
    const b2 = await oidc.refreshTokenGrant(b.config, b.tokens.refresh_token!);
    expect(b2.access_token).toBeTypeOf('string');
  });
});

describe('dev server: device authorization grant', () => {
  const server = useDevServer({ devicePollInterval: 1 });

  it('completes the device flow via the user-code page and polling', async () => {
    const s = server();
    const config = await discover(s);
    const device = await oidc.initiateDeviceAuthorization(config, { scope: 'openid credentials' });
    expect(device.user_code).toMatch(/^[A-Z]{4}-[A-Z]{4}$/);
    expect(device.verification_uri).toBe(`${s.endpoint}/device`);
    expect(device.interval).toBe(1);

    const polling = oidc.pollDeviceAuthorizationGrant(config, device);
    const page = await completeDeviceLogin(device.verification_uri, device.user_code, {
      username: s.user,
      password: s.password,
    });
    expect(page).toMatch(/signed in/i);
    const tokens = await polling;
    expect(tokens.access_token).toBeTypeOf('string');
    expect(tokens.refresh_token).toBeTypeOf('string');
    expect(tokens.aws_access_key_id).toBeTypeOf('string');
    expect(s.stats().byGrant['urn:ietf:params:oauth:grant-type:device_code']).toBeGreaterThanOrEqual(1);
    expect((await apiGet(s, '/api/auth', `Bearer ${tokens.access_token}`)).status).toBe(200);
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
  });

  it('shows an error for a wrong user code', async () => {
    const s = server();
    const session = new HttpSession();
    const page = await session.follow(`${s.endpoint}/device`);
    const form = parseForms(page.text).find((f) => 'user_code' in f.fields);
    expect(form).toBeDefined();
    const res = await session.follow(new URL(form!.action, page.url), {
      form: { ...form!.fields, user_code: 'BCDF-GHJK' },
    });
    expect(res.text).toMatch(/not valid|expired/);
  });
});
