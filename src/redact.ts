import { isSecretKey } from './config/keys.js';

/** What a hidden secret looks like in any output. */
export const REDACTED = '***';

/** Copy of a key → value map with every secret-bearing key's value replaced by `***`. */
export function redactRecord(values: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values)) out[key] = isSecretKey(key) ? REDACTED : value;
  return out;
}

/** Replace every occurrence of the given secret strings (e.g. in a server's error body) with `***`. */
export function redactText(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    // Very short values would blank out ordinary words; real tokens and passwords are longer.
    if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  return out;
}

/** A URL safe to show: user info (`https://user:pass@host`) hidden. */
export function redactUrl(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/i, `$1${REDACTED}@`);
}
