/**
 * The client against the real dev server (oidc-provider): PAT exchange, refresh tokens, 401 → one refresh and
 * one retry, single-flight under 1000 concurrent requests, proactive refresh, storage. Token requests are
 * counted at the server (`stats()`), never by the client.
 */
import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../src/index.js';
import { type Handler, isolatedEnv, json, type Recorder, startRecorder, tempIni } from './client-helpers.js';
import { loginTokens, serverEnv, tokenProfile } from './helpers/auth.js';
import { useDevServer } from './helpers/dev-server.js';

const REFRESH = 'refresh_token';
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';

let ini: ReturnType<typeof tempIni>;
afterEach(() => ini?.cleanup());

function tokenRequests(s: { stats(): { tokenRequests: number; byGrant: Record<string, number> } }) {
  const at = s.stats();
  return () => {
    const now = s.stats();
    const byGrant: Record<string, number> = {};
    for (const [g, n] of Object.entries(now.byGrant)) {
      const d = n - (at.byGrant[g] ?? 0);
      if (d) byGrant[g] = d;
    }
    return { total: now.tokenRequests - at.tokenRequests, byGrant };
  };
}

/** A fetch that records the status of every API request it sends (not discovery or token requests). */
function recordingFetch() {
  const statuses: number[] = [];
  const impl: typeof fetch = async (input, init) => {
    const res = await fetch(input, init);
    if (String(input instanceof Request ? input.url : input).includes('/api/')) statuses.push(res.status);
    return res;
  };
  return { impl, statuses };
}

/** `n` concurrent GET /api/auth through the client; their statuses (bodies drained). */
function concurrentStatuses(client: Awaited<ReturnType<typeof createClient>>, n: number): Promise<number[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const res = await client.fetch('/api/auth');
      await res.arrayBuffer();
      return res.status;
    }),
  );
}

