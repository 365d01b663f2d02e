import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach } from 'vitest';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The BUILT CLI (run `npm run build` first; `npm test` does). */
export const CLI = join(ROOT, 'dist/cli/main.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A throw-away HOME with `.dhcore.ini` inside, so tests never touch the developer's real file. */
export function tempHome(): { home: string; configFile: string; cleanup: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'dhcore-test-'));
  return {
    home,
    configFile: join(home, '.dhcore.ini'),
    cleanup: () => rmSync(home, { recursive: true, force: true }),
  };
}

/**
 * A fresh {@link tempHome} for every test of the enclosing scope (beforeEach), always removed afterwards
 * (afterEach).
 * @returns a getter for the current test's home.
 */
export function useTempHome(): () => ReturnType<typeof tempHome> {
  let home: ReturnType<typeof tempHome> | undefined;
  beforeEach(() => {
    home = tempHome();
  });
  afterEach(() => {
    home?.cleanup();
    home = undefined;
  });
  return () => {
    if (!home) throw new Error('temp HOME not created yet (use it inside a test)');
    return home;
  };
}

/**
 * An environment for a CLI run: only PATH plus what the test gives, so DHCORE_* variables of the
 * developer's shell never leak into a test.
 */
export function cleanEnv(home: string, extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: home, NO_COLOR: '1' };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Run `cmd <args…>` and collect its output (killed after `timeoutMs`, default 20 s). */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; cwd?: string; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      env: opts.env,
      ...(opts.cwd ? { cwd: opts.cwd } : {}),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
    // A program may exit without reading its input: that is not an error of the test.
    child.stdin.on('error', () => {});
    child.stdin.end(opts.input ?? '');
  });
}

/** Run `node <args…>` and collect its output (killed after `timeoutMs`, default 20 s). */
export function runNode(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  return runCommand(process.execPath, args, opts);
}

/** Run the built `dhcore` binary and collect its output. */
export function runCli(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; input?: string; timeoutMs?: number },
): Promise<CliResult> {
  return runNode([CLI, ...args], opts);
}
