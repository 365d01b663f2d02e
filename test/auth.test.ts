/**
 * The OAuth layer against a small misbehaving local server: exact DHCore parameters, discovery cache,
 * every token-endpoint failure (unreachable, slow, 5xx, HTML, malformed, refused) as a typed error with nothing written and old tokens kept, and the
 * invalid_grant fallback to the environment's refresh token / PAT.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openSession } from '../src/auth/session.js';
import { AuthError, ConfigError, DHCoreError, HttpError } from '../src/errors.js';
import { configFor, fakeTokenServer, sendJson, tempConfig, useFakeTokenServers } from './helpers/auth.js';

const RT_FILE = 'rt-file-0123456789abcdefghijklmnop';
const AT_OLD = 'at-old-0123456789abcdefghijklmnop';
const PAT = 'dhpat_test_0123456789abcdefghijklmnop';

const fixtures = useFakeTokenServers();
const fake = fixtures.fake;

const ok = (access: string, extra: Record<string, unknown> = {}) => ({
  access_token: access,
  token_type: 'Bearer',
  expires_in: 60,
  ...extra,
});

/** A profile whose access token expired, with a refresh token: the next accessToken() must refresh. */
function expiredOauth2Profile(endpoint: string): string {
  const text = `# my settings
[__default]
dhcore_endpoint = ${endpoint}
dhcore_client_id = cli
dhcore_access_token = ${AT_OLD}
dhcore_refresh_token = ${RT_FILE}
dhcore_expires_at = 2000-01-01T00:00:00Z
`;
  writeFileSync(fixtures.tmp().file, text, { mode: 0o600 });
  return text;
}

function form(body: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(body));
}

