import { createHash, generateKeyPairSync, type KeyObject, randomBytes, verify } from 'node:crypto';
import type { JWK } from 'oidc-provider';

/** Signing material generated for one server start. Nothing is written to disk. */
export interface ServerKeys {
  /** Private JWKS handed to oidc-provider (`jwks` configuration). */
  jwks: { keys: JWK[] };
  kid: string;
  publicKey: KeyObject;
  /** Secrets used by oidc-provider (Koa keygrip) to sign its cookies. */
  cookieKeys: string[];
}

/** JWS algorithm of ID tokens and JWT access tokens. EC keys are generated in microseconds (RSA-2048 takes
 * 0.1–1 s of CPU, which adds up over the many server starts of a test run). */
export const SIGNING_ALG = 'ES256';

export function generateServerKeys(): ServerKeys {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('base64url')
    .slice(0, 16);
  return {
    jwks: { keys: [{ ...(jwk as JWK), kid, alg: SIGNING_ALG, use: 'sig' }] },
    kid,
    publicKey,
    cookieKeys: [randomBytes(32).toString('base64url')],
  };
}

export type JwtCheck =
  | { ok: true; payload: Record<string, unknown> }
  | { ok: false; reason: 'malformed' | 'signature' | 'issuer' | 'audience' | 'expired' };

/**
 * Verifies an ES256 JWT access token issued by this server: signature with our key, `iss`, `aud` and `exp`
 * (no clock leeway: the dev server is the only clock involved).
 */
export function verifyAccessToken(
  token: string,
  keys: ServerKeys,
  expected: { issuer: string; audience: string },
  nowSeconds = Math.floor(Date.now() / 1000),
): JwtCheck {
  const parts = token.split('.');
  if (parts.length !== 3) return { ok: false, reason: 'malformed' };
  const [h, p, s] = parts as [string, string, string];
  let header: unknown;
  let payload: unknown;
  try {
    header = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    payload = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!isRecord(header) || !isRecord(payload)) return { ok: false, reason: 'malformed' };
  if (header.alg !== SIGNING_ALG || header.kid !== keys.kid) return { ok: false, reason: 'signature' };
  const valid = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key: keys.publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(s, 'base64url'),
  );
  if (!valid) return { ok: false, reason: 'signature' };
  if (payload.iss !== expected.issuer) return { ok: false, reason: 'issuer' };
  const aud = payload.aud;
  const audOk = Array.isArray(aud) ? aud.includes(expected.audience) : aud === expected.audience;
  if (!audOk) return { ok: false, reason: 'audience' };
  if (typeof payload.exp !== 'number' || payload.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, payload };
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
