/**
 * Real processes sharing one profile against rotating refresh tokens with reuse detection (the dev
 * server revokes the whole family on any replay, so a single lost race would surface as invalid_grant).
 * Token requests are counted server-side. Needs the built dist (npm test builds first).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSession } from '../src/auth/session.js';
import { IniDocument } from '../src/config/ini.js';
import type { DevServer } from '../src/dev-server/index.js';
import { configFor, loginTokens, tempConfig } from './helpers/auth.js';
import { useDevServer } from './helpers/dev-server.js';
import { spawnWorker, type WorkerResult } from './helpers/multiprocess.js';
import { pythonRead } from './helpers/python.js';

const server = useDevServer({ accessTokenTtl: 2 });
const PROCESSES = 6;

let tmp: ReturnType<typeof tempConfig>;
beforeEach(() => {
  tmp = tempConfig();
});
afterEach(() => tmp.cleanup());

const HEADER =
  '# shared by several processes\n[DEFAULT]\ncurrent_environment = shared\n\n[other]\ndhcore_endpoint = https://other.example.com\n; untouched\n\n';

async function sharedProfile(s: DevServer): Promise<string> {
  const login = await loginTokens(s);
  const text = `${HEADER}[shared]\ndhcore_endpoint = ${s.endpoint}\ndhcore_client_id = ${s.clientId}\ndhcore_refresh_token = ${login.refreshToken}\n`;
  writeFileSync(tmp.file, text, { mode: 0o600 });
  return text;
}

function workerEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: tmp.dir, DH_CONFIG: tmp.file };
}

function checkFile(): void {
  const text = readFileSync(tmp.file, 'utf8');
  expect(text.startsWith(HEADER)).toBe(true); // everything else byte for byte
  expect(() => IniDocument.parse(text, tmp.file)).not.toThrow();
  const [py] = pythonRead([text]);
  expect(py?.ok).toBe(true);
  if (py?.ok) expect(py.sections).toEqual(['other', 'shared']);
}

async function runAll(args: string[]): Promise<WorkerResult[]> {
  const workers = Array.from({ length: PROCESSES }, () => spawnWorker(args, workerEnv()));
  const results = await Promise.all(workers.map((w) => w.done));
  for (const r of results) {
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }
  return results.map((r) => r.result!);
}

describe(`${PROCESSES} processes, one profile, rotating refresh tokens`, () => {
  it('forced refreshes in a loop: zero invalid_grant, one token request per rotation, file intact', async () => {
    const s = server();
    await sharedProfile(s);
    const perProcess = 12;
    const before = s.stats().byGrant.refresh_token ?? 0;
    const results = await runAll(['refresh', String(perProcess)]);
    const rotations = PROCESSES * perProcess;
    expect(results.flatMap((r) => Object.entries(r.errors))).toEqual([]);
    expect(results.reduce((n, r) => n + r.ops, 0)).toBe(rotations);
    expect(new Set(results.flatMap((r) => r.tokens)).size).toBe(rotations); // every refresh gave a new token
    expect((s.stats().byGrant.refresh_token ?? 0) - before).toBe(rotations); // one request per rotation
    checkFile();
    // The chain is still alive: the saved refresh token works for the next process.
    const tm = await openSession({ config: configFor(tmp.file, {}), env: {} });
    await expect(tm.refresh()).resolves.toBeTypeOf('string');
  });

  it('long-lived processes with 2 s tokens: one refreshes, the others adopt; every request accounted for', async () => {
    const s = server();
    await sharedProfile(s);
    const before = s.stats().byGrant.refresh_token ?? 0;
    const results = await runAll(['access', '3500']);
    expect(results.flatMap((r) => Object.entries(r.errors))).toEqual([]);
    const refreshed = results.reduce((n, r) => n + r.actions.refreshed, 0);
    const adopted = results.reduce((n, r) => n + r.actions.adopted, 0);
    expect((s.stats().byGrant.refresh_token ?? 0) - before).toBe(refreshed);
    // Processes found a token another one had just rotated and used it instead of asking the server.
    expect(adopted).toBeGreaterThan(0);
    checkFile();
  });
});
