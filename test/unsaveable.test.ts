/**
 * Never rotate what cannot be saved: with a read-only config file or folder, the CLI refuses before asking
 * the server (the saved refresh token stays valid), and login/logout fail with one configuration line.
 */
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openSession } from '../src/auth/session.js';
import { loginTokens } from './helpers/auth.js';
import { CLI, type CliResult, cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';

const server = useDevServer({ accessTokenTtl: 3600 });
const home = useTempHome();
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

async function oauth2Profile(): Promise<string> {
  const s = server();
  const t = await loginTokens(s);
  return `[DEFAULT]\ncurrent_environment = dev\n\n[dev]\ndhcore_endpoint = ${s.endpoint}\ndhcore_client_id = ${s.clientId}\ndhcore_refresh_token = ${t.refreshToken}\n`;
}

const requests = () => server().stats().tokenRequests;

/** Run the CLI as an unprivileged user (uid/gid nobody). */
function runAsNobody(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(
      'setpriv',
      [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, CLI, ...args],
      { env },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => {
      stdout += d;
    });
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('a read-only config file', () => {
  for (const command of ['refresh', 'token']) {
    it(`dhcore ${command}: exit 3 before any token request, one line naming file and mode; the session stays alive`, async () => {
      const file = home().configFile;
      const text = await oauth2Profile();
      writeFileSync(file, text);
      chmodSync(file, 0o400);
      const before = requests();
      const r = await runCli([command], { env: cleanEnv(home().home) });
      expect(r.code, r.stderr).toBe(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^dhcore: .*${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*0400`));
      expect(lines[0]).toMatch(/nothing was sent/i);
      expect(requests()).toBe(before);
      expect(readFileSync(file, 'utf8')).toBe(text);

      chmodSync(file, 0o600);
      const again = await runCli(['refresh'], { env: cleanEnv(home().home) });
      expect(again.code, again.stderr).toBe(0);
    });
  }

  it('logout and login --pat: exit 3 with exactly one line, nothing sent', async () => {
    const file = home().configFile;
    const text = `${await oauth2Profile()}dhcore_access_token = at-0123456789abcdefghij\n`;
    writeFileSync(file, text);
    chmodSync(file, 0o400);
    const before = requests();
    const logout = await runCli(['logout'], { env: cleanEnv(home().home) });
    const login = await runCli(['login', '--pat', '-'], { env: cleanEnv(home().home), input: server().pat });
    for (const r of [logout, login]) {
      expect(r.code, r.stderr).toBe(3);
      expect(r.stderr.trim().split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).not.toMatch(/kept in memory/);
    }
    expect(requests()).toBe(before);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });
});

describe('a long-lived library process', () => {
  it('goes on in memory, and warns once that the saved refresh token is now spent', async () => {
    const file = home().configFile;
    writeFileSync(file, await oauth2Profile());
    chmodSync(file, 0o400);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const session = await openSession({ configFile: file, env: { HOME: home().home } });
      const a = await session.refresh();
      const b = await session.refresh();
      expect(a).not.toBe(b);
      await new Promise((r) => setImmediate(r));
      const spent = warnings.filter((w) => /now spent/.test(w));
      expect(spent).toHaveLength(1);
      expect(spent[0]).toContain(file);
    } finally {
      process.off('warning', onWarning);
    }
  });
});

describe.skipIf(!asRoot)('a read-only folder (as an unprivileged user)', () => {
  it('dhcore refresh refuses before asking the server; the session stays alive', async (ctx) => {
    // The checkout may live in a folder only root can enter (e.g. a 0700 mktemp dir): then nobody cannot run it.
    const probe = await runAsNobody(['--version'], cleanEnv(home().home));
    if (probe.code !== 0) {
      console.log(
        `skipped: uid ${NOBODY} cannot run ${CLI} from this checkout (${probe.stderr.split('\n')[0]})`,
      );
      ctx.skip();
    }
    const dir = join(home().home, 'ro');
    mkdirSync(dir);
    const file = join(dir, 'config.ini');
    writeFileSync(file, await oauth2Profile(), { mode: 0o600 });
    chownSync(file, NOBODY, NOBODY);
    chownSync(home().home, NOBODY, NOBODY);
    chmodSync(dir, 0o555);
    const env = cleanEnv(home().home, { DH_CONFIG: file });
    const before = requests();
    const r = await runAsNobody(['refresh'], env);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/folder .* is not writable/);
    expect(requests()).toBe(before);
    chmodSync(dir, 0o755);
    chownSync(dir, NOBODY, NOBODY);
    const again = await runAsNobody(['refresh'], env);
    expect(again.code, again.stderr).toBe(0);
  });
});
