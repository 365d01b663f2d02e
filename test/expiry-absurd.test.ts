/**
 * Absurd expiry values from a server or a file (`expires_in` 1e13, JWT `exp` 1e14, a stored date past
 * the Date range) are clamped to the last representable instant instead of throwing "Invalid time
 * value" — above all after the server already rotated the refresh token, whose successor must be saved.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  formatInstant,
  MAX_INSTANT_MS,
  parseInstant,
  timesAtIssuance,
  timesFromStored,
} from '../src/auth/expiry.js';
import { clearDiscoveryCache } from '../src/auth/oidc.js';
import { openSession } from '../src/auth/session.js';
import { resetMemoryStore } from '../src/store/profile-store.js';
import {
  configFor,
  type FakeServer,
  fakeJwt,
  fakeTokenServer,
  sendJson,
  tempConfig,
} from './helpers/auth.js';

const NOW = Date.parse('2025-05-01T10:00:00.000Z');
const LAST = '9999-12-31T23:59:59.999Z';

describe('expiry arithmetic clamps instead of throwing', () => {
  it('the last instant is 9999-12-31T23:59:59.999Z (what RFC 3339 and Python datetime can hold)', () => {
    expect(formatInstant(MAX_INSTANT_MS)).toBe(LAST);
    expect(parseInstant(LAST)).toBe(MAX_INSTANT_MS);
  });

  it('expires_in 1e13 gives the last instant, refreshed 300 s before it', () => {
    const t = timesAtIssuance('opaque', 1e13, NOW);
    expect(t.expiresAtMs).toBe(MAX_INSTANT_MS);
    expect(t.refreshAtMs).toBe(MAX_INSTANT_MS - 300_000);
    expect(formatInstant(t.expiresAtMs!)).toBe(LAST);
  });

  it('a JWT exp of 1e14 (seconds) is clamped, with or without iat', () => {
    for (const claims of [{ exp: 1e14 }, { exp: 1e14, iat: NOW / 1000 }]) {
      const jwt = fakeJwt(claims);
      const issued = timesAtIssuance(jwt, undefined, NOW);
      expect(issued.expiresAtMs).toBe(MAX_INSTANT_MS);
      expect(() => formatInstant(issued.refreshAtMs!)).not.toThrow();
      const stored = timesFromStored(jwt, undefined, undefined);
      expect(stored.expiresAtMs).toBe(MAX_INSTANT_MS);
    }
  });

  it('a stored expiry past the Date range (epoch digits) is clamped; formatInstant never throws', () => {
    expect(parseInstant('99999999999999999999')).toBe(MAX_INSTANT_MS);
    const t = timesFromStored('opaque', '99999999999999999999', '99999999999999999999');
    expect(t.expiresAtMs).toBe(MAX_INSTANT_MS);
    expect(t.refreshAtMs).toBeLessThanOrEqual(MAX_INSTANT_MS);
    expect(formatInstant(1e300)).toBe(LAST);
    expect(formatInstant(Number.POSITIVE_INFINITY)).toBe(LAST);
    expect(formatInstant(-1e300)).toBe('1970-01-01T00:00:00.000Z');
    expect(formatInstant(Number.NaN)).toBe('1970-01-01T00:00:00.000Z');
  });
});

describe('a rotation with an absurd expiry is saved, not lost', () => {
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

  const cases: [string, Record<string, unknown>][] = [
    ['expires_in 1e13', { access_token: 'at-new', expires_in: 1e13 }],
    ['JWT exp 1e14 and no expires_in', { access_token: fakeJwt({ exp: 1e14, iat: 1_700_000_000 }) }],
  ];
  for (const [name, body] of cases) {
    it(`${name}: refresh succeeds and the rotated refresh token is in the file`, async () => {
      const s = await fakeTokenServer((_q, res) =>
        sendJson(res, 200, { token_type: 'Bearer', refresh_token: 'rt-rotated', ...body }),
      );
      servers.push(s);
      writeFileSync(
        tmp.file,
        `[__default]\ndhcore_endpoint = ${s.url}\ndhcore_client_id = cli\ndhcore_access_token = at-old\ndhcore_refresh_token = rt-old\ndhcore_expires_at = 2000-01-01T00:00:00Z\n`,
        { mode: 0o600 },
      );
      const tm = await openSession({ config: configFor(tmp.file, {}), env: {} });
      expect(await tm.accessToken()).toBe(body.access_token);
      const text = readFileSync(tmp.file, 'utf8');
      expect(text).toContain('dhcore_refresh_token = rt-rotated');
      expect(text).toContain(`dhcore_expires_at = ${LAST}`);
      expect(tm.state().expiresAt).toBe(LAST);
      // The next process reads the clamped file back without throwing.
      const next = await openSession({ config: configFor(tmp.file, {}), env: {} });
      expect(next.state().expiresAt).toBe(LAST);
      expect(await next.accessToken()).toBe(body.access_token);
    });
  }

  it('a profile whose stored expiry is past the Date range still works', async () => {
    writeFileSync(
      tmp.file,
      '[__default]\ndhcore_endpoint = http://127.0.0.1:9\ndhcore_access_token = at-stored\ndhcore_refresh_token = rt\ndhcore_expires_at = 99999999999999999999\n',
      { mode: 0o600 },
    );
    const tm = await openSession({ config: configFor(tmp.file, {}), env: {} });
    expect(tm.state().expiresAt).toBe(LAST);
    expect(await tm.accessToken()).toBe('at-stored');
  });
});
