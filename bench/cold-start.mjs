#!/usr/bin/env node
/**
 * Cold start: a fresh Node process that imports the package, resolves a 50-profile config file and produces
 * auth headers — vs. `node -e 0` — in alternating runs of ONE benchmark. Reports the added milliseconds
 * (median) for the current profile (oauth2 with a valid saved token, the usual state after `dhcore login`;
 * target ≤ 20 ms) and for a basic-auth profile (no token machinery loaded at all; target ≤ 15 ms).
 *
 *   BENCH_RUNS=30 node bench/cold-start.mjs
 *   BENCH_BASELINE_DIST=/path/to/other/dist node bench/cold-start.mjs   # also that build, in the same rounds
 */
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DIST, fmt, median, percentile, tempDir } from './lib/util.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const PROFILES = 50;
const BASELINE = process.env.BENCH_BASELINE_DIST;
/** Added wall time allowed (median, ms) per subject. */
const TARGETS = { oauth2: 20, basic: 15 };

const tmp = tempDir();
try {
  const configFile = join(tmp.dir, '.dhcore.ini');
  const future = new Date(Date.now() + 30 * 24 * 3600_000).toISOString();
  const lines = [
    '# 50 environments, as a busy laptop might have',
    '[DEFAULT]',
    'current_environment = p25',
    '',
  ];
  for (let i = 0; i < PROFILES; i++) {
    const name = `p${String(i).padStart(2, '0')}`;
    lines.push(
      `[${name}]`,
      `dhcore_endpoint = https://dhcore-${i}.example.com`,
      `dhcore_client_id = dhcore-cli`,
    );
    switch (i % 4) {
      case 0:
        lines.push(`dhcore_user = user${i}`, `dhcore_password = pw-${i}-xxxxxxxxxxxx`);
        break;
      case 1:
        lines.push(
          `dhcore_access_token = at-${i}-${'x'.repeat(600)}`,
          `dhcore_refresh_token = rt-${i}-${'y'.repeat(40)}`,
        );
        lines.push(`dhcore_expires_at = ${future}`, `dhcore_refresh_at = ${future}`);
        break;
      case 2:
        lines.push(`dhcore_personal_access_token = dhpat_${i}_${'z'.repeat(30)}`);
        break;
      default:
        lines.push(`dhcore_access_token = at-${i}-${'x'.repeat(600)}`);
    }
    lines.push(
      `aws_access_key_id = AKIA${i}`,
      `aws_secret_access_key = secret-${i}`,
      `; comment for ${name}`,
      '',
    );
  }
  writeFileSync(configFile, lines.join('\n'), { mode: 0o600 });

  const entryOf = (dist) => pathToFileURL(join(dist, 'index.js')).href;
  const emptyModule = pathToFileURL(join(tmp.dir, 'empty.mjs')).href;
  writeFileSync(join(tmp.dir, 'empty.mjs'), 'export {};\n');
  // Each child reports the time its own work took (import → headers) and its total CPU time since start.
  const report =
    'process.stdout.write(JSON.stringify({ inproc: performance.now() - t0, cpu: process.cpuUsage() }))';
  const subject = (profile, dist = DIST) =>
    `const t0 = performance.now();
const { createClient } = await import(${JSON.stringify(entryOf(dist))});
const client = await createClient(${profile ? `{ profile: ${JSON.stringify(profile)} }` : ''});
const headers = await client.authHeaders();
if (!headers.Authorization) process.exit(3);
${report};`;
  const variants = {
    'node -e 0': ['-e', `const t0 = performance.now(); ${report}`],
    // What any ESM program pays before importing anything of ours (the ESM loader starting up).
    'ESM floor (empty import)': [
      '--input-type=module',
      '-e',
      `const t0 = performance.now(); await import(${JSON.stringify(emptyModule)}); ${report}`,
    ],
    'current (oauth2, p25)': ['--input-type=module', '-e', subject(undefined)],
    'basic (p24)': ['--input-type=module', '-e', subject('p24')],
    ...(BASELINE
      ? {
          'current (oauth2) [baseline]': ['--input-type=module', '-e', subject(undefined, BASELINE)],
          'basic [baseline]': ['--input-type=module', '-e', subject('p24', BASELINE)],
        }
      : {}),
  };
  const env = { PATH: process.env.PATH, HOME: tmp.dir, DH_CONFIG: configFile };
  const times = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const cpu = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const inproc = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  const names = Object.keys(variants);
  for (let run = 0; run < RUNS + 2; run++) {
    const order = run % 2 === 0 ? names : [...names].reverse();
    for (const name of order) {
      const t0 = process.hrtime.bigint();
      const r = spawnSync(process.execPath, variants[name], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      if (r.status !== 0) throw new Error(`${name} failed (${r.status}): ${String(r.stderr).slice(0, 400)}`);
      if (run < 2) continue; // the first two rounds warm the file cache
      const out = JSON.parse(String(r.stdout));
      times[name].push(ms);
      cpu[name].push((out.cpu.user + out.cpu.system) / 1000);
      inproc[name].push(out.inproc);
    }
  }

  const base = median(times['node -e 0']);
  const baseCpu = median(cpu['node -e 0']);
  console.log(
    `\n== cold start: fresh process, import + resolve a ${PROFILES}-profile file + auth headers (${RUNS} runs each, alternating)`,
  );
  console.log(
    '   wall = spawn to exit; CPU = user+system of the child; in-process = import → headers, timed inside',
  );
  let ok = true;
  for (const name of names) {
    const m = median(times[name]);
    const first = name === 'node -e 0';
    console.log(
      `   ${name.padEnd(27)} wall median ${fmt(m, 1).padStart(6)} ms (p90 ${fmt(percentile(times[name], 90), 1).padStart(6)})` +
        (first ? '' : `  added ${fmt(m - base, 1).padStart(5)} ms`) +
        `   CPU ${fmt(median(cpu[name]), 1).padStart(6)} ms${first ? '' : ` (added ${fmt(median(cpu[name]) - baseCpu, 1)})`}` +
        (first ? '' : `   in-process ${fmt(median(inproc[name]), 1)} ms`),
    );
    if (name.startsWith('current (oauth2, p25)') && m - base > TARGETS.oauth2) ok = false;
    if (name.startsWith('basic (p24)') && m - base > TARGETS.basic) ok = false;
  }
  const floor = median(times['ESM floor (empty import)']) - base;
  console.log(
    `   target (added wall time, median: oauth2 ≤ ${TARGETS.oauth2} ms, basic ≤ ${TARGETS.basic} ms): ${ok ? 'met' : 'NOT met'}  (of which ${fmt(floor, 1)} ms is Node's ESM loader start, paid by any ESM import)`,
  );
  console.log(
    JSON.stringify({
      bench: 'cold-start',
      runs: RUNS,
      addedMs: Object.fromEntries(names.slice(1).map((n) => [n, median(times[n]) - base])),
    }),
  );
} finally {
  tmp.cleanup();
}