describe('with the dev server', () => {
  const server = useDevServer();

  it('exchange: a PAT from the environment is exchanged once, saved to the file, reused by the next client', async () => {
    const s = server();
    ini = tempIni('[__default]\n');
    const count = tokenRequests(s);
    const env = isolatedEnv(ini.dir, serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat }));
    const client = await createClient({ env, configFile: ini.file });
    expect(client.authMethod).toBe('exchange');
    const res = await client.fetch('/api/auth');
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ name: s.user });
    expect(client.expiresAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(count()).toEqual({ total: 1, byGrant: { [EXCHANGE]: 1 } });

    const saved = readFileSync(ini.file, 'utf8');
    expect(saved).toContain('dhcore_access_token');
    expect(saved).not.toContain(s.pat); // the PAT came from the environment: never written

    const again = await createClient({ env, configFile: ini.file });
    expect((await again.fetch('/api/v1/projects')).status).toBe(200);
    expect(count().total).toBe(1);
  });

  it("storage: 'memory' leaves the file alone", async () => {
    const s = server();
    ini = tempIni('[__default]\n# keep me\n');
    const env = isolatedEnv(ini.dir, serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat }));
    const client = await createClient({ env, configFile: ini.file, storage: 'memory' });
    expect((await client.fetch('/api/auth')).status).toBe(200);
    expect(readFileSync(ini.file, 'utf8')).toBe('[__default]\n# keep me\n');
  });

  it('oauth2: a valid saved token is used as is; refresh() rotates and saves the refresh token', async () => {
    const s = server();
    const login = await loginTokens(s);
    ini = tempIni(
      tokenProfile(s, { ...login, expiresAt: new Date(Date.now() + 3_600_000).toISOString() }, 'dev'),
    );
    const count = tokenRequests(s);
    const client = await createClient({ env: isolatedEnv(ini.dir), configFile: ini.file, profile: 'dev' });
    expect(client.authMethod).toBe('oauth2');
    expect(client.profile).toBe('dev');
    expect((await client.fetch('/api/auth')).status).toBe(200);
    expect(count().total).toBe(0);

    await client.refresh();
    expect(count()).toEqual({ total: 1, byGrant: { [REFRESH]: 1 } });
    const saved = readFileSync(ini.file, 'utf8');
    expect(saved).not.toContain(login.refreshToken);
    expect(saved).toMatch(/dhcore_refresh_token = \S+/);
    expect((await client.authHeaders()).Authorization).toMatch(/^Bearer \S+$/);
    expect((await client.authHeaders()).Authorization).not.toBe(`Bearer ${login.accessToken}`);
    expect((await client.fetch('/api/auth')).status).toBe(200);
  });

  it('a call with bad arguments rejects (it never throws at the call), like fetch', async () => {
    ini = tempIni('[__default]\ndhcore_endpoint = http://127.0.0.1:9\ndhcore_access_token = at-xyz\n');
    for (const timeoutMs of [0, 30_000]) {
      const client = await createClient({ env: isolatedEnv(ini.dir), configFile: ini.file, timeoutMs });
      let pending: Promise<Response> | undefined;
      expect(() => {
        pending = client.fetch('http://[not-a-host', { method: 'GET' });
      }).not.toThrow();
      await expect(pending).rejects.toThrow();
      const bad = client.fetch('/api/auth', { headers: { 'bad header name': 'x' } });
      await expect(bad).rejects.toThrow();
    }
  });

  it('a 401 on a token the server refuses: one refresh, one retry, success', async () => {
    const s = server();
    const login = await loginTokens(s);
    ini = tempIni(tokenProfile(s, { ...login, accessToken: 'revoked-or-garbage-token' }));
    const count = tokenRequests(s);
    const rec = recordingFetch();
    const lines: string[] = [];
    const client = await createClient({
      env: isolatedEnv(ini.dir),
      configFile: ini.file,
      fetch: rec.impl,
      logger: (l) => lines.push(l),
    });
    const res = await client.fetch('/api/auth');
    expect(res.status).toBe(200);
    expect(rec.statuses).toEqual([401, 200]);
    expect(count()).toEqual({ total: 1, byGrant: { [REFRESH]: 1 } });
    expect(lines.join('\n')).toMatch(/401; refreshing the token and retrying once/);
    for (const l of lines) expect(l).not.toContain(login.refreshToken);
  });

  it("with Node's fetch (the time limit at the transport): a 401 gets one refresh and a retry that succeeds", async () => {
    const s = server();
    const login = await loginTokens(s);
    ini = tempIni(tokenProfile(s, { ...login, accessToken: 'revoked-or-garbage-token' }));
    const count = tokenRequests(s);
    const other = await startRecorder();
    try {
      const lines: string[] = [];
      const client = await createClient({
        env: isolatedEnv(ini.dir),
        configFile: ini.file,
        timeoutMs: 20_000,
        logger: (l) => lines.push(l),
      });
      // A first call (another origin: no credentials, no refresh) shows that fetch sends through the limit's
      // dispatcher; from then on calls carry no deadline signal.
      expect((await client.fetch(`${other.origin}/first`)).status).toBe(200);
      const res = await client.fetch('/api/auth');
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ name: s.user });
      expect(count()).toEqual({ total: 1, byGrant: { [REFRESH]: 1 } });
      expect(lines.join('\n')).toMatch(/401; refreshing the token and retrying once/);
    } finally {
      await other.close();
    }
  });

  it('1000 concurrent requests on an expired token: exactly one token request, all succeed', async () => {
    const s = server();
    const login = await loginTokens(s);
    // An opaque token whose stored expiry has passed (a JWT's own exp would win over the stored expiry).
    const expired = {
      accessToken: 'expired-opaque-token-0123456789',
      expiresAt: new Date(Date.now() - 60_000).toISOString(),
    };
    ini = tempIni(tokenProfile(s, { ...login, ...expired }));
    const count = tokenRequests(s);
    const client = await createClient({ env: isolatedEnv(ini.dir), configFile: ini.file });
    const statuses = await concurrentStatuses(client, 1000);
    expect(statuses.filter((st) => st !== 200)).toEqual([]);
    expect(count()).toEqual({ total: 1, byGrant: { [REFRESH]: 1 } });
  });

  it('1000 concurrent requests that all get a 401 (expiry unknown): one refresh, all retried once and succeed', async () => {
    const s = server();
    const login = await loginTokens(s);
    ini = tempIni(tokenProfile(s, { ...login, accessToken: 'not-a-token-the-server-knows' }));
    const count = tokenRequests(s);
    const rec = recordingFetch();
    const client = await createClient({ env: isolatedEnv(ini.dir), configFile: ini.file, fetch: rec.impl });
    const statuses = await concurrentStatuses(client, 1000);
    expect(statuses.filter((st) => st !== 200)).toEqual([]);
    expect(count()).toEqual({ total: 1, byGrant: { [REFRESH]: 1 } });
    expect(rec.statuses.filter((st) => st === 401)).toHaveLength(1000);
    expect(rec.statuses).toHaveLength(2000);
  });
});

