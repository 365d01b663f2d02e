/** What the CLI prints: closed pipes are not crashes; --debug shows the flow on success, never a secret. */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';

const server = useDevServer();
const home = useTempHome();

const patEnv = () =>
  cleanEnv(home().home, {
    DHCORE_ENDPOINT: server().endpoint,
    DHCORE_CLIENT_ID: server().clientId,
    DHCORE_PERSONAL_ACCESS_TOKEN: server().pat,
  });

/** `dhcore <args> | true`: the reader has closed the pipe before dhcore writes. */
function intoClosedPipe(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr += d;
    });
    child.stdout.destroy();
    child.on('close', (code) => resolve({ code, stderr }));
  });
}

describe('closed pipes', () => {
  for (const args of [['token'], ['status', '--offline', '--json'], ['--help']]) {
    it(`dhcore ${args.join(' ')} | true: no stack, exit 0`, async () => {
      const r = await intoClosedPipe(args, patEnv());
      expect(r.stderr).not.toMatch(/EPIPE|Unhandled|at /);
      expect(r.code).toBe(0);
    });
  }
});

/** `dhcore <args> 2>&-`-like: the reader of stderr has gone away before dhcore reports a failure. */
function withClosedStderr(args: string[], env: NodeJS.ProcessEnv): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr.destroy();
    child.on('close', (code) => resolve(code));
  });
}

describe('a failure with nobody reading stderr', () => {
  it('still exits with its code (usage 2, configuration 3, auth 4), on both routes', async () => {
    const env = cleanEnv(home().home);
    expect(await withClosedStderr(['token', '--bogus'], env)).toBe(2);
    expect(await withClosedStderr(['list-env', '--bogus'], env)).toBe(2);
    expect(await withClosedStderr(['-e', 'nope', 'token'], env)).toBe(3);
    expect(await withClosedStderr(['status', '--offline', '-e', 'nope'], env)).toBe(3);
    const noCredentials = cleanEnv(home().home, { DHCORE_ENDPOINT: server().endpoint });
    expect(await withClosedStderr(['token'], noCredentials)).toBe(4);
  });
});

describe('--debug', () => {
  it('shows the flow of a successful command on stderr: sources, storage, the exchange, timings; no secret', async () => {
    const r = await runCli(['--debug', 'token'], { env: patEnv() });
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect(r.stderr).toMatch(/dhcore:auth .*dhcore_personal_access_token \(env\)/);
    expect(r.stderr).toMatch(/token cache/);
    expect(r.stderr).toMatch(/exchanged access token/);
    expect(r.stderr).toMatch(/\d+(\.\d+)? ms/);
    expect(r.stderr).not.toContain(server().pat);
    expect(r.stderr).not.toContain(token);
  });
});
