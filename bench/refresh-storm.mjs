#!/usr/bin/env node
/**
 * Refresh storm: 1000 requests issued at once through one client whose token is no longer good, against the
 * dev server (in-process, so token requests are counted at the server with `stats()`):
 *
 *   valid     — a burst with a valid token (the latency baseline);
 *   expired   — the saved token is past its expiry: the client must renew it before sending (proactive path);
 *   rejected  — the saved token has no known expiry and the server refuses it: every request gets a 401 and
 *               must share ONE refresh, then retry once (the 401 path).
 *
 * Targets: exactly 1 token request per storm, 0 failures. Latency p50/p99 are compared with the valid burst.
 *
 *   BENCH_BURST=1000 node bench/refresh-storm.mjs
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDevServer } from '../dist/dev-server/index.js';
import { createClient } from '../dist/index.js';
import { fmt, percentile, tempDir } from './lib/util.mjs';

const BURST = Number(process.env.BENCH_BURST ?? 1000);

const server = await startDevServer({ port: 0 });
const tmp = tempDir();
const configFile = join(tmp.dir, '.dhcore.ini');
// The profile lives in the config file (a profile only in the environment keeps its tokens in the token
// cache instead), so the saved token can be edited below as time or a revocation would change it.
writeFileSync(
  configFile,
  `[bench]\ndhcore_endpoint = ${server.endpoint}\ndhcore_client_id = ${server.clientId}\ndhcore_personal_access_token = ${server.pat}\n`,
  { mode: 0o600 },
);
const env = { HOME: tmp.dir, DH_NAME: 'bench' };

/** A fetch that counts what the API answered (token and discovery requests excluded). */
function countingFetch() {
  const statuses = new Map();
  const impl = async (input, init) => {
    const res = await fetch(input, init);
    if (String(input).includes('/api/')) statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    return res;
  };
  return { impl, statuses };
}

/** BURST requests at once; latency of each from the common start. */
async function burst(client) {
  const before = server.stats().tokenRequests;
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: BURST }, async () => {
      try {
        const res = await client.fetch('/api/auth');
        await res.arrayBuffer();
        return { ok: res.status === 200, ms: performance.now() - t0 };
      } catch {
        return { ok: false, ms: performance.now() - t0 };
      }
    }),
  );
  const wallMs = performance.now() - t0;
  const ms = results.map((r) => r.ms);
  return {
    tokenRequests: server.stats().tokenRequests - before,
    failures: results.filter((r) => !r.ok).length,
    p50: percentile(ms, 50),
    p99: percentile(ms, 99),
    wallMs,
  };
}

/** Rewrite the saved profile (as time, or a revocation, would have changed it). */
function editProfile(edit) {
  writeFileSync(configFile, edit(readFileSync(configFile, 'utf8')), { mode: 0o600 });
}

try {
  // A first client exchanges the PAT and saves the token (file storage), like a previous run would have.
  const first = await createClient({ env, configFile });
  await (await first.fetch('/api/auth')).arrayBuffer();

  const rows = [];
  const valid = await createClient({ env, configFile });
  await burst(valid); // warm-up: opens the connections every later burst reuses
  rows.push(['valid', await burst(valid), null]);

  const past = new Date(Date.now() - 60_000).toISOString();
  // An opaque token whose stored expiry has passed (a JWT's own exp would win over the stored expiry).
  editProfile((t) =>
    t
      .replace(/^dhcore_access_token = .*$/m, 'dhcore_access_token = expired-opaque-token')
      .replace(/^dhcore_expires_at = .*$/m, `dhcore_expires_at = ${past}`)
      .replace(/^dhcore_refresh_at = .*$/m, `dhcore_refresh_at = ${past}`),
  );
  const expiredCounter = countingFetch();
  const expired = await createClient({ env, configFile, fetch: expiredCounter.impl });
  rows.push(['expired', await burst(expired), expiredCounter.statuses]);

  editProfile((t) =>
    t
      .replace(/^dhcore_access_token = .*$/m, 'dhcore_access_token = revoked-token-the-server-refuses')
      .replace(/^dhcore_expires_at = .*\n/m, '')
      .replace(/^dhcore_refresh_at = .*\n/m, ''),
  );
  const rejectedCounter = countingFetch();
  const rejected = await createClient({ env, configFile, fetch: rejectedCounter.impl });
  rows.push(['rejected', await burst(rejected), rejectedCounter.statuses]);

  const base = rows[0][1];
  console.log(
    `\n== refresh storm: ${BURST} concurrent client.fetch('/api/auth'), dev server in-process (auth method exchange)`,
  );
  let ok = true;
  for (const [name, r, statuses] of rows) {
    const seen = statuses ? [...statuses].map(([s, n]) => `${s}×${n}`).join(' ') : 'n/a';
    console.log(
      `   ${name.padEnd(8)} token requests ${String(r.tokenRequests).padStart(2)}  failures ${String(r.failures).padStart(3)}  ` +
        `p50 ${fmt(r.p50, 0).padStart(5)} ms (×${fmt(r.p50 / base.p50, 2)})  p99 ${fmt(r.p99, 0).padStart(5)} ms (×${fmt(r.p99 / base.p99, 2)})  ` +
        `wall ${fmt(r.wallMs, 0)} ms   API answers: ${seen}`,
    );
    if (name !== 'valid' && r.tokenRequests !== 1) ok = false;
    if (r.failures !== 0) ok = false;
  }
  console.log(`   targets (exactly 1 token request per storm, 0 failures): ${ok ? 'met' : 'NOT met'}`);
  if (!ok) process.exitCode = 1;
} finally {
  await server.close();
  tmp.cleanup();
}
