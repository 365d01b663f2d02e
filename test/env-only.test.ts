/**
 * A configuration that lives only in the environment never creates or edits the config file; its tokens go
 * to the per-credential token cache, so the next process reuses them and a rotated refresh token survives.
 */
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createClient } from '../src/index.js';
import { loginTokens } from './helpers/auth.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';

const server = useDevServer({ accessTokenTtl: 3600 });
const home = useTempHome();

const cacheDir = () => join(home().home, '.cache', 'dhcore');
const cacheFiles = () =>
  existsSync(cacheDir()) ? readdirSync(cacheDir()).filter((f) => f.endsWith('.ini')) : [];
const tokenRequests = () => server().stats().tokenRequests;

function patEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const s = server();
  return cleanEnv(home().home, {
    DHCORE_ENDPOINT: s.endpoint,
    DHCORE_CLIENT_ID: s.clientId,
    DHCORE_PERSONAL_ACCESS_TOKEN: s.pat,
    ...extra,
  });
}

/** An env-only profile standing on a fresh refresh-token family (and the token it was issued with). */
async function refreshEnv(
  extra: Record<string, string> = {},
): Promise<{ env: NodeJS.ProcessEnv; refreshToken: string }> {
  const s = server();
  const { refreshToken } = await loginTokens(s);
  const env = cleanEnv(home().home, {
    DHCORE_ENDPOINT: s.endpoint,
    DHCORE_CLIENT_ID: s.clientId,
    DHCORE_REFRESH_TOKEN: refreshToken,
    ...extra,
  });
  return { env, refreshToken };
}

describe('env-only configuration', () => {
  it('dhcore token: no config file; the next process reuses the cached token (0 token requests)', async () => {
    const before = tokenRequests();
    const first = await runCli(['token'], { env: patEnv() });
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(home().configFile)).toBe(false);
    expect(tokenRequests() - before).toBe(1);

    const files = cacheFiles();
    expect(files).toHaveLength(1);
    const file = join(cacheDir(), files[0]!);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(cacheDir()).mode & 0o777).toBe(0o700);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain(first.stdout.trim());
    expect(text).not.toContain(server().pat);
    expect(files[0]).not.toContain(server().pat);

    const second = await runCli(['token'], { env: patEnv() });
    expect(second.stdout).toBe(first.stdout);
    expect(tokenRequests() - before).toBe(1);

    const status = await runCli(['status', '--offline', '--json'], { env: patEnv() });
    expect(status.code, status.stderr).toBe(0);
    const list = await runCli(['list-env', '--json'], { env: patEnv() });
    expect(JSON.parse(list.stdout).environments).toEqual([]);
    expect(existsSync(home().configFile)).toBe(false);
  });

  it('an env refresh token used by two processes one after the other: rotated once each, never reused', async () => {
    const { env } = await refreshEnv();
    for (let i = 0; i < 3; i++) {
      const r = await runCli(['refresh', '--json'], { env });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ authMethod: 'oauth2', action: 'refreshed' });
    }
    const token = await runCli(['token'], { env });
    expect(token.code, token.stderr).toBe(0);
    expect(existsSync(home().configFile)).toBe(false);
    expect(cacheFiles()).toHaveLength(1);

    // A different env refresh token starts a fresh entry.
    const other = await loginTokens(server());
    const r = await runCli(['refresh'], { env: { ...env, DHCORE_REFRESH_TOKEN: other.refreshToken } });
    expect(r.code, r.stderr).toBe(0);
    expect(cacheFiles()).toHaveLength(2);
  });

  it('DHCORE_TOKEN_CACHE=off keeps tokens in memory: nothing written, the next process asks again', async () => {
    const before = tokenRequests();
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['token'], { env: patEnv({ DHCORE_TOKEN_CACHE: 'off' }) });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(tokenRequests() - before).toBe(2);
    expect(readdirSync(home().home)).toEqual([]);
  });

  it('XDG_CACHE_HOME is honoured; logout clears the matching entry', async () => {
    const xdg = join(home().home, 'xdg');
    const env = patEnv({ XDG_CACHE_HOME: xdg });
    expect((await runCli(['token'], { env })).code).toBe(0);
    expect(readdirSync(join(xdg, 'dhcore'))).toHaveLength(1);
    const out = await runCli(['logout', '--json'], { env });
    expect(out.code, out.stderr).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ removed: ['token cache'] });
    expect(readdirSync(join(xdg, 'dhcore'))).toHaveLength(0);
    expect(existsSync(home().configFile)).toBe(false);
  });

  it('createClient(): no config file either; a second client reuses the cached token', async () => {
    const before = tokenRequests();
    const env = { ...patEnv() };
    const a = await createClient({ env });
    const headers = await a.authHeaders();
    const b = await createClient({ env });
    expect(await b.authHeaders()).toEqual(headers);
    expect(tokenRequests() - before).toBe(1);
    expect(existsSync(home().configFile)).toBe(false);
    expect(cacheFiles()).toHaveLength(1);
  });
});

describe('env-only configuration, at the edges', () => {
  it('a rotating env refresh token with the cache off: the CLI refuses before asking the server', async () => {
    const { env } = await refreshEnv({ DHCORE_TOKEN_CACHE: 'off' });
    const before = tokenRequests();
    const r = await runCli(['refresh'], { env });
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/DHCORE_TOKEN_CACHE/);
    expect(tokenRequests()).toBe(before);
  });

  it('an unusable cache folder: tokens in memory with one warning, the command still works', async () => {
    const notADir = join(home().home, 'file');
    writeFileSync(notADir, 'x');
    const r = await runCli(['token'], { env: patEnv({ XDG_CACHE_HOME: notADir }) });
    expect(r.code, r.stderr).toBe(0);
    const warnings = r.stderr.trim().split('\n').filter(Boolean);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^dhcore: warning: Cannot create the token cache .* kept in memory/);
  });

  it('logout while a service refreshes: the cache entry is not written again', async () => {
    const { env } = await refreshEnv();
    // A service (2 s tokens would be refreshed every second; here: forced refreshes) and a logout between.
    const first = await runCli(['refresh'], { env });
    expect(first.code, first.stderr).toBe(0);
    expect(cacheFiles()).toHaveLength(1);
    const { openSession } = await import('../src/auth/session.js');
    const service = await openSession({ env });
    await service.refresh();
    expect((await runCli(['logout'], { env })).code).toBe(0);
    expect(cacheFiles()).toHaveLength(0);
    await service.refresh();
    expect(cacheFiles()).toHaveLength(0);
  });
});

describe('getCredentialsAndConfig() for an env-only profile', () => {
  it('hands out the rotated refresh token, not the spent one from the environment', async () => {
    const s = server();
    const { refreshToken } = await loginTokens(s);
    const env = {
      ...cleanEnv(home().home),
      DHCORE_ENDPOINT: s.endpoint,
      DHCORE_CLIENT_ID: s.clientId,
      DHCORE_REFRESH_TOKEN: refreshToken,
    };
    const { getCredentialsAndConfig, refreshToken: refreshNow } = await import('../src/index.js');
    await refreshNow({ env });
    const creds = await getCredentialsAndConfig({ env });
    expect(creds.DHCORE_REFRESH_TOKEN).toBeDefined();
    expect(creds.DHCORE_REFRESH_TOKEN).not.toBe(refreshToken);
    // It is the live one: the next process can rotate it.
    const next = await runCli(['refresh'], {
      env: cleanEnv(home().home, { ...env, DHCORE_REFRESH_TOKEN: creds.DHCORE_REFRESH_TOKEN }),
    });
    expect(next.code, next.stderr).toBe(0);
  });
});
