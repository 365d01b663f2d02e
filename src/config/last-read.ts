/**
 * The document last read from each config file, held weakly. A save re-reads the file under the lock; when
 * the file still holds exactly the bytes of a document this process read (resolution just before a
 * refresh, or the previous save), that document is used instead of parsing the file again, so a large file
 * is not held twice. Held weakly: a document nobody else holds may be collected, and is then simply read
 * again. Whether it still matches is always decided by comparing bytes, never by timestamps.
 */
import type { IniDocument } from './ini.js';

const lastRead = new Map<string, WeakRef<IniDocument>>();

/** `doc` is what `file` holds now. */
export function noteRead(file: string, doc: IniDocument): void {
  lastRead.set(file, new WeakRef(doc));
}

/** The document last noted for `file`, if it is still in memory (it may no longer match the file). */
export function lastReadOf(file: string): IniDocument | undefined {
  const doc = lastRead.get(file)?.deref();
  if (doc === undefined) lastRead.delete(file);
  return doc;
}
