/**
 * The client's default time limit against small misbehaving servers on 127.0.0.1: a server that accepts and
 * never answers, one that sends headers and then stalls the body, one whose connection never completes. The
 * limit must abort the request (the server sees its connection close) and surface `network_timeout`; the
 * caller's own signal and dispatcher keep working; the limit's timer never keeps a process alive. Timings are
 * asserted loosely (the limit is a lower bound, plus a generous margin): these are not speed tests.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createClient, DHCoreError } from '../src/index.js';
import { isolatedEnv, type Recorder, startRecorder, tempIni } from './client-helpers.js';
import { ROOT, runNode } from './helpers/cli.js';

const LIMIT = 300;
/** Far more than any scheduling delay on a loaded machine, far less than "never". */
const MARGIN = 3_000;

interface RawServer {
  origin: string;
  /** Connections that sent a request, and how many of them are closed (undici may open a spare one). */
  requested: number;
  closed: number;
  close(): Promise<void>;
}

/** A TCP server on 127.0.0.1 that hands each connection's first request bytes to `onRequest`. */
async function rawServer(onRequest: (socket: Socket) => void): Promise<RawServer> {
  const sockets = new Set<Socket>();
  const state = { requested: 0, closed: 0 };
  const server = createServer((socket) => {
    sockets.add(socket);
    let requested = false;
    socket.on('error', () => {});
    socket.on('close', () => {
      if (requested) state.closed++;
      sockets.delete(socket);
    });
    // Reading (and discarding) keeps the socket flowing, so the client's close is seen.
    socket.on('data', () => {
      if (requested) return;
      requested = true;
      state.requested++;
      onRequest(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    get requested() {
      return state.requested;
    },
    get closed() {
      return state.closed;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const never = () => {};
const stallBody = (socket: Socket) => {
  socket.write('HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"partial":');
};

let ini: ReturnType<typeof tempIni>;
let echo: Recorder;
const servers: RawServer[] = [];
beforeAll(async () => {
  ini = tempIni();
  echo = await startRecorder();
});
afterAll(async () => {
  await echo.close();
  ini.cleanup();
});
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  echo.reset();
});

async function serve(onRequest: (socket: Socket) => void): Promise<RawServer> {
  const s = await rawServer(onRequest);
  servers.push(s);
  return s;
}

/**
 * A client whose first call is done: a first call also carries a deadline signal (until a request shows that
 * fetch sends through the dispatcher it is given), later ones rely on the transport alone.
 */
async function clientFor(origin: string, extra: Parameters<typeof createClient>[0] = {}) {
  const client = await freshClient(origin, extra);
  await (await client.fetch(`${echo.origin}/first`)).text();
  return client;
}

function freshClient(origin: string, extra: Parameters<typeof createClient>[0] = {}) {
  return createClient({
    env: isolatedEnv(ini.dir, { DHCORE_ENDPOINT: origin, DHCORE_ACCESS_TOKEN: 'SECRET-ACCESS-9b2e' }),
    configFile: ini.file,
    storage: 'memory',
    timeoutMs: LIMIT,
    ...extra,
  });
}

/** The `network_timeout` error behind `err`: the error itself, or (a body read) the cause of fetch's error. */
function timeoutOf(err: unknown): DHCoreError | undefined {
  if (err instanceof DHCoreError) return err;
  const cause = err instanceof Error ? err.cause : undefined;
  return cause instanceof DHCoreError ? cause : undefined;
}

async function until(check: () => boolean, ms = MARGIN): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return check();
}

/** Node's own dispatcher, the one a request goes to when the caller names none. */
function globalDispatcher(): { dispatch(options: unknown, handler: unknown): boolean } {
  const key = Symbol.for('undici.globalDispatcher.1');
  return (globalThis as unknown as Record<symbol, ReturnType<typeof globalDispatcher>>)[key]!;
}

describe('the default time limit', () => {
  it('a server that accepts and never answers: network_timeout after about timeoutMs, connection closed', async () => {
    const server = await serve(never);
    const client = await clientFor(server.origin);
    const started = performance.now();
    const err = await client.fetch('/hang').catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(err).toBeInstanceOf(DHCoreError);
    expect(err).toMatchObject({ code: 'network_timeout' });
    expect((err as Error).message).toMatch(/300 ms/);
    expect((err as Error).message).not.toContain('SECRET-ACCESS');
    expect(took).toBeGreaterThanOrEqual(LIMIT - 5);
    expect(took).toBeLessThan(LIMIT + MARGIN);
    expect(await until(() => server.requested === 1 && server.closed === 1)).toBe(true);
  });

  it('headers, then a stalled body: reading the body fails with network_timeout, connection closed', async () => {
    const server = await serve(stallBody);
    const client = await clientFor(server.origin);
    const started = performance.now();
    const res = await client.fetch('/stall');
    expect(res.status).toBe(200);
    const err = await res.text().catch((e: unknown) => e);
    const took = performance.now() - started;
    expect(timeoutOf(err)).toMatchObject({ code: 'network_timeout' });
    expect(timeoutOf(err)?.message).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/stall/);
    expect(took).toBeGreaterThanOrEqual(LIMIT - 5);
    expect(took).toBeLessThan(LIMIT + MARGIN);
    expect(await until(() => server.closed === 1)).toBe(true);
  });

  it('with a caller signal that never fires, both limits still apply (no answer; stalled body)', async () => {
    const hung = await serve(never);
    const stalled = await serve(stallBody);
    const signal = new AbortController().signal;
    const a = await clientFor(hung.origin);
    expect(await a.fetch('/hang', { signal }).catch((e: unknown) => e)).toMatchObject({
      code: 'network_timeout',
    });
    const b = await clientFor(stalled.origin);
    const res = await b.fetch('/stall', { signal });
    expect(timeoutOf(await res.text().catch((e: unknown) => e))).toMatchObject({ code: 'network_timeout' });
    expect(await until(() => hung.closed === 1 && stalled.closed === 1)).toBe(true);
  });

  it('many concurrent hung requests all time out and are all closed', async () => {
    const server = await serve(never);
    const client = await clientFor(server.origin);
    const errors = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.fetch(`/hang/${i}`).catch((e: unknown) => e)),
    );
    for (const err of errors) expect(err).toMatchObject({ code: 'network_timeout' });
    expect(await until(() => server.requested === 40 && server.closed === 40)).toBe(true);
  });

  it('answered and hung requests of one window: each answer is read whole, each hung one times out', async () => {
    // Requests that end leave their window's list while others of it are still on the wire; every one left
    // must still be stopped when the window's time is up.
    const client = await clientFor(echo.origin);
    echo.handle((rec, res) => {
      if (rec.path.startsWith('/hang/')) return; // never answered
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(rec.path);
    });
    const paths = Array.from({ length: 30 }, (_, i) => (i % 3 === 1 ? `/ok/${i}` : `/hang/${i}`));
    const results = await Promise.all(
      paths.map((path) =>
        client.fetch(path).then(
          (res) => res.text(),
          (e: unknown) => e,
        ),
      ),
    );
    results.forEach((result, i) => {
      if (paths[i]!.startsWith('/ok/')) expect(result).toBe(paths[i]);
      else expect(result).toMatchObject({ code: 'network_timeout' });
    });
  });

  it('a redirect hop that hangs is within the same limit', async () => {
    const server = await serve(never);
    const client = await clientFor(echo.origin);
    echo.handle((_req, res) => {
      res.writeHead(302, { location: `${server.origin}/hang` });
      res.end();
    });
    const err = await client.fetch('/go').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'network_timeout' });
    expect(await until(() => server.closed === 1)).toBe(true);
  });

  it('a request still waiting for its connection fails at the limit too', async () => {
    // A listening socket that never accepts, with no room in its queue: connections never complete.
    const py = spawn(
      'python3',
      [
        '-c',
        'import socket,sys,time\ns=socket.socket()\ns.bind(("127.0.0.1",0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    try {
      const port = await firstLine(py);
      const client = await clientFor(`http://127.0.0.1:${port}`);
      // The first connections fill the queue (they hang after connecting); the rest never connect.
      const started = performance.now();
      const errors = await Promise.all(
        Array.from({ length: 4 }, (_, i) => client.fetch(`/wait/${i}`).catch((e: unknown) => e)),
      );
      for (const err of errors) expect(err).toMatchObject({ code: 'network_timeout' });
      expect(performance.now() - started).toBeLessThan(LIMIT + MARGIN);
    } finally {
      py.kill('SIGKILL');
    }
  });
});

