/**
 * A configuration that lives only in the environment never creates or edits the config file; its tokens go
 * to the per-credential token cache, so the next process reuses them and a rotated refresh token survives.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
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
    const s = server();
    const { refreshToken } = await loginTokens(s);
    const env = cleanEnv(home().home, {
      DHCORE_ENDPOINT: s.endpoint,
      DHCORE_CLIENT_ID: s.clientId,
      DHCORE_REFRESH_TOKEN: refreshToken,
    });
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
    const other = await loginTokens(s);
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
