/**
 * Python-SDK parity helpers: refreshToken, getCredentialsAndConfig, getCurrentProfile, setCurrentProfile —
 * against real files and the real dev server.
 */
import { lstatSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AuthError,
  ConfigError,
  createClient,
  getCredentialsAndConfig,
  getCurrentProfile,
  refreshToken,
  resolveConfig,
  setCurrentProfile,
} from '../src/index.js';
import { setCurrentProfileOverride } from '../src/profiles/current.js';
import { isolatedEnv, tempIni } from './client-helpers.js';
import { loginTokens, serverEnv, tokenProfile } from './helpers/auth.js';
import { useDevServer } from './helpers/dev-server.js';

let ini: ReturnType<typeof tempIni>;
afterEach(() => {
  ini?.cleanup();
  // setCurrentProfile() is process-wide by design; each test starts without a choice.
  setCurrentProfileOverride(undefined);
});

const FILE = `# shared with the Python SDK and dhcli
[DEFAULT]
current_environment = dev
; a comment that must survive

[dev]
dhcore_endpoint = https://dev.example.com
dhcore_user = alice
dhcore_password = SECRET-PW-dev-1234

[staging]
dhcore_endpoint = https://staging.example.com
# staging comment
dhcore_access_token = SECRET-AT-staging-5678
aws_access_key_id = AKIASTAGING
aws_secret_access_key = SECRET-AWS-staging-9999
`;

describe('getCurrentProfile', () => {
  it('follows DH_NAME > [DEFAULT] current_environment > __default', () => {
    ini = tempIni(FILE);
    expect(getCurrentProfile({ env: isolatedEnv(ini.dir), configFile: ini.file })).toBe('dev');
    expect(
      getCurrentProfile({ env: isolatedEnv(ini.dir, { DH_NAME: 'staging' }), configFile: ini.file }),
    ).toBe('staging');
    expect(getCurrentProfile({ env: isolatedEnv('/nonexistent-home') })).toBe('__default'); // no ~/.dhcore.ini
    expect(getCurrentProfile({ env: isolatedEnv(ini.dir, { DH_CONFIG: ini.file }) })).toBe('dev');
  });
});

describe('setCurrentProfile', () => {
  it('writes [DEFAULT] current_environment, keeps every other line, mode 0600', async () => {
    ini = tempIni(FILE);
    const env = isolatedEnv(ini.dir);
    await setCurrentProfile('staging', { env, configFile: ini.file });
    const text = readFileSync(ini.file, 'utf8');
    expect(text).toBe(FILE.replace('current_environment = dev', 'current_environment = staging'));
    expect(statSync(ini.file).mode & 0o777).toBe(0o600);
  });

  it('writes through a symlinked config file to its target (dotfile managers), keeping the link', async () => {
    ini = tempIni();
    const target = join(ini.dir, 'dotfiles-dhcore.ini');
    writeFileSync(target, FILE, { mode: 0o600 });
    symlinkSync(target, ini.file);
    await setCurrentProfile('staging', { env: isolatedEnv(ini.dir), configFile: ini.file });
    expect(lstatSync(ini.file).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe(
      FILE.replace('current_environment = dev', 'current_environment = staging'),
    );
  });

  it('later calls in the process use the new profile, even when DH_NAME names another one', async () => {
    ini = tempIni(FILE);
    const env = isolatedEnv(ini.dir, { DH_NAME: 'dev' });
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      await setCurrentProfile('staging', { env, configFile: ini.file });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(getCurrentProfile({ env, configFile: ini.file })).toBe('staging');
    expect(resolveConfig({ env, configFile: ini.file }).profile).toBe('staging');
    const client = await createClient({ env, configFile: ini.file });
    expect(client.profile).toBe('staging');
    expect(client.authMethod).toBe('access_token_only');
    expect((await getCredentialsAndConfig({ env, configFile: ini.file })).DHCORE_ENDPOINT).toBe(
      'https://staging.example.com',
    );
    // An explicit profile still wins.
    expect((await createClient({ env, configFile: ini.file, profile: 'dev' })).profile).toBe('dev');
    // Other processes started with DH_NAME=dev keep using dev: said once.
    expect(warnings.filter((w) => w.includes('DH_NAME=dev'))).toHaveLength(1);
  });

  it('refuses an unknown profile and leaves the file as it was', async () => {
    ini = tempIni(FILE);
    const env = isolatedEnv(ini.dir);
    const err = await setCurrentProfile('prod', { env, configFile: ini.file }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'config_unknown_profile' });
    expect((err as Error).message).toMatch(/known profiles: dev, staging/);
    expect((err as Error).message).toMatch(/create: true/);
    expect(readFileSync(ini.file, 'utf8')).toBe(FILE);
    expect(getCurrentProfile({ env, configFile: ini.file })).toBe('dev');
  });

  it('{ create: true } adds the section and makes it current; also creates a missing file', async () => {
    ini = tempIni(FILE);
    const env = isolatedEnv(ini.dir);
    await setCurrentProfile('prod', { env, configFile: ini.file, create: true });
    const text = readFileSync(ini.file, 'utf8');
    expect(text.startsWith(FILE.replace('current_environment = dev', 'current_environment = prod'))).toBe(
      true,
    );
    expect(text).toMatch(/\n\[prod\]\n?$/);
    expect(getCurrentProfile({ env, configFile: ini.file })).toBe('prod');

    const fresh = tempIni();
    try {
      await setCurrentProfile('first', { env: isolatedEnv(fresh.dir), configFile: fresh.file, create: true });
      expect(readFileSync(fresh.file, 'utf8')).toMatch(/\[first\]/);
      expect(readFileSync(fresh.file, 'utf8')).toMatch(/\[DEFAULT\]\ncurrent_environment = first/);
    } finally {
      fresh.cleanup();
    }
  });

  it('refuses names that cannot be a section', async () => {
    ini = tempIni(FILE);
    for (const bad of ['', 'a]b', 'x\ny', 'DEFAULT']) {
      await expect(
        setCurrentProfile(bad, { env: isolatedEnv(ini.dir), configFile: ini.file, create: true }),
      ).rejects.toMatchObject({ code: 'config_invalid_profile' });
    }
    expect(readFileSync(ini.file, 'utf8')).toBe(FILE);
  });
});

