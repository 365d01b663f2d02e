/**
 * The token lifecycle against the real dev server (oidc-provider, 2-second access tokens, rotating
 * refresh tokens with reuse detection). Server-side counters (`stats()`) prove when the server was asked.
 */
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearDiscoveryCache } from '../src/auth/oidc.js';
import { openSession } from '../src/auth/session.js';
import { PAT_FINGERPRINT_KEY, patFingerprint } from '../src/auth/token-record.js';
import { resetMemoryStore } from '../src/store/profile-store.js';
import { configFor, loginTokens, serverEnv, tempConfig } from './helpers/auth.js';
import { apiGet, useDevServer } from './helpers/dev-server.js';
import { pythonRead } from './helpers/python.js';

const server = useDevServer({ accessTokenTtl: 2 });
const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

let tmp: ReturnType<typeof tempConfig>;
beforeEach(() => {
  tmp = tempConfig();
  clearDiscoveryCache();
  resetMemoryStore();
});
afterEach(() => tmp.cleanup());

const grants = (g: string) => server().stats().byGrant[g] ?? 0;
const sleepUntil = async (ms: number) => {
  while (Date.now() < ms) await new Promise((r) => setTimeout(r, Math.max(5, ms - Date.now())));
};
function fileValues(file = tmp.file, section = '__default'): Record<string, string> {
  const [py] = pythonRead([readFileSync(file, 'utf8')]);
  if (!py?.ok) throw new Error('configparser cannot read the file');
  const data = py.data.find(([name]) => name === section);
  return Object.fromEntries((data?.[2] ?? []).map(([k, v]) => [k, 'value' in v ? v.value : '']));
}

describe('PAT exchange', () => {
  it('exchanges, saves with absolute expiry (configparser reads it), never writes the env PAT', async () => {
    const s = server();
    // The profile is a section of the file (a profile only in the environment goes to the token cache).
    writeFileSync(tmp.file, '# my comment\n[other]\nkey = value\n\n[__default]\n', { mode: 0o600 });
    const env = serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat });
    const before = grants(EXCHANGE);
    const tm = await openSession({ config: configFor(tmp.file, env), env });
    const token = await tm.accessToken();
    expect(grants(EXCHANGE)).toBe(before + 1);
    expect((await apiGet(s, '/api/auth', `Bearer ${token}`)).status).toBe(200);

    const text = readFileSync(tmp.file, 'utf8');
    expect(text.startsWith('# my comment\n[other]\nkey = value\n')).toBe(true);
    expect(text).not.toContain(s.pat);
    const v = fileValues();
    expect(v.dhcore_access_token).toBe(token);
    expect(v.dhcore_expires_at).toMatch(RFC3339_UTC);
    expect(v.dhcore_refresh_at).toMatch(RFC3339_UTC);
    expect(Date.parse(v.dhcore_expires_at!) - Date.parse(v.dhcore_refresh_at!)).toBe(1000); // min(300 s, 2 s / 2)
    expect(v[PAT_FINGERPRINT_KEY]).toBe(patFingerprint(s.pat));
    expect(v.dhcore_refresh_token).toBeUndefined(); // a PAT gets none
    expect(v.aws_access_key_id).toBeTypeOf('string'); // extra credential fields under their own names
    expect(tm.storeCredentials().aws_secret_access_key).toBe(v.aws_secret_access_key);
  });

  it('a still-valid exchanged token in the file is reused by the next process; a changed PAT is not', async () => {
    const s = server();
    writeFileSync(tmp.file, '[__default]\n', { mode: 0o600 });
    const env = serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat });
    const first = await (await openSession({ config: configFor(tmp.file, env), env })).accessToken();
    const before = grants(EXCHANGE);
    const next = await openSession({ config: configFor(tmp.file, env), env });
    expect(await next.accessToken()).toBe(first);
    expect(grants(EXCHANGE)).toBe(before);

    // Same token, but saved for another PAT: it must not be used with this one.
    const text = readFileSync(tmp.file, 'utf8').replace(patFingerprint(s.pat), patFingerprint('another-pat'));
    writeFileSync(tmp.file, text);
    const changed = await openSession({ config: configFor(tmp.file, env), env });
    expect(await changed.accessToken()).not.toBe(first);
    expect(grants(EXCHANGE)).toBe(before + 1);
  });

  it('re-exchanges once the token is due (a PAT has no refresh token)', async () => {
    const s = server();
    writeFileSync(tmp.file, '[__default]\n', { mode: 0o600 });
    const env = serverEnv(s, { DHCORE_PERSONAL_ACCESS_TOKEN: s.pat });
    const tm = await openSession({ config: configFor(tmp.file, env), env });
    const first = await tm.accessToken();
    const before = grants(EXCHANGE);
    await sleepUntil(Date.parse(tm.state().expiresAt!) + 10);
    const second = await tm.accessToken();
    expect(second).not.toBe(first);
    expect(grants(EXCHANGE)).toBe(before + 1);
    expect(fileValues().dhcore_access_token).toBe(second);
  });
});

