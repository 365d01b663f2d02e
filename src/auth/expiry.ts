/**
 * Token lifetime arithmetic (DESIGN §5), pure and clock-injected so it can be tested exactly.
 *
 * - Lifetime = `expires_in` at issuance, else `exp − iat` of a JWT access token.
 * - Refresh window = min(300 s, lifetime / 2): a token is refreshed once less than that is left, so a
 *   2-second token is not refreshed on every use while an hour-long one is refreshed 5 minutes early.
 * - The refresh moment is saved as `dhcore_refresh_at` beside `dhcore_expires_at` so other processes,
 *   which only see the file, agree on it. A file written by another tool (only `dhcore_expires_at`)
 *   uses the JWT's lifetime, else a 300 s window. No expiry known at all → no proactive refresh.
 */

/** Upper bound of the refresh-ahead window, in milliseconds. */
export const MAX_REFRESH_WINDOW_MS = 300_000;

/**
 * The last instant we store: 9999-12-31T23:59:59.999Z. Later ones have no RFC 3339 form (and no Python
 * `datetime`), and past ±8.64e15 ms `Date` throws "Invalid time value" — a server answering
 * `expires_in: 1e13` must not make us drop the refresh token it just rotated.
 */
export const MAX_INSTANT_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** An instant within [1970-01-01, {@link MAX_INSTANT_MS}]; NaN counts as the earliest (already expired). */
function clampInstant(ms: number): number {
  if (!(ms > 0)) return 0;
  return Math.min(ms, MAX_INSTANT_MS);
}

/** When a token stops being usable and when to refresh it (epoch milliseconds). */
export interface TokenTimes {
  expiresAtMs: number | undefined;
  refreshAtMs: number | undefined;
}

/** Refresh-ahead window for a token of the given lifetime (ms); unknown lifetime → the 300 s maximum. */
export function refreshWindowMs(lifetimeMs: number | undefined): number {
  if (lifetimeMs === undefined || !Number.isFinite(lifetimeMs) || lifetimeMs <= 0)
    return MAX_REFRESH_WINDOW_MS;
  return Math.min(MAX_REFRESH_WINDOW_MS, lifetimeMs / 2);
}

/** `exp` and `iat` (seconds) of a JWT, without verifying it; `{}` for anything that is not a JWT. */
export function jwtTimes(token: string | undefined): { exp?: number; iat?: number } {
  if (!token) return {};
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return {};
  try {
    const claims: unknown = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
    if (typeof claims !== 'object' || claims === null) return {};
    const { exp, iat } = claims as { exp?: unknown; iat?: unknown };
    return {
      ...(typeof exp === 'number' && Number.isFinite(exp) ? { exp } : {}),
      ...(typeof iat === 'number' && Number.isFinite(iat) ? { iat } : {}),
    };
  } catch {
    return {};
  }
}

/** Lifetime of a JWT (`exp − iat`, ms), if it carries both. */
export function jwtLifetimeMs(token: string | undefined): number | undefined {
  const { exp, iat } = jwtTimes(token);
  return exp !== undefined && iat !== undefined && exp > iat ? (exp - iat) * 1000 : undefined;
}

/** Times of a freshly issued token: from `expires_in`, else the JWT's own `exp`/`iat`. */
export function timesAtIssuance(
  accessToken: string,
  expiresIn: number | undefined,
  nowMs: number,
): TokenTimes {
  if (expiresIn !== undefined && Number.isFinite(expiresIn) && expiresIn > 0) {
    const lifetime = expiresIn * 1000;
    const expiresAtMs = clampInstant(nowMs + lifetime);
    return { expiresAtMs, refreshAtMs: clampInstant(expiresAtMs - refreshWindowMs(lifetime)) };
  }
  const { exp } = jwtTimes(accessToken);
  if (exp === undefined) return { expiresAtMs: undefined, refreshAtMs: undefined };
  const expiresAtMs = clampInstant(exp * 1000);
  return {
    expiresAtMs,
    refreshAtMs: clampInstant(expiresAtMs - refreshWindowMs(jwtLifetimeMs(accessToken))),
  };
}

/** Stored expiry and the JWT's own `exp` further apart than this: the stored one describes another token. */
const EXPIRY_DISAGREEMENT_MS = 10_000;

