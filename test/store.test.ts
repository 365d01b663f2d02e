/**
 * The profile store: line-preserving atomic writes (0600), read back by Python configparser, the
 * warning for a group/other-readable file, memory fallback when the file cannot be written, the
 * in-process queue and the cross-process lock healing from a dead holder.
 */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/store/atomic-write.js';
import { withFileLock } from '../src/store/lock.js';
import { ProfileStore, resetMemoryStore } from '../src/store/profile-store.js';
import { tempConfig } from './helpers/auth.js';
import { pythonRead } from './helpers/python.js';

const ORIGINAL = `# DHCore settings, hand-written
[DEFAULT]
current_environment = dev

; the dev box
[dev]
dhcore_endpoint = https://dev.example.com
dhcore_access_token = old-token
  # an indented comment stays too
dhcore_client_id = cli

[prod]
dhcore_endpoint = https://prod.example.com
dhcore_personal_access_token = pat-prod
`;

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

const flushWarnings = () => new Promise((r) => setImmediate(r));

describe('writes', () => {
  it('changes only the keys it sets/deletes, byte for byte elsewhere, mode 0600', async () => {
    writeFileSync(tmp.file, ORIGINAL, { mode: 0o600 });
    const store = new ProfileStore({ file: tmp.file, profile: 'dev' });
    const r = await store.update(async (cur) => {
      expect(cur.dhcore_access_token).toBe('old-token');
      expect(cur.current_environment).toBeUndefined();
      return {
        result: 1,
        change: {
          set: { dhcore_access_token: 'new-token', aws_access_key_id: 'AKIA1' },
          delete: ['dhcore_client_id'],
        },
      };
    });
    expect(r).toEqual({ result: 1, persisted: true, inMemory: false });
    expect(readFileSync(tmp.file, 'utf8')).toBe(
      ORIGINAL.replace('dhcore_access_token = old-token', 'dhcore_access_token = new-token').replace(
        'dhcore_client_id = cli\n',
        'aws_access_key_id = AKIA1\n',
      ),
    );
    expect(statSync(tmp.file).mode & 0o777).toBe(0o600);
    expect(readdirSync(tmp.dir)).toEqual(['.dhcore.ini']); // no temp file or lock left behind
  });

  it('creates the file (0600) and the profile; Python configparser reads every value back', async () => {
    const store = new ProfileStore({ file: join(tmp.dir, 'sub', 'cfg.ini'), profile: 'new env' });
    const values = {
      dhcore_access_token: 'eyJ.a%b.c',
      dhcore_expires_at: '2030-01-01T00:00:00.000Z',
      aws_secret_access_key: 'abc/def+ghi=',
    };
    await store.update(async () => ({ result: null, change: { set: values } }));
    const text = readFileSync(store.file, 'utf8');
    expect(statSync(store.file).mode & 0o777).toBe(0o600);
    const [py] = pythonRead([text]);
    expect(py?.ok).toBe(true);
    if (!py?.ok) return;
    expect(py.sections).toEqual(['new env']);
    const section = py.data.find(([name]) => name === 'new env')!;
    expect(Object.fromEntries(section[2].map(([k, v]) => [k, 'value' in v ? v.value : v]))).toEqual(values);
    expect(await store.read()).toEqual(values);
  });

  it('keeps every other section when Python reads the rewritten file', async () => {
    writeFileSync(tmp.file, ORIGINAL, { mode: 0o600 });
    const store = new ProfileStore({ file: tmp.file, profile: 'prod' });
    await store.update(async () => ({ result: null, change: { set: { dhcore_access_token: 'x1' } } }));
    const [before, after] = pythonRead([ORIGINAL, readFileSync(tmp.file, 'utf8')]);
    if (!before?.ok || !after?.ok) throw new Error('python could not read');
    expect(after.sections).toEqual(before.sections);
    expect(after.data.find(([n]) => n === 'dev')).toEqual(before.data.find(([n]) => n === 'dev'));
  });

  it('writes through a symlinked config file to its target', async () => {
    const target = join(tmp.dir, 'real.ini');
    writeFileSync(target, '[__default]\na = 1\n', { mode: 0o600 });
    symlinkSync(target, tmp.file);
    await new ProfileStore({ file: tmp.file, profile: '__default' }).update(async () => ({
      result: null,
      change: { set: { b: '2' } },
    }));
    expect(lstatSync(tmp.file).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toBe('[__default]\na = 1\nb = 2\n');
  });

  it('nothing is written when the transaction throws', async () => {
    writeFileSync(tmp.file, ORIGINAL, { mode: 0o600 });
    const store = new ProfileStore({ file: tmp.file, profile: 'dev' });
    await expect(store.update(async () => Promise.reject(new Error('server down')))).rejects.toThrow(
      'server down',
    );
    expect(readFileSync(tmp.file, 'utf8')).toBe(ORIGINAL);
  });

  it('sweeps temp files left by a killed writer (old enough), keeps the file intact', async () => {
    writeFileSync(tmp.file, ORIGINAL, { mode: 0o600 });
    const leftover = join(tmp.dir, '.dhcore.ini.dhcore-tmp-999999-deadbeef');
    writeFileSync(leftover, '[half');
    const old = new Date(Date.now() - 60_000);
    utimesSync(leftover, old, old);
    await writeFileAtomic(tmp.file, `${ORIGINAL}\n`);
    expect(existsSync(leftover)).toBe(false);
    expect(readFileSync(tmp.file, 'utf8')).toBe(`${ORIGINAL}\n`);
  });
});

describe('permissions and memory fallback', () => {
  it('warns once when an existing file is readable by others, and rewrites it 0600', async () => {
    writeFileSync(tmp.file, ORIGINAL);
    chmodSync(tmp.file, 0o644);
    const store = new ProfileStore({ file: tmp.file, profile: 'dev' });
    await store.read();
    await store.update(async () => ({ result: null, change: { set: { x: '1' } } }));
    await flushWarnings();
    const perm = warnings.filter((w) => w.includes('readable by other users'));
    expect(perm).toHaveLength(1);
    expect(perm[0]).toContain('chmod 600');
    expect(statSync(tmp.file).mode & 0o777).toBe(0o600);
  });

  it('read-only file: keeps the change in memory, warns once, file untouched', async () => {
    writeFileSync(tmp.file, ORIGINAL);
    chmodSync(tmp.file, 0o400);
    const store = new ProfileStore({ file: tmp.file, profile: 'dev' });
    for (const token of ['t1', 't2']) {
      const r = await store.update(async () => ({
        result: null,
        change: { set: { dhcore_access_token: token } },
      }));
      expect(r).toMatchObject({ persisted: false, inMemory: true });
    }
    expect(readFileSync(tmp.file, 'utf8')).toBe(ORIGINAL);
    expect((await store.read()).dhcore_access_token).toBe('t2');
    // Another store for the same profile in this process sees the kept tokens too.
    expect((await new ProfileStore({ file: tmp.file, profile: 'dev' }).read()).dhcore_access_token).toBe(
      't2',
    );
    expect(store.mode).toBe('memory');
    await flushWarnings();
    expect(warnings.filter((w) => w.includes('kept in memory'))).toHaveLength(1);
  });

  it('folder that cannot hold the file (parent is a file): memory mode, no throw', async () => {
    writeFileSync(join(tmp.dir, 'notadir'), 'x');
    const store = new ProfileStore({ file: join(tmp.dir, 'notadir', 'cfg.ini'), profile: 'p' });
    const r = await store.update(async () => ({ result: 7, change: { set: { dhcore_access_token: 'k' } } }));
    expect(r).toEqual({ result: 7, persisted: false, inMemory: true });
    expect(await store.read()).toEqual({ dhcore_access_token: 'k' });
  });

  it("storage 'memory' never touches the file", async () => {
    const store = new ProfileStore({ file: tmp.file, profile: 'p', storage: 'memory' });
    await store.update(async () => ({ result: null, change: { set: { a: '1' } } }));
    expect(existsSync(tmp.file)).toBe(false);
    expect(await store.read()).toEqual({ a: '1' });
  });
});

describe('locking', () => {
  it('serializes concurrent transactions in one process (no lost update)', async () => {
    const store = new ProfileStore({ file: tmp.file, profile: 'p' });
    await Promise.all(
      Array.from({ length: 25 }, () =>
        store.update(async (cur) => {
          const n = Number(cur.n ?? '0');
          await new Promise((r) => setImmediate(r));
          return { result: null, change: { set: { n: String(n + 1) } } };
        }),
      ),
    );
    expect((await store.read()).n).toBe('25');
  });

  it('a lock left by a dead holder is taken over once stale; a fresh one makes a short wait time out', async () => {
    writeFileSync(tmp.file, '[p]\n', { mode: 0o600 });
    mkdirSync(`${tmp.file}.lock`); // no owner record (its creator died before writing it): only its mtime tells
    await expect(
      withFileLock(tmp.file, async () => 'never', { staleMs: 2000, waitMs: 200 }),
    ).rejects.toMatchObject({
      code: 'store_lock_timeout',
    });
    expect(await withFileLock(tmp.file, async () => 'healed', { staleMs: 2000, waitMs: 20_000 })).toBe(
      'healed',
    );
    const old = new Date(Date.now() - 60_000);
    mkdirSync(`${tmp.file}.lock`);
    utimesSync(`${tmp.file}.lock`, old, old);
    expect(await withFileLock(tmp.file, async () => 'stale', { staleMs: 2000, waitMs: 200 })).toBe('stale');
    expect(existsSync(`${tmp.file}.lock`)).toBe(false);
  });
});
