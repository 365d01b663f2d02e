#!/usr/bin/env node
/**
 * CPU per request of the client's time limit, without a network: an in-process dispatcher that answers at
 * once (200, a 15-byte body, on the next tick) is installed as Node's global dispatcher, so what is measured is
 * fetch's own work plus the time limit's. Sides, in rotating rounds in ONE run (median of rounds, concurrency
 * 32, body read):
 *   - fetch: no time limit (the baseline), twice (the second shows the run's noise);
 *   - wire deadline: the client's design, a per-call dispatcher and one timer per bucket (wire-deadlines.js);
 *   - shared signal: a deadline signal shared by ≤ 8 requests (the previous design, deadlines.js);
 *   - signal per request: `AbortSignal.timeout(30 000)`;
 * and the whole `client.fetch` path (auth header, URL, token check, redirect handling) through the same
 * dispatcher, with and without its time limit, against `fetch` with the same header. On a shared machine
 * these end-to-end figures are only as good as the noise line ("fetch (again)") says; the second part, the
 * same designs in tight loops without fetch's own asynchronous work (a Request built, one request dispatched,
 * connected and completed), gives their cost far more precisely.
 *
 *   npm run build && BENCH_N=2000 BENCH_ROUNDS=21 node bench/deadlines.mjs
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { installInstantDispatcher } from './lib/instant.mjs';
import { BUILD, DIST, fmt, median, pool, roundOrder, tempDir } from './lib/util.mjs';

// Single-threaded GC: process.cpuUsage() counts every thread, and GC helper threads add noise of their own.
if (!process.execArgv.includes('--single-threaded-gc')) {
  const flags = ['--single-threaded-gc'];
  const r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

const N = Number(process.env.BENCH_N ?? 2_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 21);
const CONCURRENCY = 32;
const TIMEOUT_MS = 30_000;

const { createClient } = await import(pathToFileURL(join(DIST, 'index.js')).href);
const { WireDeadlines } = await import(pathToFileURL(join(BUILD, 'client/wire-deadlines.js')).href);
const { SharedDeadlines } = await import(pathToFileURL(join(BUILD, 'client/deadlines.js')).href);

await installInstantDispatcher();

const URL_ = 'http://127.0.0.1:8080/api/auth';
const AUTH = { authorization: 'Bearer bench-token' };
const wire = new WireDeadlines(TIMEOUT_MS, () => new Error('timeout'));
const shared = new SharedDeadlines(TIMEOUT_MS, () => new Error('timeout'));
const drain = (res) => res.arrayBuffer();

const tmp = tempDir();
const clientOpts = (timeoutMs) => ({
  env: { HOME: tmp.dir, DHCORE_ENDPOINT: 'http://127.0.0.1:8080', DHCORE_ACCESS_TOKEN: 'bench-token' },
  configFile: join(tmp.dir, '.dhcore.ini'),
  storage: 'memory',
  timeoutMs,
});
const client = await createClient(clientOpts(TIMEOUT_MS));
const clientNoLimit = await createClient(clientOpts(0));

const sides = {
  fetch: () => fetch(URL_, { headers: AUTH }).then(drain),
  // The same as `fetch`: how far apart two identical sides come out is the run's noise.
  'fetch (again)': () => fetch(URL_, { headers: AUTH }).then(drain),
  'wire deadline': () =>
    fetch(URL_, { headers: AUTH, dispatcher: wire.call(undefined, undefined) }).then(drain),
  'shared signal': () => fetch(URL_, { headers: AUTH, signal: shared.signal() }).then(drain),
  'signal per request': () =>
    fetch(URL_, { headers: AUTH, signal: AbortSignal.timeout(TIMEOUT_MS) }).then(drain),
  'client.fetch': () => client.fetch('/api/auth').then(drain),
  'client.fetch, no limit': () => clientNoLimit.fetch('/api/auth').then(drain),
};
const names = Object.keys(sides);

for (const name of names) await pool(Math.min(N, 5000), CONCURRENCY, sides[name]); // warm up (JIT)
const cpu = Object.fromEntries(names.map((n) => [n, []]));
const rate = Object.fromEntries(names.map((n) => [n, []]));
let failures = 0;
for (let round = 0; round < ROUNDS; round++) {
  const order = roundOrder(names, round);
  for (const name of order) {
    const c0 = process.cpuUsage();
    const r = await pool(N, CONCURRENCY, sides[name]);
    const used = process.cpuUsage(c0);
    failures += r.failures;
    cpu[name].push((used.user + used.system) / N);
    rate[name].push(N / r.wallMs);
  }
}
tmp.cleanup();

/** Median over rounds of `name`'s CPU minus `than`'s in the same round (paired: drift between rounds cancels). */
const over = (name, than = 'fetch') => median(cpu[name].map((c, i) => c - cpu[than][i]));
console.log(
  `\n== time-limit CPU per request (in-process dispatcher, no I/O): ${ROUNDS} rounds × ${N} requests, concurrency ${CONCURRENCY}, failures ${failures}`,
);
for (const name of names) {
  const vs = name === 'fetch' ? '' : `   ${fmt(over(name), 2).padStart(6)} µs over fetch`;
  console.log(
    `   ${name.padEnd(24)} ${fmt(median(cpu[name]), 1).padStart(6)} µs/request   ${fmt(median(rate[name]) * 1000, 0).padStart(6)} req/s${vs}`,
  );
}
console.log(
  `   client.fetch: its time limit ${fmt(over('client.fetch', 'client.fetch, no limit'), 2)} µs/request (client with vs without it)`,
);