describe("the caller's own signal, dispatcher and fetch", () => {
  it("the caller's signal still aborts, before the answer and while reading the body (AbortError)", async () => {
    const hung = await serve(never);
    const stalled = await serve(stallBody);
    const a = await clientFor(hung.origin, { timeoutMs: 60_000 });
    const c1 = new AbortController();
    setTimeout(() => c1.abort(), 30);
    const err = await a.fetch('/hang', { signal: c1.signal }).catch((e: unknown) => e);
    expect(err).not.toBeInstanceOf(DHCoreError);
    expect((err as Error).name).toBe('AbortError');

    const b = await clientFor(stalled.origin, { timeoutMs: 60_000 });
    const c2 = new AbortController();
    const res = await b.fetch('/stall', { signal: c2.signal });
    setTimeout(() => c2.abort(), 30);
    const bodyErr = await res.text().catch((e: unknown) => e);
    expect(timeoutOf(bodyErr)).toBeUndefined();
    expect((bodyErr as Error).name).toBe('AbortError');
    expect(await until(() => hung.closed === 1 && stalled.closed === 1)).toBe(true);
  });

  it("a caller's dispatcher sends every request of the call (redirect hops too), and the limit applies through it", async () => {
    const paths: string[] = [];
    const dispatcher = {
      dispatch(options: { path: string }, handler: unknown) {
        paths.push(options.path);
        return globalDispatcher().dispatch(options, handler);
      },
    };
    echo.handle((req, res) => {
      if (req.path === '/from') res.writeHead(302, { location: '/to' }).end();
      else res.writeHead(200).end('ok');
    });
    const client = await clientFor(echo.origin);
    const init = { dispatcher } as RequestInit;
    const res = await client.fetch('/from', init);
    expect(await res.text()).toBe('ok');
    expect(paths).toEqual(['/from', '/to']);

    const server = await serve(never);
    const hung = await clientFor(server.origin);
    const err = await hung.fetch('/hang', init).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'network_timeout' });
    expect(paths).toEqual(['/from', '/to', '/hang']);
    expect(await until(() => server.closed === 1)).toBe(true);
  });

  it("one client's fetch through another's (globalThis.fetch set to a client's): answered, and limited, nothing hangs", async () => {
    // A program that makes third-party code authenticated: globalThis.fetch = client.fetch. A client made
    // after that sends through it, so its call's deadline is the dispatcher the inner call is given.
    echo.handle((_req, res) => res.writeHead(200).end('ok'));
    const server = await serve(never);
    const nodeFetch = globalThis.fetch;
    try {
      const inner = await clientFor(echo.origin);
      globalThis.fetch = ((input: string, init?: RequestInit) => inner.fetch(input, init)) as typeof fetch;
      const outer = await freshClient(echo.origin);
      for (let i = 0; i < 3; i++) {
        const started = Date.now();
        const res = await outer.fetch('/nested');
        expect(await res.text()).toBe('ok');
        expect(Date.now() - started).toBeLessThan(LIMIT);
      }
      const hung = await freshClient(server.origin);
      const err = await hung.fetch('/hang').catch((e: unknown) => e);
      expect(timeoutOf(err)?.code).toBe('network_timeout');
    } finally {
      globalThis.fetch = nodeFetch;
    }
    expect(await until(() => server.closed === 1)).toBe(true);
  });

  it('a request under two call deadlines at the transport is sent, and stopped when out of time', async () => {
    const { WireDeadlines } = await import('../src/client/wire-deadlines.js');
    echo.handle((_req, res) => res.writeHead(200).end('ok'));
    const wire = new WireDeadlines<string>(LIMIT, (s) => new Error(`out of time: ${s}`));
    const twice = () =>
      ({ dispatcher: wire.call('outer', wire.call('inner', undefined)) }) as unknown as RequestInit;
    const started = Date.now();
    const res = await fetch(`${echo.origin}/twice`, twice());
    expect(await res.text()).toBe('ok');
    expect(Date.now() - started).toBeLessThan(LIMIT);
    const server = await serve(never);
    const err = await fetch(`${server.origin}/hang`, twice()).catch((e: unknown) => e);
    expect(String((err as Error).cause)).toMatch(/out of time: (inner|outer)/);
    expect(await until(() => server.closed === 1)).toBe(true);
  });

  it("with no limit (timeoutMs 0) the caller's dispatcher, and its other init fields, reach fetch as given", async () => {
    const seen: unknown[] = [];
    const dispatcher = { dispatch: (o: unknown, h: unknown) => globalDispatcher().dispatch(o, h) };
    const client = await freshClient(echo.origin, {
      timeoutMs: 0,
      fetch: (input, init) => {
        const i = init as RequestInit & Record<string, unknown>;
        seen.push(i.dispatcher, i.keepalive, i.cache, i.signal);
        return fetch(input, init);
      },
    });
    const init = { dispatcher, keepalive: true, cache: 'no-store' } as unknown as RequestInit;
    const res = await client.fetch('/x', init);
    expect(res.status).toBe(200);
    expect(seen).toEqual([dispatcher, true, 'no-store', undefined]);
  });

  it('a fetch that ignores `dispatcher` still gets the limit, on its first call and after', async () => {
    const server = await serve(never);
    let calls = 0;
    const client = await freshClient(server.origin, {
      fetch: (input, init) => {
        calls++;
        const { dispatcher: _ignored, ...rest } = (init ?? {}) as RequestInit & { dispatcher?: unknown };
        return fetch(input, rest);
      },
    });
    for (let i = 0; i < 2; i++) {
      const err = await client.fetch(`/hang/${i}`).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'network_timeout' });
    }
    expect(calls).toBe(2);
    expect(await until(() => server.closed === 2)).toBe(true);

    // Its stalled bodies too: after an answer that did not go through the dispatcher, signals it is.
    const stalled = await serve(stallBody);
    for (let i = 0; i < 2; i++) {
      const res = await client.fetch(`${stalled.origin}/stall/${i}`);
      expect(timeoutOf(await res.text().catch((e: unknown) => e))).toMatchObject({ code: 'network_timeout' });
    }
    expect(await until(() => stalled.closed === 2)).toBe(true);
  });

  it("a fetch of the caller's that sends some requests its own way still gets the limit on every one", async () => {
    // For example a wrapper that routes some hosts through an agent of its own (it replaces `dispatcher`).
    const server = createHttpServer((req, res) => {
      if (req.url?.startsWith('/ok')) res.end('ok'); // anything else: never answered
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const client = await freshClient(origin, {
        fetch: (input, init) =>
          String(input).includes('/slow')
            ? fetch(input, { ...init, dispatcher: undefined } as RequestInit)
            : fetch(input, init),
      });
      for (let i = 0; i < 2; i++) expect(await (await client.fetch(`/ok/${i}`)).text()).toBe('ok');
      const err = await client.fetch('/slow').catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'network_timeout' });
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a fetch that passes `dispatcher` on is limited too (stalled body)', async () => {
    const server = await serve(stallBody);
    const client = await freshClient(server.origin, { fetch: (input, init) => fetch(input, init) });
    for (let i = 0; i < 2; i++) {
      const res = await client.fetch(`/stall/${i}`);
      expect(timeoutOf(await res.text().catch((e: unknown) => e))).toMatchObject({ code: 'network_timeout' });
    }
    expect(await until(() => server.closed === 2)).toBe(true);
  });
});

