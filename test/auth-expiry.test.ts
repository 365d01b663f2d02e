import { describe, expect, it } from 'vitest';
import {
  formatInstant,
  jwtLifetimeMs,
  parseInstant,
  refreshWindowMs,
  timesAtIssuance,
  timesFromStored,
} from '../src/auth/expiry.js';
import { fakeJwt } from './helpers/auth.js';

const T0 = Date.parse('2025-05-01T10:00:00.000Z');

describe('refresh window = min(300 s, lifetime / 2)', () => {
  it('halves short lifetimes and caps long ones at 300 s', () => {
    expect(refreshWindowMs(2000)).toBe(1000);
    expect(refreshWindowMs(600_000)).toBe(300_000);
    expect(refreshWindowMs(3_600_000)).toBe(300_000);
    expect(refreshWindowMs(undefined)).toBe(300_000);
  });

  it('a 2 s token is refreshed after 1 s, an hour-long one 5 min before expiry', () => {
    expect(timesAtIssuance('opaque', 2, T0)).toEqual({ expiresAtMs: T0 + 2000, refreshAtMs: T0 + 1000 });
    expect(timesAtIssuance('opaque', 3600, T0)).toEqual({
      expiresAtMs: T0 + 3_600_000,
      refreshAtMs: T0 + 3_300_000,
    });
  });

  it('without expires_in, a JWT gives exp and exp − iat', () => {
    const jwt = fakeJwt({ iat: T0 / 1000, exp: T0 / 1000 + 60 });
    expect(jwtLifetimeMs(jwt)).toBe(60_000);
    expect(timesAtIssuance(jwt, undefined, T0)).toEqual({
      expiresAtMs: T0 + 60_000,
      refreshAtMs: T0 + 30_000,
    });
  });

  it('no expires_in and no JWT: no expiry known, so no proactive refresh', () => {
    expect(timesAtIssuance('opaque', undefined, T0)).toEqual({
      expiresAtMs: undefined,
      refreshAtMs: undefined,
    });
    expect(timesFromStored('opaque', undefined, undefined)).toEqual({
      expiresAtMs: undefined,
      refreshAtMs: undefined,
    });
  });
});

describe('times read back from a profile', () => {
  it('dhcore_refresh_at wins when present', () => {
    expect(timesFromStored('opaque', '2025-05-01T10:10:00Z', '2025-05-01T10:09:59.500Z')).toEqual({
      expiresAtMs: T0 + 600_000,
      refreshAtMs: T0 + 599_500,
    });
  });

  it('written by another tool (only dhcore_expires_at): JWT lifetime, else 300 s', () => {
    const jwt = fakeJwt({ iat: T0 / 1000, exp: T0 / 1000 + 100 });
    expect(timesFromStored(jwt, formatInstant(T0 + 100_000), undefined).refreshAtMs).toBe(T0 + 50_000);
    expect(timesFromStored('opaque', formatInstant(T0 + 3_600_000), undefined).refreshAtMs).toBe(
      T0 + 3_300_000,
    );
  });

  it('a JWT exp counts as expiry when the profile has none', () => {
    const jwt = fakeJwt({ iat: T0 / 1000, exp: T0 / 1000 + 10 });
    expect(timesFromStored(jwt, undefined, undefined)).toEqual({
      expiresAtMs: T0 + 10_000,
      refreshAtMs: T0 + 5000,
    });
  });

  it("a JWT whose exp disagrees with the stored expiry wins, and the window is recomputed (another tool's token)", () => {
    // The Python SDK refreshed and saved a new 1 h token but left our expiry keys of the previous one.
    const jwt = fakeJwt({ iat: T0 / 1000, exp: T0 / 1000 + 3600 });
    expect(timesFromStored(jwt, formatInstant(T0 - 60_000), formatInstant(T0 - 120_000))).toEqual({
      expiresAtMs: T0 + 3_600_000,
      refreshAtMs: T0 + 3_300_000,
    });
    // A few seconds apart (issuance latency) is agreement: the stored refresh moment stands.
    expect(timesFromStored(jwt, formatInstant(T0 + 3_598_000), formatInstant(T0 + 3_000_000))).toEqual({
      expiresAtMs: T0 + 3_598_000,
      refreshAtMs: T0 + 3_000_000,
    });
  });

  it('ignores a refresh_at after the expiry', () => {
    expect(timesFromStored('opaque', formatInstant(T0 + 1000), formatInstant(T0 + 5000)).refreshAtMs).toBe(
      T0 + 1000 - 300_000,
    );
  });
});

describe('instants', () => {
  it('writes RFC 3339 UTC and reads the forms other tools write', () => {
    expect(formatInstant(T0)).toBe('2025-05-01T10:00:00.000Z');
    expect(parseInstant('2025-05-01T10:00:00Z')).toBe(T0);
    expect(parseInstant('2025-05-01T12:00:00+02:00')).toBe(T0);
    expect(parseInstant('2025-05-01 10:00:00')).toBe(T0); // no zone → UTC
    expect(parseInstant(String(T0 / 1000))).toBe(T0); // epoch seconds
    expect(parseInstant('soon')).toBeUndefined();
    expect(parseInstant('')).toBeUndefined();
  });
});