describe('proactive refresh (2 s tokens)', () => {
  const server = useDevServer({ accessTokenTtl: 2 });

  it('a token past its refresh moment is renewed before the request: no 401 is ever seen', async () => {
    const s = server();
    ini = tempIni();
    const count = tokenRequests(s);
    const rec = recordingFetch();
    const client = await createClient({
      env: isolatedEnv(ini.dir, serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat })),
      configFile: ini.file,
      fetch: rec.impl,
    });
    expect((await client.fetch('/api/auth')).status).toBe(200);
    const first = client.expiresAt;
    await new Promise((r) => setTimeout(r, 1_200)); // past the refresh moment (half of the 2 s lifetime)
    expect((await client.fetch('/api/auth')).status).toBe(200);
    expect(rec.statuses).toEqual([200, 200]);
    expect(count()).toEqual({ total: 2, byGrant: { [EXCHANGE]: 2 } });
    expect(client.expiresAt).not.toBe(first);
  });
});

describe('401 handling with an endpoint that refuses stale tokens (issuer = dev server)', () => {
  const server = useDevServer();
  let api: Recorder;
  beforeAll(async () => {
    api = await startRecorder();
  });
  afterAll(() => api.close());

  /**
   * A client whose profile has a stale access token and a good refresh token from the dev server, and whose
   * endpoint is `api` answering with `handler`; `count` counts token requests from now on.
   */
  async function staleTokenClient(handler: Handler) {
    const s = server();
    api.reset();
    api.handle(handler);
    ini = tempIni(`[__default]
dhcore_endpoint = ${api.origin}
dhcore_issuer = ${s.endpoint}
dhcore_client_id = ${s.clientId}
dhcore_access_token = STALE-token
dhcore_refresh_token = ${(await loginTokens(s)).refreshToken}
`);
    const count = tokenRequests(s);
    const client = await createClient({ env: isolatedEnv(ini.dir), configFile: ini.file });
    return { client, count };
  }

  /** Refuses only the stale token; echoes every other request. */
  const refuseStale: Handler = (req, res) =>
    req.authorization === 'Bearer STALE-token'
      ? json(res, 401, { error: 'unauthorized' })
      : json(res, 200, req);

  it('a second 401 after the retry is returned, not retried again', async () => {
    const { client, count } = await staleTokenClient((_req, res) =>
      json(res, 401, { error: 'unauthorized' }),
    );
    const res = await client.fetch('/api/auth');
    expect(res.status).toBe(401);
    expect(api.requests.map((r) => r.authorization?.startsWith('Bearer '))).toEqual([true, true]);
    expect(api.requests[0]?.authorization).toBe('Bearer STALE-token');
    expect(api.requests[1]?.authorization).not.toBe('Bearer STALE-token');
    expect(count().total).toBe(1);
  });

  it('a streamed body is not retried: the 401 comes back, and the next request carries a fresh token', async () => {
    const { client, count } = await staleTokenClient(refuseStale);
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('upload'));
        c.close();
      },
    });
    const res = await client.fetch('/upload', { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(401);
    expect(api.requests).toHaveLength(1);
    expect(count().total).toBe(1);

    const again = await client.fetch('/upload', { method: 'POST', body: 'upload' });
    expect(again.status).toBe(200);
    expect(api.requests).toHaveLength(2);
    expect(count().total).toBe(1);
  });

  it('a replayable body (string) is sent again on the retry', async () => {
    const { client } = await staleTokenClient(refuseStale);
    const res = await client.fetch('/upload', { method: 'PUT', body: 'payload-1' });
    expect(res.status).toBe(200);
    expect(api.requests.map((r) => [r.method, r.body])).toEqual([
      ['PUT', 'payload-1'],
      ['PUT', 'payload-1'],
    ]);
  });

  it('a 401 from another origin never triggers a refresh', async () => {
    const s = server();
    api.reset();
    api.handle((_req, res) => json(res, 401, {}));
    ini = tempIni(tokenProfile(s, { ...(await loginTokens(s)), accessToken: 'whatever' }));
    const count = tokenRequests(s);
    const client = await createClient({ env: isolatedEnv(ini.dir), configFile: ini.file });
    expect((await client.fetch(`${api.origin}/elsewhere`)).status).toBe(401);
    expect(api.requests[0]?.authorization).toBeUndefined();
    expect(count().total).toBe(0);
  });
});