describe('the process', () => {
  const dist = JSON.stringify(pathToFileURL(join(ROOT, 'dist/index.js')).href);
  const env = (origin: string) => ({
    PATH: process.env.PATH,
    HOME: ini.dir,
    DHCORE_ENDPOINT: origin,
    DHCORE_ACCESS_TOKEN: 'SECRET-ACCESS-9b2e',
  });

  it('exits as soon as its work is done: the default 30 s limit keeps nothing alive (built package)', async () => {
    const script = `const { createClient } = await import(${dist});
const client = await createClient({ configFile: ${JSON.stringify(ini.file)}, storage: 'memory' });
const all = await Promise.all(Array.from({ length: 20 }, (_, i) => client.fetch('/api/' + i).then((r) => r.text().then(() => r.status))));
process.stdout.write(String(new Set(all).size === 1 ? all[0] : all));`;
    const started = performance.now();
    const { code, stdout, stderr } = await runNode(['--input-type=module', '-e', script], {
      env: env(echo.origin),
      timeoutMs: 20_000,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toBe('200');
    expect(performance.now() - started).toBeLessThan(10_000);
  });

  it('a hung request in a process with nothing else to do still times out (the limit fires)', async () => {
    const server = await serve(never);
    const script = `const { createClient } = await import(${dist});
const client = await createClient({ configFile: ${JSON.stringify(ini.file)}, storage: 'memory', timeoutMs: ${LIMIT} });
await client.fetch('/hang').catch((e) => process.stdout.write(String(e.code)));`;
    const { code, stdout } = await runNode(['--input-type=module', '-e', script], {
      env: env(server.origin),
      timeoutMs: 20_000,
    });
    expect(stdout).toBe('network_timeout');
    expect(code).toBe(0);
  });
});

function firstLine(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(out.slice(0, nl).trim());
    });
    child.once('exit', (c) => reject(new Error(`exited (${c}) before printing its port`)));
  });
}