describe('token requests carry exactly DHCore parameters', () => {
  it('PAT exchange (RFC 8693) and refresh_token grant', async () => {
    const s = await fake((_req, res, body) => {
      const f = form(body);
      sendJson(res, 200, ok(f.grant_type === 'refresh_token' ? 'at-2' : 'at-1', { refresh_token: 'rt-2' }));
    });
    const env = { DHCORE_ENDPOINT: s.url, DHCORE_CLIENT_ID: 'cli', DHCORE_PERSONAL_ACCESS_TOKEN: PAT };
    const tm = await openSession({ config: configFor(fixtures.tmp().file, env), env });
    expect(await tm.accessToken()).toBe('at-1');
    const exchange = s.requests.filter((r) => r.path === '/token');
    expect(exchange).toHaveLength(1);
    expect(form(exchange[0]!.body)).toEqual({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      client_id: 'cli',
      subject_token: PAT,
      subject_token_type: 'urn:ietf:params:oauth:token-type:pat',
      scope: 'credentials',
    });

    expiredOauth2Profile(s.url);
    const tm2 = await openSession({
      config: configFor(fixtures.tmp().file, { DHCORE_ENDPOINT: s.url }),
      env: {},
    });
    expect(await tm2.accessToken()).toBe('at-2');
    const refresh = s.requests.filter((r) => r.path === '/token')[1]!;
    expect(form(refresh.body)).toEqual({
      grant_type: 'refresh_token',
      client_id: 'cli',
      refresh_token: RT_FILE,
      scope: 'credentials',
    });
    // Discovery happened once for this issuer (cached), even across managers.
    expect(s.requests.filter((r) => r.path === '/.well-known/openid-configuration')).toHaveLength(1);
  });

  it('oauth2_token_endpoint skips discovery; dhcore_issuer is used for discovery when set', async () => {
    const s = await fake((_req, res) => sendJson(res, 200, ok('at-x')));
    const env = {
      DHCORE_ENDPOINT: 'http://127.0.0.1:9', // never contacted
      DHCORE_CLIENT_ID: 'cli',
      DHCORE_PERSONAL_ACCESS_TOKEN: PAT,
      OAUTH2_TOKEN_ENDPOINT: `${s.url}/token`,
    };
    expect(
      await (await openSession({ config: configFor(fixtures.tmp().file, env), env })).accessToken(),
    ).toBe('at-x');
    expect(s.requests.map((r) => r.path)).toEqual(['/token']);

    const env2 = { ...env, OAUTH2_TOKEN_ENDPOINT: undefined, DHCORE_ISSUER: s.url };
    const t2 = tempConfig();
    writeFileSync(t2.file, '[__default]\n', { mode: 0o600 });
    try {
      expect(await (await openSession({ config: configFor(t2.file, env2), env: env2 })).accessToken()).toBe(
        'at-x',
      );
    } finally {
      t2.cleanup();
    }
    expect(s.requests.map((r) => r.path)).toEqual(['/token', '/.well-known/openid-configuration', '/token']);
  });

  it('refuses plain http to a non-loopback token endpoint when the endpoint is https', async () => {
    const env = {
      DHCORE_ENDPOINT: 'https://dhcore.example.com',
      DHCORE_CLIENT_ID: 'cli',
      DHCORE_PERSONAL_ACCESS_TOKEN: PAT,
      OAUTH2_TOKEN_ENDPOINT: 'http://auth.example.com/token',
    };
    const err = await (await openSession({ config: configFor(fixtures.tmp().file, env), env }))
      .accessToken()
      .catch((e) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('config_insecure_url');
  });
});

describe('failures: typed error, nothing written, old tokens kept', () => {
  type Case = { name: string; code: string; cls: typeof DHCoreError; setup: () => Promise<string> };
  const cases: Case[] = [
    {
      name: 'token endpoint down',
      code: 'network_unreachable',
      cls: DHCoreError,
      setup: async () => {
        const s = await fakeTokenServer(() => {});
        await s.close();
        return s.url;
      },
    },
    {
      name: 'token endpoint too slow (timeout)',
      code: 'network_timeout',
      cls: DHCoreError,
      setup: async () => (await fake(() => {})).url, // never answers /token
    },
    {
      name: 'HTTP 503',
      code: 'token_endpoint_error',
      cls: HttpError,
      setup: async () =>
        (await fake((_q, res) => sendJson(res, 503, { message: 'down for maintenance' }))).url,
    },
    {
      name: 'HTML instead of JSON',
      code: 'token_response_invalid',
      cls: HttpError,
      setup: async () =>
        (
          await fake((_q, res) => {
            res.setHeader('content-type', 'text/html');
            res.end('<html><body>Login portal</body></html>');
          })
        ).url,
    },
    {
      name: 'JSON without access_token',
      code: 'token_response_invalid',
      cls: HttpError,
      setup: async () =>
        (await fake((_q, res) => sendJson(res, 200, { token_type: 'Bearer', expires_in: 60 }))).url,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const url = await c.setup();
      const before = expiredOauth2Profile(url);
      const tm = await openSession({ config: configFor(fixtures.tmp().file, {}), env: {}, timeoutMs: 400 });
      const err = await tm.refresh().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(c.cls);
      expect((err as DHCoreError).code).toBe(c.code);
      expect((err as Error).message).not.toContain(RT_FILE);
      expect(inspect(err)).not.toContain(RT_FILE);
      expect(readFileSync(fixtures.tmp().file, 'utf8')).toBe(before);
      expect(tm.state()).toMatchObject({ hasAccessToken: true, hasRefreshToken: true });
    });
  }

  it('an expired token + failure: accessToken() rejects; a still-valid token inside the window is returned', async () => {
    const s = await fake((_q, res) => sendJson(res, 502, {}));
    const soon = new Date(Date.now() + 60_000).toISOString();
    writeFileSync(
      fixtures.tmp().file,
      `[__default]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = cli\ndhcore_access_token = ${AT_OLD}\ndhcore_refresh_token = ${RT_FILE}\ndhcore_expires_at = ${soon}\n`,
    );
    const tm = await openSession({ config: configFor(fixtures.tmp().file, {}), env: {} });
    // 60 s left < 300 s window → refresh ahead; it fails, the valid token is still returned.
    expect(await tm.accessToken()).toBe(AT_OLD);
    expect(s.requests.filter((r) => r.path === '/token')).toHaveLength(1);
  });
});

