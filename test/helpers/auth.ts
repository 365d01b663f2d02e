/**
 * Helpers for the token-lifecycle tests: a refresh token from the dev server (PKCE login over plain
 * HTTP), a resolved config for a temp file, and a small misbehaving token server for fault injection.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach } from 'vitest';
import { clearDiscoveryCache } from '../../src/auth/oidc.js';
import { resolveConfig } from '../../src/config/resolve.js';
import type { ResolvedConfig } from '../../src/config/types.js';
import { type DevServer, headlessLogin } from '../../src/dev-server/index.js';
import { resetMemoryStore } from '../../src/store/profile-store.js';
import { tempHome } from './cli.js';

/** Interactive login (code + PKCE) completed headlessly: a fresh token family with a refresh token. */
export async function loginTokens(
  s: DevServer,
): Promise<{ accessToken: string; refreshToken: string; expiresIn: number | undefined }> {
  const tokens = await headlessLogin(s);
  if (!tokens.refresh_token) throw new Error('dev server issued no refresh token');
  return {
    accessToken: tokens.access_token,
    refreshToken: tokens.refresh_token,
    expiresIn: tokens.expires_in,
  };
}

/**
 * INI text of a profile on the dev server `s` holding the given tokens (`dhcore_expires_at` only if
 * `expiresAt` is given).
 */
export function tokenProfile(
  s: Pick<DevServer, 'endpoint' | 'clientId'>,
  tokens: { accessToken: string; refreshToken: string; expiresAt?: string },
  section = '__default',
): string {
  const expiry = tokens.expiresAt ? `dhcore_expires_at = ${tokens.expiresAt}\n` : '';
  return `[${section}]
dhcore_endpoint = ${s.endpoint}
dhcore_client_id = ${s.clientId}
dhcore_access_token = ${tokens.accessToken}
dhcore_refresh_token = ${tokens.refreshToken}
${expiry}`;
}

/** A temp directory with a config file path inside ({@link tempHome} by other names); `cleanup()` removes it. */
export function tempConfig(): { dir: string; file: string; cleanup: () => void } {
  const { home, configFile, cleanup } = tempHome();
  return { dir: home, file: configFile, cleanup };
}

/** Resolve for a given file with only the given environment (never the developer's). */
export function configFor(
  file: string,
  env: Record<string, string | undefined>,
  extra: { profile?: string; overrides?: Record<string, string> } = {},
): ResolvedConfig {
  return resolveConfig({ env: { HOME: '/nonexistent', ...env }, configFile: file, ...extra });
}

/** Environment that points at a dev server (endpoint + client id), plus anything else given. */
export function serverEnv(
  s: DevServer,
  extra: Record<string, string | undefined> = {},
): Record<string, string> {
  const env: Record<string, string> = { DHCORE_ENDPOINT: s.endpoint, DHCORE_CLIENT_ID: s.clientId };
  for (const [k, v] of Object.entries(extra)) if (v !== undefined) env[k] = v;
  return env;
}

/** Environment with the dev server's demo user as basic credentials (endpoint, user, password; no client id). */
export function basicEnv(s: Pick<DevServer, 'endpoint' | 'user' | 'password'>): Record<string, string> {
  return { DHCORE_ENDPOINT: s.endpoint, DHCORE_USER: s.user, DHCORE_PASSWORD: s.password };
}

export interface FakeServer {
  url: string;
  /** Requests received (method, path, form body). */
  requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

/**
 * A tiny HTTP server on 127.0.0.1 (port 0) for fault injection. Serves a discovery document pointing
 * at its own `/token`, and answers `/token` with `handler`.
 */
export async function fakeTokenServer(
  handler: (req: IncomingMessage, res: ServerResponse, body: string) => void,
): Promise<FakeServer> {
  const requests: FakeServer['requests'] = [];
  const sockets = new Set<import('node:net').Socket>();
  let base = '';
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      requests.push({ method: req.method ?? 'GET', path, body });
      if (path === '/.well-known/openid-configuration') {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ issuer: base, token_endpoint: `${base}/token` }));
        return;
      }
      handler(req, res, body);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * Per-test fixtures of the OAuth tests: a fresh temp config, cleared discovery cache and memory store before
 * each test; every fake server started with `fake()` closed after it.
 */
export function useFakeTokenServers(): {
  tmp: () => ReturnType<typeof tempConfig>;
  fake: (handler: Parameters<typeof fakeTokenServer>[0]) => Promise<FakeServer>;
} {
  let current: ReturnType<typeof tempConfig> | undefined;
  const servers: FakeServer[] = [];
  beforeEach(() => {
    current = tempConfig();
    clearDiscoveryCache();
    resetMemoryStore();
  });
  afterEach(async () => {
    for (const s of servers.splice(0)) await s.close();
    current?.cleanup();
  });
  return {
    tmp: () => {
      if (!current) throw new Error('use inside a test');
      return current;
    },
    fake: async (handler) => {
      const s = await fakeTokenServer(handler);
      servers.push(s);
      return s;
    },
  };
}

/** Send a JSON answer. */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify(body));
}

/** A fake JWT (unsigned) with the given claims, for expiry arithmetic. */
export function fakeJwt(claims: Record<string, unknown>): string {
  const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${enc({ alg: 'none', typ: 'JWT' })}.${enc(claims)}.sig`;
}
