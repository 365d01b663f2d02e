/**
 * One route to a token: for each of the five auth methods, the CLI (`dhcore token`, `dhcore refresh`) and the
 * library (`authHeaders()`, `client.refresh()`, `refreshToken()`) fail — where they fail — with the same error
 * code, and the CLI's exit code is the one the error table gives that code. Plus where tokens are kept is
 * decided in one place: credentials passed in code keep their tokens in memory.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createClient, DHCoreError, ERROR_CODES, EXIT_CODES, refreshToken } from '../src/index.js';
import { loginTokens } from './helpers/auth.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';

const server = useDevServer();
const home = useTempHome();

type Method = 'exchange' | 'oauth2' | 'access_token_only' | 'basic' | 'none';

/** A profile file for `method` on the dev server (access_token_only: a token that has expired). */
async function profileFor(method: Method): Promise<string> {
  const s = server();
  const base = `[DEFAULT]\ncurrent_environment = p\n\n[p]\ndhcore_endpoint = ${s.endpoint}\ndhcore_client_id = ${s.clientId}\n`;
  switch (method) {
    case 'exchange':
      return `${base}dhcore_personal_access_token = ${s.pat}\n`;
    case 'oauth2': {
      const t = await loginTokens(s);
      return `${base}dhcore_refresh_token = ${t.refreshToken}\n`;
    }
    case 'access_token_only':
      return `${base}dhcore_access_token = stale-token-value-0123456789\ndhcore_expires_at = 2000-01-01T00:00:00Z\n`;
    case 'basic':
      return `${base}dhcore_user = ${s.user}\ndhcore_password = ${s.password}\n`;
    case 'none':
      return base;
  }
}

/** The error code a call failed with, or 'ok'. */
async function codeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return 'ok';
  } catch (err) {
    if (err instanceof DHCoreError) return err.code;
    throw err;
  }
}

/** The `--json` error code and the exit code of a CLI run. */
async function cliOutcome(args: readonly string[]): Promise<{ code: string; exit: number | null }> {
  const r = await runCli(['--json', ...args], { env: cleanEnv(home().home) });
  if (r.code === 0) return { code: 'ok', exit: 0 };
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  return { code: (JSON.parse(lines[0]!) as { error: { code: string } }).error.code, exit: r.code };
}

describe('one route to a token, for each auth method', () => {
  const expected: Record<Method, { token: string; refresh: string; headers: string }> = {
    exchange: { token: 'ok', refresh: 'ok', headers: 'ok' },
    oauth2: { token: 'ok', refresh: 'ok', headers: 'ok' },
    access_token_only: {
      token: 'auth_token_expired',
      refresh: 'auth_not_refreshable',
      headers: 'auth_token_expired',
    },
    basic: { token: 'auth_no_token', refresh: 'auth_not_refreshable', headers: 'ok' },
    none: { token: 'auth_no_token', refresh: 'auth_not_refreshable', headers: 'ok' },
  };

  for (const method of Object.keys(expected) as Method[]) {
    it(`${method}: CLI and library agree on every failure`, async () => {
      const file = home().configFile;
      writeFileSync(file, await profileFor(method), { mode: 0o600 });
      const opts = { configFile: file, env: { HOME: home().home } };
      const want = expected[method];

      const client = await createClient(opts);
      expect(client.authMethod).toBe(method);
      expect(await codeOf(() => client.authHeaders())).toBe(want.headers);
      expect(await codeOf(() => client.refresh())).toBe(want.refresh);
      expect(await codeOf(() => refreshToken(opts))).toBe(want.refresh);

      for (const [args, code] of [
        [['token'], want.token],
        [['refresh'], want.refresh],
      ] as const) {
        const outcome = await cliOutcome(args);
        expect(outcome.code, args.join(' ')).toBe(code);
        const exit = code === 'ok' ? 0 : EXIT_CODES[ERROR_CODES[code as keyof typeof ERROR_CODES].category];
        expect(outcome.exit, args.join(' ')).toBe(exit);
      }
    });
  }
});

describe('where tokens are kept is decided once', () => {
  it('a PAT passed in code (overrides) keeps its tokens in memory: the config file is not written', async () => {
    const s = server();
    const file = home().configFile;
    const text = `[p]\ndhcore_endpoint = ${s.endpoint}\ndhcore_client_id = ${s.clientId}\n`;
    writeFileSync(file, text, { mode: 0o600 });
    const client = await createClient({
      configFile: file,
      profile: 'p',
      env: { HOME: home().home },
      overrides: { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat },
    });
    expect(client.authMethod).toBe('exchange');
    expect((await client.authHeaders()).Authorization).toMatch(/^Bearer /);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});
