/**
 * The config file's cross-process lock with real processes and the dev server (rotating refresh tokens with
 * reuse detection: one replayed refresh token revokes the session):
 * - it belongs to the file, not to the path naming it (half the processes go through a symlink);
 * - a holder stopped (SIGSTOP) while its token request is at the server is waited for, not taken over;
 * - a holder that died (SIGKILL) is taken over at once, not after a staleness timeout.
 * Needs the built dist (npm test builds first).
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSession } from '../src/auth/session.js';
import { IniDocument } from '../src/config/ini.js';
import type { DevServer } from '../src/dev-server/index.js';
import { withFileLock } from '../src/store/lock.js';
import { configFor, loginTokens, tempConfig } from './helpers/auth.js';
import { useDevServer } from './helpers/dev-server.js';
import { spawnWorker, type WorkerResult } from './helpers/multiprocess.js';

/** Called with each request line the dev server logs (`POST /auth/token 200 3ms`), before it answers. */
let onServerLine: ((line: string) => void) | undefined;
const server = useDevServer({ accessTokenTtl: 2, logger: (line) => onServerLine?.(line) });

let tmp: ReturnType<typeof tempConfig>;
/** The real config file; `tmp.file` (~/.dhcore.ini) is a symlink to it. */
let real: string;
beforeEach(() => {
  tmp = tempConfig();
  mkdirSync(join(tmp.dir, 'dotfiles'));
  real = join(tmp.dir, 'dotfiles', 'dhcore.ini');
});
afterEach(() => {
  onServerLine = undefined;
  tmp.cleanup();
});

const HEADER = '# shared\n[other]\ndhcore_endpoint = https://other.example.com\n\n';

async function sharedProfile(s: DevServer): Promise<void> {
  const login = await loginTokens(s);
  writeFileSync(
    real,
    `${HEADER}[shared]\ndhcore_endpoint = ${s.endpoint}\ndhcore_client_id = ${s.clientId}\ndhcore_refresh_token = ${login.refreshToken}\n`,
    { mode: 0o600 },
  );
  symlinkSync(real, tmp.file);
}

const envFor = (file: string): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: tmp.dir,
  DH_CONFIG: file,
  DH_NAME: 'shared',
});

const errorsOf = (results: (WorkerResult | undefined)[]) =>
  results.flatMap((r) => (r ? Object.entries(r.errors) : [['no result', 1]]));

/** The session is alive: the saved refresh token still works (a revoked family answers invalid_grant). */
async function expectSessionAlive(): Promise<void> {
  const tm = await openSession({ config: configFor(real, {}, { profile: 'shared' }), env: {} });
  await expect(tm.refresh()).resolves.toBeTypeOf('string');
}

describe('one lock per file, whichever path names it', () => {
  for (const k of [2, 6]) {
    it(`${k} processes, half through a symlink, forced refreshes: zero invalid_grant`, async () => {
      const s = server();
      await sharedProfile(s);
      const perProcess = 15;
      const before = s.stats().byGrant.refresh_token ?? 0;
      const workers = Array.from({ length: k }, (_, i) =>
        spawnWorker(['refresh', String(perProcess)], envFor(i % 2 === 0 ? tmp.file : real)),
      );
      const done = await Promise.all(workers.map((w) => w.done));
      for (const d of done) expect(d.stderr).toBe('');
      const results = done.map((d) => d.result);
      const failed = errorsOf(results).reduce((n, [, c]) => n + Number(c), 0);
      console.log(`symlink split K=${k}: ${failed}/${k * perProcess} refreshes failed`);
      expect(errorsOf(results)).toEqual([]);
      expect((s.stats().byGrant.refresh_token ?? 0) - before).toBe(k * perProcess); // one request per rotation
      expect(() => IniDocument.parse(readFileSync(real, 'utf8'), real)).not.toThrow();
      await expectSessionAlive();
    }, 120_000);
  }
});

/**
 * Stops process `pid` (SIGSTOP) as soon as its token request reaches the dev server: synchronously, before
 * the server sends its answer, so the refresh token is already spent.
 */
