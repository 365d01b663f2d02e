import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { CLI } from './cli.js';

/**
 * A running `dhcore` process whose output can be awaited while it runs (for `login`, which prints a URL
 * and then waits for the browser).
 */
export interface LiveCli {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first match of `re` in stdout+stderr; rejects if the process exits first or after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal?: NodeJS.Signals): void;
}

export function startCli(args: string[], opts: { env: NodeJS.ProcessEnv; timeoutMs?: number }): LiveCli {
  const child = spawn(process.execPath, [CLI, ...args], { env: opts.env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of [...listeners]) l();
  };
  child.stdout.setEncoding('utf8').on('data', (d: string) => {
    out += d;
    notify();
  });
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    notify();
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(killer);
      notify();
      resolve({ code, signal });
    });
  });
  let done = false;
  void exited.then(() => {
    done = true;
    notify();
  });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
    waitFor(re, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = (out + err).match(re);
          if (m) {
            cleanup();
            resolve(m);
          } else if (done) {
            cleanup();
            reject(new Error(`dhcore exited before printing ${re}; stdout: ${out}\nstderr: ${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${re}; stdout: ${out}\nstderr: ${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
  };
}

/**
 * Starts `dhcore <args>`, hands it to `fn`, and afterwards — whatever happens — kills it (SIGKILL) and waits
 * for it to exit.
 */
export async function withCli<T>(
  args: string[],
  opts: { env: NodeJS.ProcessEnv; timeoutMs?: number },
  fn: (cli: LiveCli) => Promise<T>,
): Promise<T> {
  const cli = startCli(args, opts);
  try {
    return await fn(cli);
  } finally {
    cli.kill('SIGKILL');
    await cli.exited;
  }
}
