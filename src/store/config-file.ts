/**
 * Whole-file edits of the config file, for changes a user asked for explicitly (register, use, remove,
 * setCurrentProfile): under the config file's lock (the token store's), re-read the file, let `edit`
 * change the document, and replace the file atomically with mode 0600 — through a symlink, to its
 * target — if anything changed. Unlike token saves there is no memory fallback: a file that cannot be
 * written is a `ConfigError`, because the requested change did not happen.
 */
import { promises as fsp } from 'node:fs';
import { checkConfigPath } from '../config/config-path.js';
import { IniDocument } from '../config/ini.js';
import { readConfigDocument } from '../config/resolve.js';
import { ConfigError } from '../errors.js';

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
    return await withFileLock(file, async () => {
      const before = readConfigDocument(file);
      const doc = before ?? IniDocument.empty(file);
      const text = doc.toString();
      const result = edit(doc);
      if (doc.toString() !== text || before === null) {
        const target = await fsp.realpath(file).catch(() => file);
        const mode = (await fsp.stat(target).catch(() => undefined))?.mode;
        if (mode !== undefined && (mode & 0o222) === 0) throw notWritable('read-only file');
        try {
          await writeFileAtomic(target, doc.toBytes());
        } catch (err) {
          throw notWritable((err as NodeJS.ErrnoException).code);
        }
      }
      return result;
    });
  } catch (err) {
    if (err instanceof LockUnavailableError) throw notWritable(err.errno);
    throw err;
  }
}
