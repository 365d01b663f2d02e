/**
 * Mutual exclusion on a config file, inside one process (a promise queue) and across processes
 * (`proper-lockfile`: an atomic `mkdir` of `<file>.lock`, its mtime refreshed while held).
 *
 * A lock left by a killed process is considered stale once its mtime is older than `staleMs`
 * (default 4 s) and is taken over, so a crash never blocks anyone for longer than that.
 */
import { promises as fsp } from 'node:fs';
import { dirname } from 'node:path';
import { DHCoreError } from '../errors.js';
import { keyedQueue } from './queue.js';

export interface LockOptions {
  /** A lock whose holder has not touched it for this long is stale (ms, default 4000, min 2000). */
  staleMs?: number;
  /** Give up waiting after this long (ms, default 60 000). */
  waitMs?: number;
  /** Told when the lock was lost while held (e.g. taken over after the event loop was blocked too long). */
  onCompromised?: (err: Error) => void;
}

/** Why a lock could not be taken at all: the folder is not writable (read-only file system, permissions). */
export class LockUnavailableError extends Error {
  readonly errno: string | undefined;
  constructor(file: string, errno: string | undefined) {
    super(`cannot create a lock beside ${file} (${errno ?? 'error'})`);
    this.name = 'LockUnavailableError';
    this.errno = errno;
  }
}

/** Run `fn` while holding the in-process queue for a file. */
const inProcess = keyedQueue();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Hold the lock on `file` (which may not exist yet) while `fn` runs. */
export async function withFileLock<T>(
  file: string,
  fn: () => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  // Loaded on first use: commands and clients that never write should not pay for it at start-up.
  const { default: lockfile } = await import('proper-lockfile');
  return inProcess(file, async () => {
    const staleMs = Math.max(2000, opts.staleMs ?? 4000);
    const deadline = Date.now() + (opts.waitMs ?? 60_000);
    await fsp.mkdir(dirname(file), { recursive: true, mode: 0o700 }).catch(() => {});
    let release: (() => Promise<void>) | undefined;
    let delay = 5;
    for (;;) {
      try {
        release = await lockfile.lock(file, {
          realpath: false,
          stale: staleMs,
          update: Math.floor(staleMs / 4),
          retries: 0,
          onCompromised: (err) => opts.onCompromised?.(err),
        });
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== 'ELOCKED') throw new LockUnavailableError(file, code);
        if (Date.now() >= deadline) {
          throw new DHCoreError(
            'store_lock_timeout',
            `Timed out waiting for the lock on ${file} (held by another dhcore process). If no such process runs, remove ${file}.lock.`,
          );
        }
        await sleep(delay + Math.random() * delay);
        delay = Math.min(100, delay * 1.5);
      }
    }
    try {
      return await fn();
    } finally {
      await release().catch(() => {});
    }
  });
}
