/**
 * `dhcore login --pat`, `token`, `refresh`, `logout` — the BUILT binary in a temp HOME against the dev
 * server; reuse across real processes is counted server-side.
 */
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { basicEnv, serverEnv } from './helpers/auth.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { apiGet, useDevServer } from './helpers/dev-server.js';

const server = useDevServer();
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

const home = useTempHome();

const exchanges = () => server().stats().byGrant[EXCHANGE] ?? 0;

describe('dhcore login --pat → token → refresh → logout', () => {
  it('saves PAT, tokens and configuration; the profile then works on its own', async () => {
    const s = server();
    const loginEnv = cleanEnv(home().home, serverEnv(s));
    const login = await runCli(['login', '--pat', '-'], { env: loginEnv, input: s.pat });
    expect(login.stderr).toBe('');
    expect(login.code).toBe(0);
    expect(login.stdout).not.toContain(s.pat);
    expect(statSync(home().configFile).mode & 0o777).toBe(0o600);
    const text = readFileSync(home().configFile, 'utf8');
    expect(text).toContain(`dhcore_personal_access_token = ${s.pat}`);
    expect(text).toContain(`dhcore_endpoint = ${s.endpoint}`);
    expect(text).toContain(`dhcore_client_id = ${s.clientId}`);
    expect(text).toMatch(/dhcore_access_token = \S+/);

    // Only HOME now: everything comes from the profile. The saved token is reused (no exchange).
    const bare = cleanEnv(home().home);
    const before = exchanges();
    const token = await runCli(['token'], { env: bare });
    expect(token.code).toBe(0);
    expect(token.stderr).toBe('');
    expect(token.stdout).toMatch(/^\S+\n$/); // the token and nothing else
    expect((await apiGet(s, '/api/auth', `Bearer ${token.stdout.trim()}`)).status).toBe(200);
    const json = await runCli(['token', '--json'], { env: bare });
    const parsed = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(Object.keys(parsed).sort()).toEqual(['accessToken', 'authMethod', 'expiresAt', 'profile']);
    expect(parsed).toMatchObject({
      accessToken: token.stdout.trim(),
      profile: '__default',
      authMethod: 'exchange',
    });
    expect(exchanges()).toBe(before);

    // refresh forces a new exchange, prints no secret.
    const refresh = await runCli(['refresh', '--json'], { env: bare });
    expect(refresh.code).toBe(0);
    expect(exchanges()).toBe(before + 1);
    const summary = JSON.parse(refresh.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      profile: '__default',
      authMethod: 'exchange',
      action: 'exchanged',
      saved: true,
    });
    const after = readFileSync(home().configFile, 'utf8');
    for (const secret of [s.pat, token.stdout.trim(), /dhcore_access_token = (\S+)/.exec(after)![1]!]) {
      expect(refresh.stdout).not.toContain(secret);
    }
    const human = await runCli(['refresh'], { env: bare });
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('saved to');
    expect(human.stdout).not.toContain(s.pat);

    // logout keeps everything else.
    writeFileSync(home().configFile, `# keep me\n${readFileSync(home().configFile, 'utf8')}[other]\nx = 1\n`);
    const out = await runCli(['logout', '--json'], { env: bare });
    expect(out.code).toBe(0);
    expect((JSON.parse(out.stdout) as { removed: string[] }).removed).toContain(
      'dhcore_personal_access_token',
    );
    const left = readFileSync(home().configFile, 'utf8');
    expect(left).not.toContain(s.pat);
    expect(left).not.toMatch(/dhcore_(access_token|expires_at|refresh_at|pat_sha256)/);
    expect(left).toContain('# keep me');
    expect(left).toContain(`dhcore_endpoint = ${s.endpoint}`);
    // Store credentials issued with the session go; non-secret keys stay.
    expect(left).not.toMatch(/aws_(access_key_id|secret_access_key|session_token)/);
    expect(left).toContain('aws_endpoint_url');
    expect(left).toContain('[other]\nx = 1\n');
    const again = await runCli(['token'], { env: bare });
    expect(again.code).toBe(4); // no credentials any more
    expect(again.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('reads the PAT from stdin or $DHCORE_PERSONAL_ACCESS_TOKEN; logout --keep-pat keeps it', async () => {
    const s = server();
    const env = cleanEnv(home().home, serverEnv(s));
    expect((await runCli(['login', '--pat', '-', '-e', 'dev'], { env, input: `${s.pat}\n` })).code).toBe(0);
    expect(readFileSync(home().configFile, 'utf8')).toContain(`[dev]`);
    expect((await runCli(['logout', '-e', 'dev', '--keep-pat'], { env })).code).toBe(0);
    const text = readFileSync(home().configFile, 'utf8');
    expect(text).toContain(`dhcore_personal_access_token = ${s.pat}`);
    expect(text).not.toContain('dhcore_access_token');
    // Env PAT, default profile.
    const viaEnv = await runCli(['login'], { env: { ...env, DHCORE_PERSONAL_ACCESS_TOKEN: s.pat } });
    expect(viaEnv.code).toBe(0);
  });

  it('a refused PAT: exit 4, one line naming the fix, nothing written', async () => {
    const s = server();
    const env = cleanEnv(home().home, serverEnv(s));
    const bad = 'dhpat_not-a-valid-token-0123456789';
    const res = await runCli(['login', '--pat', bad], { env });
    expect(res.code).toBe(4);
    expect(res.stderr).toContain('dhcore login');
    expect(res.stderr).not.toContain(bad);
    expect(() => statSync(home().configFile)).toThrow();
  });

  it('token with basic credentials / refresh with an access token only: exit 4 with a clear reason', async () => {
    const s = server();
    const basic = cleanEnv(home().home, basicEnv(s));
    const t = await runCli(['token'], { env: basic });
    expect(t.code).toBe(4);
    expect(t.stderr).toMatch(/basic/);
    expect(t.stderr).not.toContain(s.password);
    const only = cleanEnv(home().home, {
      DHCORE_ENDPOINT: s.endpoint,
      DHCORE_ACCESS_TOKEN: 'at-0123456789abcdef',
    });
    const r = await runCli(['refresh'], { env: only });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('access_token_only cannot refresh');
  });
});
