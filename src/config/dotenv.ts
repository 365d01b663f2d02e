/**
 * `.env` files holding DHCore secrets. The DigitalHub Python SDK writes `~/.env` (mode 0644) with the access
 * and refresh tokens and the store secrets; dhcore never reads it, but another user may. Only names are
 * reported, never values.
 */
import { isSecretKey } from './keys.js';

const { readFileSync } = process.getBuiltinModule('node:fs');

/** Variable names of credentials we hand out or use. */
const WATCHED = /^(DHCORE_[A-Z_]+|AWS_[A-Z_]+|S3_[A-Z_]+|DB_[A-Z_]+)$/;

/** The secret DHCore variables each existing file of `files` assigns (`NAME=…` / `export NAME=…`). */
export function dotenvSecrets(files: readonly string[]): Array<{ file: string; keys: string[] }> {
  const found: Array<{ file: string; keys: string[] }> = [];
  for (const file of new Set(files)) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    const keys = new Set<string>();
    for (const line of text.split(/\r?\n/)) {
      const name = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*\S/.exec(line)?.[1];
      if (name && WATCHED.test(name) && isSecretKey(name)) keys.add(name);
    }
    if (keys.size > 0) found.push({ file, keys: [...keys] });
  }
  return found;
}
