/**
 * Where credentials go, how requests are built and how transport failures surface — against real local HTTP
 * servers on 127.0.0.1 (the "endpoint" and a second, foreign origin).
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, DHCoreError } from '../src/index.js';
import { isolatedEnv, json, type Recorder, startRecorder, tempIni } from './client-helpers.js';
import { ROOT, runNode } from './helpers/cli.js';

let home: Recorder;
let foreign: Recorder;
let ini: ReturnType<typeof tempIni>;

beforeAll(async () => {
  home = await startRecorder();
  foreign = await startRecorder();
  ini = tempIni();
});
afterAll(async () => {
  await home.close();
  await foreign.close();
  ini.cleanup();
});
afterEach(() => {
  home.reset();
  foreign.reset();
});

const USER = 'jürgen';
const PASSWORD = 'pä$$:wörd-SECRET-9f3a';
const ACCESS = 'SECRET-ACCESS-TOKEN-7c1d';
const basicHeader = `Basic ${Buffer.from(`${USER}:${PASSWORD}`, 'utf8').toString('base64')}`;

function basicClient(extra: Parameters<typeof createClient>[0] = {}) {
  return createClient({
    env: isolatedEnv(ini.dir, { DHCORE_ENDPOINT: home.origin, DHCORE_USER: USER, DHCORE_PASSWORD: PASSWORD }),
    configFile: ini.file,
    ...extra,
  });
}

describe('auth headers per method', () => {
  it('basic: UTF-8 user:password in base64, sent to the endpoint', async () => {
    const client = await basicClient();
    expect(client.authMethod).toBe('basic');
    const res = await client.fetch('/api/auth');
    expect(res.status).toBe(200);
    expect(home.requests[0]?.authorization).toBe(basicHeader);
    expect(await client.authHeaders()).toEqual({ Authorization: basicHeader });
    // Decoding gives back the exact UTF-8 text, colon in the password included.
    const decoded = Buffer.from(basicHeader.slice(6), 'base64').toString('utf8');
    expect(decoded).toBe(`${USER}:${PASSWORD}`);
  });

  it('access_token_only: a fixed Bearer header', async () => {
    const client = await createClient({
      env: isolatedEnv(ini.dir, { DHCORE_ENDPOINT: home.origin, DHCORE_ACCESS_TOKEN: ACCESS }),
      configFile: ini.file,
    });
    expect(client.authMethod).toBe('access_token_only');
    await client.fetch('api/v1/projects');
    expect(home.requests[0]).toMatchObject({ path: '/api/v1/projects', authorization: `Bearer ${ACCESS}` });
    expect(await client.authHeaders()).toEqual({ Authorization: `Bearer ${ACCESS}` });
  });

  it('access_token_only: a 401 is returned as is (nothing to refresh), once', async () => {
    home.handle((_req, res) => json(res, 401, { error: 'unauthorized' }));
    const client = await createClient({
      env: isolatedEnv(ini.dir, { DHCORE_ENDPOINT: home.origin, DHCORE_ACCESS_TOKEN: ACCESS }),
      configFile: ini.file,
    });
    const res = await client.fetch('/api/auth');
    expect(res.status).toBe(401);
    expect(home.requests).toHaveLength(1);
    await expect(client.refresh()).rejects.toMatchObject({ code: 'auth_not_refreshable' });
  });

  it('none: no Authorization header at all', async () => {
    const client = await createClient({
      env: isolatedEnv(ini.dir, { DHCORE_ENDPOINT: home.origin }),
      configFile: ini.file,
    });
    expect(client.authMethod).toBe('none');
    await client.fetch('/api/auth');
    expect(home.requests[0]?.authorization).toBeUndefined();
    expect(await client.authHeaders()).toEqual({});
  });

  it('a caller-set Authorization header is kept, not replaced', async () => {
    const client = await basicClient();
    await client.fetch('/api/auth', { headers: { Authorization: 'Bearer mine' } });
    expect(home.requests[0]?.authorization).toBe('Bearer mine');
  });

  it('keeps the caller headers, method and body, and returns a standard Response', async () => {
    const client = await basicClient();
    const res = await client.fetch('/api/things?x=1', {
      method: 'post',
      headers: new Headers({ 'content-type': 'application/json', 'x-trace': 't1' }),
      body: JSON.stringify({ a: 1 }),
    });
    expect(res).toBeInstanceOf(Response);
    expect(home.requests[0]).toMatchObject({
      method: 'POST',
      path: '/api/things?x=1',
      contentType: 'application/json',
      body: '{"a":1}',
      authorization: basicHeader,
    });
    expect(await res.json()).toMatchObject({ method: 'POST' });
  });
});

describe('relative paths', () => {
  it('are joined to an endpoint with a path prefix, with or without a leading slash', async () => {
    const client = await createClient({
      env: isolatedEnv(ini.dir, { DHCORE_ENDPOINT: `${home.origin}/dhcore/`, DHCORE_ACCESS_TOKEN: ACCESS }),
      configFile: ini.file,
    });
    expect(client.endpoint).toBe(`${home.origin}/dhcore`);
    await client.fetch('/api/auth');
    await client.fetch('api/auth');
    expect(home.requests.map((r) => r.path)).toEqual(['/dhcore/api/auth', '/dhcore/api/auth']);
  });

  it('cannot be turned into another host with "@host" (the path always starts with /)', async () => {
    const client = await basicClient();
    await client.fetch(`@${new URL(foreign.origin).host}/steal`);
    expect(foreign.requests).toHaveLength(0);
    expect(home.requests[0]?.path).toBe(`/@${new URL(foreign.origin).host}/steal`);
  });
});

describe('credentials only go to the endpoint origin', () => {
  it('an absolute URL on the endpoint origin gets the header (string, URL and Request)', async () => {
    const client = await basicClient();
    await client.fetch(`${home.origin}/a`);
    await client.fetch(new URL(`${home.origin}/b`));
    await client.fetch(new Request(`${home.origin}/c`));
    expect(home.requests.map((r) => r.authorization)).toEqual([basicHeader, basicHeader, basicHeader]);
  });

  it('an absolute URL to another origin (same host, other port) gets no credentials', async () => {
    const client = await basicClient();
    await client.fetch(`${foreign.origin}/x`);
    await client.fetch(new URL(`${foreign.origin}/y`));
    await client.fetch(new Request(`${foreign.origin}/z`, { method: 'POST', body: 'hi' }));
    expect(foreign.requests).toHaveLength(3);
    for (const r of foreign.requests) expect(r.authorization).toBeUndefined();
    expect(foreign.requests[2]?.body).toBe('hi');
  });

  it('localhost vs 127.0.0.1 are different origins', async () => {
    const client = await basicClient();
    const res = await client.fetch(`${home.origin.replace('127.0.0.1', 'localhost')}/x`);
    expect(res.status).toBe(200);
    expect(home.requests).toHaveLength(1);
    expect(home.requests[0]?.authorization).toBeUndefined();
  });

  it('a redirect that leaves the origin drops the header; a same-origin redirect keeps it', async () => {
    home.handle((req, res) => {
      if (req.path === '/go-away') return json(res, 302, {}, { location: `${foreign.origin}/landing` });
      if (req.path === '/go-home') return json(res, 301, {}, { location: '/final' });
      return json(res, 200, req);
    });
    const client = await basicClient();
    const away = await client.fetch('/go-away');
    expect(away.status).toBe(200);
    expect(foreign.requests).toHaveLength(1);
    expect(foreign.requests[0]?.authorization).toBeUndefined();
    expect(await away.json()).toMatchObject({ path: '/landing' });

    const stay = await client.fetch('/go-home');
    expect(stay.status).toBe(200);
    expect(home.requests.at(-1)).toMatchObject({ path: '/final', authorization: basicHeader });
  });

  it('once a redirect chain has left the origin, credentials are not sent even when it comes back', async () => {
    home.handle((req, res) => {
      if (req.path === '/start') return json(res, 302, {}, { location: `${foreign.origin}/bounce` });
      return json(res, 200, req);
    });
    foreign.handle((_req, res) => json(res, 307, {}, { location: `${home.origin}/back` }));
    const client = await basicClient();
    const res = await client.fetch('/start');
    expect(res.status).toBe(200);
    expect(home.requests.map((r) => [r.path, r.authorization])).toEqual([
      ['/start', basicHeader],
      ['/back', undefined],
    ]);
  });

  it("the caller's own Authorization and Cookie headers are dropped on a cross-origin redirect", async () => {
    home.handle((_req, res) => json(res, 302, {}, { location: `${foreign.origin}/landing` }));
    const client = await basicClient();
    await client.fetch('/x', { headers: { authorization: 'Bearer mine', cookie: 'sid=1' } });
    expect(home.requests[0]).toMatchObject({ authorization: 'Bearer mine', cookie: 'sid=1' });
    expect(foreign.requests[0]).toMatchObject({ authorization: undefined, cookie: undefined });
  });

  it('303 turns POST into GET without body; 307 keeps method and body', async () => {
    home.handle((req, res) => {
      if (req.path === '/see-other') return json(res, 303, {}, { location: '/result' });
      if (req.path === '/temp') return json(res, 307, {}, { location: '/target' });
      return json(res, 200, req);
    });
    const client = await basicClient();
    await client.fetch('/see-other', {
      method: 'POST',
      body: 'payload',
      headers: { 'content-type': 'text/plain' },
    });
    expect(home.requests[1]).toMatchObject({
      method: 'GET',
      path: '/result',
      body: '',
      contentType: undefined,
    });
    await client.fetch('/temp', { method: 'PUT', body: 'payload' });
    expect(home.requests[3]).toMatchObject({ method: 'PUT', path: '/target', body: 'payload' });
  });

  it('a 307 after a streamed body is handed back, not resent with an empty body', async () => {
    home.handle((_req, res) => json(res, 307, {}, { location: '/target' }));
    const client = await basicClient();
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode('streamed'));
        c.close();
      },
    });
    const res = await client.fetch('/temp', { method: 'POST', body: stream, duplex: 'half' } as RequestInit);
    expect(res.status).toBe(307);
    expect(home.requests).toHaveLength(1);
    expect(home.requests[0]?.body).toBe('streamed');
  });

  it("redirect: 'manual' returns the redirect untouched", async () => {
    home.handle((_req, res) => json(res, 302, {}, { location: `${foreign.origin}/landing` }));
    const client = await basicClient();
    const res = await client.fetch('/x', { redirect: 'manual' });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe(`${foreign.origin}/landing`);
    expect(foreign.requests).toHaveLength(0);
  });

  it("redirect: 'error' rejects like fetch does (a TypeError, not a network error)", async () => {
    home.handle((_req, res) => json(res, 302, {}, { location: '/elsewhere' }));
    const client = await basicClient();
    const err = await client.fetch('/x', { redirect: 'error' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(err).not.toBeInstanceOf(DHCoreError);
    expect(home.requests).toHaveLength(1);
  });

  it('a redirect loop ends with a typed error', async () => {
    home.handle((_req, res) => json(res, 302, {}, { location: '/again' }));
    const client = await basicClient({ maxRedirects: 3 });
    await expect(client.fetch('/again')).rejects.toMatchObject({ code: 'http_too_many_redirects' });
    expect(home.requests).toHaveLength(4);
  });
});

describe('transport', () => {
  it('the timeout applies to every request and fails with network_timeout', async () => {
    home.handle(() => {
      /* never answer */
    });
    const client = await basicClient({ timeoutMs: 150 });
    const err = await client.fetch('/slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DHCoreError);
    expect(err).toMatchObject({ code: 'network_timeout' });
    expect(String((err as Error).message)).toMatch(/150 ms/);
  });

  it('without a caller signal, the timed-out request is aborted too (the server sees it close)', async () => {
    let closed = false;
    home.handle((_req, res) => {
      res.on('close', () => {
        closed = true;
      });
    });
    const client = await basicClient({ timeoutMs: 150 });
    const err = await client.fetch('/slow').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'network_timeout' });
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(true);
  });

  it('concurrent requests sharing deadlines all time out and are all closed', async () => {
    let closed = 0;
    home.handle((_req, res) => {
      res.on('close', () => {
        closed++;
      });
    });
    const client = await basicClient({ timeoutMs: 150 });
    // More requests than share one deadline signal, so several signals are involved.
    const errors = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.fetch(`/slow/${i}`).catch((e: unknown) => e)),
    );
    for (const err of errors) expect(err).toMatchObject({ code: 'network_timeout' });
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(20);
  });

  it('with a caller signal too, the timeout still applies (the request is aborted: the server sees it close)', async () => {
    let closed = false;
    home.handle((_req, res) => {
      res.on('close', () => {
        closed = true;
      });
    });
    const client = await basicClient({ timeoutMs: 150 });
    const err = await client
      .fetch('/slow', { signal: new AbortController().signal })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'network_timeout' });
    await new Promise((r) => setTimeout(r, 100));
    expect(closed).toBe(true);
  });

  it("the caller's signal still aborts (an AbortError, not a timeout)", async () => {
    home.handle(() => {
      /* never answer */
    });
    const client = await basicClient({ timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = client.fetch('/slow', { signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    const err = await pending.catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(DHCoreError);
    expect((err as Error).name).toBe('AbortError');
  });

  it('an unreachable endpoint is network_unreachable and names the endpoint', async () => {
    const closed = await startRecorder();
    const origin = closed.origin;
    await closed.close();
    const client = await createClient({
      env: isolatedEnv(ini.dir, { DHCORE_ENDPOINT: origin, DHCORE_USER: USER, DHCORE_PASSWORD: PASSWORD }),
      configFile: ini.file,
    });
    const err = await client.fetch('/api/auth').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'network_unreachable' });
    expect((err as Error).message).toContain(origin);
    expect((err as Error).message).not.toContain(PASSWORD);
  });

  it('a custom fetch is used for every request', async () => {
    const seen: string[] = [];
    const client = await basicClient({
      fetch: async (input, init) => {
        seen.push(
          `${init?.method} ${String(input)} ${new Headers(init?.headers).get('authorization') === basicHeader}`,
        );
        return new Response('ok');
      },
    });
    const res = await client.fetch('/api/auth');
    expect(await res.text()).toBe('ok');
    expect(seen).toEqual([`GET ${home.origin}/api/auth true`]);
    expect(home.requests).toHaveLength(0);
  });
});

