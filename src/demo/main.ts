/**
 * `npm start`: the whole job on the embedded default, in one process and a temporary folder.
 *
 * Starts the dev server (a real oidc-provider), registers it as a profile exactly as
 * `dhcore register` does, logs in with the demo personal access token as `dhcore login --pat` does, then
 * uses the library (`createClient`, `refreshToken`) to make authenticated calls, watches a short-lived
 * token get renewed, writes an object to a local S3 server and reads it back with the store credentials DHCore
 * handed out (`s3Config()` + the AWS SDK), and prints a short summary. Nothing outside the temporary folder is read or written:
 * the shell's DHCORE_* variables and ~/.dhcore.ini are ignored.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { toIssued } from '../auth/grants.js';
import { loginWithPat, saveInteractiveLogin } from '../auth/login.js';
import { createClient } from '../client/client.js';
import { resolveConfig } from '../config/resolve.js';
import { startDevServer } from '../dev-server/index.js';
import { headlessLogin } from '../dev-server/login.js';
import { refreshToken } from '../parity.js';
import { discoverProfile, writeRegistration } from '../profiles/register.js';
import { s3Config } from '../stores/s3.js';

const TTL_S = 3;
const PROFILE = 'demo';
/** A second profile on the same server, logged in as a person (code + PKCE): it gets a refresh token. */
const SSO_PROFILE = 'demo-sso';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const time = (iso: string | undefined) => (iso ? `${iso.slice(11, 19)} UTC` : 'unknown');

