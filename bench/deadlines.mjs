#!/usr/bin/env node
/**
 * CPU per request of the client's time limit, without a network: Node's own fetch sends every request to an
 * in-process dispatcher that answers at once (200, a 15-byte body) on the next tick, so what is measured is
 * fetch's own work plus the time limit's. Sides, in rotating rounds in ONE run (median of rounds, concurrency
 * 32, body read):
 *   - fetch: no time limit (the baseline);
 *   - wire deadline: the client's design, a per-call dispatcher and one timer per bucket (wire-deadlines.js);
 *   - shared signal: a deadline signal shared by ≤ 8 requests (the previous design, deadlines.js);
 *   - signal per request: `AbortSignal.timeout(30 000)`;
 * and the whole `client.fetch` path (auth header, URL, token check, redirect handling) through the same
 * dispatcher, with and without its time limit, against `fetch` with the same header.
 *
 *   npm run build && BENCH_N=20000 BENCH_ROUNDS=7 node bench/deadlines.mjs
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUILD, DIST, fmt, median, pool, tempDir } from './lib/util.mjs';

// Each round starts from a collected heap, so one side's garbage is not collected on another side's time.
if (typeof globalThis.gc !== 'function') {
  const r = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url)], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}

const N = Number(process.env.BENCH_N ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const CONCURRENCY = 32;
const TIMEOUT_MS = 30_000;

const { createClient } = await import(pathToFileURL(join(DIST, 'index.js')).href);
const { WireDeadlines } = await import(pathToFileURL(join(BUILD, 'client/wire-deadlines.js')).href);
const { SharedDeadlines } = await import(pathToFileURL(join(BUILD, 'client/deadlines.js')).href);

const BODY = Buffer.from('{"name":"demo"}');
const RAW_HEADERS = [
  Buffer.from('content-type'),
  Buffer.from('application/json'),
  Buffer.from('content-length'),
  Buffer.from(String(BODY.length)),
];

/** Answers every request on the next tick, as a socket would (but with no I/O). */
const instant = {
  dispatch(_options, handler) {
    process.nextTick(() => {
      let aborted = false;
      handler.onConnect((err) => {
        if (aborted) return;
        aborted = true;
        handler.onError(err ?? new Error('aborted'));
      });
      if (aborted) return;
      handler.onResponseStarted?.();
      handler.onHeaders(200, RAW_HEADERS, () => {}, 'OK');
      handler.onData(BODY);
      handler.onComplete([]);
    });
    return true;
  },
};

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
  fetch: () => fetch(URL_, { headers: AUTH, dispatcher: instant }).then(drain),
  'wire deadline': () =>
    fetch(URL_, { headers: AUTH, dispatcher: wire.call(undefined, instant) }).then(drain),
  'shared signal': () =>
    fetch(URL_, { headers: AUTH, dispatcher: instant, signal: shared.signal() }).then(drain),
  'signal per request': () =>
    fetch(URL_, { headers: AUTH, dispatcher: instant, signal: AbortSignal.timeout(TIMEOUT_MS) }).then(drain),
  'client.fetch': () => client.fetch('/api/auth', { dispatcher: instant }).then(drain),
  'client.fetch, no limit': () => clientNoLimit.fetch('/api/auth', { dispatcher: instant }).then(drain),
};
const names = Object.keys(sides);

for (const name of names) await pool(Math.min(N, 5000), CONCURRENCY, sides[name]); // warm up (JIT)
const cpu = Object.fromEntries(names.map((n) => [n, []]));
const rate = Object.fromEntries(names.map((n) => [n, []]));
let failures = 0;
for (let round = 0; round < ROUNDS; round++) {
  // Rotate the order so drift on the machine hits every side alike.
  for (let i = 0; i < names.length; i++) {
    const name = names[(round + i) % names.length];
    globalThis.gc();
    const c0 = process.cpuUsage();
    const r = await pool(N, CONCURRENCY, sides[name]);
    const used = process.cpuUsage(c0);
    failures += r.failures;
    cpu[name].push((used.user + used.system) / N);
    rate[name].push(N / r.wallMs);
  }
}
tmp.cleanup();

const base = median(cpu.fetch);
console.log(
  `\n== time-limit CPU per request (in-process dispatcher, no I/O): ${ROUNDS} rounds × ${N} requests, concurrency ${CONCURRENCY}, failures ${failures}`,
);
for (const name of names) {
  const c = median(cpu[name]);
  const vs = name.startsWith('client') ? '' : `   (+${fmt(c - base, 2)} µs over fetch)`;
  console.log(
    `   ${name.padEnd(24)} ${fmt(c, 2).padStart(7)} µs/request   ${fmt(median(rate[name]) * 1000, 0).padStart(7)} req/s${vs}`,
  );
}
const cc = median(cpu['client.fetch']);
const cn = median(cpu['client.fetch, no limit']);
console.log(
  `   client.fetch over fetch: +${fmt(cc - base, 2)} µs/request, of which its time limit +${fmt(cc - cn, 2)} µs`,
);
if (failures > 0) process.exitCode = 1;
