/**
 * The checks that run at every start as loops instead of regular expressions (net/url-text.ts, the shapes of
 * parseInstant, isSecretKey) decide exactly what the regular expressions they replaced decided. The regular
 * expressions stay here, as the oracle, and both see the same random strings made of the characters that
 * matter (digits, signs, separators, schemes, case variants, Unicode look-alikes and white space).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MAX_INSTANT_MS, parseInstant } from '../src/auth/expiry.js';
import { isSecretKey } from '../src/config/keys.js';
import {
  hasUserInfo,
  hostStartsAt,
  httpSchemeLength,
  isHttpsUrl,
  withoutTrailingSlashes,
} from '../src/net/url-text.js';

/** Strings of pieces that the checks look at, so matches are frequent, not one in a billion. */
const textOf = (pieces: string[]) =>
  fc
    .array(fc.oneof(fc.constantFrom(...pieces), fc.string({ maxLength: 2 })), { maxLength: 12 })
    .map((a) => a.join(''));

const URL_PIECES = [
  'http',
  'HTTP',
  'hTtPs',
  'https',
  's',
  'S',
  '://',
  ':/',
  ':',
  '/',
  '//',
  '?',
  '#',
  '@',
  'user:pw@',
  'host',
  ' ',
  '\t',
  '\u00a0',
  '\u2028',
  '\ufeff',
  '\u212a', // Kelvin sign (k under Unicode case folding)
  '\u017f', // long s (S under Unicode case folding)
  '.',
];
const INSTANT_PIECES = [
  '2025',
  '05',
  '-',
  'T',
  't',
  ' ',
  ':',
  '10',
  '00',
  'Z',
  'z',
  '+',
  '-',
  '.',
  '5',
  '0100',
  '١',
  '\uff10',
];

describe('URL text checks agree with the regular expressions they replace', () => {
  it('scheme, host start and user info (validateEndpoint), https (isInsecureTransport)', () => {
    fc.assert(
      fc.property(textOf(URL_PIECES), (url) => {
        const scheme = httpSchemeLength(url);
        expect(scheme > 0 && hostStartsAt(url, scheme)).toBe(/^https?:\/\/[^\s/?#]+/i.test(url));
        expect(scheme > 0 && hasUserInfo(url, scheme)).toBe(/^https?:\/\/[^/?#]*@/i.test(url));
        expect(isHttpsUrl(url)).toBe(/^https:\/\//i.test(url));
        expect(scheme).toBe(/^https?:\/\//i.exec(url)?.[0].length ?? 0);
      }),
      { numRuns: 5000 },
    );
  });

  it('trailing slashes', () => {
    fc.assert(
      fc.property(textOf(['/', '//', 'a', ' ', '\\']), (url) => {
        expect(withoutTrailingSlashes(url)).toBe(url.replace(/\/+$/, ''));
      }),
      { numRuns: 2000 },
    );
  });
});

/** parseInstant as it was, with its regular expressions. */
function parseInstantWithRegExps(value: string | undefined): number | undefined {
  const clamp = (ms: number) => (ms > 0 ? Math.min(ms, MAX_INSTANT_MS) : 0);
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) {
    const n = Number(v);
    return clamp(n > 1e11 ? n : n * 1000);
  }
  if (!/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}/.test(v)) return undefined;
  const hasZone = /(Z|[+-]\d{2}:?\d{2})$/i.test(v);
  const ms = Date.parse(hasZone ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`);
  return Number.isNaN(ms) ? undefined : clamp(ms);
}

/** Valid instants with up to three characters replaced, inserted or removed. */
const nearInstants = fc
  .constantFrom('2025-05-01T10:00:00Z', '2025-05-01 10:00:00+02:00', '2025-05-01T10:00+0200', '1746093600.5')
  .chain((t) =>
    fc
      .array(fc.tuple(fc.nat(t.length), fc.constantFrom(...INSTANT_PIECES, ''), fc.boolean()), {
        maxLength: 3,
      })
      .map((edits) =>
        edits.reduce<string>(
          (v, [at, piece, insert]) => v.slice(0, at) + piece + v.slice(insert ? at : at + 1),
          t,
        ),
      ),
  );

describe('parseInstant accepts exactly the shapes it accepted before', () => {
  it('epoch seconds, RFC 3339 with or without a zone, and nothing else', () => {
    fc.assert(
      fc.property(fc.oneof(textOf(INSTANT_PIECES), nearInstants), (v) => {
        expect(parseInstant(v), v).toBe(parseInstantWithRegExps(v));
      }),
      { numRuns: 20000 },
    );
  });

  it('examples', () => {
    expect(parseInstant('2025-05-01T10:00:00Z')).toBe(Date.parse('2025-05-01T10:00:00Z'));
    expect(parseInstant('2025-05-01 10:00:00+0200')).toBe(Date.parse('2025-05-01T10:00:00+02:00'));
    expect(parseInstant('2025-05-01T10:00:00')).toBe(Date.parse('2025-05-01T10:00:00Z'));
    expect(parseInstant('1746093600')).toBe(1746093600_000);
    expect(parseInstant('1746093600.5')).toBe(1746093600_500);
    expect(parseInstant('1746093600.')).toBeUndefined();
    expect(parseInstant('2025-05-01')).toBeUndefined();
    expect(parseInstant('２０２５-05-01T10:00Z')).toBeUndefined();
  });
});

describe('isSecretKey', () => {
  it('agrees with the regular expression it replaces', () => {
    const words = ['token', 'password', 'passwd', 'secret', 'pat', 'credential', 'session', 'key'];
    fc.assert(
      fc.property(
        textOf([
          ...words,
          ...words.map((w) => w.toUpperCase()),
          '_',
          'dhcore',
          'aws',
          'access',
          'type',
          'url',
          'endpoint',
          'pa',
          'ke',
          'İ',
          'K',
        ]),
        (key) => {
          const k = key.toLowerCase();
          const NOT = [
            'dhcore_expires_at',
            'dhcore_refresh_at',
            'current_environment',
            'aws_credentials_expiration',
            's3_path_style',
          ];
          if (NOT.includes(k) || k.endsWith('_token_type') || k.endsWith('_endpoint') || k.endsWith('_url'))
            return;
          expect(isSecretKey(key), key).toBe(
            /(token|password|passwd|secret|pat|credential|session|key)/.test(k),
          );
        },
      ),
      { numRuns: 5000 },
    );
  });
});
