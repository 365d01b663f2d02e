import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanEnv, ROOT, runCli, useTempHome } from './helpers/cli.js';

const home = useTempHome();

const SECRETS = [
  'SECRET-PAT-c0ffee01',
  'SECRET-ACCESS-c0ffee02',
  'SECRET-PW-c0ffee03',
  'SECRET-AWS-c0ffee04',
];

describe('dhcore status --offline', () => {
  it('--json prints the resolution with sources and expiry, and no secret', async () => {
    writeFileSync(
      home().configFile,
      `[DEFAULT]
current_environment = staging

[staging]
dhcore_endpoint = https://staging.example/
dhcore_access_token = ${SECRETS[1]}
dhcore_refresh_token = ${SECRETS[1]}-r
dhcore_expires_at = 2030-01-01T00:00:00Z
aws_secret_access_key = ${SECRETS[3]}
`,
      { mode: 0o600 },
    );
    const env = cleanEnv(home().home, {
      DHCORE_PASSWORD: SECRETS[2],
      DHCORE_ISSUER: 'https://issuer.example',
    });
    const res = await runCli(['status', '--offline', '--json'], { env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout);
    expect(status).toMatchObject({
      profile: 'staging',
      configFile: home().configFile,
      endpoint: 'https://staging.example',
      issuer: 'https://issuer.example',
      authMethod: 'oauth2',
      expiresAt: '2030-01-01T00:00:00Z',
    });
    expect(status.sources).toMatchObject({
      dhcore_endpoint: 'file',
      dhcore_issuer: 'env',
      dhcore_access_token: 'file',
      dhcore_password: 'env',
    });
    for (const secret of SECRETS) expect(res.stdout).not.toContain(secret);
  });

  it('refuses an endpoint that carries a password as user info, without printing it', async () => {
    writeFileSync(home().configFile, `[x]\ndhcore_endpoint = https://bob:${SECRETS[2]}@staging.example\n`);
    const env = cleanEnv(home().home);
    for (const args of [
      ['-e', 'x', 'status', '--offline', '--json'],
      ['-e', 'x', 'status', '--offline'],
    ]) {
      const res = await runCli(args, { env });
      expect(res.code).toBe(3);
      expect(res.stderr).toContain('https://***@staging.example');
      expect(res.stderr).toContain('DHCORE_PASSWORD');
      expect(res.stdout + res.stderr).not.toContain(SECRETS[2]);
    }
  });

  it('human output is an aligned table without secrets; -e and --config pick profile and file', async () => {
    const other = `${home().home}/elsewhere.ini`;
    writeFileSync(
      other,
      `[prod]\ndhcore_endpoint = https://prod.example\ndhcore_personal_access_token = ${SECRETS[0]}\n`,
    );
    const res = await runCli(['--config', other, '-e', 'prod', 'status', '--offline'], {
      env: cleanEnv(home().home),
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^profile\s{2,}prod$/m);
    expect(res.stdout).toMatch(/^endpoint\s{2,}https:\/\/prod\.example$/m);
    expect(res.stdout).toMatch(/^auth method\s{2,}exchange$/m);
    for (const secret of SECRETS) expect(res.stdout + res.stderr).not.toContain(secret);
  });

  it('errors exit non-zero with one line on stderr naming the fix', async () => {
    const missing = await runCli(['status', '--offline'], { env: cleanEnv(home().home) });
    expect(missing.code).toBe(3);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^dhcore: No DHCore endpoint .*dhcore register/);

    writeFileSync(home().configFile, `[a]\ndhcore_endpoint = https://a.example\n[a]\n`);
    const dup = await runCli(['status', '--offline'], { env: cleanEnv(home().home, { DH_NAME: 'a' }) });
    expect(dup.code).toBe(3);
    expect(dup.stderr.trim().split('\n')).toHaveLength(1);
    expect(dup.stderr).toContain('line 3');

    const badScheme = await runCli(['status', '--offline'], {
      env: cleanEnv(home().home, {
        DHCORE_ENDPOINT: 'dhcore.example.com',
        DH_CONFIG: `${home().home}/none.ini`,
      }),
    });
    expect(badScheme.code).toBe(3);
    expect(badScheme.stderr).toContain('DHCORE_ENDPOINT from the environment');
  });

  it('a quoted endpoint is unwrapped with one plain warning line', async () => {
    writeFileSync(home().configFile, '[__default]\ndhcore_endpoint = `https://docs.example`\n');
    const res = await runCli(['status', '--offline', '--json'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).endpoint).toBe('https://docs.example');
    expect(res.stderr).toMatch(/^dhcore: warning: dhcore_endpoint .*quotes or backticks/);
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
  });
});

describe('dhcore --version', () => {
  it('prints the package version and exits 0', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const res = await runCli(['--version'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe(version);
  });
});

describe('dhcore status --offline, human output', () => {
  it('lists which credentials are set and where from, and only counts the other keys', async () => {
    writeFileSync(
      home().configFile,
      `[p]\ndhcore_endpoint = https://p.example\ndhcore_access_token = ${SECRETS[1]}\naws_access_key_id = AKIAX\naws_secret_access_key = ${SECRETS[3]}\n`,
    );
    const res = await runCli(['-e', 'p', 'status', '--offline'], {
      env: cleanEnv(home().home, { DHCORE_REFRESH_TOKEN: 'SECRET-REFRESH-c0ffee05' }),
    });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(
      /^credentials\s{2,}access_token \(file\), refresh_token \(env\); 2 other keys \(--json lists them\)$/m,
    );
    expect(res.stdout).not.toContain('SECRET-');
  });
});
