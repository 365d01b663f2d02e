/**
 * Other writers of the same file (the DigitalHub Python SDK, dhcli) take no lock and do not know our keys.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSession } from '../src/auth/session.js';
import { configFor, fakeJwt, sendJson, useFakeTokenServers } from './helpers/auth.js';
import { cleanEnv, runCli } from './helpers/cli.js';

const fixtures = useFakeTokenServers();
const fake = fixtures.fake;

const now = () => Math.floor(Date.now() / 1000);

describe('another tool refreshed the token', () => {
  it("without updating our expiry keys: the JWT's own exp wins (no needless refresh)", async () => {
    const s = await fake((_q, res) => sendJson(res, 500, {}));
    const issued = now(); // once: a second boundary between two now() calls would move the expected exp
    const jwt = fakeJwt({ iat: issued, exp: issued + 3600 });
    writeFileSync(
      fixtures.tmp().file,
      `[p]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = c\ndhcore_access_token = ${jwt}\ndhcore_refresh_token = rt-0123456789abcdefghij\ndhcore_expires_at = 2001-01-01T00:00:00Z\ndhcore_refresh_at = 2001-01-01T00:00:00Z\n`,
      { mode: 0o600 },
    );
    const session = await openSession({
      config: configFor(fixtures.tmp().file, {}, { profile: 'p' }),
      env: {},
    });
    expect(await session.accessToken()).toBe(jwt);
    expect(Date.parse(session.state().expiresAt!)).toBe((issued + 3600) * 1000);
    expect(s.requests.filter((r) => r.path === '/token')).toHaveLength(0);
  });

  it('while we were refreshing (invalid_grant): the token it saved is adopted instead of failing', async () => {
    const fresh = fakeJwt({ iat: now(), exp: now() + 3600 });
    const s = await fake((_q, res) => {
      // The other tool rotated the refresh token a moment ago and saved the new pair (no lock, no expiry keys).
      writeFileSync(
        fixtures.tmp().file,
        `[p]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = c\ndhcore_access_token = ${fresh}\ndhcore_refresh_token = rt-new-0123456789abcdefghij\n`,
      );
      sendJson(res, 400, { error: 'invalid_grant', error_description: 'grant request is invalid' });
    });
    writeFileSync(
      fixtures.tmp().file,
      `[p]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = c\ndhcore_access_token = old\ndhcore_refresh_token = rt-old-0123456789abcdefghij\ndhcore_expires_at = 2001-01-01T00:00:00Z\n`,
      { mode: 0o600 },
    );
    const session = await openSession({
      config: configFor(fixtures.tmp().file, {}, { profile: 'p' }),
      env: {},
    });
    expect(await session.accessToken()).toBe(fresh);
    expect(session.lastRefresh()).toMatchObject({ action: 'adopted' });
  });
});

describe('dhcore status warns about .env files holding secrets', () => {
  it('names the file and the keys, never a value', async () => {
    const home = fixtures.tmp().dir;
    writeFileSync(
      join(home, '.env'),
      'DHCORE_ENDPOINT=https://x\nDHCORE_REFRESH_TOKEN=secret-refresh-0123456789\nAWS_SECRET_ACCESS_KEY=aws-secret-0123456789\n',
      { mode: 0o644 },
    );
    writeFileSync(fixtures.tmp().file, '[p]\ndhcore_endpoint = https://dhcore.example.com\n', {
      mode: 0o600,
    });
    const r = await runCli(['status', '--offline', '-e', 'p'], { env: cleanEnv(home) });
    expect(r.code, r.stderr).toBe(0);
    const warning = r.stderr.split('\n').find((l) => l.includes('.env'));
    expect(warning).toMatch(/^dhcore: warning: .*\.env .*DHCORE_REFRESH_TOKEN.*AWS_SECRET_ACCESS_KEY/);
    expect(r.stderr + r.stdout).not.toContain('secret-refresh');
    expect(r.stderr + r.stdout).not.toContain('aws-secret');
  });
});

describe('adopting after invalid_grant', () => {
  it('never adopts the token this process holds or the one just rejected', async () => {
    const s = await fake((_q, res) => sendJson(res, 400, { error: 'invalid_grant' }));
    const held = fakeJwt({ iat: now(), exp: now() + 3600 });
    writeFileSync(
      fixtures.tmp().file,
      `[p]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = c\ndhcore_access_token = ${held}\n`,
      { mode: 0o600 },
    );
    const env = { DHCORE_REFRESH_TOKEN: 'rt-env-0123456789abcdefghij' };
    const session = await openSession({ config: configFor(fixtures.tmp().file, env, { profile: 'p' }), env });
    await expect(session.refresh()).rejects.toMatchObject({ code: 'auth_invalid_grant' });
  });
});
