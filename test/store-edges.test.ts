/**
 * The store at its edges: the lock is taken on the file's real path (symlinked file or folder, a file that
 * does not exist yet), the lock folder is private (0700 under umask 000) and names its holder (pid, host),
 * dead holders are taken over at once while live ones are waited for, a holder that lost its lock writes
 * nothing, a bind-mounted file (rename over it fails with EBUSY) is rewritten in place, and temp files a
 * killed writer left behind are removed by the next writer.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSession } from '../src/auth/session.js';
import { editConfigFile } from '../src/store/config-file.js';
import { withFileLock } from '../src/store/lock.js';
import { ProfileStore, resetMemoryStore } from '../src/store/profile-store.js';
import { configFor, tempConfig } from './helpers/auth.js';

let tmp: ReturnType<typeof tempConfig>;
let warnings: string[];
const onWarning = (w: Error) => warnings.push(w.message);
beforeEach(() => {
  tmp = tempConfig();
  resetMemoryStore();
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
  tmp.cleanup();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const flushWarnings = () => new Promise((r) => setImmediate(r));

/** Runs `fn` under the lock of `file` and lets the test release it. */
function holdLock(file: string, opts = {}) {
  let release!: () => void;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let entered!: () => void;
  const held = new Promise<void>((r) => {
    entered = r;
  });
  const done = withFileLock(
    file,
    async () => {
      entered();
      await released;
    },
    opts,
  );
  return { held, release, done };
}

/** True once `p` has settled, checked after `ms`. */
async function settledWithin(p: Promise<unknown>, ms: number): Promise<boolean> {
  let settled = false;
  void p.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  await sleep(ms);
  return settled;
}

describe('the lock belongs to the file, whichever path names it', () => {
  it('a symlink and the real path take the same lock (and in-process queue)', async () => {
    const real = join(tmp.dir, 'real.ini');
    writeFileSync(real, '[p]\n', { mode: 0o600 });
    symlinkSync(real, tmp.file);
    const first = holdLock(real);
    await first.held;
    const second = withFileLock(tmp.file, async () => 'second', { waitMs: 10_000 });
    expect(await settledWithin(second, 150)).toBe(false);
    first.release();
    await first.done;
    expect(await second).toBe('second');
  });

  it('a not-yet-existing file: its folder is resolved (symlinked folder), dangling symlinks to their target', async () => {
    const realDir = join(tmp.dir, 'real-dir');
    mkdirSync(realDir);
    symlinkSync(realDir, join(tmp.dir, 'link-dir'));
    const h = holdLock(join(tmp.dir, 'link-dir', 'cfg.ini'));
    await h.held;
    expect(existsSync(join(realDir, 'cfg.ini.lock'))).toBe(true);
    const other = withFileLock(join(realDir, 'cfg.ini'), async () => 'x', { waitMs: 10_000 });
    expect(await settledWithin(other, 150)).toBe(false);
    h.release();
    await h.done;
    await other;

    symlinkSync(join(realDir, 'future.ini'), tmp.file); // dangling: the target does not exist yet
    const d = holdLock(tmp.file);
    await d.held;
    expect(existsSync(join(realDir, 'future.ini.lock'))).toBe(true);
    d.release();
    await d.done;
  });
});

describe('the lock folder', () => {
  it('is private (0700) even under umask 000, and records its holder (pid, host)', async () => {
    const old = process.umask(0);
    try {
      const h = holdLock(tmp.file);
      await h.held;
      const lockDir = `${tmp.file}.lock`;
      expect(statSync(lockDir).mode & 0o777).toBe(0o700);
      const owner = JSON.parse(readFileSync(join(lockDir, 'owner'), 'utf8')) as Record<string, unknown>;
      expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
      h.release();
      await h.done;
      expect(existsSync(lockDir)).toBe(false); // released: folder and owner record gone
    } finally {
      process.umask(old);
    }
  });
});

/** A lock folder as another holder leaves it: `owner` record, mtime `ageMs` in the past. */
function foreignLock(file: string, owner: Record<string, unknown>, ageMs = 0): void {
  const dir = `${file}.lock`;
  mkdirSync(dir, { mode: 0o700 });
  writeFileSync(join(dir, 'owner'), JSON.stringify({ nonce: 'n-foreign', staleMs: 45_000, ...owner }));
  const t = new Date(Date.now() - ageMs);
  utimesSync(dir, t, t);
}

