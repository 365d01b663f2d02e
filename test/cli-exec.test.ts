/**
 * `dhcore exec -- <command>` (built CLI): a real child process gets a fresh token and the store credentials,
 * inherits stdio, passes its exit code through, receives forwarded signals, and does not get our PAT or
 * refresh token.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CLI, cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import { savedValues, writePatProfile } from './helpers/s3.js';

const home = useTempHome();
const PRINT_ENV = `
const pick = ['DHCORE_ENDPOINT', 'DHCORE_ACCESS_TOKEN', 'DHCORE_EXPIRES_AT', 'DHCORE_PERSONAL_ACCESS_TOKEN',
  'DHCORE_REFRESH_TOKEN', 'DHCORE_PASSWORD', 'DH_NAME', 'DH_CONFIG', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN', 'AWS_ENDPOINT_URL', 'S3_BUCKET', 'KEEP_ME'];
let input = '';
process.stdin.setEncoding('utf8').on('data', (d) => { input += d; }).on('end', () => {
  const env = Object.fromEntries(pick.filter((k) => k in process.env).map((k) => [k, process.env[k]]));
  process.stdout.write(JSON.stringify({ env, input }));
  process.stderr.write('child stderr\\n');
  process.exit(7);
});`;

describe('dhcore exec against the dev server (--s3)', () => {
  const server = useDevServer({ s3: true, accessTokenTtl: 300 });
  const base = () => ['--config', home().configFile, '-e', 'dev', 'exec'];
  const parentEnv = () =>
    cleanEnv(home().home, {
      DHCORE_PERSONAL_ACCESS_TOKEN: server().pat,
      DHCORE_REFRESH_TOKEN: 'parent-refresh-SECRET',
      DHCORE_PASSWORD: 'parent-password-SECRET',
      KEEP_ME: 'yes',
    });

  it("arguments after -- are the program's: our output stays plain, the program does not inherit our DEBUG", async () => {
    writePatProfile(home().configFile, server());
    const print = 'console.log(process.env.DEBUG ?? "unset")';
    const r = await runCli([...base(), '--', process.execPath, '-e', print, '--', '--json', '--debug'], {
      env: parentEnv(),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('unset');
    expect(r.stderr).not.toMatch(/dhcore:auth|"error"/);
  });

  it('the program sees a valid token and the store variables, stdio is inherited, its exit code is ours', async () => {
    writePatProfile(home().configFile, server());
    const res = await runCli([...base(), '--', process.execPath, '-e', PRINT_ENV], {
      env: parentEnv(),
      input: 'to the child',
    });
    expect(res.code).toBe(7);
    expect(res.stderr).toBe('child stderr\n');
    const { env, input } = JSON.parse(res.stdout) as { env: Record<string, string>; input: string };
    expect(input).toBe('to the child');
    const saved = savedValues(home().configFile);
    expect(env).toEqual({
      DHCORE_ENDPOINT: server().endpoint,
      DHCORE_ACCESS_TOKEN: saved.dhcore_access_token,
      DHCORE_EXPIRES_AT: saved.dhcore_expires_at,
      DH_NAME: 'dev',
      DH_CONFIG: home().configFile,
      AWS_ACCESS_KEY_ID: saved.aws_access_key_id,
      AWS_SECRET_ACCESS_KEY: saved.aws_secret_access_key,
      AWS_SESSION_TOKEN: saved.aws_session_token,
      AWS_ENDPOINT_URL: server().s3!.endpoint,
      S3_BUCKET: 'dhcore-dev',
      KEEP_ME: 'yes',
    });
    // Not a stale one: DHCore accepts it.
    const auth = await fetch(`${server().endpoint}/api/auth`, {
      headers: { authorization: `Bearer ${env.DHCORE_ACCESS_TOKEN}` },
    });
    expect(auth.status).toBe(200);
  });

  it('--pass-credentials passes our PAT, refresh token and password on', async () => {
    writePatProfile(home().configFile, server());
    const res = await runCli([...base(), '--pass-credentials', '--', process.execPath, '-e', PRINT_ENV], {
      env: parentEnv(),
    });
    expect(res.code).toBe(7);
    const { env } = JSON.parse(res.stdout) as { env: Record<string, string> };
    expect(env).toMatchObject({
      DHCORE_PERSONAL_ACCESS_TOKEN: server().pat,
      DHCORE_REFRESH_TOKEN: 'parent-refresh-SECRET',
      DHCORE_PASSWORD: 'parent-password-SECRET',
    });
  });

  it('forwards SIGTERM to the program and exits with the code it exits with', async () => {
    writePatProfile(home().configFile, server());
    const script = `process.on('SIGTERM', () => { process.stdout.write('got SIGTERM\\n'); process.exit(42); });
process.stdout.write('ready\\n'); setInterval(() => {}, 1000);`;
    const child = spawn(process.execPath, [CLI, ...base(), '--', process.execPath, '-e', script], {
      env: cleanEnv(home().home),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('ready\n')) resolve();
        });
        child.once('exit', () => reject(new Error('exited before the program was ready')));
      });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.once('exit', (code, signal) => resolve({ code, signal })),
      );
      child.kill('SIGTERM');
      expect(await exited).toEqual({ code: 42, signal: null });
      expect(out).toBe('ready\ngot SIGTERM\n');
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('a program killed by a signal: dhcore ends by the same signal', async () => {
    writePatProfile(home().configFile, server());
    const child = spawn(
      process.execPath,
      [CLI, ...base(), '--', process.execPath, '-e', "process.kill(process.pid, 'SIGKILL')"],
      { env: cleanEnv(home().home), stdio: 'ignore' },
    );
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
  });

  it('a command that does not exist: exit 127 and one line', async () => {
    writePatProfile(home().configFile, server());
    const res = await runCli([...base(), '--', 'dhcore-no-such-command-xyz'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(127);
    expect(res.stderr).toBe(
      "dhcore: cannot run 'dhcore-no-such-command-xyz': command not found (check the name and PATH)\n",
    );
  });
});

describe('dhcore exec without a token', () => {
  it('basic credentials have no token to give: exit 4 before running anything', async () => {
    const { writeFileSync } = await import('node:fs');
    writeFileSync(
      home().configFile,
      '[b]\ndhcore_endpoint = https://dhcore.invalid\ndhcore_user = u\ndhcore_password = SECRET-PW-9\n',
      { mode: 0o600 },
    );
    const res = await runCli(['--config', home().configFile, '-e', 'b', 'exec', '--', 'echo', 'ran'], {
      env: cleanEnv(home().home),
    });
    expect(res.code).toBe(4);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^dhcore: .*basic/);
    expect(res.stderr).not.toContain('SECRET-PW-9');
  });

  it('without -- before the program: usage error (exit 2), nothing run', async () => {
    const res = await runCli(['exec', 'node', '-e', 'console.log("ran")'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/^dhcore: Put -- before the program/);
  });

  it('the help says the values are a snapshot and points long jobs elsewhere', async () => {
    const res = await runCli(['exec', '--help'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/snapshot/);
    expect(res.stdout).toMatch(/credential_process/);
    expect(res.stdout).toMatch(/s3Config\(\)/);
  });
});
