/**
 * Shared helpers of the client benchmarks (bench/overhead.mjs, refresh-storm.mjs, cold-start.mjs).
 * Everything runs against the BUILT dist (`npm run bench` builds first).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const DIST = join(ROOT, 'dist');
/** Every module of src/, compiled one to one (npm run build): for benchmarks that drive internals. */
export const BUILD = join(ROOT, 'build');

/** `dhcore dev-server` as a child process (its CPU is not the client's); resolves with its ready line. */
export async function startDevServerChild({ accessTokenTtl = 3600 } = {}) {
  const child = spawn(
    process.execPath,
    [join(DIST, 'cli/main.js'), 'dev-server', '--quiet', '--access-token-ttl', String(accessTokenTtl)],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    stderr += d;
  });
  const info = await new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolvePromise(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (code) => reject(new Error(`dev-server exited (${code}): ${stderr.slice(0, 500)}`)));
  });
  return {
    ...info,
    close: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/** A throw-away folder; `cleanup()` removes it. */
export function tempDir(prefix = 'dhcore-bench-') {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Run `total` calls of `fn(i)` with at most `concurrency` in flight; returns per-call latencies (ms) and wall ms. */
export async function pool(total, concurrency, fn) {
  const latencies = new Array(total);
  let next = 0;
  let failures = 0;
  const started = performance.now();
  async function worker() {
    for (;;) {
      const i = next++;
      if (i >= total) return;
      const t0 = performance.now();
      try {
        await fn(i);
      } catch {
        failures++;
      }
      latencies[i] = performance.now() - t0;
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return { wallMs: performance.now() - started, latencies, failures };
}

/** The order of the sides in round `round`: rotated, and reversed every other round, so each side runs in
 * every position and after every other side (load drifting on the machine hits all alike). */
export function roundOrder(names, round) {
  const order = names.map((_, i) => names[(round + i) % names.length]);
  return round % 2 === 1 ? order.reverse() : order;
}

export function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

export const median = (values) => percentile(values, 50);

/**
 * A 95 % interval for the median of `values` (per-round ratios): the 2.5th and 97.5th percentiles of the
 * medians of 2000 resamples drawn with replacement. Seeded, so the same rounds always give the same interval.
 * It says how far this run's noise alone could move the median, which a point figure hides.
 */
export function medianInterval(values, resamples = 2000) {
  let seed = 0x9e3779b9;
  // mulberry32: a small seeded generator; Math.random() cannot be seeded.
  const random = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const medians = [];
  const sample = new Array(values.length);
  for (let i = 0; i < resamples; i++) {
    for (let j = 0; j < values.length; j++) sample[j] = values[Math.floor(random() * values.length)];
    medians.push(median(sample));
  }
  return { low: percentile(medians, 2.5), high: percentile(medians, 97.5) };
}

export const fmt = (n, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : String(n));

/** Read the body and fail on a non-2xx status, so a benchmark never counts errors as throughput. */
export async function drain(res) {
  await res.arrayBuffer();
  if (!res.ok) throw new Error(`HTTP ${res.status}`);
}

/**
 * A minimal HTTP server in a child process answering every request with a small JSON body: it serves far
 * faster than the dev server, so the client's own per-request cost shows more plainly against it.
 */
export async function startRawServerChild() {
  const code = `const s = require('node:http').createServer((req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(200, { 'content-type': 'application/json' }); res.end('{"name":"demo"}'); });
});
s.keepAliveTimeout = 60000;
s.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: s.address().port }) + '\\n'));`;
  const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { port } = await new Promise((resolvePromise, reject) => {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolvePromise(JSON.parse(out.slice(0, nl)));
    });
    child.once('exit', (c) => reject(new Error(`raw server exited (${c})`)));
  });
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}