/** A pid that is not running on this host. */
function deadPid(): number {
  const out = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
  return Number(out.toString());
}

describe('taking over a lock', () => {
  it('whose holder is dead on this host: at once, whatever the staleness bound', async () => {
    writeFileSync(tmp.file, '[p]\n', { mode: 0o600 });
    foreignLock(tmp.file, { pid: deadPid(), host: hostname() });
    expect(await withFileLock(tmp.file, async () => 'taken', { staleMs: 60_000, waitMs: 2000 })).toBe(
      'taken',
    );
    expect(existsSync(`${tmp.file}.lock`)).toBe(false);
  });

  it('whose holder is alive (or on another host) and silent: only after the staleness bound', async () => {
    writeFileSync(tmp.file, '[p]\n', { mode: 0o600 });
    foreignLock(tmp.file, { pid: process.ppid, host: hostname() }, 10_000);
    await expect(
      withFileLock(tmp.file, async () => 'never', { staleMs: 30_000, waitMs: 300 }),
    ).rejects.toMatchObject({ code: 'store_lock_timeout' });
    rmSync(`${tmp.file}.lock`, { recursive: true });
    // Another host: its pid means nothing here.
    foreignLock(tmp.file, { pid: deadPid(), host: `not-${hostname()}` }, 10_000);
    await expect(
      withFileLock(tmp.file, async () => 'never', { staleMs: 30_000, waitMs: 300 }),
    ).rejects.toMatchObject({ code: 'store_lock_timeout' });
    // Silent for longer than its holder's own bound (and ours): stale.
    rmSync(`${tmp.file}.lock`, { recursive: true });
    foreignLock(tmp.file, { pid: process.ppid, host: hostname(), staleMs: 20_000 }, 60_000);
    expect(await withFileLock(tmp.file, async () => 'stale', { staleMs: 30_000, waitMs: 2000 })).toBe(
      'stale',
    );
  });

  it("the holder's own bound counts when it is longer than the waiter's", async () => {
    writeFileSync(tmp.file, '[p]\n', { mode: 0o600 });
    foreignLock(tmp.file, { pid: process.ppid, host: hostname(), staleMs: 120_000 }, 60_000);
    await expect(
      withFileLock(tmp.file, async () => 'never', { staleMs: 30_000, waitMs: 300 }),
    ).rejects.toMatchObject({ code: 'store_lock_timeout' });
  });

  it("a token manager's longer request timeout lengthens the bound", async () => {
    writeFileSync(
      tmp.file,
      // A configured token endpoint: nothing to discover before the lock (the request itself never happens).
      '[p]\ndhcore_endpoint = http://127.0.0.1:9\ndhcore_client_id = c\noauth2_token_endpoint = http://127.0.0.1:9/token\ndhcore_refresh_token = rt\n',
      { mode: 0o600 },
    );
    // Silent for 60 s: past the default bound (30 s request timeout + margin), within 90 s + margin.
    foreignLock(tmp.file, { pid: process.ppid, host: hostname(), staleMs: 0 }, 60_000);
    const config = configFor(tmp.file, {}, { profile: 'p' });
    const tm = await openSession({ config, env: {}, timeoutMs: 90_000, lock: { waitMs: 300 } });
    await expect(tm.refresh()).rejects.toMatchObject({ code: 'store_lock_timeout' });
  });
});

describe('a holder that lost its lock', () => {
  it('writes nothing and reports it', async () => {
    writeFileSync(tmp.file, '[p]\na = 1\n', { mode: 0o600 });
    const logs: string[] = [];
    const store = new ProfileStore({ file: tmp.file, profile: 'p', logger: (m) => logs.push(m) });
    const r = await store.update(async () => {
      // Meanwhile another process judged this holder stale and took the lock over.
      rmSync(`${tmp.file}.lock`, { recursive: true });
      foreignLock(tmp.file, { pid: process.ppid, host: hostname() });
      return { result: 'new-token', change: { set: { a: '2' } } };
    });
    expect(r).toMatchObject({ result: 'new-token', persisted: false, compromised: true });
    expect(readFileSync(tmp.file, 'utf8')).toBe('[p]\na = 1\n');
    expect(existsSync(`${tmp.file}.lock`)).toBe(true); // the other holder's lock is left alone
    expect(logs.join('\n')).toMatch(/lock .* taken over/);
    await flushWarnings();
    expect(warnings.filter((w) => w.includes('not saved'))).toHaveLength(1);
  });
});

