/**
 * The dev server vends store credentials for real stores: a new S3 key pair per token issuance, accepted by
 * its S3 server (s3rver) until it expires and revoked there then; the PostgreSQL role it was given.
 * (s3rver does not verify the secret part of a V4 signature: nothing here relies on a wrong secret failing.)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { startDevServer } from '../src/dev-server/index.js';
import { DHCoreError } from '../src/errors.js';
import { CLI } from './helpers/cli.js';
import { PAT_TYPE, TOKEN_EXCHANGE, tokenRequest, useDevServer, withDevServer } from './helpers/dev-server.js';
import { sleepPast } from './helpers/s3.js';

type Fields = Record<string, string>;

async function issue(
  server: Parameters<typeof tokenRequest>[0],
  scope = 'credentials',
): Promise<Record<string, unknown>> {
  const res = await tokenRequest(server, {
    grant_type: TOKEN_EXCHANGE,
    client_id: server.clientId,
    subject_token: server.pat,
    subject_token_type: PAT_TYPE,
    scope,
  });
  expect(res.status).toBe(200);
  return res.body;
}

function clientFor(f: Fields, overrides: Partial<{ sessionToken: string; accessKeyId: string }> = {}) {
  return new S3Client({
    endpoint: f.aws_endpoint_url!,
    region: f.aws_region!,
    forcePathStyle: f.s3_path_style === 'true',
    maxAttempts: 1,
    credentials: {
      accessKeyId: overrides.accessKeyId ?? f.aws_access_key_id!,
      secretAccessKey: f.aws_secret_access_key!,
      sessionToken: overrides.sessionToken ?? f.aws_session_token!,
    },
  });
}

describe('dev server with s3: true (keys live 2 s)', () => {
  const server = useDevServer({ s3: true, accessTokenTtl: 60, s3KeyTtl: 2 });

  it('each issuance with the credentials scope carries a new key pair for its S3 server', async () => {
    const a = (await issue(server())) as Fields;
    const b = (await issue(server())) as Fields;
    expect(a).toMatchObject({
      aws_endpoint_url: server().s3!.endpoint,
      aws_region: 'us-east-1',
      s3_path_style: 'true',
      s3_signature_version: 's3v4',
      s3_bucket: 'dhcore-dev',
    });
    expect(a.aws_access_key_id).toMatch(/^DHDEV[0-9A-F]{15}$/);
    expect(a.aws_secret_access_key).toHaveLength(40);
    expect(b.aws_access_key_id).not.toBe(a.aws_access_key_id);
    expect(b.aws_secret_access_key).not.toBe(a.aws_secret_access_key);
    const lifetime = Date.parse(a.aws_credentials_expiration!) - Date.now();
    expect(lifetime).toBeGreaterThan(1000);
    expect(lifetime).toBeLessThanOrEqual(2000);

    const without = await issue(server(), 'openid');
    expect(without.aws_access_key_id).toBeUndefined();
  });

  it('a key works until it expires, then the S3 server refuses it (InvalidAccessKeyId)', async () => {
    const f = (await issue(server())) as Fields;
    const s3 = clientFor(f);
    try {
      await s3.send(new PutObjectCommand({ Bucket: f.s3_bucket, Key: 'x.txt', Body: 'x' }));
      const got = await s3.send(new GetObjectCommand({ Bucket: f.s3_bucket, Key: 'x.txt' }));
      expect(await got.Body!.transformToString()).toBe('x');
      const revokedBefore = server().stats().s3!.keysRevoked;
      await sleepPast(f.aws_credentials_expiration!);
      await expect(
        s3.send(new GetObjectCommand({ Bucket: f.s3_bucket, Key: 'x.txt' })),
      ).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
      expect(server().stats().s3!.keysRevoked).toBeGreaterThan(revokedBefore);
      expect(server().stats().s3!.accessKeysSeen).toContain(f.aws_access_key_id);
    } finally {
      s3.destroy();
    }
  });

  it('refuses unsigned requests, unknown keys (s3rver’s built-in one too) and a wrong session token', async () => {
    const f = (await issue(server())) as Fields;
    const anonymous = await fetch(`${f.aws_endpoint_url}/${f.s3_bucket}/x.txt`);
    expect(anonymous.status).toBe(403);
    expect(await anonymous.text()).toContain('<Code>AccessDenied</Code>');

    for (const accessKeyId of ['S3RVER', 'AKIAUNKNOWNKEY000000']) {
      const s3 = clientFor(f, { accessKeyId });
      await expect(
        s3.send(new GetObjectCommand({ Bucket: f.s3_bucket, Key: 'x.txt' })),
      ).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
      s3.destroy();
    }
    const other = (await issue(server())) as Fields;
    const mixed = clientFor(f, { sessionToken: other.aws_session_token! });
    await expect(
      mixed.send(new GetObjectCommand({ Bucket: f.s3_bucket, Key: 'x.txt' })),
    ).rejects.toMatchObject({ name: 'InvalidToken' });
    mixed.destroy();
  });
});

describe('dev server with db', () => {
  it('hands out the PostgreSQL role it was given', async () => {
    const db = 'postgresql://app:p%40ss%3Aw0rd@127.0.0.1:55432/appdb?schema=analytics';
    await withDevServer({ db }, async (server) => {
      const f = await issue(server);
      expect(f).toMatchObject({
        db_host: '127.0.0.1',
        db_port: '55432',
        db_database: 'appdb',
        db_username: 'app',
        db_password: 'p@ss:w0rd',
        db_schema: 'analytics',
        db_platform: 'postgresql',
      });
      // Without --s3 the demo S3 values are still there.
      expect(f.aws_access_key_id).toBe('DHCOREDEVACCESSKEY');
    });
  });

  it('refuses a db URL it cannot use, without echoing it', async () => {
    for (const db of ['mysql://a:b@127.0.0.1/x', 'postgresql://127.0.0.1/x', 'not a url secret-pw']) {
      const err = await startDevServer({ db }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(DHCoreError);
      expect(err).toMatchObject({ code: 'dev_server_bad_option' });
      expect((err as Error).message).not.toContain('secret-pw');
    }
  });
});

describe('dhcore dev-server --s3 (built CLI)', () => {
  it('starts its S3 server, names it in the ready line, and stops both on SIGTERM', async () => {
    const child: ChildProcess = spawn(process.execPath, [CLI, 'dev-server', '--s3', '--quiet'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let out = '';
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
        });
        child.once('exit', () => reject(new Error('dev-server exited before it was ready')));
      });
      const info = JSON.parse(line) as Record<string, string>;
      expect(info.s3Endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(info.s3Bucket).toBe('dhcore-dev');
      expect((await fetch(`${info.s3Endpoint}/`)).status).toBe(403);
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(out.trimEnd().split('\n')).toHaveLength(1);
      await expect(fetch(`${info.s3Endpoint}/`)).rejects.toThrow();
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
