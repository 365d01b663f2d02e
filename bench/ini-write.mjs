#!/usr/bin/env node
/**
 * Writes of a large config file are linear in its size. A token save (the keys a refresh writes:
 * access/refresh/id token, expiry, refresh moment and three store credentials, plus the deletion of the
 * PAT fingerprint) into one profile of a 10 MB and a 50 MB file, each measured in a fresh process:
 *
 * - raw      baseline: read the file's bytes and write them back (temp file, fsync, rename)
 * - save     `ProfileStore.update()` with that change (lock, read, parse, edit, atomic write)
 * - refresh  `resolveConfig()` then the same save: the file work of one refresh, without the network
 *
 * Reports the median wall time and the peak memory (maxRSS of the process, and its growth over the RSS
 * before the operation) as ratios: time vs raw, memory vs the file size. Target for the 50 MB file:
 * ≤ 2 s with peak memory ≤ 4× the file size (exit code 1 otherwise), for a save and a refresh.
 *
 * Two shapes: `profiles` (≈3 KB profiles, the target in the middle) and `one-section` (a single section
 * of ≈40-byte lines, which is also the target: the worst case for an edit confined to one section, and
 * for a resolution, which reads a key of the profile only when it is looked up).
 *
 *   BENCH_INI_MB=10,50 BENCH_REPS=3 node bench/ini-write.mjs
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILD, tempDir } from './lib/util.mjs';

const MB = 1024 * 1024;

const CHANGE = {
  set: {
    dhcore_access_token: 'eyJ'.padEnd(1200, 'A'),
    dhcore_refresh_token: 'rt-'.padEnd(64, 'r'),
    dhcore_id_token: 'eyJ'.padEnd(900, 'I'),
    dhcore_expires_at: '2030-01-01T10:00:00.000Z',
    dhcore_refresh_at: '2030-01-01T09:55:00.000Z',
    aws_access_key_id: 'AKIA'.padEnd(20, 'K'),
    aws_secret_access_key: 's'.repeat(40),
    aws_session_token: 'st-'.padEnd(600, 's'),
  },
  delete: ['dhcore_pat_fingerprint'],
};

async function child(mode, file, profile) {
  // Modules first, so neither the time nor the memory growth counts loading them.
  const { ProfileStore } = await import(join(BUILD, 'store/profile-store.js'));
  const { resolveConfig } = await import(join(BUILD, 'config/resolve.js'));
  const before = process.memoryUsage().rss;
  const t0 = performance.now();
  if (mode === 'raw') {
    const bytes = readFileSync(file);
    const tmp = `${file}.raw-tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    writeSync(fd, bytes);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, file);
  } else {
    if (mode === 'refresh') resolveConfig({ env: {}, configFile: file, profile });
    const store = new ProfileStore({ file, profile });
    const out = await store.update(async () => ({ result: null, change: CHANGE }));
    if (!out.persisted) throw new Error('not persisted');
  }
  const ms = performance.now() - t0;
  const peak = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ ms, peak, before }));
}

const b64 = (n) =>
  randomBytes(Math.ceil((n * 3) / 4))
    .toString('base64url')
    .slice(0, n);

function profileText(i) {
  return `# profile ${i}, registered by hand
[profile-${String(i).padStart(6, '0')}]
dhcore_endpoint = https://dhcore-${i}.example.com
dhcore_issuer = https://dhcore-${i}.example.com
dhcore_client_id = dhcore-cli
dhcore_access_token = ${b64(1200)}
dhcore_refresh_token = ${b64(64)}
dhcore_id_token = ${b64(900)}
dhcore_expires_at = 2025-05-01T10:00:00.000Z
dhcore_refresh_at = 2025-05-01T09:55:00.000Z
aws_access_key_id = ${b64(20)}
aws_secret_access_key = ${b64(40)}
aws_session_token = ${b64(600)}

`;
}

/** A file of about `mb` MB; returns [path, profile to save into]. */
function generate(dir, shape, mb) {
  const file = join(dir, `${shape}-${mb}.ini`);
  const chunks = [];
  let size = 0;
  let target;
  if (shape === 'profiles') {
    const sample = profileText(0).length;
    const n = Math.ceil((mb * MB) / sample);
    for (let i = 0; i < n; i++) {
      const t = profileText(i);
      chunks.push(t);
      size += t.length;
    }
    target = `profile-${String(Math.floor(n / 2)).padStart(6, '0')}`;
  } else {
    chunks.push('[big]\ndhcore_endpoint = https://big.example.com\n');
    for (let i = 0; size < mb * MB; i++) {
      const t = `key_${String(i).padStart(8, '0')} = value ${b64(20)}\n`;
      chunks.push(t);
      size += t.length;
    }
    target = 'big';
  }
  writeFileSync(file, chunks.join(''), { mode: 0o600 });
  return [file, target];
}

function runChild(mode, file, profile) {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child', mode, file, profile], {
    encoding: 'utf8',
    maxBuffer: 16 * MB,
  });
  if (r.status !== 0) throw new Error(`${mode} failed (${r.status ?? r.signal}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout);
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  const sizes = (process.env.BENCH_INI_MB ?? '10,50').split(',').map(Number);
  const reps = Number(process.env.BENCH_REPS ?? 3);
  const shapes = (process.env.BENCH_INI_SHAPES ?? 'profiles,one-section').split(',');
  const { dir, cleanup } = tempDir('dhcore-bench-ini-');
  const rows = [];
  let failed = false;
  try {
    for (const shape of shapes) {
      for (const mb of sizes) {
        const [file, profile] = generate(dir, shape, mb);
        const bytes = statSync(file).size;
        const res = {};
        for (const mode of ['raw', 'save', 'refresh']) {
          const runs = [];
          for (let i = 0; i < reps; i++) runs.push(runChild(mode, file, profile));
          res[mode] = {
            ms: median(runs.map((r) => r.ms)),
            peak: Math.max(...runs.map((r) => r.peak)),
            growth: Math.max(...runs.map((r) => r.peak - r.before)),
          };
        }
        rows.push({ shape, mb, bytes, res });
        const line = (mode) => {
          const r = res[mode];
          const vsRaw = (r.ms / res.raw.ms).toFixed(1);
          return `   ${mode.padEnd(8)} ${(r.ms / 1000).toFixed(3).padStart(7)} s (${vsRaw.padStart(5)}× raw)   peak RSS ${(r.peak / MB).toFixed(0).padStart(5)} MB = ${(r.peak / bytes).toFixed(2)}× file   growth ${(r.growth / MB).toFixed(0).padStart(5)} MB = ${(r.growth / bytes).toFixed(2)}× file`;
        };
        console.log(
          `\n${shape}, ${(bytes / MB).toFixed(1)} MB (median of ${reps}, each in a fresh process):`,
        );
        for (const mode of ['raw', 'save', 'refresh']) console.log(line(mode));
        if (mb >= 50) {
          for (const mode of ['save', 'refresh']) {
            const r = res[mode];
            const ok = r.ms <= 2000 && r.peak <= 4 * bytes;
            if (!ok) failed = true;
            console.log(
              `   target ${mode}: ≤ 2 s and peak ≤ 4× file → ${ok ? 'met' : 'NOT met'} (${(r.ms / 1000).toFixed(2)} s, ${(r.peak / bytes).toFixed(2)}×)`,
            );
          }
        }
      }
    }
  } finally {
    cleanup();
  }
  if (process.env.BENCH_JSON) console.log(JSON.stringify(rows));
  if (failed) process.exitCode = 1;
}

if (process.argv[2] === '--child') await child(process.argv[3], process.argv[4], process.argv[5]);
else await main();
