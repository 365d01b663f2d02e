/**
 * The secrets this process knows — PATs, tokens, passwords, store secrets it resolved or was handed — so that
 * any text a server sends back (an OAuth `error`, an `error_description`, a 5xx body) can be cleaned of them
 * before it reaches an error message, a warning or a log line, however short the secret is. Nothing here is
 * ever printed.
 */

/** Shorter values would blank out ordinary words. */
const MIN_LENGTH = 6;
/** Tokens rotate: keep the newest few hundred. */
const MAX_KNOWN = 256;

const known = new Set<string>();

/** Remember a secret value (ignored when shorter than six characters). */
export function rememberSecret(value: string | undefined): void {
  if (value === undefined || value.length < MIN_LENGTH) return;
  known.delete(value);
  known.add(value);
  if (known.size > MAX_KNOWN) known.delete(known.values().next().value as string);
}

/** `text` with every known secret replaced by `***` (longest first, so a secret inside another goes too). */
export function withoutSecrets(text: string): string {
  if (known.size === 0 || text === '') return text;
  let out = text;
  for (const secret of [...known].sort((a, b) => b.length - a.length)) {
    if (out.includes(secret)) out = out.split(secret).join('***');
  }
  return out;
}
