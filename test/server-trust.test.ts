/**
 * What a server may change: a token response is not configuration (only token fields and store
 * credentials are saved), and an API that rejects every token does not cause a refresh storm.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { clearDiscoveryCache } from '../src/auth/oidc.js';
import { openSession } from '../src/auth/session.js';
import { IniDocument } from '../src/config/ini.js';
import { createClient } from '../src/index.js';
import { resetMemoryStore } from '../src/store/profile-store.js';
import { configFor, type FakeServer, fakeTokenServer, sendJson, tempConfig } from './helpers/auth.js';

const RT = 'rt-file-0123456789abcdefghijklmnop';
let tmp: ReturnType<typeof tempConfig>;
const servers: FakeServer[] = [];
beforeEach(() => {
  tmp = tempConfig();
  clearDiscoveryCache();
  resetMemoryStore();
});
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
  tmp.cleanup();
});

async function fake(handler: Parameters<typeof fakeTokenServer>[0]): Promise<FakeServer> {
  const s = await fakeTokenServer(handler);
  servers.push(s);
  return s;
}

describe('a token response is not configuration', () => {
  it('saves only token fields and store credentials; endpoint, issuer, PAT, user, password, expiry are ignored', async () => {
    const s = await fake((_req, res) =>
      sendJson(res, 200, {
        access_token: 'at-new-0123456789abcdefghij',
        token_type: 'Bearer',
        expires_in: 600,
        refresh_token: 'rt-next-0123456789abcdefghij',
        dhcore_endpoint: 'https://evil.example',
        oauth2_token_endpoint: 'https://evil.example/token',
        dhcore_issuer: 'https://evil.example',
        issuer: 'https://evil.example',
        client_id: 'evil-client',
        dhcore_personal_access_token: 'planted-pat-0123456789',
        dhcore_user: 'mallory',
        dhcore_password: 'planted-password',
        dhcore_expires_at: '2999-01-01T00:00:00Z',
        current_environment: 'evil',
        aws_access_key_id: 'AKIAEXAMPLE',
        aws_secret_access_key: 'secret-example-0123456789',
        s3_bucket: 'data',
        db_password: 'db-secret-0123456789',
      }),
    );
    writeFileSync(
      tmp.file,
      `[__default]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = cli\ndhcore_refresh_token = ${RT}\n`,
      { mode: 0o600 },
    );
    const lines: string[] = [];
    const session = await openSession({
      config: configFor(tmp.file, {}),
      env: {},
      logger: (m) => lines.push(m),
    });
    expect(await session.refresh()).toBe('at-new-0123456789abcdefghij');

    const doc = IniDocument.parse(readFileSync(tmp.file, 'utf8'), tmp.file);
    const saved = doc.items('__default');
    expect(saved.dhcore_endpoint).toBe(s.url);
    expect(saved.dhcore_client_id).toBe('cli');
    for (const key of [
      'oauth2_token_endpoint',
      'dhcore_issuer',
      'dhcore_personal_access_token',
      'dhcore_user',
      'dhcore_password',
      'current_environment',
    ]) {
      expect(saved[key], key).toBeUndefined();
    }
    expect(doc.get('DEFAULT', 'current_environment')).toBeUndefined();
    expect(saved.dhcore_expires_at).not.toBe('2999-01-01T00:00:00Z');
    expect(saved).toMatchObject({
      dhcore_refresh_token: 'rt-next-0123456789abcdefghij',
      aws_access_key_id: 'AKIAEXAMPLE',
      aws_secret_access_key: 'secret-example-0123456789',
      s3_bucket: 'data',
      db_password: 'db-secret-0123456789',
    });
    // The next refresh still goes to the configured token endpoint, not to the one the response named.
    await session.refresh();
    expect(s.requests.filter((r) => r.path === '/token')).toHaveLength(2);
    // The ignored names are logged (names only, never values).
    const ignored = lines.find((l) => l.includes('ignored'));
    expect(ignored).toMatch(/dhcore_endpoint.*dhcore_password/);
    expect(lines.join('\n')).not.toContain('planted-password');
  });
});

describe('an API that rejects every token', () => {
  it('costs at most one refresh per token: 50 calls → 2 token requests, the 401s are returned', async () => {
    let issued = 0;
    const s = await fake((req, res) => {
      if ((req.url ?? '').startsWith('/token')) {
        issued++;
        sendJson(res, 200, {
          access_token: `at-${issued}-0123456789abcdef`,
          token_type: 'Bearer',
          expires_in: 600,
        });
        return;
      }
      sendJson(res, 401, { error: 'unauthorized' });
    });
    writeFileSync(
      tmp.file,
      `[p]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = cli\ndhcore_personal_access_token = pat-0123456789abcdef\n`,
      { mode: 0o600 },
    );
    const client = await createClient({ configFile: tmp.file, profile: 'p', env: { HOME: tmp.dir } });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await client.fetch('/api/v1/projects')).status);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(s.requests.filter((r) => r.path === '/token')).toHaveLength(2);
  });
});
