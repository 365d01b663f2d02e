/**
 * A local S3-compatible server (`s3rver`) for the dev server, with access keys that live and die like the
 * ones DHCore hands out: each token issuance gets a new key pair with an expiry, registered in s3rver, and
 * revoked there when it expires (s3rver then answers `InvalidAccessKeyId`).
 *
 * In front of s3rver: unsigned requests are refused (s3rver would let them in), only keys this server issued
 * and that have not expired are let through, and the session token must be the one issued with the key.
 * s3rver does not verify the secret part of a Signature V4, so a wrong secret key is NOT refused.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The parts of s3rver (CommonJS, untyped) used here. */
interface S3rverApp {
  configureBuckets(): Promise<unknown>;
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  logger: { close(): void };
}
interface S3rverAccount {
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
  revokeAccessKey(accessKeyId: string): void;
}

export interface DevS3Options {
  /** Lifetime of each issued key pair, seconds. */
  keyTtl: number;
  bucket: string;
  region: string;
  log: (line: string) => void;
}

/** Store fields of one issuance (token-response names). */
export type S3Fields = Record<string, string>;

export interface DevS3Stats {
  /** Key pairs handed out. */
  keysIssued: number;
  /** Key pairs revoked because they expired. */
  keysRevoked: number;
  /** Access key ids of the signed requests that reached S3, first use order, each once. */
  accessKeysSeen: string[];
}

export interface DevS3 {
  endpoint: string;
  bucket: string;
  region: string;
  /** A new key pair (registered now, revoked at its expiry) as token-response fields. */
  issue(): S3Fields;
  stats(): DevS3Stats;
  close(): Promise<void>;
}

interface LiveKey {
  sessionToken: string;
  expiresAtMs: number;
  timer: NodeJS.Timeout;
}

const require = createRequire(import.meta.url);

export async function startDevS3(opts: DevS3Options): Promise<DevS3> {
  const S3rver = require('s3rver') as new (options: Record<string, unknown>) => S3rverApp;
  const { DUMMY_ACCOUNT: account } = require('s3rver/lib/models/account.js') as {
    DUMMY_ACCOUNT: S3rverAccount;
  };
  const directory = mkdtempSync(join(tmpdir(), 'dhcore-dev-s3-'));
  const live = new Map<string, LiveKey>();
  const seen = new Set<string>();
  let issued = 0;
  let revoked = 0;

  const revoke = (id: string) => {
    const key = live.get(id);
    if (!key) return;
    clearTimeout(key.timer);
    live.delete(id);
    account.revokeAccessKey(id);
    revoked += 1;
    opts.log(`s3: access key ${id} expired and was revoked`);
  };

  let app: S3rverApp | undefined;
  let server: Server | undefined;
  try {
    // silent: s3rver logs to stdout, which the dev-server CLI reserves for its one JSON line.
    app = new S3rver({
      silent: true,
      directory,
      vhostBuckets: false,
      configureBuckets: [{ name: opts.bucket, configs: [] }],
    });
    await app.configureBuckets();
    const handle = app.callback();
    server = createServer((req, res) => {
      const refusal = check(req);
      if (refusal) {
        opts.log(`s3: ${req.method} ${pathOf(req)} refused: ${refusal.code}`);
        res.statusCode = refusal.status;
        res.setHeader('content-type', 'application/xml');
        res.end(
          `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${refusal.code}</Code><Message>${refusal.message}</Message></Error>`,
        );
        return;
      }
      res.on('finish', () => opts.log(`s3: ${req.method} ${pathOf(req)} ${res.statusCode}`));
      handle(req, res);
    });
    const listening = server;
    await new Promise<void>((resolve, reject) => {
      listening.once('error', reject);
      listening.listen(0, '127.0.0.1', () => {
        listening.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    if (server) await closeHttp(server);
    app?.logger.close();
    rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  opts.log(`s3: s3rver on ${endpoint}, bucket ${opts.bucket}, keys live ${opts.keyTtl}s`);

  function check(req: IncomingMessage): { status: number; code: string; message: string } | undefined {
    const url = new URL(req.url ?? '/', 'http://s3.invalid');
    const credential =
      /Credential=([^/,\s]+)\//.exec(req.headers.authorization ?? '')?.[1] ??
      url.searchParams.get('X-Amz-Credential')?.split('/')[0];
    if (!credential) {
      return {
        status: 403,
        code: 'AccessDenied',
        message: 'Anonymous access is not allowed; sign requests.',
      };
    }
    const key = live.get(credential);
    if (key && Date.now() >= key.expiresAtMs) revoke(credential);
    if (!live.has(credential)) {
      return {
        status: 403,
        code: 'InvalidAccessKeyId',
        message: 'The AWS Access Key Id you provided does not exist in our records.',
      };
    }
    seen.add(credential);
    const token = req.headers['x-amz-security-token'] ?? url.searchParams.get('X-Amz-Security-Token');
    if (token !== live.get(credential)?.sessionToken) {
      return {
        status: 403,
        code: 'InvalidToken',
        message: 'The provided token is malformed or otherwise invalid.',
      };
    }
    return undefined;
  }

  const httpServer = server;
  const s3app = app;
  let closed: Promise<void> | undefined;
  return {
    endpoint,
    bucket: opts.bucket,
    region: opts.region,
    issue: () => {
      // AWS-shaped: a 20-character upper-case key id and a 40-character secret.
      const id = `DHDEV${randomBytes(10).toString('hex').toUpperCase().slice(0, 15)}`;
      const secret = randomBytes(30).toString('base64url');
      const sessionToken = randomBytes(32).toString('base64url');
      const expiresAtMs = Date.now() + opts.keyTtl * 1000;
      account.createKeyPair(id, secret);
      const timer = setTimeout(() => revoke(id), opts.keyTtl * 1000);
      timer.unref();
      live.set(id, { sessionToken, expiresAtMs, timer });
      issued += 1;
      return {
        aws_access_key_id: id,
        aws_secret_access_key: secret,
        aws_session_token: sessionToken,
        aws_credentials_expiration: new Date(expiresAtMs).toISOString(),
        aws_endpoint_url: endpoint,
        aws_region: opts.region,
        s3_signature_version: 's3v4',
        s3_path_style: 'true',
        s3_bucket: opts.bucket,
      };
    },
    stats: () => ({ keysIssued: issued, keysRevoked: revoked, accessKeysSeen: [...seen] }),
    close: () => {
      closed ??= (async () => {
        for (const [id, key] of live) {
          clearTimeout(key.timer);
          account.revokeAccessKey(id);
        }
        live.clear();
        await closeHttp(httpServer);
        s3app.logger.close();
        rmSync(directory, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}

function pathOf(req: IncomingMessage): string {
  return (req.url ?? '/').split('?')[0] ?? '/';
}

function closeHttp(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
