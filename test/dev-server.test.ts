import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import * as oidc from 'openid-client';
import { describe, expect, it } from 'vitest';
import { isLoopbackHost, startDevServer } from '../src/dev-server/index.js';
import { DHCoreError } from '../src/errors.js';
import {
  apiGet,
  basic,
  discover,
  exchangePat,
  jwtPayload,
  PAT_TYPE,
  TOKEN_EXCHANGE,
  tokenRequest,
  useDevServer,
  withDevServer,
} from './helpers/dev-server.js';

describe('dev server: discovery and configuration', () => {
  const server = useDevServer();

  it('serves the OpenID configuration with DHCore shapes', async () => {
    const s = server();
    expect(s.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(s.issuer).toBe(s.endpoint);
    const res = await fetch(`${s.endpoint}/.well-known/openid-configuration`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as Record<string, unknown>;
    expect(doc.issuer).toBe(s.endpoint);
    expect(doc.token_endpoint).toBe(`${s.endpoint}/auth/token`);
    expect(doc.authorization_endpoint).toBe(`${s.endpoint}/auth/authorize`);
    expect(doc.device_authorization_endpoint).toBe(`${s.endpoint}/auth/device`);
    expect(doc.grant_types_supported).toEqual(
      expect.arrayContaining([
        'refresh_token',
        'authorization_code',
        'urn:ietf:params:oauth:grant-type:device_code',
        TOKEN_EXCHANGE,
      ]),
    );
    expect(doc.scopes_supported).toEqual(
      expect.arrayContaining(['openid', 'profile', 'credentials', 'offline_access']),
    );
    expect(doc.token_endpoint_auth_methods_supported).toContain('none');
    expect(doc.code_challenge_methods_supported).toEqual(['S256']);
  });

  it('serves the same metadata at /.well-known/oauth-authorization-server', async () => {
    const s = server();
    const a = (await (await fetch(`${s.endpoint}/.well-known/openid-configuration`)).json()) as object;
    const res = await fetch(`${s.endpoint}/.well-known/oauth-authorization-server`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual(a);
  });

  it('serves /.well-known/configuration with the dhcore_* keys', async () => {
    const s = server();
    const res = await fetch(`${s.endpoint}/.well-known/configuration`);
    expect(res.status).toBe(200);
    const conf = (await res.json()) as Record<string, unknown>;
    expect(conf).toMatchObject({
      dhcore_endpoint: s.endpoint,
      dhcore_issuer: s.endpoint,
      dhcore_client_id: s.clientId,
    });
    expect(typeof conf.dhcore_name).toBe('string');
    expect(conf.dhcore_api_level).toBeDefined();
  });

  it('is discoverable by openid-client', async () => {
    const config = await discover(server());
    expect(config.serverMetadata().issuer).toBe(server().issuer);
  });
});

describe('dev server: PAT token exchange', () => {
  const server = useDevServer();

  it('exchanges the PAT for a JWT access token with store credentials and no refresh token', async () => {
    const s = server();
    const config = await discover(s);
    const tokens = await exchangePat(config, s.pat);
    expect(tokens.access_token).toBeTypeOf('string');
    expect(tokens.token_type?.toLowerCase()).toBe('bearer');
    expect(tokens.refresh_token).toBeUndefined();
    expect(tokens.issued_token_type).toBe('urn:ietf:params:oauth:token-type:access_token');
    expect(tokens.expires_in).toBe(3600);
    expect(tokens.scope).toBe('credentials');
    expect(tokens.aws_access_key_id).toBeTypeOf('string');
    expect(tokens.aws_secret_access_key).toBeTypeOf('string');
    expect(tokens.aws_session_token).toBeTypeOf('string');
    expect(tokens.aws_endpoint_url).toMatch(/^https?:\/\//);
    expect(tokens.client_id).toBe(s.clientId);
    expect(tokens.issuer).toBe(s.issuer);

    const claims = jwtPayload(tokens.access_token);
    expect(claims.iss).toBe(s.issuer);
    expect(claims.sub).toBe(s.user);
    expect(claims.exp).toBe((claims.iat as number) + 3600);

    const auth = await apiGet(s, '/api/auth', `Bearer ${tokens.access_token}`);
    expect(auth.status).toBe(200);
    expect(auth.json).toMatchObject({ name: s.user });

    // The JWT verifies against the published JWKS (what a resource server would do).
    const [h = '', p = '', sig = ''] = tokens.access_token.split('.');
    const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as { alg: string; kid: string };
    const jwks = (await (await fetch(`${s.endpoint}/auth/jwks`)).json()) as { keys: JsonWebKey[] };
    const jwk = jwks.keys.find((k) => (k as { kid?: string }).kid === header.kid);
    expect(header.alg).toBe('ES256');
    expect(jwk).toBeDefined();
    const key = createPublicKey({ key: jwk!, format: 'jwk' });
    const ok = verify(
      'sha256',
      Buffer.from(`${h}.${p}`),
      { key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(sig, 'base64url'),
    );
    expect(ok).toBe(true);
  });

  it('leaves the store credentials out without the credentials scope', async () => {
    const s = server();
    const tokens = await exchangePat(await discover(s), s.pat, 'openid profile');
    expect(tokens.access_token).toBeTypeOf('string');
    expect(tokens.aws_access_key_id).toBeUndefined();
    expect(tokens.refresh_token).toBeUndefined();
  });

  it('rejects an unknown PAT with invalid_grant and says why', async () => {
    const s = server();
    const err = await exchangePat(await discover(s), 'dhpat_not-a-real-token').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(oidc.ResponseBodyError);
    const body = err as oidc.ResponseBodyError;
    expect(body.error).toBe('invalid_grant');
    expect(body.error_description).toMatch(/personal access token/i);
    expect(body.status).toBe(400);
  });

  it('answers malformed exchanges with invalid_request', async () => {
    const s = server();
    const missing = await tokenRequest(s, { grant_type: TOKEN_EXCHANGE, client_id: s.clientId });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ error: 'invalid_request' });
    expect(missing.body.error_description).toMatch(/subject_token/);

    const wrongType = await tokenRequest(s, {
      grant_type: TOKEN_EXCHANGE,
      client_id: s.clientId,
      subject_token: s.pat,
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    });
    expect(wrongType.status).toBe(400);
    expect(wrongType.body).toMatchObject({ error: 'invalid_request' });
    expect(wrongType.body.error_description).toMatch(/subject_token_type/);
  });

  it('answers an unknown client with invalid_client', async () => {
    const s = server();
    const res = await tokenRequest(s, {
      grant_type: TOKEN_EXCHANGE,
      client_id: 'no-such-client',
      subject_token: s.pat,
      subject_token_type: PAT_TYPE,
    });
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.body.error_description).toBeTypeOf('string');
  });

  it('answers an unknown grant type with unsupported_grant_type', async () => {
    const s = server();
    const res = await tokenRequest(s, { grant_type: 'password', client_id: s.clientId, username: 'demo' });
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('unsupported_grant_type');
    expect(res.body.error_description).toBeTypeOf('string');
  });

  it('counts token requests by grant type', async () => {
    const s = server();
    const before = s.stats();
    await exchangePat(await discover(s), s.pat);
    const after = s.stats();
    expect(after.tokenRequests).toBe(before.tokenRequests + 1);
    expect(after.byGrant[TOKEN_EXCHANGE]).toBe((before.byGrant[TOKEN_EXCHANGE] ?? 0) + 1);
  });
});

describe('dev server: /api/auth and protected resources', () => {
  const server = useDevServer();

  it('accepts basic auth with the demo password', async () => {
    const s = server();
    const res = await apiGet(s, '/api/auth', basic(s.user, s.password));
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ name: s.user });
    expect(Array.isArray(res.json?.authorities)).toBe(true);
  });

  it('rejects a wrong password, no credentials and a forged token with 401 + WWW-Authenticate', async () => {
    const s = server();
    const wrong = await apiGet(s, '/api/auth', basic(s.user, `${s.password}x`));
    expect(wrong.status).toBe(401);
    expect(wrong.headers.get('www-authenticate')).toMatch(/Basic/);

    const none = await apiGet(s, '/api/auth');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/Bearer/);

    const tokens = await exchangePat(await discover(s), s.pat);
    const [h, p] = tokens.access_token.split('.');
    const forged = await apiGet(s, '/api/auth', `Bearer ${h}.${p}.AAAA`);
    expect(forged.status).toBe(401);
    expect(forged.headers.get('www-authenticate')).toMatch(/invalid_token/);

    const garbage = await apiGet(s, '/api/auth', 'Bearer not-a-jwt');
    expect(garbage.status).toBe(401);
  });

  it('protects GET /api/v1/projects the same way', async () => {
    const s = server();
    expect((await apiGet(s, '/api/v1/projects')).status).toBe(401);
    const tokens = await exchangePat(await discover(s), s.pat);
    const ok = await apiGet(s, '/api/v1/projects', `Bearer ${tokens.access_token}`);
    expect(ok.status).toBe(200);
    expect(Array.isArray(ok.json?.content)).toBe(true);
  });
});