describe('no secret leaks', () => {
  it('util.inspect, JSON.stringify and String of the client show no secret', async () => {
    const client = await basicClient();
    const shown = [inspect(client, { depth: 10, showHidden: true }), JSON.stringify(client), String(client)];
    for (const text of shown) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(basicHeader.slice(6));
      expect(text).toContain(home.origin);
    }
    expect(JSON.parse(JSON.stringify(client))).toEqual({
      profile: '__default',
      endpoint: home.origin,
      authMethod: 'basic',
    });
  });

  it('the logger gets flows and timings, never a secret or a query string', async () => {
    const lines: string[] = [];
    const client = await basicClient({ logger: (l) => lines.push(l) });
    await client.fetch('/api/auth?token=SECRET-QUERY-1234');
    const all = lines.join('\n');
    expect(all).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/api\/auth → 200 \(\d+(\.\d)? ms\)/);
    expect(all).toMatch(/auth basic/);
    for (const secret of [PASSWORD, basicHeader.slice(6), 'SECRET-QUERY-1234'])
      expect(all).not.toContain(secret);
  });

  it('DEBUG=dhcore* logs flows to stderr through `debug` (built package), without secrets', async () => {
    const script = `const { createClient } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/index.js')).href)});
const client = await createClient({ configFile: ${JSON.stringify(ini.file)} });
const res = await client.fetch('/api/auth?sig=SECRET-QUERY-5678');
process.stdout.write(String(res.status));`;
    const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', script], {
      env: {
        PATH: process.env.PATH,
        HOME: ini.dir,
        DEBUG: 'dhcore*',
        DEBUG_COLORS: 'no',
        DHCORE_ENDPOINT: home.origin,
        DHCORE_USER: USER,
        DHCORE_PASSWORD: PASSWORD,
      },
    });
    expect(code).toBe(0);
    expect(stdout).toBe('200');
    expect(stderr).toMatch(/dhcore:client client ready: profile __default, .* auth basic/);
    expect(stderr).toMatch(/dhcore:client GET http:\/\/127\.0\.0\.1:\d+\/api\/auth → 200 \(/);
    for (const secret of [PASSWORD, basicHeader.slice(6), 'SECRET-QUERY-5678'])
      expect(stderr).not.toContain(secret);
  });

  it('warns once when credentials would go over plain http to a non-loopback host', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const fakeFetch = async () => new Response('ok');
      const env = isolatedEnv(ini.dir, {
        DHCORE_ENDPOINT: 'http://dhcore.example.com',
        DHCORE_USER: USER,
        DHCORE_PASSWORD: PASSWORD,
      });
      await createClient({ env, configFile: ini.file, fetch: fakeFetch });
      await createClient({ env, configFile: ini.file, fetch: fakeFetch });
      // https and loopback endpoints never warn
      await createClient({
        env: { ...env, DHCORE_ENDPOINT: 'https://dhcore.example.com' },
        configFile: ini.file,
      });
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    const insecure = warnings.filter((w) => /plain http/.test(w));
    expect(insecure).toHaveLength(1);
    expect(insecure[0]).toContain('http://dhcore.example.com');
    expect(insecure[0]).not.toContain(PASSWORD);
  });
});
