/**
 * Processes killed with SIGKILL while writing the config file, many times: the file always parses
 * (ours and Python's configparser), no profile is ever lost, counters never go back, and locks left by
 * killed holders heal by themselves (the last update succeeds). Needs the built dist.
 */
import { readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { IniDocument } from '../src/config/ini.js';
import { ProfileStore } from '../src/store/profile-store.js';
import { tempConfig } from './helpers/auth.js';
import { spawnWorker, type Worker } from './helpers/multiprocess.js';
import { pythonRead } from './helpers/python.js';

let tmp: ReturnType<typeof tempConfig>;
beforeEach(() => {
  tmp = tempConfig();
});
afterEach(() => tmp.cleanup());

const HEADER = '# crash test\n[keep]\ndhcore_endpoint = https://keep.example.com\n\n';
const POOL = 4;
const ROUNDS = 6;
const KILLS = POOL * ROUNDS;

it(`SIGKILL while writing, ${KILLS} times: the file always parses and no profile is lost`, async () => {
  writeFileSync(tmp.file, HEADER, { mode: 0o600 });
  // Default lock options: a killed holder is recognized as dead and taken over at once.
  const env = { PATH: process.env.PATH, HOME: tmp.dir, DH_CONFIG: tmp.file };
  const seen = new Map<string, number>(); // section → highest counter observed
  let midWrite = 0; // kills that left a temp file behind (killed between create and rename)
  const check = () => {
    const text = readFileSync(tmp.file, 'utf8');
    expect(text.startsWith(HEADER)).toBe(true);
    const doc = IniDocument.parse(text, tmp.file);
    for (const [section, counter] of seen) {
      expect(doc.hasSection(section)).toBe(true); // no profile lost
      expect(Number(doc.get(section, 'counter'))).toBeGreaterThanOrEqual(counter); // no update lost
    }
    for (const section of doc.sections()) {
      if (section === 'keep') continue;
      seen.set(section, Number(doc.get(section, 'counter')));
    }
    return text;
  };

  let pool: Worker[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      // Killed holders leave the lock behind; the next round takes it over (its holder is gone).
      pool = Array.from({ length: POOL }, () => spawnWorker(['crash'], env));
      await Promise.race([Promise.any(pool.map((w) => w.ready)), new Promise((r) => setTimeout(r, 10_000))]);
      await new Promise((r) => setTimeout(r, 20 + Math.random() * 150));
      for (const w of pool) w.child.kill('SIGKILL');
      for (const { signal } of await Promise.all(pool.map((w) => w.done))) expect(signal).toBe('SIGKILL');
      pool = [];
      midWrite += readdirSync(tmp.dir).filter((n) => n.includes('dhcore-tmp')).length;
      check();
    }
  } finally {
    for (const w of pool) w.child.kill('SIGKILL');
    await Promise.all(pool.map((w) => w.done));
  }
  console.log(`crash test: ${KILLS} SIGKILLs, ${midWrite} temp file(s) left by writers killed mid-write`);

  const text = check();
  expect(seen.size).toBeGreaterThanOrEqual(ROUNDS); // sections written by killed processes are all still there
  const [py] = pythonRead([text]);
  expect(py?.ok).toBe(true);
  if (py?.ok) expect(py.sections).toEqual(['keep', ...seen.keys()]);
  // A lock left by the last killed holder heals: a new update gets through.
  const store = new ProfileStore({ file: tmp.file, profile: 'after', lock: { waitMs: 30_000 } });
  await store.update(async () => ({ result: null, change: { set: { ok: '1' } } }));
  expect(readFileSync(tmp.file, 'utf8')).toContain('[after]\nok = 1\n');
  // Temp files of killed writers are swept by the next write once they are a few seconds old (younger
  // ones may belong to a writer still at work): age them instead of waiting.
  const old = new Date(Date.now() - 60_000);
  for (const n of readdirSync(tmp.dir).filter((n) => n.includes('dhcore-tmp'))) {
    utimesSync(join(tmp.dir, n), old, old);
  }
  await store.update(async () => ({ result: null, change: { set: { ok: '2' } } }));
  expect(readdirSync(tmp.dir).filter((n) => n.includes('dhcore-tmp'))).toEqual([]);
}, 120_000);
