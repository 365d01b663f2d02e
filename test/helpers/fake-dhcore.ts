/**
 * A small DHCore-shaped server that misbehaves on purpose (fault injection for what a server may send):
 * each test gives the routes it needs. Listens on 127.0.0.1, port 0; `close()` always stops it.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface FakeDhcore {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** The same server as `http://localhost:<port>`: another origin, still this machine. */
  otherOrigin: string;
  /** Requests received: method, path (with query), form body. */
  requests: { method: string; path: string; body: string }[];
  close(): Promise<void>;
}

/** What a route answers: a JSON body (status 200 unless given), or a raw answer written by the route. */
export type Route = (
  req: IncomingMessage,
  res: ServerResponse,
  ctx: { base: string; body: string; path: string },
) => unknown;

/** Start a server whose answers come from `routes[path]`; unknown paths are 404. */
export async function fakeDhcore(routes: Record<string, Route>): Promise<FakeDhcore> {
  const requests: FakeDhcore['requests'] = [];
  const sockets = new Set<Socket>();
  let base = '';
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      body += d;
    });
    req.on('end', () => {
      const full = req.url ?? '/';
      const path = full.split('?')[0] ?? '/';
      requests.push({ method: req.method ?? 'GET', path: full, body });
      const route = routes[path];
      if (!route) {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}');
        return;
      }
      const answer = route(req, res, { base, body, path });
      if (answer !== undefined && !res.writableEnded) {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
      }
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
  return {
    url: base,
    otherOrigin: `http://localhost:${port}`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A redirect answer. */
export function redirect(res: ServerResponse, location: string, status = 302): void {
  res.writeHead(status, { location }).end();
}

/** The OpenID discovery document of a server at `base` (token endpoint `/token`), with `extra` on top. */
export function openidConfiguration(
  base: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    issuer: base,
    token_endpoint: `${base}/token`,
    authorization_endpoint: `${base}/authorize`,
    ...extra,
  };
}
