/**
 * Mutual exclusion on a config file, inside one process (a promise queue) and across processes
 * (`proper-lockfile`: an atomic `mkdir` of `<file>.lock`, its mtime refreshed while held).
 *
 * - The lock belongs to the file: it is taken on the file's real path (symlinks resolved; for a file that
 *   does not exist yet, its folder's), so every path naming the same file gives the same lock.
 * - The lock folder (mode 0700) holds an `owner` record (pid, host, pid namespace, process start time, its
 *   staleness bound, a random nonce), written before anyone can judge the lock.
 * - A holder whose process is gone on this host is taken over at once. A live holder that has gone silent
 *   (stopped, or its event loop blocked) is waited for `staleMs` — by default as long as one token request
 *   may take plus a margin, so a holder whose request is at the server is never overtaken; the holder's own
 *   bound counts when it is longer. Take-overs are serialized by a short-lived `<file>.lock.takeover`
 *   folder and re-checked under it, so two waiters never both remove a lock.
 * - A holder whose lock was taken over learns it (`lease.held()`, checked right before writing, and the
 *   library's compromise callback) so it writes nothing.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { DHCoreError } from '../errors.js';
import { DEFAULT_TIMEOUT_MS } from '../net/http.js';
import { keyedQueue } from './queue.js';

const fsp = fs.promises;

/** Beyond the request itself: the write that follows it, and clock skew between the processes. */
const STALE_MARGIN_MS = 15_000;
/** A lock folder without an owner record is being created right now, or its creator died doing so. */
const OWNERLESS_STALE_MS = 5000;
/** A take-over guard older than this was left by a waiter killed while taking over. */
const GUARD_STALE_MS = 2000;
const HEARTBEAT_MS = 1000;
const OWNER_FILE = 'owner';

export interface LockOptions {
  /**
   * How long a holder that is alive (or on another host) but silent is waited for before its lock is taken
   * over (ms; default: `requestTimeoutMs` + 15 s, min 2000). A holder whose pid is gone on this host is
   * taken over at once.
   */
  staleMs?: number;
  /** The longest one token request of the holder may take (ms, default 30 000); sets the default `staleMs`. */
  requestTimeoutMs?: number;
  /** Give up waiting after this long (ms, default: `staleMs` + 15 s, at least 60 000). */
  waitMs?: number;
  /** Told when the lock was lost while held (another process took it over after this one went silent). */
  onCompromised?: (err: Error) => void;
  /** Diagnostics: take-overs of abandoned locks. */
  logger?: (msg: string) => void;
}