describe('getCredentialsAndConfig', () => {
  it('returns configuration and credentials under their environment names (extra keys kept)', async () => {
    ini = tempIni(FILE);
    const creds = await getCredentialsAndConfig({
      env: isolatedEnv(ini.dir, { DHCORE_ISSUER: 'https://issuer.example.com' }),
      configFile: ini.file,
      profile: 'staging',
    });
    expect(creds).toEqual({
      DHCORE_ENDPOINT: 'https://staging.example.com',
      DHCORE_ISSUER: 'https://issuer.example.com',
      DHCORE_ACCESS_TOKEN: 'SECRET-AT-staging-5678',
      AWS_ACCESS_KEY_ID: 'AKIASTAGING',
      AWS_SECRET_ACCESS_KEY: 'SECRET-AWS-staging-9999',
    });
    expect(Object.getPrototypeOf(creds)).toBe(Object.prototype);
  });
});

describe('with the dev server', () => {
  const server = useDevServer();

  it('getCredentialsAndConfig exchanges a PAT first: the access token works and store credentials come along', async () => {
    const s = server();
    ini = tempIni();
    const before = s.stats().tokenRequests;
    const creds = await getCredentialsAndConfig({
      env: isolatedEnv(ini.dir, serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat })),
      configFile: ini.file,
    });
    expect(s.stats().tokenRequests - before).toBe(1);
    expect(creds.DHCORE_ENDPOINT).toBe(s.endpoint);
    expect(creds.DHCORE_PERSONAL_ACCESS_TOKEN).toBe(s.pat);
    expect(creds.AWS_ACCESS_KEY_ID).toBe('DHCOREDEVACCESSKEY');
    expect(creds.DHCORE_EXPIRES_AT).toMatch(/^\d{4}-/);
    const res = await fetch(`${s.endpoint}/api/auth`, {
      headers: { authorization: `Bearer ${creds.DHCORE_ACCESS_TOKEN}` },
    });
    expect(res.status).toBe(200);
  });

  it('getCredentialsAndConfig takes timeoutMs like createClient: Infinity disables the limit', async () => {
    const s = server();
    ini = tempIni();
    const creds = await getCredentialsAndConfig({
      env: isolatedEnv(ini.dir, serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat })),
      configFile: ini.file,
      timeoutMs: Number.POSITIVE_INFINITY,
    });
    expect(creds.DHCORE_ACCESS_TOKEN).toBeTruthy();
  });

  it('refreshToken() asks the server once (refresh_token grant) and saves the rotated token', async () => {
    const s = server();
    const login = await loginTokens(s);
    ini = tempIni(tokenProfile(s, { ...login, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }));
    const before = s.stats().byGrant.refresh_token ?? 0;
    await refreshToken({ env: isolatedEnv(ini.dir), configFile: ini.file });
    expect((s.stats().byGrant.refresh_token ?? 0) - before).toBe(1);
    expect(readFileSync(ini.file, 'utf8')).not.toContain(login.refreshToken);
  });

  it('refreshToken() refuses methods without a refreshable token', async () => {
    ini = tempIni(FILE);
    const err = await refreshToken({ env: isolatedEnv(ini.dir), configFile: ini.file, profile: 'dev' }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ code: 'auth_not_refreshable' });
    expect((err as Error).message).not.toContain('SECRET');
  });
});