describe('invalid_grant fallback', () => {
  function grantServer(accepts: (f: Record<string, string>) => boolean) {
    return fake((_q, res, body) => {
      const f = form(body);
      if (accepts(f))
        sendJson(res, 200, ok(`at-for-${f.refresh_token ?? 'pat'}`, { refresh_token: 'rt-next' }));
      else sendJson(res, 400, { error: 'invalid_grant', error_description: 'grant request is invalid' });
    });
  }

  it("retries once with the environment's different refresh token", async () => {
    const s = await grantServer((f) => f.refresh_token === 'rt-env');
    expiredOauth2Profile(s.url);
    const env = { DHCORE_REFRESH_TOKEN: 'rt-env' };
    const tm = await openSession({ config: configFor(fixtures.tmp().file, env), env });
    expect(await tm.accessToken()).toBe('at-for-rt-env');
    const tried = s.requests.filter((r) => r.path === '/token').map((r) => form(r.body).refresh_token);
    expect(tried).toEqual([RT_FILE, 'rt-env']);
    expect(readFileSync(fixtures.tmp().file, 'utf8')).toContain('dhcore_refresh_token = rt-next');
  });

  it("falls back to the environment's PAT", async () => {
    const s = await grantServer((f) => f.grant_type?.endsWith('token-exchange') === true);
    expiredOauth2Profile(s.url);
    const env = { DHCORE_PERSONAL_ACCESS_TOKEN: PAT };
    // Resolved from the file alone (oauth2); the PAT is only in the environment the manager falls back to.
    const tm = await openSession({ config: configFor(fixtures.tmp().file, {}), env });
    expect(await tm.accessToken()).toBe('at-for-pat');
    const text = readFileSync(fixtures.tmp().file, 'utf8');
    expect(text).not.toContain(PAT); // the env PAT is never written
  });

  it("without a fallback: AuthError auth_invalid_grant that says to run 'dhcore login'", async () => {
    const s = await grantServer(() => false);
    const before = expiredOauth2Profile(s.url);
    const tm = await openSession({ config: configFor(fixtures.tmp().file, {}), env: {} });
    const err = await tm.accessToken().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ code: 'auth_invalid_grant', oauthError: 'invalid_grant' });
    expect((err as Error).message).toContain('dhcore login');
    expect(readFileSync(fixtures.tmp().file, 'utf8')).toBe(before);
  });

  it('a refused PAT from the environment: the message points at the variable, not at the profile', async () => {
    const s = await grantServer(() => false);
    writeFileSync(fixtures.tmp().file, '');
    const env = { DHCORE_ENDPOINT: s.url, DHCORE_CLIENT_ID: 'cli', DHCORE_PERSONAL_ACCESS_TOKEN: PAT };
    const tm = await openSession({ config: configFor(fixtures.tmp().file, env), env });
    const err = await tm.accessToken().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'auth_invalid_grant', oauthError: 'invalid_grant' });
    expect((err as Error).message).toContain('$DHCORE_PERSONAL_ACCESS_TOKEN was refused');
    expect((err as Error).message).not.toContain(PAT);
  });
});

describe('methods that cannot refresh say so', () => {
  it('access_token_only, basic, none', async () => {
    const base = { DHCORE_ENDPOINT: 'http://127.0.0.1:9' };
    const at = await openSession({
      config: configFor(fixtures.tmp().file, { ...base, DHCORE_ACCESS_TOKEN: AT_OLD }),
    });
    expect(at.authMethod).toBe('access_token_only');
    expect(await at.accessToken()).toBe(AT_OLD); // no expiry known: used as is
    await expect(at.refresh()).rejects.toMatchObject({ code: 'auth_not_refreshable' });
    await expect(at.refresh()).rejects.toThrow(/access_token_only cannot refresh/);

    const expired = await openSession({
      config: configFor(fixtures.tmp().file, {
        ...base,
        DHCORE_ACCESS_TOKEN: AT_OLD,
        DHCORE_EXPIRES_AT: '2000-01-01T00:00:00Z',
      }),
    });
    await expect(expired.accessToken()).rejects.toMatchObject({ code: 'auth_token_expired' });

    const basic = await openSession({
      config: configFor(fixtures.tmp().file, {
        ...base,
        DHCORE_USER: 'u',
        DHCORE_PASSWORD: 'secret-password',
      }),
    });
    expect(basic.authMethod).toBe('basic');
    await expect(basic.accessToken()).rejects.toThrow(/basic/);
    await expect(basic.refresh()).rejects.toBeInstanceOf(AuthError);

    const none = await openSession({ config: configFor(fixtures.tmp().file, base) });
    await expect(none.accessToken()).rejects.toMatchObject({ code: 'auth_no_token' });
  });

  it('never shows a secret through inspect or JSON', async () => {
    const tm = await openSession({
      config: configFor(fixtures.tmp().file, {
        DHCORE_ENDPOINT: 'http://127.0.0.1:9',
        DHCORE_ACCESS_TOKEN: AT_OLD,
        DHCORE_REFRESH_TOKEN: RT_FILE,
      }),
    });
    for (const text of [inspect(tm, { depth: 10, showHidden: true }), JSON.stringify(tm), String(tm)]) {
      expect(text).not.toContain(AT_OLD);
      expect(text).not.toContain(RT_FILE);
    }
  });
});

describe('URLs in error messages', () => {
  it('hide user info of the endpoint (https://user:pass@host)', async () => {
    const { exchangePat } = await import('../src/auth/grants.js');
    const url = 'https://user:sekret-password@127.0.0.1:9';
    const err = await exchangePat({ endpoint: url, issuer: url, clientId: 'c' }, PAT).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DHCoreError);
    expect((err as Error).message).toContain('https://***@127.0.0.1:9');
    expect((err as Error).message).not.toContain('sekret-password');
  });
});
