#!/usr/bin/env node
/**
 * What `client.fetch` costs per request over plain `fetch`, in instructions: deterministic where wall-clock
 * throughput on a shared 2-core machine is not (bench/overhead.mjs's control side shows how far two identical
 * sides drift there). Each side runs in a process of its own under valgrind's callgrind, with the in-process
 * dispatcher of bench/lib/instant.mjs (no sockets, so the count does not depend on timing), Node's
 * `--single-threaded` (GC on the main thread, counted) and fixed hash and random seeds:
 *   - plain:  `fetch(url, { headers })` with the same 900-character bearer token the client sends;
 *   - client: `client.fetch('/api/auth')` with its default 30 s time limit;
 *   - client, no limit: `timeoutMs: 0`;
 *   - client (baseline build): with BENCH_BASELINE_DIST=<another build's dist>.
 * After a warm-up of W requests (JIT), a run of N1 and one of N2 requests; per request = the difference of the
 * two counts / (N2 − N1), so start-up and warm-up cancel out. The ratio plain/side is the throughput ratio of a
 * process whose CPU is the bottleneck (the minimal server of bench/overhead.mjs). Target: ≥ 0.97.
 * A count repeats exactly for one build on one machine, but where the garbage collector's larger pauses fall
 * inside N2 − N1 moves a side's figure by a few percent (seen on one machine: plain 570.0 K and the client
 * 540.3 K with the default 2000 requests, 509.6 K and 509.8 K with 8000): differences under ≈1 % are not
 * findings. Without sockets it also misses what the client costs undici's own connection code; over real
 * sockets, bench/overhead.mjs is the measure.
 *
 *   BENCH_WARM=4000 BENCH_N1=1000 BENCH_N2=3000 node bench/client-instructions.mjs   # needs valgrind
 */
import { spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { DIST, fmt } from './lib/util.mjs';

const TARGET = 0.97;

if (process.argv[2] === '--side') {
  const [side, count, dist, warm] = process.argv.slice(3);
  await runSide(side, Number(count), dist, Number(warm));
} else {
  await main();
}

/** One side: `warm` requests, then `count` more (the parent counts the instructions of the whole process). */
async function runSide(side, count, dist, warm) {
  const { installInstantDispatcher } = await import('./lib/instant.mjs');
  const { createClient } = await import(pathToFileURL(join(dist, 'index.js')).href);
  await installInstantDispatcher();
  const token = 'x'.repeat(900);
  const opts = {
    env: { HOME: '/nonexistent', DHCORE_ENDPOINT: 'http://127.0.0.1:8080', DHCORE_ACCESS_TOKEN: token },
    configFile: '/nonexistent/.dhcore.ini',
    storage: 'memory',
    ...(side === 'nolimit' ? { timeoutMs: 0 } : {}),
  };
  const headers = { authorization: `Bearer ${token}` };
  const client = side === 'plain' ? undefined : await createClient(opts);
  const one =
    client === undefined
      ? () => fetch('http://127.0.0.1:8080/api/auth', { headers }).then((r) => r.arrayBuffer())
      : () => client.fetch('/api/auth').then((r) => r.arrayBuffer());
  const pool = async (total) => {
    let started = 0;
    const worker = async () => {
      while (started++ < total) await one();
    };
    await Promise.all(Array.from({ length: 32 }, worker));
  };
  await pool(warm);
  await pool(count);
}

async function main() {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('client-instructions: valgrind is not installed (apt-get install valgrind); skipped');
    return;
  }
  const WARM = Number(process.env.BENCH_WARM ?? 4000);
  const N1 = Number(process.env.BENCH_N1 ?? 1000);
  const N2 = Number(process.env.BENCH_N2 ?? 3000);
  const baseline = process.env.BENCH_BASELINE_DIST;
  const sides = [
    ['plain', 'plain', DIST],
    ['client', 'client', DIST],
    ['client, no limit', 'nolimit', DIST],
    ...(baseline ? [['client (baseline build)', 'client', resolve(baseline)]] : []),
  ];
  const self = fileURLToPath(import.meta.url);
  // Two runs at a time (this machine has two cores); each count is the same whatever else runs.
  const jobs = sides.flatMap(([name, side, dist]) => [N1, N2].map((n) => ({ name, side, dist, n })));
  const counts = new Map();
  const run = ({ name, side, dist, n }) =>
    new Promise((resolvePromise, reject) => {
      const args = ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath];
      args.push('--single-threaded', '--hash-seed=1', '--random-seed=1');
      args.push(self, '--side', side, String(n), dist, String(WARM));
      const child = spawn('valgrind', args, {
        stdio: ['ignore', 'ignore', 'pipe'],
        env: { PATH: process.env.PATH },
      });
      let err = '';
      child.stderr.setEncoding('utf8').on('data', (d) => {
        err += d;
      });
      child.on('exit', (code) => {
        const m = /Collected : (\d+)/.exec(err);
        if (code !== 0 || !m) return reject(new Error(`${name} (${n}) failed (${code}): ${err.slice(-400)}`));
        counts.set(`${name}/${n}`, Number(m[1]));
        resolvePromise();
      });
    });
  for (let i = 0; i < jobs.length; i += 2) await Promise.all(jobs.slice(i, i + 2).map(run));

  const perRequest = (name) => (counts.get(`${name}/${N2}`) - counts.get(`${name}/${N1}`)) / (N2 - N1);
  const plain = perRequest('plain');
  console.log(
    `\n== client.fetch vs fetch, instructions per request (callgrind, in-process dispatcher; warm-up ${WARM}, then ${N2} − ${N1} requests)`,
  );
  let ok = true;
  for (const [name] of sides) {
    const n = perRequest(name);
    const ratio = plain / n;
    const over =
      name === 'plain'
        ? ''
        : `  ${fmt(((n - plain) / plain) * 100, 2).padStart(6)} % over plain   ratio ${fmt(ratio, 3)}`;
    console.log(`   ${name.padEnd(24)} ${fmt(n / 1000, 1).padStart(7)} K instructions/request${over}`);
    if (name === 'client' && ratio < TARGET) ok = false;
  }
  console.log(
    `   time limit: ${fmt((perRequest('client') - perRequest('client, no limit')) / 1000, 1)} K instructions/request; target (client ratio ≥ ${TARGET}): ${ok ? 'met' : 'NOT met'}`,
  );
  console.log(
    JSON.stringify({
      bench: 'client-instructions',
      perRequest: Object.fromEntries(sides.map(([name]) => [name, perRequest(name)])),
    }),
  );
}
