#!/usr/bin/env node
/**
 * Overhead of `client.fetch` over plain `fetch`: the same N requests (default 10 000, concurrency 32) to the
 * dev server's `/api/auth`, once through `client.fetch('/api/auth')` and once through `fetch(url, { headers })`
 * with a fixed Authorization header, alternating rounds in ONE run. Reports the throughput ratio client/plain
 * (target ≥ 0.95). The dev server runs as a child process so its CPU is not counted against either side.
 *
 * A second, stricter comparison sends the same requests to a minimal HTTP server (also a child process;
 * tokens still come from the dev server as issuer): it answers much faster than the dev server, so the
 * client's own cost per request is a larger share of the total there.
 *
 *   BENCH_N=10000 BENCH_CONCURRENCY=32 BENCH_CHUNK=1000 node bench/overhead.mjs
 */
import { join } from 'node:path';
import { createClient } from '../dist/index.js';
import {
  drain,
  fmt,
  median,
  percentile,
  pool,
  startDevServerChild,
  startRawServerChild,
  tempDir,
} from './lib/util.mjs';

const N = Number(process.env.BENCH_N ?? 10_000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
const CHUNK = Number(process.env.BENCH_CHUNK ?? 1_000);
// Diagnosis: BENCH_TIMEOUT_MS=0 runs the client without its per-request timeout.
const clientOptions = process.env.BENCH_TIMEOUT_MS ? { timeoutMs: Number(process.env.BENCH_TIMEOUT_MS) } : {};

/** Alternate rounds of plain fetch and client.fetch against `apiBase`; print and return the ratio. */
async function compare(title, client, apiBase) {
  // The baseline sends the very token the client uses, as a fixed header.
  const headers = await client.authHeaders();
  const url = `${apiBase}/api/auth`;
  const sides = {
    plain: () => fetch(url, { headers }).then(drain),
    client: () => client.fetch('/api/auth').then(drain),
  };
  // Warm up both (connections, JIT) before measuring.
  for (const fn of Object.values(sides)) await pool(Math.min(2000, N), CONCURRENCY, fn);

  // Short chunks in ABBA order, so load drifting on the machine hits both sides alike.
  const chunks = Math.max(2, Math.ceil(N / CHUNK));
  const wall = { plain: 0, client: 0 };
  const cpu = { plain: 0, client: 0 };
  const lat = { plain: [], client: [] };
  const pairRatios = [];
  let failures = 0;
  for (let c = 0; c < chunks; c++) {
    const order = c % 2 === 0 ? ['plain', 'client'] : ['client', 'plain'];
    const rate = {};
    for (const side of order) {
      const cpu0 = process.cpuUsage();
      const r = await pool(CHUNK, CONCURRENCY, sides[side]);
      const used = process.cpuUsage(cpu0);
      cpu[side] += used.user + used.system;
      wall[side] += r.wallMs;
      failures += r.failures;
      lat[side].push(...r.latencies);
      rate[side] = CHUNK / r.wallMs;
    }
    pairRatios.push(rate.client / rate.plain);
  }
  const total = chunks * CHUNK;
  const ratio = wall.plain / wall.client;
  console.log(
    `\n== overhead (${title}): ${total} requests each side in ${chunks} alternating chunks, concurrency ${CONCURRENCY}`,
  );
  console.log(`   GET ${url}, auth method ${client.authMethod}, failures: ${failures}`);
  for (const side of ['plain', 'client']) {
    console.log(
      `   ${side.padEnd(6)}  ${fmt((total / wall[side]) * 1000, 0).padStart(6)} req/s   ` +
        `CPU in this process ${fmt(cpu[side] / total, 1).padStart(6)} µs/request   ` +
        `latency p50 ${fmt(percentile(lat[side], 50), 2)} ms, p99 ${fmt(percentile(lat[side], 99), 2)} ms`,
    );
  }
  console.log(
    `   throughput ratio client/plain: ${fmt(ratio, 3)} (median of chunk pairs ${fmt(median(pairRatios), 3)}; ` +
      `target ≥ 0.95: ${ratio >= 0.95 ? 'met' : 'NOT met'}); client CPU overhead ${fmt((cpu.client - cpu.plain) / total, 1)} µs/request`,
  );
  return { ratio, failures };
}

const server = await startDevServerChild();
const raw = await startRawServerChild();
const tmp = tempDir();
try {
  const env = {
    HOME: tmp.dir,
    DHCORE_ENDPOINT: server.endpoint,
    DHCORE_CLIENT_ID: server.clientId,
    DHCORE_PERSONAL_ACCESS_TOKEN: server.pat,
  };
  const configFile = join(tmp.dir, '.dhcore.ini');
  const devClient = await createClient({ env, configFile, storage: 'memory', ...clientOptions });
  const a = await compare('dev server /api/auth — the target', devClient, server.endpoint);
  const rawClient = await createClient({
    env: { ...env, DHCORE_ENDPOINT: raw.origin, DHCORE_ISSUER: server.endpoint },
    configFile,
    storage: 'memory',
    ...clientOptions,
  });
  const b = await compare('minimal HTTP server — stricter', rawClient, raw.origin);
  if (a.failures + b.failures > 0) process.exitCode = 1;
} finally {
  await Promise.all([server.close(), raw.close()]);
  tmp.cleanup();
}
