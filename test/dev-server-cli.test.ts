import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { discover, exchangePat } from './helpers/dev-server.js';

// Runs the BUILT binary: `npm run build` first (npm test does).
const CLI = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

interface Run {
  child: ChildProcess;
  firstLine: Promise<string>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stdout: () => string;
  stderr: () => string;
}

function run(args: string[]): Run {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl));
    });
    child.once('exit', () => reject(new Error(`exited before printing a line; stderr:\n${err}`)));
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  firstLine.catch(() => undefined);
  return { child, firstLine, exit, stdout: () => out, stderr: () => err };
}

// Runs the BUILT binary (`npm test` builds first); a missing build fails here rather than skipping.
describe('dhcore dev-server (built CLI)', () => {
  it('prints one JSON line when ready, serves, and exits 0 on SIGTERM', async () => {
    const r = run(['dev-server', '--port', '0', '--access-token-ttl', '120']);
    try {
      const info = JSON.parse(await r.firstLine) as Record<string, string>;
      expect(Object.keys(info).sort()).toEqual(['clientId', 'endpoint', 'issuer', 'password', 'pat', 'user']);
      expect(info.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.issuer).toBe(info.endpoint);

      const config = await discover({ issuer: info.issuer!, clientId: info.clientId! });
      const tokens = await exchangePat(config, info.pat!);
      expect(tokens.expires_in).toBe(120);
      const auth = await fetch(`${info.endpoint}/api/auth`, {
        headers: { authorization: `Bearer ${tokens.access_token}` },
      });
      expect(auth.status).toBe(200);

      r.child.kill('SIGTERM');
      const { code } = await r.exit;
      expect(code).toBe(0);
      // exactly one line on stdout; logs went to stderr
      expect(r.stdout().trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr()).toMatch(/SIGTERM/);
      expect(r.stderr()).not.toMatch(/oidc-provider (WARNING|NOTICE)/);
    } finally {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }
  });

  it('exits 0 on SIGINT too', async () => {
    const r = run(['dev-server', '--quiet']);
    try {
      JSON.parse(await r.firstLine);
      r.child.kill('SIGINT');
      expect((await r.exit).code).toBe(0);
    } finally {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }
  });

  it('refuses a non-loopback host with a one-line message naming the fix', async () => {
    const r = run(['dev-server', '--host', '0.0.0.0']);
    try {
      const { code } = await r.exit;
      expect(code).not.toBe(0);
      expect(r.stdout()).toBe('');
      expect(r.stderr()).toMatch(/--allow-non-loopback/);
    } finally {
      if (r.child.exitCode === null && r.child.signalCode === null) r.child.kill('SIGKILL');
    }
  });

  it('rejects a bad --port as a usage error', async () => {
    const r = run(['dev-server', '--port', 'abc']);
    const { code } = await r.exit;
    expect(code).toBe(2);
    expect(r.stderr()).toMatch(/port/);
  });
});
