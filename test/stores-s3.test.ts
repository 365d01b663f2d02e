/**
 * `s3Config()` with the real AWS SDK v3 (`@aws-sdk/client-s3`) against the dev server's real S3-compatible
 * server (s3rver), whose keys expire and are revoked there.
 */
import { writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/errors.js';
import { s3Config } from '../src/stores/s3.js';
import { openStoreSession } from '../src/stores/session.js';
import { useTempHome } from './helpers/cli.js';
import { useDevServer, withDevServer } from './helpers/dev-server.js';
import { savedValues, sleep, sleepPast, writePatProfile } from './helpers/s3.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const home = useTempHome();
const optsFor = (file: string) => ({ configFile: file, profile: 'dev', env: {} });

describe('s3Config() + S3Client against the dev server S3 (keys live 2 s)', () => {
  const server = useDevServer({ s3: true, accessTokenTtl: 120, s3KeyTtl: 2 });

  it('puts and gets an object; after the keys expire the same client keeps working with new ones', async () => {
    const file = home().configFile;
    writePatProfile(file, server());
    const cfg = await s3Config(optsFor(file));
    expect(cfg).toMatchObject({
      endpoint: server().s3!.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      bucket: 'dhcore-dev',
    });
    const s3 = new S3Client(cfg);
    try {
      await s3.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: 'hello.txt', Body: 'hello, store' }));
      const first = savedValues(file);
      expect(server().stats().s3!.accessKeysSeen).toContain(first.aws_access_key_id);

      await sleepPast(first.aws_credentials_expiration!);
      // The first key no longer works at the server…
      const stale = new S3Client({
        ...cfg,
        credentials: {
          accessKeyId: first.aws_access_key_id!,
          secretAccessKey: first.aws_secret_access_key!,
          sessionToken: first.aws_session_token!,
        },
      });
      await expect(
        stale.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: 'hello.txt' })),
      ).rejects.toMatchObject({ name: 'InvalidAccessKeyId' });
      stale.destroy();

      // …but the client made from s3Config() renews through DHCore and goes on.
      const got = await s3.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: 'hello.txt' }));
      expect(await got.Body!.transformToString()).toBe('hello, store');
      const second = savedValues(file);
      expect(second.aws_access_key_id).not.toBe(first.aws_access_key_id);
      const seen = server().stats().s3!.accessKeysSeen;
      expect(seen.indexOf(second.aws_access_key_id!)).toBeGreaterThan(seen.indexOf(first.aws_access_key_id!));
      expect(server().stats().s3!.keysRevoked).toBeGreaterThanOrEqual(1);
    } finally {
      s3.destroy();
    }
  });

  it('concurrent requests with due keys renew them once (single-flight)', async () => {
    const file = home().configFile;
    writePatProfile(file, server());
    const cfg = await s3Config(optsFor(file));
    const s3 = new S3Client(cfg);
    try {
      await s3.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: 'c.txt', Body: 'c' }));
      await sleepPast(savedValues(file).aws_credentials_expiration!);
      const before = server().stats().byGrant[EXCHANGE] ?? 0;
      const bodies = await Promise.all(
        Array.from({ length: 6 }, async () => {
          const r = await s3.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: 'c.txt' }));
          return r.Body!.transformToString();
        }),
      );
      expect(bodies).toEqual(Array(6).fill('c'));
      expect((server().stats().byGrant[EXCHANGE] ?? 0) - before).toBe(1);
    } finally {
      s3.destroy();
    }
  });

  it('the config, its credentials and the store session show no secret when printed or serialized', async () => {
    const file = home().configFile;
    writePatProfile(file, server());
    const cfg = await s3Config(optsFor(file));
    const creds = await cfg.credentials();
    const session = await openStoreSession(optsFor(file));
    const secrets = [creds.secretAccessKey, creds.sessionToken!, server().pat];
    for (const text of [
      JSON.stringify(cfg),
      inspect(cfg, { depth: 5 }),
      String(session),
      JSON.stringify(session),
      inspect(session, { depth: 5 }),
    ]) {
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});

describe('s3Config() renewal rules', () => {
  it('long-lived keys are reused: many requests, one exchange, one key', async () => {
    await withDevServer({ s3: true, accessTokenTtl: 3600, s3KeyTtl: 900 }, async (server) => {
      const file = home().configFile;
      writePatProfile(file, server);
      const cfg = await s3Config(optsFor(file));
      const s3 = new S3Client(cfg);
      try {
        for (let i = 0; i < 4; i++) {
          await s3.send(new PutObjectCommand({ Bucket: cfg.bucket, Key: `k${i}`, Body: String(i) }));
        }
        expect(server.stats().byGrant[EXCHANGE]).toBe(1);
        expect(server.stats().s3!.keysIssued).toBe(1);
        // A second process (a new config) reuses the saved token and its keys.
        const again = await s3Config(optsFor(file));
        expect((await again.credentials()).accessKeyId).toBe(savedValues(file).aws_access_key_id);
        expect(server.stats().byGrant[EXCHANGE]).toBe(1);
      } finally {
        s3.destroy();
      }
    });
  });

  it('without AWS_CREDENTIALS_EXPIRATION the credentials follow the access token expiry', async () => {
    // Without --s3 the dev server hands out demo keys with no expiry of their own.
    await withDevServer({ accessTokenTtl: 2 }, async (server) => {
      const file = home().configFile;
      writePatProfile(file, server);
      const cfg = await s3Config(optsFor(file));
      const a = await cfg.credentials();
      expect(a.expiration).toBeUndefined();
      expect(await cfg.credentials()).toEqual(a);
      // Past half the token's lifetime it is refreshed ahead, and the store credentials come with it.
      await sleep(1300);
      const b = await cfg.credentials();
      expect(b.sessionToken).not.toBe(a.sessionToken);
      expect(server.stats().byGrant[EXCHANGE]).toBe(2);
    });
  });
});

describe('s3Config() without a server', () => {
  const write = (text: string) => {
    writeProfile(home().configFile, text);
    return optsFor(home().configFile);
  };

  it('a profile without S3 credentials is a ConfigError naming the missing keys', async () => {
    const opts = write('dhcore_access_token = some-access-token\n');
    const err = await s3Config(opts).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'config_missing_store_credentials' });
    expect((err as Error).message).toMatch(/AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY/);
    expect((err as Error).message).toContain('"dev"');

    const partial = write('dhcore_access_token = t\naws_access_key_id = AKIDONLY\n');
    const err2 = (await s3Config(partial).catch((e: unknown) => e)) as Error;
    expect(err2).toMatchObject({ code: 'config_missing_store_credentials' });
    expect(err2.message).toContain('missing AWS_SECRET_ACCESS_KEY.');
    expect(err2.message).not.toContain('AWS_ACCESS_KEY_ID');
  });

  it('store values follow file > env key by key; region and path style have defaults', async () => {
    writeProfile(
      home().configFile,
      'dhcore_access_token = t\naws_access_key_id = FILE-KEY\naws_secret_access_key = FILE-SECRET\n',
    );
    const env = {
      AWS_ACCESS_KEY_ID: 'ENV-KEY',
      AWS_SESSION_TOKEN: 'ENV-SESSION',
      AWS_REGION: 'eu-south-1',
      AWS_ENDPOINT_URL: 'https://minio.example',
    };
    const cfg = await s3Config({ ...optsFor(home().configFile), env });
    expect(cfg).toMatchObject({
      region: 'eu-south-1',
      endpoint: 'https://minio.example',
      forcePathStyle: true,
    });
    expect(await cfg.credentials()).toEqual({
      accessKeyId: 'FILE-KEY',
      secretAccessKey: 'FILE-SECRET',
      sessionToken: 'ENV-SESSION',
    });

    const aws = await s3Config({
      ...optsFor(home().configFile),
      env: { S3_PATH_STYLE: 'false', AWS_CREDENTIALS_EXPIRATION: '2031-02-03T04:05:06Z' },
    });
    expect(aws.endpoint).toBeUndefined();
    expect(aws.region).toBe('us-east-1');
    expect(aws.forcePathStyle).toBe(false);
    expect((await aws.credentials()).expiration).toEqual(new Date('2031-02-03T04:05:06Z'));
  });
});

/** A profile that needs no server: a fixed access token with no expiry (auth method access_token_only). */
function writeProfile(file: string, body: string): void {
  writeFileSync(file, `[dev]\ndhcore_endpoint = https://dhcore.invalid\n${body}`, { mode: 0o600 });
}