/** What the function run under the lock can ask about it. */
export interface LockLease {
  /** The real path the lock was taken on (write there). */
  readonly path: string;
  /** Whether this process still holds the lock (false once another process took it over). */
  held(): Promise<boolean>;
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

/** The holder record kept in the lock folder. */
interface Owner {
  pid: number;
  host: string;
  /** Linux: the pid namespace (`pid:[…]`); pids of another namespace mean nothing here. */
  pidns?: string;
  /** Linux: the process start time (clock ticks after boot), to tell a reused pid from the holder. */
  start?: string;
  nonce: string;
  staleMs: number;
  since: number;
}

/** Run `fn` while holding the in-process queue for a file. */
const inProcess = keyedQueue();

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const isErrno = (err: unknown, ...codes: string[]) =>
  codes.includes((err as NodeJS.ErrnoException | undefined)?.code ?? '');

/**
 * The path that names `file` for locking: symlinks resolved; for a file that does not exist (yet), a
 * dangling symlink's target, else its resolved folder + its name.
 */
export async function canonicalPath(file: string, depth = 0): Promise<string> {
  const abs = resolve(file);
  try {
    return await fsp.realpath(abs);
  } catch (err) {
    if (!isErrno(err, 'ENOENT', 'ENOTDIR') || depth > 32) return abs;
  }
  const link = await fsp.readlink(abs).catch(() => undefined);
  if (link !== undefined) return canonicalPath(resolve(dirname(abs), link), depth + 1);
  const dir = dirname(abs);
  if (dir === abs) return abs;
  return join(await canonicalPath(dir, depth + 1), basename(abs));
}

/** Hold the lock on `file` (which may not exist yet) while `fn` runs. */
export async function withFileLock<T>(
  file: string,
  fn: (lease: LockLease) => Promise<T>,
  opts: LockOptions = {},
): Promise<T> {
  // Loaded on first use: commands and clients that never write should not pay for it at start-up.
  const { default: lockfile } = await import('proper-lockfile');
  await fsp.mkdir(dirname(resolve(file)), { recursive: true, mode: 0o700 }).catch(() => {});
  const path = await canonicalPath(file);
  return inProcess(path, async () => {
    const staleMs = Math.max(
      2000,
      opts.staleMs ?? (opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS) + STALE_MARGIN_MS,
    );
    const deadline = Date.now() + (opts.waitMs ?? Math.max(60_000, staleMs + STALE_MARGIN_MS));
    await fsp.mkdir(dirname(path), { recursive: true, mode: 0o700 }).catch(() => {});
    const lockDir = `${path}.lock`;
    const me: Owner = { ...processIdentity(), nonce: randomBytes(12).toString('hex'), staleMs, since: 0 };
    let compromised: Error | undefined;
    let finished = false;
    let release: (() => Promise<void>) | undefined;
    let delay = 5;
    for (;;) {
      me.since = Date.now();
      try {
        release = await lockfile.lock(path, {
          realpath: false,
          lockfilePath: lockDir,
          stale: staleMs,
          update: HEARTBEAT_MS,
          retries: 0,
          fs: lockFs(me),
          onCompromised: (err) => {
            if (finished) return; // the library's heartbeat racing our own release
            compromised = err;
            opts.onCompromised?.(err);
          },
        });
        break;
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // ENOTEMPTY/EEXIST: the library found the lock stale by its mtime but cannot remove a folder holding
        // an owner record (only a checked take-over may) — or another process's record was there first.
        if (code !== 'ELOCKED' && code !== 'ENOTEMPTY' && code !== 'EEXIST') {
          throw new LockUnavailableError(file, code);
        }
        const verdict = await judge(lockDir, staleMs);
        if (verdict?.abandoned && (await takeOver(lockDir, staleMs, verdict))) {
          opts.logger?.(`took over the lock on ${path}: ${verdict.why}`);
          delay = 5;
          continue;
        }
        if (Date.now() >= deadline) throw timeoutError(file, lockDir, verdict);
        await sleep(delay + Math.random() * delay);
        delay = Math.min(100, delay * 1.5);
      }
    }
    const lease: LockLease = {
      path,
      held: async () => compromised === undefined && (await readOwner(lockDir))?.nonce === me.nonce,
    };
    try {
      return await fn(lease);
    } finally {
      finished = true;
      await release().catch(() => {});
    }
  });
}

function timeoutError(file: string, lockDir: string, verdict: Verdict | undefined): DHCoreError {
  const holder = verdict?.owner
    ? `held by pid ${verdict.owner.pid} on ${verdict.owner.host}`
    : 'held by another dhcore process';
  return new DHCoreError(
    'store_lock_timeout',
    `Timed out waiting for the lock on ${file} (${holder}). If no such process runs, remove ${lockDir}.`,
  );
}

/**
 * The file system proper-lockfile uses for this lock: the folder is created 0700 whatever the umask and
 * gets its owner record before the library reports it held; removing it removes our own record first (a
 * folder holding someone else's record is never removed here: `rmdir` fails, see the take-over).
 */
function lockFs(me: Owner) {
  const ownerFile = (dir: string) => join(dir, OWNER_FILE);
  const isOurs = (dir: string) => {
    try {
      return (JSON.parse(fs.readFileSync(ownerFile(dir), 'utf8')) as Partial<Owner>).nonce === me.nonce;
    } catch {
      return false;
    }
  };
  return {
    ...fs,
    mkdir(dir: string, cb: (err: NodeJS.ErrnoException | null) => void) {
      fs.mkdir(dir, { mode: 0o700 }, (err) => {
        if (err) return cb(err);
        // 'wx': if a record is there already, the folder is someone else's (we were judged dead meanwhile).
        fs.writeFile(ownerFile(dir), JSON.stringify(me), { flag: 'wx', mode: 0o600 }, (err2) => {
          if (!err2 || isErrno(err2, 'EEXIST')) return cb(err2);
          fs.rmdir(dir, () => cb(err2));
        });
      });
    },
    rmdir(dir: string, cb: (err: NodeJS.ErrnoException | null) => void) {
      if (isOurs(dir)) fs.unlink(ownerFile(dir), () => fs.rmdir(dir, cb));
      else fs.rmdir(dir, cb);
    },
    // On process exit (the library's exit handler).
    rmdirSync(dir: string) {
      if (isOurs(dir)) fs.rmSync(ownerFile(dir), { force: true });
      fs.rmdirSync(dir);
    },
  };
}

async function readOwner(lockDir: string): Promise<Owner | undefined> {
  try {
    const o = JSON.parse(await fsp.readFile(join(lockDir, OWNER_FILE), 'utf8')) as Partial<Owner>;
    if (typeof o.pid !== 'number' || typeof o.host !== 'string' || typeof o.nonce !== 'string')
      return undefined;
    return o as Owner;
  } catch {
    return undefined;
  }
}

interface Verdict {
  abandoned: boolean;
  /** Identifies the lock instance judged (so a take-over removes that one and no newer one). */
  key: string;
  why: string;
  owner: Owner | undefined;
}

/** Whether the current lock on `lockDir` was abandoned (holder dead here, or silent past the bound). */
async function judge(lockDir: string, staleMs: number): Promise<Verdict | undefined> {
  let st: fs.Stats;
  try {
    st = await fsp.stat(lockDir);
  } catch {
    return undefined; // released meanwhile: just try again
  }
  const silentMs = Date.now() - st.mtimeMs;
  const owner = await readOwner(lockDir);
  if (!owner) {
    return {
      abandoned: silentMs > Math.min(staleMs, OWNERLESS_STALE_MS),
      key: `${st.ino}:${st.mtimeMs}`,
      why: `no holder recorded, silent for ${Math.round(silentMs)} ms`,
      owner,
    };
  }
  if (isDeadHere(owner)) {
    return { abandoned: true, key: owner.nonce, why: `its holder (pid ${owner.pid}) is gone`, owner };
  }
  const bound = Math.max(staleMs, Number.isFinite(owner.staleMs) ? owner.staleMs : 0);
  return {
    abandoned: silentMs > bound,
    key: owner.nonce,
    why: `its holder (pid ${owner.pid} on ${owner.host}) was silent for ${Math.round(silentMs)} ms (bound ${bound} ms)`,
    owner,
  };
}

/** Remove the abandoned lock judged by `verdict`, unless it changed; true when removed. */
async function takeOver(lockDir: string, staleMs: number, verdict: Verdict): Promise<boolean> {
  const guard = `${lockDir}.takeover`;
  try {
    await fsp.mkdir(guard, { mode: 0o700 });
  } catch (err) {
    if (isErrno(err, 'EEXIST')) {
      const st = await fsp.stat(guard).catch(() => undefined);
      if (st && Date.now() - st.mtimeMs > GUARD_STALE_MS) await fsp.rmdir(guard).catch(() => {});
    }
    return false;
  }
  try {
    const again = await judge(lockDir, staleMs);
    if (!again?.abandoned || again.key !== verdict.key) return false;
    await fsp.rm(join(lockDir, OWNER_FILE), { force: true });
    await fsp.rmdir(lockDir);
    return true;
  } catch {
    return false;
  } finally {
    await fsp.rmdir(guard).catch(() => {});
  }
}

let identity: Pick<Owner, 'pid' | 'host' | 'pidns' | 'start'> | undefined;

function processIdentity(): Pick<Owner, 'pid' | 'host' | 'pidns' | 'start'> {
  if (identity?.pid === process.pid) return identity;
  const { hostname } = process.getBuiltinModule('node:os');
  const pidns = readLink('/proc/self/ns/pid');
  const start = procStat(process.pid)?.start;
  identity = {
    pid: process.pid,
    host: hostname(),
    ...(pidns ? { pidns } : {}),
    ...(start ? { start } : {}),
  };
  return identity;
}

/** True only when the holder's process is certainly gone: same host, same pid namespace, pid not running. */
function isDeadHere(owner: Owner): boolean {
  const me = processIdentity();
  if (owner.host !== me.host) return false;
  if (owner.pidns && me.pidns && owner.pidns !== me.pidns) return false;
  if (!Number.isInteger(owner.pid) || owner.pid <= 0 || owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    return isErrno(err, 'ESRCH');
  }
  // Running, or a zombie not yet reaped by its parent, or another process that got the pid since.
  const stat = procStat(owner.pid);
  if (!stat) return false;
  if (stat.state === 'Z' || stat.state === 'X') return true;
  return owner.start !== undefined && owner.start !== stat.start;
}

/** Linux `/proc/<pid>/stat`: process state and start time; undefined elsewhere. */
function procStat(pid: number): { state: string; start: string } | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3, start 22.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const start = fields[19];
    return state && start ? { state, start } : undefined;
  } catch {
    return undefined;
  }
}

function readLink(path: string): string | undefined {
  try {
    return fs.readlinkSync(path);
  } catch {
    return undefined;
  }
}
