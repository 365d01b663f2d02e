/**
 * What a server may change: a token response is not configuration (only token fields and store
 * credentials are saved), and an API that rejects every token does not cause a refresh storm.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { openSession } from '../src/auth/session.js';
import { IniDocument } from '../src/config/ini.js';
import { createClient } from '../src/index.js';
import { configFor, sendJson, useFakeTokenServers } from './helpers/auth.js';
import { cleanEnv, runCli } from './helpers/cli.js';

const RT = 'rt-file-0123456789abcdefghijklmnop';
const fixtures = useFakeTokenServers();
const fake = fixtures.fake;

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
      fixtures.tmp().file,
      `[__default]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = cli\ndhcore_refresh_token = ${RT}\n`,
      { mode: 0o600 },
    );
    const lines: string[] = [];
    const session = await openSession({
      config: configFor(fixtures.tmp().file, {}),
      env: {},
      logger: (m) => lines.push(m),
    });
    expect(await session.refresh()).toBe('at-new-0123456789abcdefghij');

    const doc = IniDocument.parse(readFileSync(fixtures.tmp().file, 'utf8'), fixtures.tmp().file);
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
      fixtures.tmp().file,
      `[p]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = cli\ndhcore_personal_access_token = pat-0123456789abcdef\n`,
      { mode: 0o600 },
    );
    const client = await createClient({
      configFile: fixtures.tmp().file,
      profile: 'p',
      env: { HOME: fixtures.tmp().dir },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) statuses.push((await client.fetch('/api/v1/projects')).status);
    expect(new Set(statuses)).toEqual(new Set([401]));
    expect(s.requests.filter((r) => r.path === '/token')).toHaveLength(2);
  });
});

describe('what servers echo is redacted', () => {
  const RT_SECRET = 'rt-echo-0123456789abcdefghijkl';
  const SHORT_PAT = 'pat9x7'; // 6 characters: short, still a secret
  const PASSWORD = 'hunter2pw';

  it('the OAuth error field, a short secret in error_description and a 5xx body never reach an error or the CLI', async () => {
    const s = await fake((_req, res, body) => {
      const f = Object.fromEntries(new URLSearchParams(body));
      if (f.grant_type === 'refresh_token') {
        sendJson(res, 400, {
          error: `invalid_grant ${f.refresh_token}`,
          error_description: `bad ${SHORT_PAT} / ${PASSWORD}`,
        });
      } else {
        res.statusCode = 502;
        res.setHeader('content-type', 'text/plain');
        res.end(`upstream said: ${f.subject_token} and ${RT_SECRET}`);
      }
    });
    const text = `[p]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = cli\ndhcore_refresh_token = ${RT_SECRET}\ndhcore_user = u\ndhcore_password = ${PASSWORD}\ndb_password = ${SHORT_PAT}\n`;
    writeFileSync(fixtures.tmp().file, text, { mode: 0o600 });
    const session = await openSession({
      config: configFor(fixtures.tmp().file, {}, { profile: 'p' }),
      env: {},
    });
    const err = await session.refresh().catch((e: unknown) => e);
    const shown = [String(err), (err as Error).message, JSON.stringify(err), inspect(err, { depth: 5 })].join(
      '\n',
    );
    for (const secret of [RT_SECRET, SHORT_PAT, PASSWORD]) expect(shown).not.toContain(secret);

    // The CLI, in every output mode.
    writeFileSync(fixtures.tmp().file, text.replace('[p]', '[DEFAULT]\ncurrent_environment = p\n[p]'), {
      mode: 0o600,
    });
    for (const flags of [[], ['--json'], ['--debug']]) {
      const r = await runCli([...flags, 'refresh'], {
        env: cleanEnv(fixtures.tmp().dir, { DH_CONFIG: fixtures.tmp().file }),
      });
      expect(r.code).not.toBe(0);
      for (const secret of [RT_SECRET, SHORT_PAT, PASSWORD])
        expect(r.stderr + r.stdout).not.toContain(secret);
    }

    // A PAT exchange answered by a 5xx that echoes the PAT.
    const pat = 'dhpat-echo-0123456789abcdef';
    writeFileSync(
      fixtures.tmp().file,
      `[p]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = cli\ndhcore_personal_access_token = ${pat}\n`,
    );
    const exchange = await openSession({
      config: configFor(fixtures.tmp().file, {}, { profile: 'p' }),
      env: {},
    });
    const err2 = await exchange.accessToken().catch((e: unknown) => e);
    expect(err2).toMatchObject({ code: 'token_endpoint_error' });
    const shown2 = [String(err2), JSON.stringify(err2), inspect(err2, { depth: 5 })].join('\n');
    expect(shown2).not.toContain(pat);
    expect(shown2).not.toContain(RT_SECRET);
  });

  it('a resolved config hides user info in every URL-valued key when printed', () => {
    writeFileSync(
      fixtures.tmp().file,
      '[p]\ndhcore_endpoint = https://dh.example\ndhcore_issuer = https://alice:issuer-pass@auth.example\naws_endpoint_url = https://bob:s3-pass@s3.example\ndb_url = postgresql://carol:db-pass@db.example/x\n',
    );
    const cfg = configFor(fixtures.tmp().file, {}, { profile: 'p' });
    const shown = `${inspect(cfg, { depth: 5 })}\n${JSON.stringify(cfg)}`;
    for (const secret of ['issuer-pass', 's3-pass', 'db-pass', 'alice', 'bob', 'carol'])
      expect(shown).not.toContain(secret);
  });
});
