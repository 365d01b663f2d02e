/**
 * `dhcore status` without `--offline`: the BUILT CLI calls `<endpoint>/api/auth` of the real dev server and
 * reports who you are, whether DHCore accepts the credentials, and when the token expires — never a secret.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startRecorder } from './client-helpers.js';
import { basicEnv, serverEnv } from './helpers/auth.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';

const home = useTempHome();

describe('dhcore status (online)', () => {
  const server = useDevServer();

  it('--json: PAT exchanged, user from /api/auth, expiry of the new token, no secret', async () => {
    const s = server();
    const env = cleanEnv(home().home, serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat }));
    const res = await runCli(['status', '--json'], { env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout);
    expect(status).toMatchObject({
      profile: '__default',
      endpoint: s.endpoint,
      authMethod: 'exchange',
      reachable: true,
      authenticated: true,
      user: s.user,
      httpStatus: 200,
      error: null,
    });
    expect(status.authorities).toContain('ROLE_USER');
    expect(Date.parse(status.expiresAt)).toBeGreaterThan(Date.now());
    expect(res.stdout).not.toContain(s.pat);
    // An env-only profile: the exchanged token went to the token cache, not to a new config file.
    expect(existsSync(home().configFile)).toBe(false);
    const cache = join(home().home, '.cache', 'dhcore');
    const [entry] = readdirSync(cache);
    const saved = readFileSync(join(cache, entry!), 'utf8').match(/dhcore_access_token = (\S+)/)?.[1];
    expect(saved).toBeDefined();
    expect(res.stdout).not.toContain(saved);
  });

  it('human output names the user and the expiry', async () => {
    const s = server();
    const env = cleanEnv(home().home, basicEnv(s));
    const res = await runCli(['status'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/auth method\s+basic/);
    expect(res.stdout).toMatch(/authenticated\s+yes/);
    expect(res.stdout).toMatch(new RegExp(`user\\s+${s.user}`));
    expect(res.stdout).not.toContain(s.password);
  });

  it('refused credentials: authenticated false, exit 4, a hint, no secret', async () => {
    const s = server();
    writeFileSync(
      home().configFile,
      `[__default]\ndhcore_endpoint = ${s.endpoint}\ndhcore_user = ${s.user}\ndhcore_password = WRONG-SECRET-pw-4242\n`,
      { mode: 0o600 },
    );
    const res = await runCli(['status', '--json'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(4);
    const status = JSON.parse(res.stdout);
    expect(status).toMatchObject({ reachable: true, authenticated: false, httpStatus: 401, user: null });
    expect(status.error.message).toMatch(/dhcore login/);
    expect(res.stdout + res.stderr).not.toContain('WRONG-SECRET-pw-4242');
  });

  it('a refused PAT (invalid_grant at the token endpoint): authenticated false, exit 4', async () => {
    const s = server();
    const env = cleanEnv(
      home().home,
      serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: 'dhpat_NOT-A-VALID-PAT-0000' }),
    );
    const res = await runCli(['status', '--json'], { env });
    expect(res.code).toBe(4);
    const status = JSON.parse(res.stdout);
    expect(status).toMatchObject({ authenticated: false });
    expect(status.error.code).toMatch(/^auth_/);
    expect(res.stdout).not.toContain('NOT-A-VALID-PAT');
  });

  it('--offline does not contact DHCore', async () => {
    const s = server();
    const before = s.stats().tokenRequests;
    const env = cleanEnv(home().home, serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat }));
    const res = await runCli(['status', '--offline', '--json'], { env });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).authenticated).toBeUndefined();
    expect(s.stats().tokenRequests).toBe(before);
  });
});

it('an unreachable endpoint: reachable false, authenticated unknown, exit 5', async () => {
  const dead = await startRecorder();
  const origin = dead.origin;
  await dead.close();
  const env = cleanEnv(home().home, { DHCORE_ENDPOINT: origin, DHCORE_ACCESS_TOKEN: 'SECRET-AT-unreach-1' });
  const res = await runCli(['status', '--json'], { env });
  expect(res.code).toBe(5);
  const status = JSON.parse(res.stdout);
  expect(status).toMatchObject({
    reachable: false,
    authenticated: null,
    error: { code: 'network_unreachable' },
  });
  expect(res.stdout).not.toContain('SECRET-AT-unreach-1');
});