describe('refresh with rotation', () => {
  it('saves the rotated refresh token before handing out the access token; the chain keeps working', async () => {
    const s = server();
    writeFileSync(tmp.file, '[__default]\n', { mode: 0o600 });
    const login = await loginTokens(s);
    const env = serverEnv(s, {
      DHCORE_ACCESS_TOKEN: login.accessToken,
      DHCORE_REFRESH_TOKEN: login.refreshToken,
    });
    const tm = await openSession({ config: configFor(tmp.file, env), env });
    expect(tm.authMethod).toBe('oauth2');
    const before = grants('refresh_token');
    const at1 = await tm.refresh();
    // When the new access token is returned, the file already holds it and the rotated refresh token.
    const v1 = fileValues();
    expect(v1.dhcore_access_token).toBe(at1);
    expect(v1.dhcore_refresh_token).toBeTypeOf('string');
    expect(v1.dhcore_refresh_token).not.toBe(login.refreshToken);
    const text = readFileSync(tmp.file, 'utf8');
    expect(text).not.toContain(login.refreshToken); // env secrets are never written
    expect(text).not.toContain(login.accessToken);

    // Three more "processes" in a row, each from the file: every rotation is accepted (no reuse).
    let last = at1;
    for (let i = 0; i < 3; i++) {
      const next = await openSession({ config: configFor(tmp.file, env), env });
      const at = await next.refresh();
      expect(at).not.toBe(last);
      last = at;
    }
    expect(grants('refresh_token')).toBe(before + 4);
    expect((await apiGet(s, '/api/auth', `Bearer ${last}`)).status).toBe(200);
  });

  it('refreshes ahead of expiry (after half of a 2 s lifetime), not on every use', async () => {
    const s = server();
    const login = await loginTokens(s);
    const env = serverEnv(s, { DHCORE_REFRESH_TOKEN: login.refreshToken });
    const tm = await openSession({ config: configFor(tmp.file, env), env });
    const at1 = await tm.accessToken(); // refresh token only: obtains one
    const { refreshAt, expiresAt } = tm.state();
    const before = grants('refresh_token');
    for (let i = 0; i < 20; i++) expect(await tm.accessToken()).toBe(at1); // hot path, no request
    expect(grants('refresh_token')).toBe(before);
    await sleepUntil(Date.parse(refreshAt!) + 5);
    if (Date.now() >= Date.parse(expiresAt!)) return; // machine too slow to observe the window; skip
    const at2 = await tm.accessToken();
    expect(at2).not.toBe(at1);
    expect(grants('refresh_token')).toBe(before + 1);
  });

  it('single-flight: 50 concurrent callers → one token request', async () => {
    const s = server();
    const login = await loginTokens(s);
    const env = serverEnv(s, { DHCORE_REFRESH_TOKEN: login.refreshToken });
    const tm = await openSession({ config: configFor(tmp.file, env), env });
    const before = s.stats().tokenRequests;
    const tokens = await Promise.all(Array.from({ length: 50 }, () => tm.accessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(s.stats().tokenRequests).toBe(before + 1);
  });

  it('adopts a token another process already rotated instead of refreshing (after a 401 too)', async () => {
    const s = server();
    const login = await loginTokens(s);
    const env = serverEnv(s, { DHCORE_REFRESH_TOKEN: login.refreshToken });
    const a = await openSession({ config: configFor(tmp.file, env), env });
    await a.accessToken();
    const b = await openSession({ config: configFor(tmp.file, env), env }); // same file state as a
    const bOld = await b.accessToken();
    const aNew = await a.refresh(); // a rotates
    const before = s.stats().tokenRequests;
    // b's token is "rejected by a 401": under the lock b finds a's newer token and adopts it.
    expect(await b.refresh({ rejectedToken: bOld })).toBe(aNew);
    expect(b.lastRefresh()?.action).toBe('adopted');
    expect(s.stats().tokenRequests).toBe(before);
    // If b's current token already differs from the rejected one, it is returned without any work.
    expect(await b.refresh({ rejectedToken: 'something-else' })).toBe(aNew);
    // And b's next real refresh uses the newest refresh token (no reuse → no invalid_grant).
    expect(await b.refresh()).not.toBe(aNew);
  });
});

describe('file not writable', () => {
  it('keeps rotated tokens in memory and goes on (no refresh token is ever lost)', async () => {
    const s = server();
    const login = await loginTokens(s);
    const original = `[__default]\ndhcore_endpoint = ${s.endpoint}\ndhcore_client_id = ${s.clientId}\ndhcore_refresh_token = ${login.refreshToken}\n`;
    writeFileSync(tmp.file, original);
    chmodSync(tmp.file, 0o400);
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const tm = await openSession({ config: configFor(tmp.file, {}), env: {} });
      const a1 = await tm.refresh();
      const a2 = await tm.refresh(); // uses the rotated refresh token kept in memory
      const a3 = await tm.refresh();
      expect(new Set([a1, a2, a3]).size).toBe(3);
      expect(tm.state().storage).toBe('memory');
      expect(tm.lastRefresh()).toMatchObject({ persisted: false, inMemory: true });
      expect(readFileSync(tmp.file, 'utf8')).toBe(original);
      await new Promise((r) => setImmediate(r));
      expect(warnings.filter((w) => w.includes('kept in memory'))).toHaveLength(1);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
