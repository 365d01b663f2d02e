/** Spawning the multi-process worker (bench/multiprocess-worker.mjs, on the built internals in build/) and collecting its result. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './cli.js';

export const WORKER = join(ROOT, 'bench/multiprocess-worker.mjs');

export interface WorkerResult {
  mode: string;
  ops: number;
  errors: Record<string, number>;
  actions: { refreshed: number; exchanged: number; adopted: number };
  tokens: string[];
}

export interface Worker {
  child: ChildProcess;
  /** Resolves on the first stdout line 'ready' (crash mode). */
  ready: Promise<void>;
  /** Exit code/signal and the parsed JSON result line, if any. */
  done: Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    result?: WorkerResult;
    stderr: string;
  }>;
}

export function spawnWorker(args: string[], env: NodeJS.ProcessEnv): Worker {
  const child = spawn(process.execPath, [WORKER, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  let markReady!: () => void;
  const ready = new Promise<void>((r) => {
    markReady = r;
  });
  child.stdout!.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
    if (stdout.includes('ready\n')) markReady();
  });
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const done = new Promise<Awaited<Worker['done']>>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      markReady();
      const line = stdout
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      resolve({ code, signal, stderr, ...(line ? { result: JSON.parse(line) as WorkerResult } : {}) });
    });
  });
  return { child, ready, done };
}
