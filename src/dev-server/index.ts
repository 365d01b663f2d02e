/**
 * A local, DHCore-compatible authentication server built on `oidc-provider` (a certified OpenID Provider).
 * It is what the quick start, the integration tests and the benchmarks run against.
 *
 * @example
 * import { startDevServer } from 'dhcore-credentials/dev-server';
 * const server = await startDevServer({ accessTokenTtl: 2 });
 * try {
 *   // DHCORE_ENDPOINT=server.endpoint, DHCORE_PERSONAL_ACCESS_TOKEN=server.pat, DHCORE_CLIENT_ID=server.clientId
 * } finally {
 *   await server.close();
 * }
 *
 * `headlessLogin(server)` completes the interactive login (code + PKCE) without a browser and returns the
 * tokens: for tests that need a refresh token.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DHCoreError } from '../errors.js';
import { isLoopbackHost } from '../net/loopback.js';
import { assertOidcProviderInstalled, assertS3rverInstalled } from './dependency.js';
import { generateServerKeys } from './keys.js';
import type { DemoUser } from './provider.js';
import type { Stats } from './routes.js';
import { type DevS3, type DevS3Stats, startDevS3 } from './s3.js';
import { MemoryStore } from './store.js';
import { dbFields, demoS3Fields } from './stores.js';

export { type HeadlessLoginOptions, headlessLogin } from './login.js';
export type { DevS3Stats } from './s3.js';

// Fails the import itself when the optional oidc-provider is missing (provider.js and routes.js, which load
// it, are imported only once a server starts).
assertOidcProviderInstalled();

export interface DevServerOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Address to bind; default `127.0.0.1`. Non-loopback addresses need `allowNonLoopback`. */
  host?: string;
  /** Access-token lifetime in seconds (default 3600). Short values (1–2 s) let tests watch tokens expire. */
  accessTokenTtl?: number;
  /** Permit binding a non-loopback address (the server has a demo user and known secrets: be careful). */
  allowNonLoopback?: boolean;
  /** Receives one line per request and server-side problems. Default: silent. */
  logger?: (line: string) => void;
  /** `interval` (seconds) announced in device authorization responses (default 5, the RFC 8628 default). */
  devicePollInterval?: number;
  /** Demo user name (default `demo`). */
  user?: string;
  /** Demo user's password (default: random per start). */
  password?: string;
  /** The valid personal access token (default: random per start, `dhpat_…`). */
  pat?: string;
  /**
   * Also run a local S3-compatible server (s3rver) and hand out a new access key for it with every token
   * issued with the `credentials` scope; each key is revoked there when it expires.
   */
  s3?: boolean;
  /** Lifetime of each S3 key pair in seconds (default: the access-token TTL). */
  s3KeyTtl?: number;
  /** Bucket created in the S3 server and named in the responses (`s3_bucket`; default `dhcore-dev`). */
  s3Bucket?: string;
  /**
   * A PostgreSQL role to hand out as the SQL store credentials (`db_*`):
   * `postgresql://user:password@host:port/database[?schema=name]`.
   */
  db?: string;
}

export interface DevServer {
  /** Base URL, e.g. `http://127.0.0.1:54321` (no trailing slash). */
  endpoint: string;
  /** OpenID issuer; the same as `endpoint` (DHCore is its own issuer). */
  issuer: string;
  /** The public native client id (`dhcore-cli`). */
  clientId: string;
  /** Demo user, its password and a valid personal access token. */
  user: string;
  password: string;
  pat: string;
  /** The local S3 server, with `s3: true`. */
  s3?: { endpoint: string; bucket: string; region: string };
  /**
   * Counts of token endpoint requests by grant_type since start (tests/benchmarks count server-side), and with
   * `s3: true` the S3 keys issued, revoked and seen in signed requests.
   */
  stats(): { tokenRequests: number; byGrant: Record<string, number>; s3?: DevS3Stats };
  close(): Promise<void>;
}

export const DEV_CLIENT_ID = 'dhcore-cli';