function stopAtItsTokenRequest(pid: number): Promise<void> {
  return new Promise<void>((resolve) => {
    onServerLine = (line) => {
      if (!line.startsWith('POST /auth/token ')) return;
      onServerLine = undefined;
      process.kill(pid, 'SIGSTOP');
      resolve();
    };
  });
}

/** SIGCONT for a process that may have ended already. */
function resume(pid: number): void {
  try {
    process.kill(pid, 'SIGCONT');
  } catch {
    // Already gone.
  }
}

describe('a stalled holder keeps its lock; a dead one is taken over at once', () => {
  it('holder stopped 7 s while its refresh is at the server: the waiter adopts its token, session alive', async () => {
    const s = server();
    await sharedProfile(s);
    const before = s.stats().byGrant.refresh_token ?? 0;
    const holder = spawnWorker(['refresh', '1'], envFor(real));
    const pid = holder.child.pid!;
    const stopped = stopAtItsTokenRequest(pid);
    try {
      await stopped;
      // A second process (via the symlink) needs a token meanwhile and queues on the lock.
      const waiter = spawnWorker(['token'], envFor(tmp.file));
      await new Promise((r) => setTimeout(r, 7000));
      process.kill(pid, 'SIGCONT');
      const [h, w] = await Promise.all([holder.done, waiter.done]);
      expect(h.stderr + w.stderr).toBe('');
      expect(errorsOf([h.result, w.result])).toEqual([]);
      expect(w.result?.actions).toEqual({ refreshed: 0, exchanged: 0, adopted: 1 });
      expect(w.result?.tokens).toEqual(h.result?.tokens);
      expect((s.stats().byGrant.refresh_token ?? 0) - before).toBe(1);
    } finally {
      resume(pid);
    }
    await expectSessionAlive();
  }, 60_000);

  it('holder stopped past its bound: taken over; once resumed it writes nothing and says so', async () => {
    const s = server();
    await sharedProfile(s);
    const saved = readFileSync(real, 'utf8');
    const env = { ...envFor(real), LOCK_STALE_MS: '2500' };
    const holder = spawnWorker(['refresh', '1'], env);
    const pid = holder.child.pid!;
    const stopped = stopAtItsTokenRequest(pid);
    // Another writer of the same file (its own section, in a loop) takes the lock over after 2.5 s.
    let writer: ReturnType<typeof spawnWorker> | undefined;
    try {
      await stopped;
      writer = spawnWorker(['crash'], env);
      await writer.ready;
      process.kill(pid, 'SIGCONT');
      const h = await holder.done;
      writer.child.kill('SIGKILL');
      await writer.done;
      expect(errorsOf([h.result])).toEqual([]); // the caller still got its token
      expect(h.stderr).toContain('were not saved');
      const text = readFileSync(real, 'utf8');
      expect(text).toContain(`[w${writer.child.pid}]`); // the other writer's work was not undone
      expect(text.startsWith(saved)).toBe(true); // and the holder's stale document was not written
    } finally {
      writer?.child.kill('SIGKILL');
      resume(pid);
    }
  }, 60_000);

  it('holder SIGKILLed while holding the lock: taken over at once, long before it could go stale', async () => {
    writeFileSync(real, '[hold]\n', { mode: 0o600 });
    symlinkSync(real, tmp.file);
    const holder = spawnWorker(['hold'], envFor(real));
    await holder.ready;
    let acquiredAt: number | undefined;
    // A live holder whose mtime is fresh is never taken over: with a 60 s staleness bound only the
    // holder's death can let this waiter in before its own 15 s deadline.
    const waiting = withFileLock(
      real,
      async () => {
        acquiredAt = performance.now();
      },
      { staleMs: 60_000, waitMs: 15_000 },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(acquiredAt).toBeUndefined();
    const killedAt = performance.now();
    holder.child.kill('SIGKILL');
    await waiting;
    expect((await holder.done).signal).toBe('SIGKILL');
    console.log(`dead holder healed after ${Math.round(acquiredAt! - killedAt)} ms`);
  }, 30_000);
});
