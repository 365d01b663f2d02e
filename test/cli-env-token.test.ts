/** `dhcore token --format raw|json|env` and `dhcore logout` on a registered, logged-in environment. */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { beforeEach, describe, expect, it } from 'vitest';
import { runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import { apiAuthStatus, profileOf, registeredHome } from './helpers/login.js';

const server = useDevServer();
const home = useTempHome();
let env: NodeJS.ProcessEnv;

beforeEach(async () => {
  env = await registeredHome(server(), home());
  const login = await runCli(['login', '--pat', server().pat], { env });
  if (login.code !== 0) throw new Error(`login failed: ${login.stderr}`);
});

describe('dhcore token --format', () => {
  it('raw (the default): only the token and a newline', async () => {
    const res = await runCli(['token', '--format', 'raw'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/^\S+\n$/);
    expect(res.stdout.trim()).toBe(profileOf(home().configFile).dhcore_access_token);
    expect((await runCli(['token'], { env })).stdout).toBe(res.stdout);
  });

  it('json: token, expiry, profile, auth method (same as --json)', async () => {
    const res = await runCli(['token', '--format', 'json'], { env });
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ profile: 'dev', authMethod: 'exchange' });
    expect(out.accessToken).toBe(profileOf(home().configFile).dhcore_access_token);
    expect(Date.parse(out.expiresAt)).toBeGreaterThan(Date.now());
    expect(JSON.parse((await runCli(['token', '--json'], { env })).stdout)).toEqual(out);
  });

  it('env: export lines that a shell can eval into a working token', async () => {
    const res = await runCli(['token', '--format', 'env'], { env });
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines.map((l) => l.split('=')[0])).toEqual([
      'export DHCORE_ENDPOINT',
      'export DHCORE_ACCESS_TOKEN',
      'export DHCORE_EXPIRES_AT',
    ]);
    const script = `${res.stdout}\nprintf '%s\\n%s\\n' "$DHCORE_ENDPOINT" "$DHCORE_ACCESS_TOKEN"`;
    const [endpoint, token] = execFileSync('sh', ['-c', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH },
    })
      .trimEnd()
      .split('\n');
    expect(endpoint).toBe(server().endpoint);
    expect(await apiAuthStatus(server(), token)).toBe(200);
  });

  it('an unknown format is a usage error (exit 2) listing the choices', async () => {
    const res = await runCli(['token', '--format', 'yaml'], { env });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/raw, json, env/);
  });
});

describe('dhcore logout', () => {
  it('removes the saved tokens and PAT, keeps the environment; token then names the fix', async () => {
    const before = readFileSync(home().configFile, 'utf8');
    expect(before).toContain('dhcore_access_token');
    expect(before).toContain('aws_secret_access_key');
    // The user's own keys are theirs, even when they look like secrets.
    writeFileSync(
      home().configFile,
      before.replace('[dev]\n', '[dev]\ngithub_token = mine-0123456789\nmy_api_key = mine-abcdef\n'),
    );
    const res = await runCli(['logout'], { env });
    expect(res.code).toBe(0);
    const p = profileOf(home().configFile);
    expect(p.github_token).toBe('mine-0123456789');
    expect(p.my_api_key).toBe('mine-abcdef');
    expect(p.aws_secret_access_key).toBeUndefined();
    expect(p.dhcore_access_token).toBeUndefined();
    expect(p.dhcore_personal_access_token).toBeUndefined();
    expect(p.dhcore_endpoint).toBe(server().endpoint);
    expect(p.oauth2_token_endpoint).toBe(`${server().endpoint}/auth/token`);
    const list = await runCli(['list-env', '--json'], { env });
    expect(JSON.parse(list.stdout).environments[0]).toMatchObject({
      name: 'dev',
      current: true,
      authMethod: 'none',
    });
    const token = await runCli(['token'], { env });
    expect(token.code).not.toBe(0);
    expect(token.stdout).toBe('');
    expect(token.stderr.trim().split('\n')).toHaveLength(1);
    expect(token.stderr).toMatch(/dhcore login/);
  });
});
