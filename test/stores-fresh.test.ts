/** The renewal rule of store credentials, with a scripted session (the real path is in stores-s3.test.ts). */
import { describe, expect, it } from 'vitest';
import { AuthError } from '../src/errors.js';
import { FreshStoreValues, isDue } from '../src/stores/fresh.js';
import type { StoreSession } from '../src/stores/session.js';

const NOW = Date.parse('2030-01-01T00:00:00Z');
const at = (s: number) => new Date(NOW + s * 1000).toISOString();
/** An unsigned JWT-shaped token issued at `iat` (epoch seconds). */
const jwt = (iat: number) =>
  `x.${Buffer.from(JSON.stringify({ iat, exp: iat + 3600 })).toString('base64url')}.y`;

describe('isDue(expiration, accessToken)', () => {
  const iat = NOW / 1000;
  it('renews within min(300 s, half the lifetime) of the expiry; the lifetime starts at the token iat', () => {
    // 10 s keys: due in their last 5 s.
    expect(isDue(at(10), jwt(iat), NOW + 4_900)).toBe(false);
    expect(isDue(at(10), jwt(iat), NOW + 5_000)).toBe(true);
    // 1 h keys: due in their last 300 s.
    expect(isDue(at(3600), jwt(iat), NOW + 3_299_000)).toBe(false);
    expect(isDue(at(3600), jwt(iat), NOW + 3_300_000)).toBe(true);
  });

  it('an unknown lifetime uses the 300 s window; an unparsable expiry is never due', () => {
    expect(isDue(at(301), 'opaque-token', NOW)).toBe(false);
    expect(isDue(at(300), 'opaque-token', NOW)).toBe(true);
    expect(isDue('next tuesday', jwt(iat), NOW)).toBe(false);
  });
});

/** An instant relative to the real clock (FreshStoreValues reads Date.now()). */
const fromNow = (s: number) => new Date(Date.now() + s * 1000).toISOString();

function scripted(initial: Record<string, string>, next: () => Record<string, string>) {
  let values = initial;
  let renewals = 0;
  const session: StoreSession = {
    profile: 'p',
    endpoint: 'https://d.example',
    configFile: '/x.ini',
    authMethod: 'exchange',
    renewable: true,
    values: () => ({ ...values }),
    renew: async () => {
      renewals += 1;
      await new Promise((r) => setTimeout(r, 5));
      values = next();
    },
    accessToken: async () => 'opaque',
    expiresAt: () => undefined,
  };
  return { session, renewals: () => renewals };
}

describe('FreshStoreValues', () => {
  it('renews due values once for concurrent callers, then serves the renewed ones', async () => {
    const s = scripted({ aws_access_key_id: 'OLD', aws_credentials_expiration: fromNow(-1) }, () => ({
      aws_access_key_id: 'NEW',
      aws_credentials_expiration: new Date(Date.now() + 3_600_000).toISOString(),
    }));
    // The scripted renew() is not single-flight itself: joining is the session's job, so share one promise.
    let inflight: Promise<void> | undefined;
    const renew = s.session.renew;
    s.session.renew = () => {
      inflight ??= renew().finally(() => {
        inflight = undefined;
      });
      return inflight;
    };
    const fresh = new FreshStoreValues(s.session);
    const all = await Promise.all([fresh.values(), fresh.values(), fresh.values()]);
    expect(all.map((v) => v.aws_access_key_id)).toEqual(['NEW', 'NEW', 'NEW']);
    expect(s.renewals()).toBe(1);
    await fresh.values();
    expect(s.renewals()).toBe(1);
  });

  it('does not ask again for credentials the server keeps handing out unchanged; expired ones are an error', async () => {
    const soon = new Date(Date.now() + 60_000).toISOString();
    const s = scripted({ aws_access_key_id: 'A', aws_credentials_expiration: soon }, () => ({
      aws_access_key_id: 'A',
      aws_credentials_expiration: soon,
    }));
    const fresh = new FreshStoreValues(s.session);
    for (let i = 0; i < 3; i++) expect((await fresh.values()).aws_access_key_id).toBe('A');
    expect(s.renewals()).toBe(1);

    const past = fromNow(-10);
    const e = scripted({ aws_credentials_expiration: past }, () => ({ aws_credentials_expiration: past }));
    const err = await new FreshStoreValues(e.session).values().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(AuthError);
    expect(err).toMatchObject({ code: 'auth_store_credentials_expired' });
  });

  it('a session that cannot renew serves its values as they are', async () => {
    const expired = fromNow(-10);
    const s = scripted({ aws_credentials_expiration: expired }, () => ({}));
    const fixed = { ...s.session, renewable: false };
    expect(await new FreshStoreValues(fixed).values()).toEqual({ aws_credentials_expiration: expired });
    expect(s.renewals()).toBe(0);
  });
});
