import { isSecretKey } from './config/keys.js';

/** What a hidden secret looks like in any output. */
export const REDACTED = '***';

/**
 * Copy of a key → value map with every secret-bearing key's value replaced by `***`, and user info hidden in
 * every URL-valued one (`dhcore_issuer`, `aws_endpoint_url`, `db_url`, …).
 */
export function redactRecord(values: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) {
    // An own property even for a key named '__proto__'.
    Object.defineProperty(out, key, {
      value: isSecretKey(key) ? REDACTED : redactUrl(value),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return out;
}

/** A URL safe to show: user info (`https://user:pass@host`) hidden. */
export function redactUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, `$1${REDACTED}@`);
}
