/**
 * The one check of the config file's mode: a file holding secrets that other users can read is reported
 * once per process, whenever it is read (by resolution, by a profile edit, or by the token store), not
 * only when a save happens to rewrite it with mode 0600.
 */
import { warnOnce } from '../warnings.js';
import type { IniDocument } from './ini.js';
import { isSecretKey } from './keys.js';

// A builtin through process.getBuiltinModule(), not an ESM import: shorter cold start (see resolve.ts).
const { statSync } = process.getBuiltinModule('node:fs');

/** Does any section (or `[DEFAULT]`) hold a secret value? */
function holdsSecret(doc: IniDocument): boolean {
  return ['DEFAULT', ...doc.sections()].some((section) =>
    doc.ownKeys(section).some((key) => isSecretKey(key) && doc.getRaw(section, key)?.trim()),
  );
}

/** Warn once when `file` holds secrets and its mode lets group or others read it. */
export function warnIfReadableByOthers(file: string, doc: IniDocument): void {
  let mode: number;
  try {
    mode = statSync(file).mode;
  } catch {
    return; // gone in the meantime: nothing to report
  }
  // The mode first: one system call, where looking for secrets reads every key of the file.
  if ((mode & 0o077) === 0 || !holdsSecret(doc)) return;
  warnOnce(
    `DHCORE_CONFIG_PERMISSIONS:${file}`,
    `${file} holds credentials but is readable by other users (mode ${(mode & 0o777).toString(8)}); run 'chmod 600 ${file}' (dhcore writes it with mode 600).`,
  );
}
