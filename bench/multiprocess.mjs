#!/usr/bin/env node
/**
 * Multi-process refresh benchmark (run after a build: `npm run build && node bench/multiprocess.mjs`).
 *
 * Starts the embedded dev server (rotating refresh tokens with reuse detection, 2 s access tokens), logs in
 * once, then:
 *   1. N processes × K forced refreshes of ONE shared profile → refreshes/second, token requests per
 *      rotation (server-side count / rotations), invalid_grant count, file integrity.
 *   2. N long-lived processes calling accessToken() for D ms → how many refreshed vs adopted a token
 *      another process had just rotated.
 * Prints a readable summary and, last, ONE JSON line (for bench/run.mjs).
 *
 * Options (env): BENCH_PROCESSES (6), BENCH_REFRESHES (25 per process), BENCH_ACCESS_MS (6000),
 * BENCH_PAD_MB (0): a section of that many MB before the shared one, so every save rewrites a big file
 * (a slow save would hold the lock long enough to have it taken over: counted as take-overs).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IniDocument } from '../build/config/ini.js';
import { headlessLogin, startDevServer } from '../dist/dev-server/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const WORKER = join(here, 'multiprocess-worker.mjs');
const PROCESSES = Number(process.env.BENCH_PROCESSES ?? 6);
const REFRESHES = Number(process.env.BENCH_REFRESHES ?? 25);
const ACCESS_MS = Number(process.env.BENCH_ACCESS_MS ?? 6000);
const PAD_MB = Number(process.env.BENCH_PAD_MB ?? 0);

function runWorker(args, env) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WORKER, ...args], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop();
      if (code !== 0 || !line?.startsWith('{')) reject(new Error(`worker exited with ${code}`));
      else resolve(JSON.parse(line));
    });
  });
}

const sum = (xs, f) => xs.reduce((n, x) => n + f(x), 0);

const server = await startDevServer({ accessTokenTtl: 2 });
const dir = mkdtempSync(join(tmpdir(), 'dhcore-bench-'));
const file = join(dir, '.dhcore.ini');
const padding = [];
for (let i = 0, size = 0; size < PAD_MB * 1024 * 1024; i++) {
  const line = `key_${String(i).padStart(8, '0')} = value of padding line ${i}\n`;
  padding.push(line);
  size += line.length;
}
const header = `# benchmark\n[other]\ndhcore_endpoint = https://other.example.com\n${padding.join('')}\n`;
try {
  const { refresh_token: refreshToken } = await headlessLogin(server);
  writeFileSync(
    file,
    `${header}[shared]\ndhcore_endpoint = ${server.endpoint}\ndhcore_client_id = ${server.clientId}\ndhcore_refresh_token = ${refreshToken}\n`,
    { mode: 0o600 },
  );
  const env = { PATH: process.env.PATH, HOME: dir, DH_CONFIG: file, DH_NAME: 'shared' };

  // 1. Forced refreshes.
  const before = server.stats().byGrant.refresh_token ?? 0;
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: PROCESSES }, () => runWorker(['refresh', String(REFRESHES)], env)),
  );
  const seconds = (performance.now() - t0) / 1000;
  const rotations = sum(results, (r) => r.ops);
  const requests = (server.stats().byGrant.refresh_token ?? 0) - before;
  const invalidGrant = sum(results, (r) => r.errors.auth_invalid_grant ?? 0);
  const otherErrors = sum(results, (r) => Object.values(r.errors).reduce((a, b) => a + b, 0)) - invalidGrant;
  const distinct = new Set(results.flatMap((r) => r.tokens)).size;
  const text = readFileSync(file, 'utf8');
  let fileOk = text.startsWith(header);
  try {
    IniDocument.parse(text, file);
  } catch {
    fileOk = false;
  }

  // 2. Long-lived processes sharing the profile (refresh ahead of expiry, adopt if rotated).
  const before2 = server.stats().byGrant.refresh_token ?? 0;
  const services = await Promise.all(
    Array.from({ length: PROCESSES }, () => runWorker(['access', String(ACCESS_MS)], env)),
  );
  const refreshed = sum(services, (r) => r.actions.refreshed);
  const adopted = sum(services, (r) => r.actions.adopted);
  const serviceRequests = (server.stats().byGrant.refresh_token ?? 0) - before2;
  const serviceErrors = sum(services, (r) => Object.values(r.errors).reduce((a, b) => a + b, 0));
  const calls = sum(services, (r) => r.ops);
  const takeovers = sum([...results, ...services], (r) => r.takeovers ?? 0);

  const result = {
    bench: 'multiprocess',
    processes: PROCESSES,
    rotations,
    seconds: Number(seconds.toFixed(2)),
    refreshesPerSecond: Number((rotations / seconds).toFixed(1)),
    tokenRequestsPerRotation: Number((requests / Math.max(1, rotations)).toFixed(3)),
    distinctTokens: distinct,
    invalidGrant,
    otherErrors,
    fileIntact: fileOk,
    fileMB: Number((Buffer.byteLength(text) / 1024 / 1024).toFixed(1)),
    takeovers,
    services: {
      durationMs: ACCESS_MS,
      accessTokenCalls: calls,
      tokenRequests: serviceRequests,
      refreshed,
      adopted,
      errors: serviceErrors,
    },
  };
  console.log(`multi-process refresh benchmark (dev server, 2 s access tokens, rotating refresh tokens)
  forced refreshes : ${PROCESSES} processes x ${REFRESHES} = ${rotations} rotations in ${result.seconds} s
                     -> ${result.refreshesPerSecond} refreshes/s, ${result.tokenRequestsPerRotation} token requests per rotation
                     invalid_grant: ${invalidGrant}, other errors: ${otherErrors}, file intact: ${fileOk} (${result.fileMB} MB)
                     locks taken over from a live holder: ${takeovers}
  long-lived       : ${PROCESSES} processes x ${ACCESS_MS} ms, ${calls} accessToken() calls
                     ${serviceRequests} token requests (${refreshed} refreshed, ${adopted} adopted another process's token), errors: ${serviceErrors}`);
  console.log(JSON.stringify(result));
  if (invalidGrant > 0 || otherErrors > 0 || serviceErrors > 0 || takeovers > 0 || !fileOk)
    process.exitCode = 1;
} finally {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