describe('temp files left by a killed writer', () => {
  it('are removed by the next writer before it returns: only ours, only old ones', async () => {
    writeFileSync(tmp.file, '[p]\n', { mode: 0o600 });
    const old = new Date(Date.now() - 60_000);
    // pid 1 is alive here, as a writer's pid may look from another pid namespace (a container).
    const leftovers = ['.dhcore.ini.dhcore-tmp-1-0a1b2c3d', `.dhcore.ini.dhcore-tmp-${deadPid()}-deadbeef`];
    const young = '.dhcore.ini.dhcore-tmp-1-00000001';
    const notOurs = ['.dhcore.ini.dhcore-tmp-notes', 'dhcore.ini.bak', '.other.ini.dhcore-tmp-1-0a1b2c3d'];
    for (const n of [...leftovers, ...notOurs]) {
      writeFileSync(join(tmp.dir, n), 'secret');
      utimesSync(join(tmp.dir, n), old, old);
    }
    writeFileSync(join(tmp.dir, young), 'secret');
    await new ProfileStore({ file: tmp.file, profile: 'p' }).update(async () => ({
      result: null,
      change: { set: { a: '1' } },
    }));
    const names = readdirSync(tmp.dir);
    for (const n of leftovers) expect(names).not.toContain(n);
    for (const n of [young, ...notOurs]) expect(names).toContain(n);
  });
});

/** Bind-mounts `source` onto `target` (a file onto a file), if this sandbox lets us. */
function bindMount(source: string, target: string): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  try {
    execFileSync('mount', ['--bind', source, target], { stdio: 'pipe' });
    return undefined;
  } catch (err) {
    return `mount --bind failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || String(err)}`;
  }
}

describe('a bind-mounted config file (docker -v file:file)', () => {
  it('is rewritten in place under the lock (rename over it fails with EBUSY), and the debug log says so', async (ctx) => {
    const host = join(tmp.dir, 'host.ini');
    writeFileSync(host, '# host copy\n[p]\ndhcore_access_token = old\n', { mode: 0o600 });
    writeFileSync(tmp.file, '');
    const why = bindMount(host, tmp.file);
    if (why) {
      console.log(`skipped: cannot bind-mount a file here (${why})`);
      ctx.skip();
    }
    try {
      const logs: string[] = [];
      const store = new ProfileStore({ file: tmp.file, profile: 'p', logger: (m) => logs.push(m) });
      const r = await store.update(async () => ({
        result: null,
        change: { set: { dhcore_access_token: 'new-and-longer-token' } },
      }));
      expect(r).toMatchObject({ persisted: true, inMemory: false });
      expect(readFileSync(host, 'utf8')).toBe(
        '# host copy\n[p]\ndhcore_access_token = new-and-longer-token\n',
      );
      // Shrinking works too (the rest of the old, longer content is cut off).
      await store.update(async () => ({ result: null, change: { set: { dhcore_access_token: 'n' } } }));
      expect(readFileSync(tmp.file, 'utf8')).toBe('# host copy\n[p]\ndhcore_access_token = n\n');
      expect(logs.join('\n')).toMatch(/in place/);
      // Explicit edits (register, use, remove) too.
      await editConfigFile(tmp.file, (doc) => doc.set('q', 'dhcore_endpoint', 'https://q.example.com'));
      expect(readFileSync(host, 'utf8')).toContain('[q]\ndhcore_endpoint = https://q.example.com\n');
      expect(statSync(host).mode & 0o777).toBe(0o600);
      await flushWarnings();
      expect(warnings.filter((w) => w.includes('Cannot write'))).toEqual([]);
      expect(readdirSync(tmp.dir).filter((n) => n.includes('dhcore-tmp'))).toEqual([]);
    } finally {
      execFileSync('umount', [tmp.file]);
    }
  });
});