function step(n: number, title: string, text: string): void {
  process.stdout.write(`  ${String(n).padStart(1)}  ${title.padEnd(16)} ${text}\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'dhcore-demo-'));
  const configFile = join(dir, '.dhcore.ini');
  // Only this temporary file, never the user's shell settings.
  const base = { configFile, profile: PROFILE, env: {} };
  // s3: a local S3 server; every token comes with a new S3 key pair for it (living 10 minutes here).
  const server = await startDevServer({ port: 0, accessTokenTtl: TTL_S, s3: true, s3KeyTtl: 600 });
  const statuses: number[] = [];
  const token = () => resolveConfig(base).get('dhcore_access_token');
  try {
    process.stdout.write('dhcore-credentials demo — everything runs locally, in a temporary folder\n\n');
    step(
      1,
      'dev server',
      `${server.endpoint} (oidc-provider; access tokens live ${TTL_S} s) + S3 server ${server.s3?.endpoint}`,
    );

    const reg = await discoverProfile(server.endpoint, PROFILE);
    await writeRegistration(configFile, reg, false);
    step(
      2,
      'register',
      `profile '${PROFILE}' (${Object.keys(reg.values).length} keys from the server) → ${configFile}`,
    );

    const login = await loginWithPat({ config: resolveConfig(base), pat: server.pat });
    const extras = login.savedKeys.filter((k) => !k.startsWith('dhcore_') && !k.startsWith('oauth2_'));
    step(
      3,
      'login --pat',
      `exchanged the demo PAT; access token valid until ${time(login.expiresAt)}` +
        (extras.length
          ? `, plus ${extras.length} store credentials (${[...new Set(extras.map((k) => `${k.split('_')[0]}_*`))].join(', ')})`
          : ''),
    );

    const client = await createClient(base);
    const before = server.stats().tokenRequests;
    const who: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await client.fetch('/api/auth');
      statuses.push(res.status);
      who.push(((await res.json()) as { name?: string }).name ?? '?');
    }
    step(
      4,
      'API calls',
      `3 × GET /api/auth → ${statuses.join(' ')} as '${who[0]}' (saved token reused: ${server.stats().tokenRequests - before} new token requests)`,
    );

    const first = token();
    // Past half the lifetime the token is inside its refresh window.
    await sleep((TTL_S * 1000) / 2 + 300);
    const renew = await client.fetch('/api/auth');
    statuses.push(renew.status);
    await renew.arrayBuffer();
    if (token() === first) throw new Error('the client did not renew a token inside its refresh window');
    step(
      5,
      'auto renewal',
      `token near expiry → the client got and saved a new one before the call → ${renew.status}` +
        ` (valid until ${time(client.expiresAt)})`,
    );

    const second = token();
    await refreshToken(base);
    if (token() === second) throw new Error('refreshToken() did not save a new token');
    step(
      6,
      'refreshToken()',
      'explicit refresh → new token saved (a PAT profile re-exchanges: DHCore issues no refresh token for a PAT)',
    );

    // The browser login ('dhcore login'), with the dev server's form filled in headlessly.
    await writeRegistration(configFile, await discoverProfile(server.endpoint, SSO_PROFILE), false);
    const sso = { ...base, profile: SSO_PROFILE };
    await saveInteractiveLogin(resolveConfig(sso), toIssued(await headlessLogin(server)), server.clientId);
    const refreshBefore = resolveConfig(sso).get('dhcore_refresh_token');
    const ssoClient = await createClient(sso);
    await refreshToken(sso);
    const refreshAfter = resolveConfig(sso).get('dhcore_refresh_token');
    if (!refreshBefore || refreshAfter === refreshBefore) throw new Error('the refresh token did not rotate');
    const ssoCall = await ssoClient.fetch('/api/auth');
    statuses.push(ssoCall.status);
    await ssoCall.arrayBuffer();
    step(
      7,
      'login + refresh',
      `code + PKCE login into '${SSO_PROFILE}' (auth method ${ssoClient.authMethod}); refreshToken() rotated the refresh token and saved it → GET /api/auth ${ssoCall.status}`,
    );

    const projects = await client.fetch('/api/v1/projects');
    statuses.push(projects.status);
    const body = (await projects.json()) as { content?: Array<{ name?: string }> };
    step(
      8,
      'projects',
      `GET /api/v1/projects → ${projects.status}: ${(body.content ?? []).map((p) => p.name).join(', ')}`,
    );

    // The store credentials that came with the token, ready for the AWS SDK; renewed when they near expiry.
    const s3cfg = await s3Config(base);
    const s3 = new S3Client(s3cfg);
    try {
      const text = 'hello from dhcore-credentials';
      await s3.send(new PutObjectCommand({ Bucket: s3cfg.bucket, Key: 'hello.txt', Body: text }));
      const back = await s3.send(new GetObjectCommand({ Bucket: s3cfg.bucket, Key: 'hello.txt' }));
      const read = await back.Body?.transformToString();
      if (read !== text) throw new Error('the object read back from S3 differs from the one written');
      const expires = (await s3cfg.credentials()).expiration?.toISOString();
      step(
        9,
        'S3 store',
        `s3Config() → S3Client: wrote s3://${s3cfg.bucket}/hello.txt and read back "${read}" with the S3 key DHCore handed out (valid until ${time(expires)})`,
      );
    } finally {
      s3.destroy();
    }

    const stats = server.stats();
    const grants = Object.entries(stats.byGrant)
      .map(([grant, n]) => `${grant.replace('urn:ietf:params:oauth:grant-type:', '')} ×${n}`)
      .join(', ');
    const ok = statuses.filter((s) => s === 200).length;
    process.stdout.write(
      `\nSummary: ${statuses.length} authenticated calls, ${ok} × 200; ` +
        `${stats.tokenRequests} token requests at the server (${grants}); auth methods ${client.authMethod} and oauth2; ` +
        `${stats.s3?.accessKeysSeen.length ?? 0} S3 key(s) used; no secret printed.\n`,
    );
    if (ok !== statuses.length) throw new Error(`some calls failed: ${statuses.join(' ')}`);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
    process.stdout.write('Dev server stopped; temporary config removed.\n');
  }
  process.stdout.write(
    '\nNext: `npx dhcore dev-server` in one shell, then `npx dhcore register <endpoint>` and `npx dhcore login` in another.\n',
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
