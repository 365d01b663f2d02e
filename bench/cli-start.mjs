#!/usr/bin/env node
/**
 * CLI start: `dhcore token` with a valid saved token (an oauth2 and an exchange profile), `dhcore status
 * --offline` and `dhcore --version`, each a fresh process with stdout on a pipe (as in `$(dhcore token)`), vs.
 * `node -e 0`, in alternating runs of ONE benchmark. Reports the median wall time as a ratio to `node -e 0`
 * (target ≤ 1.25) and the peak memory (max RSS) above it (target ≤ 8 MB). The CLI's code cache is warm after
 * the first rounds (as for a script calling `dhcore token` in a loop); a run without one (the first after an
 * install or a Node update, which also saves it) is shown for information.
 *
 * Peak memory comes from a second run of each command in the same round, with a preload (given to `node -e 0`
 * as well) that reports `process.resourceUsage().maxRSS` at exit, so the timed runs carry nothing extra.
 *
 *   BENCH_RUNS=30 node bench/cli-start.mjs
 *   BENCH_BASELINE_DIST=/path/to/other/dist node bench/cli-start.mjs   # also that build, in the same rounds
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DIST, fmt, median, percentile, tempDir } from './lib/util.mjs';

const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const BASELINE = process.env.BENCH_BASELINE_DIST;
const MAX_RATIO = 1.25;
const MAX_EXTRA_MB = 8;

const tmp = tempDir();
try {
  const configFile = join(tmp.dir, '.dhcore.ini');
  const future = new Date(Date.now() + 30 * 24 * 3600_000).toISOString();
  const pat = `dhpat_${'z'.repeat(40)}`;
  const patSha = createHash('sha256').update(pat, 'utf8').digest('hex').slice(0, 16);
  // What `dhcore login` leaves behind: a current oauth2 profile and an exchange profile, both with a valid token.
  writeFileSync(
    configFile,
    [
      '[DEFAULT]',
      'current_environment = oauth',
      '',
      '[oauth]',
      'dhcore_endpoint = https://dhcore.example.com',
      'dhcore_issuer = https://dhcore.example.com',
      'dhcore_client_id = dhcore-cli',
      `dhcore_access_token = at-oauth-${'x'.repeat(900)}`,
      `dhcore_refresh_token = rt-oauth-${'y'.repeat(60)}`,
      `dhcore_expires_at = ${future}`,
      `dhcore_refresh_at = ${future}`,
      '',
      '[pat]',
      'dhcore_endpoint = https://dhcore.example.com',
      'dhcore_client_id = dhcore-cli',
      `dhcore_personal_access_token = ${pat}`,
      `dhcore_pat_sha256 = ${patSha}`,
      `dhcore_access_token = at-pat-${'x'.repeat(900)}`,
      `dhcore_expires_at = ${future}`,
      `dhcore_refresh_at = ${future}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const preload = join(tmp.dir, 'max-rss.cjs');
  writeFileSync(
    preload,
    "process.on('exit', () => require('node:fs').writeSync(3, String(process.resourceUsage().maxRSS)));\n",
  );

  const commands = (dist, suffix) => ({
    [`dhcore token (oauth2)${suffix}`]: [join(dist, 'cli/main.js'), 'token'],
    // For information: a run that finds no code cache (the first after an install or a Node update) and
    // saves one; measured in rounds of its own (see measure()).
    [`dhcore token (oauth2, first run)${suffix}`]: [join(dist, 'cli/main.js'), 'token'],
    [`dhcore token (exchange)${suffix}`]: [join(dist, 'cli/main.js'), '-e', 'pat', 'token'],
    [`dhcore status --offline${suffix}`]: [join(dist, 'cli/main.js'), 'status', '--offline'],
    [`dhcore --version${suffix}`]: [join(dist, 'cli/main.js'), '--version'],
  });
  const variants = {
    'node -e 0': ['-e', '0'],
    ...commands(DIST, ''),
    ...(BASELINE ? commands(BASELINE, ' [baseline]') : {}),
  };
  const names = Object.keys(variants);
  const env = {
    PATH: process.env.PATH,
    HOME: tmp.dir,
    DH_CONFIG: configFile,
    DHCORE_CODE_CACHE: join(tmp.dir, 'code'),
  };
  const wall = Object.fromEntries(names.map((n) => [n, []]));
  const rssMb = Object.fromEntries(names.map((n) => [n, []]));
  let fresh = 0;
  const firstRun = (name) => name.includes('first run');
  const envOf = (name) =>
    firstRun(name) ? { ...env, DHCORE_CODE_CACHE: join(tmp.dir, `fresh-${fresh++}`) } : env;
  const run = (args, name) =>
    spawnSync(process.execPath, args, { env: envOf(name), stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  /** Alternating rounds of `list`; each variant's times and peak memory into wall/rssMb under `key(name)`. */
  const measure = (list, key) => {
    for (let round = 0; round < RUNS + 2; round++) {
      const order = round % 2 === 0 ? list : [...list].reverse();
      for (const name of order) {
        const t0 = process.hrtime.bigint();
        const r = run(variants[name], name);
        const ms = Number(process.hrtime.bigint() - t0) / 1e6;
        if (r.status !== 0 || (name !== 'node -e 0' && String(r.stdout).length === 0)) {
          throw new Error(`${name} failed (${r.status}): ${String(r.stderr).slice(0, 400)}`);
        }
        const m = run(['--require', preload, ...variants[name]], name);
        if (round < 2) continue; // the first two rounds warm the file cache
        wall[key(name)].push(ms);
        rssMb[key(name)].push(Number(String(m.output[3])) / 1024);
      }
    }
  };
  // The runs without a code cache write one (and fsync it): measured in rounds of their own, against a
  // `node -e 0` of their own, so their disk writes do not land on the others' time.
  measure(
    names.filter((n) => !firstRun(n)),
    (n) => n,
  );
  const firstNames = names.filter(firstRun);
  wall['node -e 0 (first-run rounds)'] = [];
  rssMb['node -e 0 (first-run rounds)'] = [];
  if (firstNames.length > 0) {
    measure(['node -e 0', ...firstNames], (n) => (n === 'node -e 0' ? 'node -e 0 (first-run rounds)' : n));
  }

  const base = median(wall['node -e 0']);
  const baseRss = median(rssMb['node -e 0']);
  console.log(
    `\n== CLI start: fresh process, stdout on a pipe, valid saved token (${RUNS} runs each, alternating)`,
  );
  console.log('   wall = spawn to exit (median); peak memory = max RSS of the process (median)');
  // A first run is compared with the `node -e 0` of its own rounds.
  const firstBase = firstNames.length > 0 ? median(wall['node -e 0 (first-run rounds)']) : base;
  const firstBaseRss = firstNames.length > 0 ? median(rssMb['node -e 0 (first-run rounds)']) : baseRss;
  const baseOf = (name) => (firstRun(name) ? [firstBase, firstBaseRss] : [base, baseRss]);
  let ok = true;
  for (const name of names) {
    const m = median(wall[name]);
    const rss = median(rssMb[name]);
    const first = name === 'node -e 0';
    const [b, bRss] = baseOf(name);
    console.log(
      `   ${name.padEnd(36)} wall ${fmt(m, 1).padStart(6)} ms (p90 ${fmt(percentile(wall[name], 90), 1).padStart(6)})` +
        (first ? '' : `  ×${fmt(m / b, 3)}`) +
        `   peak memory ${fmt(rss, 1).padStart(5)} MB${first ? '' : ` (+${fmt(rss - bRss, 1)})`}` +
        (firstRun(name) ? `   (own rounds: node -e 0 ${fmt(b, 1)} ms)` : ''),
    );
    const target = !first && !name.endsWith('[baseline]') && !firstRun(name);
    if (target && (m / base > MAX_RATIO || rss - baseRss > MAX_EXTRA_MB)) {
      ok = false;
    }
  }
  console.log(
    `   target (wall median ≤ ${MAX_RATIO}× node -e 0, peak memory ≤ node -e 0 + ${MAX_EXTRA_MB} MB): ${ok ? 'met' : 'NOT met'}`,
  );
  console.log(
    JSON.stringify({
      bench: 'cli-start',
      runs: RUNS,
      nodeMs: base,
      nodeRssMb: baseRss,
      commands: Object.fromEntries(
        names
          .slice(1)
          .map((n) => [
            n,
            { ratio: median(wall[n]) / baseOf(n)[0], extraMb: median(rssMb[n]) - baseOf(n)[1] },
          ]),
      ),
    }),
  );
} finally {
  tmp.cleanup();
}