describe('dev server: access token TTL', () => {
  it('issues tokens with the configured TTL that /api/auth rejects after expiry', async () => {
    await withDevServer({ accessTokenTtl: 1 }, async (s) => {
      const tokens = await exchangePat(await discover(s), s.pat);
      expect(tokens.expires_in).toBe(1);
      const claims = jwtPayload(tokens.access_token);
      expect((claims.exp as number) - (claims.iat as number)).toBe(1);
      // exp has whole-second resolution: wait until the clock is past it.
      const expiresAtMs = (claims.exp as number) * 1000;
      await new Promise((r) => setTimeout(r, Math.max(0, expiresAtMs - Date.now()) + 50));
      const res = await apiGet(s, '/api/auth', `Bearer ${tokens.access_token}`);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toMatch(/expired/);
    });
  });
});

describe('dev server: binding', () => {
  it('refuses a non-loopback host unless allowed', async () => {
    const err = await startDevServer({ host: '0.0.0.0', port: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DHCoreError);
    expect((err as DHCoreError).code).toBe('dev_server_non_loopback');
    expect((err as DHCoreError).message).toMatch(/allowNonLoopback|--allow-non-loopback/);
  });

  it('with allowNonLoopback, skips the refusal and tries to bind', async () => {
    // 192.0.2.1 (TEST-NET-1) is not on this machine: the bind itself fails, so nothing is ever exposed,
    // but the error proves the loopback guard let it through.
    const err = await startDevServer({ host: '192.0.2.1', port: 0, allowNonLoopback: true }).catch(
      (e: unknown) => e,
    );
    expect(err).not.toBeInstanceOf(DHCoreError);
    expect((err as NodeJS.ErrnoException).code).toBe('EADDRNOTAVAIL');
  });

  it('treats 127.x, ::1 and localhost as loopback', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) {
      expect(isLoopbackHost(h)).toBe(true);
    }
    for (const h of ['0.0.0.0', '::', '192.168.1.10', 'example.org', '128.0.0.1']) {
      expect(isLoopbackHost(h)).toBe(false);
    }
  });

  it('gives every start its own keys and secrets', async () => {
    await withDevServer({}, async (a) => {
      await withDevServer({}, async (b) => {
        expect(a.pat).not.toBe(b.pat);
        const jwksA = await (await fetch(`${a.endpoint}/auth/jwks`)).json();
        const jwksB = await (await fetch(`${b.endpoint}/auth/jwks`)).json();
        expect(jwksA).not.toEqual(jwksB);
        // a token from one server is not accepted by the other
        const tokens = await exchangePat(await discover(a), a.pat);
        expect((await apiGet(b, '/api/auth', `Bearer ${tokens.access_token}`)).status).toBe(401);
      });
    });
  });
});
