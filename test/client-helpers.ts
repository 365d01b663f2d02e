/**
 * Helpers for the client tests: a tiny recording HTTP server on 127.0.0.1 (for origin, redirect and fault
 * tests) and a throw-away config file.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Recorded {
  method: string;
  path: string;
  authorization: string | undefined;
  cookie: string | undefined;
  contentType: string | undefined;
  body: string;
}

export type Handler = (req: Recorded, res: ServerResponse) => void;

export interface Recorder {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  requests: Recorded[];
  /** Replace the request handler (default: 200 with the recorded request as JSON). */
  handle(fn: Handler): void;
  reset(): void;
  close(): Promise<void>;
}

export const echo: Handler = (req, res) => json(res, 200, req);

export function json(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

export async function startRecorder(): Promise<Recorder> {
  const requests: Recorded[] = [];
  let handler: Handler = echo;
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: Recorded = {
        method: req.method ?? 'GET',
        path: req.url ?? '/',
        authorization: req.headers.authorization,
        cookie: req.headers.cookie,
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(rec);
      handler(rec, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    handle: (fn) => {
      handler = fn;
    },
    reset: () => {
      requests.length = 0;
      handler = echo;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A temp folder with `.dhcore.ini` written from `text` (if given). */
export function tempIni(text?: string): {
  dir: string;
  file: string;
  write(t: string): void;
  cleanup(): void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'dhcore-client-'));
  const file = join(dir, '.dhcore.ini');
  const write = (t: string) => writeFileSync(file, t, { mode: 0o600 });
  if (text !== undefined) write(text);
  return { dir, file, write, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** An environment with nothing from the developer's shell: HOME points into the temp folder. */
export function isolatedEnv(dir: string, extra: Record<string, string> = {}): Record<string, string> {
  return { HOME: dir, ...extra };
}