// The machinery alone, no I/O and no fetch around it, in tight loops: what fetch does per request that a time
// limit changes. It builds a Request (where undici follows a signal: listener, WeakRef, FinalizationRegistry)
// and hands a fresh handler to a dispatcher, which connects and completes it. Each loop minus the one without
// a limit, median of rotating rounds.
const sink = { dispatch: () => true };
const noop = () => {};
const request = (init, dispatcher) => {
  new Request(URL_, init);
  const h = { onConnect() {}, onComplete() {}, onError() {} };
  dispatcher.dispatch(undefined, h);
  h.onConnect(noop);
  h.onComplete([]);
};
const LOOP = 50_000;
const loops = {
  'no limit': () => request({ headers: AUTH }, sink),
  'wire deadline': () => request({ headers: AUTH }, wire.call(undefined, sink)),
  'shared signal': () => request({ headers: AUTH, signal: shared.signal() }, sink),
  'signal per request': () => request({ headers: AUTH, signal: AbortSignal.timeout(TIMEOUT_MS) }, sink),
};
const loopNames = Object.keys(loops);
const alone = Object.fromEntries(loopNames.map((n) => [n, []]));
for (let r = 0; r < 9; r++) {
  const order = loopNames.map((_, i) => loopNames[(r + i) % loopNames.length]);
  if (r % 2 === 1) order.reverse();
  for (const name of order) {
    const c0 = process.cpuUsage();
    for (let i = 0; i < LOOP; i++) loops[name]();
    const used = process.cpuUsage(c0);
    alone[name].push((used.user + used.system) / LOOP);
    await new Promise((resolve) => setImmediate(resolve)); // let FinalizationRegistry callbacks run
  }
}
console.log(
  `\n== the same, machinery alone (Request + dispatch + connect + complete, no I/O), ${LOOP} per round`,
);
for (const name of loopNames) {
  const extra = median(alone[name].map((c, i) => c - alone['no limit'][i]));
  const vs = name === 'no limit' ? '' : `   ${fmt(extra, 2).padStart(6)} µs for the limit`;
  console.log(`   ${name.padEnd(24)} ${fmt(median(alone[name]), 2).padStart(6)} µs/request${vs}`);
}
if (failures > 0) process.exitCode = 1;