export { isLoopbackHost } from '../net/loopback.js';

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 0;
  const accessTokenTtl = opts.accessTokenTtl ?? 3600;
  const log = opts.logger ?? (() => {});

  if (!isLoopbackHost(host) && !opts.allowNonLoopback) {
    throw new DHCoreError(
      'dev_server_non_loopback',
      `refusing to bind the dev server to non-loopback address '${host}': it serves a demo user with known ` +
        'credentials. Use 127.0.0.1, or pass allowNonLoopback (CLI: --allow-non-loopback) if you really mean it.',
    );
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DHCoreError(
      'dev_server_bad_option',
      `invalid port '${port}': use an integer 0–65535 (0 = any free port)`,
    );
  }
  if (!Number.isInteger(accessTokenTtl) || accessTokenTtl < 1) {
    throw new DHCoreError(
      'dev_server_bad_option',
      `invalid access token TTL '${accessTokenTtl}': use a whole number of seconds >= 1`,
    );
  }

  const s3KeyTtl = opts.s3KeyTtl ?? accessTokenTtl;
  if (!Number.isInteger(s3KeyTtl) || s3KeyTtl < 1) {
    throw new DHCoreError(
      'dev_server_bad_option',
      `invalid S3 key TTL '${s3KeyTtl}': use a whole number of seconds >= 1`,
    );
  }
  const db = opts.db !== undefined ? dbFields(opts.db) : undefined;
  if (opts.s3) assertS3rverInstalled();
  const s3: DevS3 | undefined = opts.s3
    ? await startDevS3({ keyTtl: s3KeyTtl, bucket: opts.s3Bucket ?? 'dhcore-dev', region: 'us-east-1', log })
    : undefined;
  const demoS3 = demoS3Fields();
  const storeFields = () => ({ ...(s3 ? s3.issue() : demoS3()), ...db });

  // Listen first: the issuer must be the exact base URL, port included.
  let handler: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => {
    res.statusCode = 503;
    res.end();
  };
  const server: Server = createServer((req, res) => handler(req, res));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await s3?.close();
    throw err;
  }

  try {
    const address = server.address() as AddressInfo;
    const urlHost = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
    const endpoint = `http://${urlHost}:${address.port}`;

    const user: DemoUser = {
      username: opts.user ?? 'demo',
      password: opts.password ?? randomBytes(12).toString('base64url'),
      pat: opts.pat ?? `dhpat_${randomBytes(24).toString('base64url')}`,
      name: 'Demo User',
      email: 'demo@example.org',
      authorities: ['ROLE_USER', 'ROLE_ADMIN'],
    };
    const [{ createProvider }, { installRoutes }] = await Promise.all([
      import('./provider.js'),
      import('./routes.js'),
    ]);
    const keys = generateServerKeys();
    const store = new MemoryStore();
    const stats: Stats = { tokenRequests: 0, byGrant: {} };

    const provider = createProvider({
      issuer: endpoint,
      apiResource: endpoint,
      clientId: DEV_CLIENT_ID,
      accessTokenTtl,
      keys,
      store,
      user,
    });
    provider.on('server_error', (_ctx: unknown, err: unknown) => {
      log(`server error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    });
    installRoutes(provider, {
      endpoint,
      clientId: DEV_CLIENT_ID,
      keys,
      user,
      stats,
      log,
      devicePollInterval: opts.devicePollInterval ?? 5,
      storeFields,
    });
    handler = provider.callback();
    log(`dhcore dev-server listening on ${endpoint} (access token TTL ${accessTokenTtl}s)`);

    let closed: Promise<void> | undefined;
    return {
      endpoint,
      issuer: endpoint,
      clientId: DEV_CLIENT_ID,
      user: user.username,
      password: user.password,
      pat: user.pat,
      ...(s3 ? { s3: { endpoint: s3.endpoint, bucket: s3.bucket, region: s3.region } } : {}),
      stats: () => ({
        tokenRequests: stats.tokenRequests,
        byGrant: { ...stats.byGrant },
        ...(s3 ? { s3: s3.stats() } : {}),
      }),
      close: () => {
        closed ??= Promise.all([closeServer(server), s3?.close()]).then(() => store.clear());
        return closed;
      },
    };
  } catch (err) {
    await Promise.all([closeServer(server), s3?.close()]);
    throw err;
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Keep-alive connections (fetch/undici keeps them) would hold close() open.
    server.closeAllConnections();
  });
}
