/**
 * A running process must not undo what the user just did: after `logout`, `remove` or `register --force`
 * (another endpoint) in the middle of a long-lived refresher, nothing the refresher obtains is written back.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { IniDocument } from '../src/config/ini.js';
import { startDevServer } from '../src/dev-server/index.js';
import { loginTokens } from './helpers/auth.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import { spawnWorker } from './helpers/multiprocess.js';

const server = useDevServer({ accessTokenTtl: 2 });
const home = useTempHome();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const doc = () => IniDocument.parse(readFileSync(home().configFile, 'utf8'), home().configFile);

/** A profile [svc] with a fresh refresh-token family, and a service process refreshing it for `ms`. */
async function runningRefresher(ms: number) {
  const s = server();
  const t = await loginTokens(s);
  writeFileSync(
    home().configFile,
    `[DEFAULT]\ncurrent_environment = svc\n\n[svc]\ndhcore_endpoint = ${s.endpoint}\ndhcore_client_id = ${s.clientId}\ndhcore_refresh_token = ${t.refreshToken}\n`,
    { mode: 0o600 },
  );
  const env = cleanEnv(home().home, { DH_CONFIG: home().configFile, DH_NAME: 'svc' });
  const worker = spawnWorker(['access', String(ms)], env);
  // Let it refresh at least once (2 s tokens are refreshed after 1 s).
  await sleep(1500);
  return { env, worker };
}

describe('the user wins over a running process', () => {
  it('logout: the tokens do not come back', async () => {
    const { env, worker } = await runningRefresher(5000);
    expect(doc().get('svc', 'dhcore_access_token')).toBeDefined();
    const out = await runCli(['logout'], { env });
    expect(out.code, out.stderr).toBe(0);
    const { result } = await worker.done;
    expect(result?.errors).toEqual({});
    expect(result?.actions.refreshed).toBeGreaterThan(1); // it kept working, in memory
    const d = doc();
    expect(d.get('svc', 'dhcore_access_token')).toBeUndefined();
    expect(d.get('svc', 'dhcore_refresh_token')).toBeUndefined();
  });

  it('remove: the section does not reappear', async () => {
    const { env, worker } = await runningRefresher(5000);
    expect((await runCli(['remove', 'svc'], { env })).code).toBe(0);
    await worker.done;
    expect(doc().hasSection('svc')).toBe(false);
  });

  it("register --force to another endpoint: the new section gets none of the old server's tokens", async () => {
    const other = await startDevServer({ accessTokenTtl: 60 });
    try {
      const { env, worker } = await runningRefresher(5000);
      const reg = await runCli(['register', other.endpoint, '-e', 'svc', '--force'], { env });
      expect(reg.code, reg.stderr).toBe(0);
      await worker.done;
      const d = doc();
      expect(d.get('svc', 'dhcore_endpoint')).toBe(other.endpoint);
      expect(d.get('svc', 'dhcore_access_token')).toBeUndefined();
      expect(d.get('svc', 'dhcore_refresh_token')).toBeUndefined();
    } finally {
      await other.close();
    }
  });
});
