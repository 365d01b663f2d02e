/**
 * `dhcore credentials` (built CLI): the store credentials as JSON, export lines and AWS credential_process
 * JSON; only on stdout, nothing secret on stderr — also with --debug and DEBUG=dhcore*.
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import { savedValues, writePatProfile } from './helpers/s3.js';

const home = useTempHome();
const S3_NAMES = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIALS_EXPIRATION',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'S3_SIGNATURE_VERSION',
  'S3_PATH_STYLE',
  'S3_BUCKET',
];

describe('dhcore credentials against the dev server (--s3)', () => {
  const server = useDevServer({ s3: true, accessTokenTtl: 120, s3KeyTtl: 120 });
  const args = () => ['--config', home().configFile, '-e', 'dev', 'credentials'];

  it('--format json (default) prints the store values under the Python SDK names, and only them', async () => {
    writePatProfile(home().configFile, server());
    const res = await runCli(args(), { env: cleanEnv(home().home) });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as Record<string, string>;
    expect(Object.keys(out)).toEqual(S3_NAMES);
    const saved = savedValues(home().configFile);
    for (const name of S3_NAMES) expect(out[name]).toBe(saved[name.toLowerCase()]);
    expect(out.AWS_ENDPOINT_URL).toBe(server().s3!.endpoint);
  });

  it('--format aws-process prints the credential_process JSON', async () => {
    writePatProfile(home().configFile, server());
    const res = await runCli([...args(), '--format', 'aws-process'], { env: cleanEnv(home().home) });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout) as Record<string, unknown>;
    const saved = savedValues(home().configFile);
    expect(out).toEqual({
      Version: 1,
      AccessKeyId: saved.aws_access_key_id,
      SecretAccessKey: saved.aws_secret_access_key,
      SessionToken: saved.aws_session_token,
      Expiration: saved.aws_credentials_expiration,
    });
  });

  it('never puts a secret on stderr, with --debug and DEBUG=dhcore* either', async () => {
    writePatProfile(home().configFile, server());
    const res = await runCli(['--debug', ...args()], {
      env: cleanEnv(home().home, { DEBUG: 'dhcore*', DEBUG_COLORS: '0' }),
    });
    expect(res.code).toBe(0);
    // The debug output is there (the exchange was logged)…
    expect(res.stderr).toMatch(/exchanged access token/);
    // …and carries none of the secrets.
    const out = JSON.parse(res.stdout) as Record<string, string>;
    const saved = savedValues(home().configFile);
    const secrets = [
      out.AWS_ACCESS_KEY_ID!,
      out.AWS_SECRET_ACCESS_KEY!,
      out.AWS_SESSION_TOKEN!,
      saved.dhcore_access_token!,
      server().pat,
    ];
    for (const secret of secrets) expect(res.stderr).not.toContain(secret);
  });

  it('a refused PAT fails with exit 4 and one line that does not show it', async () => {
    writePatProfile(home().configFile, { ...server(), pat: 'dhpat_refused-SECRET-1234' });
    const res = await runCli(args(), { env: cleanEnv(home().home) });
    expect(res.code).toBe(4);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^dhcore: .*invalid_grant/);
    expect(res.stderr).not.toContain('SECRET-1234');
  });
});

describe('dhcore credentials from the profile (no server)', () => {
  const profile = (body: string) =>
    writeFileSync(home().configFile, `[p]\ndhcore_endpoint = https://dhcore.invalid\n${body}`, {
      mode: 0o600,
    });
  const run = (...extra: string[]) =>
    runCli(['--config', home().configFile, '-e', 'p', 'credentials', ...extra], {
      env: cleanEnv(home().home),
    });

  it('--format env lines survive eval exactly, quotes and dollars included', async () => {
    profile(
      "dhcore_access_token = t\naws_access_key_id = AK\naws_secret_access_key = it's $HOME `x`\ndb_username = app\ndb_password = a'b\"c\n",
    );
    const res = await run('--format', 'env');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.trimEnd().split('\n')).toEqual([
      "export AWS_ACCESS_KEY_ID='AK'",
      `export AWS_SECRET_ACCESS_KEY='it'\\''s $HOME \`x\`'`,
      "export DB_USERNAME='app'",
      `export DB_PASSWORD='a'\\''b"c'`,
    ]);
    const sh = spawnSync(
      'bash',
      ['-c', `${res.stdout}\nprintf '%s\\n' "$AWS_SECRET_ACCESS_KEY" "$DB_PASSWORD" "$DB_USERNAME"`],
      { encoding: 'utf8', env: { PATH: process.env.PATH, HOME: '/nowhere' } },
    );
    expect(sh.stdout).toBe("it's $HOME `x`\na'b\"c\napp\n");
  });

  it('aws-process without AWS_CREDENTIALS_EXPIRATION expires with the access token', async () => {
    profile(
      'dhcore_access_token = t\ndhcore_expires_at = 2031-05-06T07:08:09Z\naws_access_key_id = AK\naws_secret_access_key = SK\n',
    );
    const res = await run('--format', 'aws-process');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({
      Version: 1,
      AccessKeyId: 'AK',
      SecretAccessKey: 'SK',
      Expiration: '2031-05-06T07:08:09.000Z',
    });
  });

  it('a profile without store credentials: exit 3, one line naming the missing keys', async () => {
    profile('dhcore_access_token = t\n');
    const res = await run();
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^dhcore: Profile "p" has no store credentials: missing AWS_ACCESS_KEY_ID/);
    expect(res.stderr.trimEnd().split('\n')).toHaveLength(1);

    profile('dhcore_access_token = t\ndb_username = u\ndb_password = SECRET-PW-77\n');
    const aws = await run('--format', 'aws-process');
    expect(aws.code).toBe(3);
    expect(aws.stderr).toContain('missing AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY.');
    expect(aws.stderr).not.toContain('SECRET-PW-77');
  });

  it('dhcore status --json shows where store credentials come from, never their secret values', async () => {
    profile(
      'dhcore_access_token = SECRET-AT-1\naws_access_key_id = SECRET-AK-2\naws_secret_access_key = SECRET-SK-3\naws_credentials_expiration = 2031-01-01T00:00:00Z\n',
    );
    const res = await runCli(['--config', home().configFile, '-e', 'p', 'status', '--offline', '--json'], {
      env: cleanEnv(home().home, {
        AWS_SESSION_TOKEN: 'SECRET-ST-4',
        DB_PASSWORD: 'SECRET-DB-5',
        DB_HOST: 'h',
      }),
    });
    expect(res.code).toBe(0);
    const status = JSON.parse(res.stdout) as { sources: Record<string, string> };
    expect(status.sources).toMatchObject({
      aws_access_key_id: 'file',
      aws_session_token: 'env',
      db_password: 'env',
      db_host: 'env',
    });
    expect(res.stdout + res.stderr).not.toMatch(/SECRET-/);
  });

  it('rejects an unknown format as a usage error', async () => {
    profile('dhcore_access_token = t\n');
    const res = await run('--format', 'yaml');
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
  });
});