/**
 * Times of a token read back from a profile. `dhcore_refresh_at` wins when present; with only
 * `dhcore_expires_at` the window comes from the JWT lifetime, else 300 s; with neither, a JWT's `exp`
 * is still an expiry; otherwise nothing is known and only a 401 will trigger a refresh. When the token is a
 * JWT whose `exp` disagrees with the stored expiry, `exp` wins and the window is recomputed: another tool
 * (the Python SDK) replaced the token without updating our expiry keys.
 */
export function timesFromStored(
  accessToken: string | undefined,
  expiresAt: string | undefined,
  refreshAt: string | undefined,
): TokenTimes {
  let expiresAtMs = parseInstant(expiresAt);
  const { exp } = jwtTimes(accessToken);
  const jwtExpMs = exp !== undefined ? clampInstant(exp * 1000) : undefined;
  if (
    jwtExpMs !== undefined &&
    (expiresAtMs === undefined || Math.abs(expiresAtMs - jwtExpMs) > EXPIRY_DISAGREEMENT_MS)
  ) {
    const stale = expiresAtMs !== undefined;
    expiresAtMs = jwtExpMs;
    // The stored keys describe another token (another tool replaced it): its refresh moment does not apply.
    if (stale) {
      return {
        expiresAtMs,
        refreshAtMs: clampInstant(expiresAtMs - refreshWindowMs(jwtLifetimeMs(accessToken))),
      };
    }
  }
  if (expiresAtMs === undefined) return { expiresAtMs: undefined, refreshAtMs: undefined };
  const stored = parseInstant(refreshAt);
  if (stored !== undefined && stored <= expiresAtMs) return { expiresAtMs, refreshAtMs: stored };
  return {
    expiresAtMs,
    refreshAtMs: clampInstant(expiresAtMs - refreshWindowMs(jwtLifetimeMs(accessToken))),
  };
}

/** RFC 3339 UTC with milliseconds, e.g. `2025-05-01T10:00:00.000Z`; out-of-range instants are clamped. */
export function formatInstant(ms: number): string {
  return new Date(clampInstant(ms)).toISOString();
}

/**
 * Parse an instant as other tools write it: RFC 3339 / ISO 8601 (a missing zone means UTC), or epoch
 * seconds. `undefined` for anything else.
 */
export function parseInstant(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (isEpoch(v)) {
    const n = Number(v);
    // Epoch seconds (10 digits today); treat 13-digit values as milliseconds.
    return clampInstant(n > 1e11 ? n : n * 1000);
  }
  if (!startsLikeDateTime(v)) return undefined;
  const ms = Date.parse(endsWithZone(v) ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? undefined : clampInstant(ms);
}

// The shapes parseInstant accepts, as loops rather than regular expressions: a saved token's expiry is read
// at every start of `dhcore token`, and V8 compiles a regular expression the first time it runs.

/** ASCII digits at `v[at]`, `v[at + 1]` … `n` of them (`\d{n}`). */
function digitsAt(v: string, at: number, n: number): boolean {
  if (at < 0 || at + n > v.length) return false;
  for (let i = at; i < at + n; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** The number of ASCII digits from `v[at]` on. */
function digitRun(v: string, at: number): number {
  let i = at;
  while (digitsAt(v, i, 1)) i++;
  return i - at;
}

/** Epoch seconds or milliseconds: `^\d+(\.\d+)?$`. */
function isEpoch(v: string): boolean {
  const whole = digitRun(v, 0);
  if (whole === 0) return false;
  if (whole === v.length) return true;
  const fraction = digitRun(v, whole + 1);
  return v[whole] === '.' && fraction > 0 && whole + 1 + fraction === v.length;
}

/** A date and a time to the minute: `^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}`. */
function startsLikeDateTime(v: string): boolean {
  return (
    digitsAt(v, 0, 4) &&
    v[4] === '-' &&
    digitsAt(v, 5, 2) &&
    v[7] === '-' &&
    digitsAt(v, 8, 2) &&
    (v[10] === 'T' || v[10] === ' ') &&
    digitsAt(v, 11, 2) &&
    v[13] === ':' &&
    digitsAt(v, 14, 2)
  );
}

/** A zone at the end: `(Z|[+-]\d{2}:?\d{2})$`, any case. */
function endsWithZone(v: string): boolean {
  const n = v.length;
  const last = v[n - 1];
  if (last === 'Z' || last === 'z') return true;
  const sign = (at: number) => v[at] === '+' || v[at] === '-';
  if (digitsAt(v, n - 4, 4) && sign(n - 5)) return true;
  return digitsAt(v, n - 2, 2) && v[n - 3] === ':' && digitsAt(v, n - 5, 2) && sign(n - 6);
}
