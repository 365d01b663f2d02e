#!/usr/bin/env node
/**
 * `npm run bench`: run every benchmark script `bench/*.mjs` (except this one and `*-worker.mjs` helpers that
 * other benchmarks start) one after another, each in its own process so they never disturb each other.
 * Each prints its own readable summary; this prints which ones finished and exits non-zero if one failed.
 *
 *   node bench/run.mjs                 # all
 *   node bench/run.mjs overhead cold   # only those whose file name contains one of the words
 */
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const self = basename(fileURLToPath(import.meta.url));
const filters = process.argv.slice(2);
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.mjs') && f !== self && !f.endsWith('-worker.mjs'))
  .filter((f) => filters.length === 0 || filters.some((w) => f.includes(w)))
  .sort();

const results = [];
for (const script of scripts) {
  console.log(`\n### bench/${script}`);
  const started = performance.now();
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(here, script)], { stdio: 'inherit' });
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
    child.on('error', () => resolve(1));
  });
  results.push({ script, code, seconds: (performance.now() - started) / 1000 });
}

console.log('\n### summary');
for (const r of results) {
  console.log(`   ${r.code === 0 ? 'ok    ' : 'FAILED'}  bench/${r.script}  (${r.seconds.toFixed(1)} s)`);
}
if (results.some((r) => r.code !== 0)) process.exitCode = 1;
