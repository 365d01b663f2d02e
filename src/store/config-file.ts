/**
 * Whole-file edits of the config file, for changes a user asked for explicitly (register, use, remove,
 * setCurrentProfile): under the config file's lock (the token store's), re-read the file, let `edit`
 * change the document, and replace the file atomically with mode 0600 — through a symlink, to its
 * target — if anything changed. Unlike token saves there is no memory fallback: a file that cannot be
 * written is a `ConfigError`, because the requested change did not happen.
 */
import { checkConfigPath } from '../config/config-path.js';
import { IniDocument } from '../config/ini.js';
import { readConfigDocument } from '../config/resolve.js';
import { ConfigError, DHCoreError } from '../errors.js';
import { debugLog } from './debug.js';

// Not `import … from 'node:fs'` (its ESM namespace loads every fs stream class at import), and `.promises`
// only for an edit (the getter loads fs/promises and what it needs).
const fsp = () => process.getBuiltinModule('node:fs').promises;

export async function editConfigFile<T>(file: string, edit: (doc: IniDocument) => T): Promise<T> {
  const notWritable = (code: string | undefined) =>
    new ConfigError(
      'config_not_writable',
      `Cannot write ${file} (${code ?? 'error'}): make it and its folder writable (chmod u+w), or choose another file with --config.`,
      { file },
    );
  // Before the lock: a FIFO or device must not even get a `.lock` folder beside it.
  checkConfigPath(file);
  // Loaded on use: programs that only read the file never pay for the lock or node:crypto.
  const [{ LockUnavailableError, withFileLock }, { writeFileAtomic }] = await Promise.all([
    import('./lock.js'),
    import('./atomic-write.js'),
  ]);
  try {
    return await withFileLock(
      file,
      async (lease) => {
        const before = readConfigDocument(file);
        const doc = before ?? IniDocument.empty(file);
        const text = doc.toString();
        const result = edit(doc);
        if (doc.toString() !== text || before === null) {
          const mode = (
            await fsp()
              .stat(lease.path)
              .catch(() => undefined)
          )?.mode;
          if (mode !== undefined && (mode & 0o222) === 0) throw notWritable('read-only file');
          if (!(await lease.held())) {
            throw new DHCoreError(
              'store_lock_lost',
              `Another process took over the lock on ${file} while this one was changing it; nothing was written: run the command again.`,
            );
          }
          try {
            await writeFileAtomic(lease.path, doc, { log: debugLog });
          } catch (err) {
            throw notWritable((err as NodeJS.ErrnoException).code);
          }
        }
        return result;
      },
      { logger: debugLog },
    );
  } catch (err) {
    if (err instanceof LockUnavailableError) throw notWritable(err.errno);
    throw err;
  }
}
