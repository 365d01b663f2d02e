/**
 * Crash-safe replacement of a small file: write a temp file in the same folder, fsync it, rename it over
 * the target, fsync the folder. A reader (or a process killed half-way) sees either the old or the new
 * file, never a mix. The new file is created with mode 0600.
 *
 * A file that is a mount point of its own (a bind-mounted single file, `docker run -v file:file`) cannot
 * be replaced: rename fails with EBUSY. It is then rewritten in place (write, truncate, fsync) — callers
 * hold the file's lock, so no other dhcore writer interleaves — and the caller's log says so.
 *
 * Callers hold the file's lock, so any temp file of ours older than a few seconds was left by a writer
 * that was killed (it may hold secrets): each write removes those.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const TMP_MARK = '.dhcore-tmp-';
/** A temp file younger than this may belong to a writer still at work (another host's clock, a slow disk). */
const LEFTOVER_AGE_MS = 5000;

export interface WriteOptions {
  /** Mode of a newly written file (default 0600). */
  mode?: number;
  /** Diagnostics (e.g. that the file had to be rewritten in place). */
  log?: (msg: string) => void;
}

/** How the file was written: replaced atomically, or rewritten in place (it could not be replaced). */
export type WriteMethod = 'replaced' | 'in-place';

/** Temp-file name for `file`: hidden, in the same folder, tagged with our pid and a random suffix. */
function tempPathFor(file: string): string {
  return join(dirname(file), `${tempPrefix(file)}${process.pid}-${randomBytes(4).toString('hex')}`);
}

function tempPrefix(file: string): string {
  const base = basename(file);
  return `${base.startsWith('.') ? '' : '.'}${base}${TMP_MARK}`;
}

/** What to write: text, bytes, or something that gives its bytes a chunk at a time (an IniDocument). */
export type FileContent = string | Uint8Array | { chunks(): Iterable<Uint8Array> };

export async function writeFileAtomic(
  file: string,
  content: FileContent,
  opts: WriteOptions = {},
): Promise<WriteMethod> {
  const mode = opts.mode ?? 0o600;
  const dir = dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = tempPathFor(file);
  let method: WriteMethod = 'replaced';
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', mode);
    await writeAll(handle, content);
    await handle.sync();
    await handle.close();
    handle = undefined;
    try {
      await fsp.rename(tmp, file);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EBUSY') throw err;
      await rewriteInPlace(file, content, mode);
      await fsp.unlink(tmp).catch(() => {});
      method = 'in-place';
      opts.log?.(
        `cannot replace ${file} atomically (rename: ${code}; a bind-mounted file?): rewrote it in place under the lock`,
      );
    }
  } catch (err) {
    await handle?.close().catch(() => {});
    await fsp.unlink(tmp).catch(() => {});
    throw err;
  }
  if (method === 'replaced') await syncDir(dir);
  await sweepLeftovers(file);
  return method;
}

/**
 * Overwrite `file` itself: tighten its mode first (it is about to hold secrets), write from offset 0, cut
 * off what is left of a longer old content, fsync. Not atomic for a process killed half-way, which is why
 * it is only the fallback.
 */
async function rewriteInPlace(file: string, content: FileContent, mode: number): Promise<void> {
  const handle = await fsp.open(file, 'r+');
  try {
    await handle.chmod(mode).catch(() => {});
    await handle.truncate(await writeAll(handle, content));
    await handle.sync();
  } finally {
    await handle.close().catch(() => {});
  }
}

/** Write `content` from offset 0; returns the number of bytes written. */
async function writeAll(handle: fsp.FileHandle, content: FileContent): Promise<number> {
  const chunks =
    typeof content === 'string'
      ? [Buffer.from(content, 'utf8')]
      : content instanceof Uint8Array
        ? [content]
        : content.chunks();
  let position = 0;
  for (const chunk of chunks) {
    for (let done = 0; done < chunk.length; ) {
      const { bytesWritten } = await handle.write(chunk, done, chunk.length - done, position);
      done += bytesWritten;
      position += bytesWritten;
    }
  }
  return position;
}

async function syncDir(dir: string): Promise<void> {
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(dir, 'r');
    await handle.sync();
  } catch {
    // Not supported everywhere (and not needed for correctness of the rename itself).
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * Remove temp files of `file` that a killed writer left behind: only names of exactly our pattern, only
 * older than a few seconds. Not by pid: a writer in a container has pids of its own namespace.
 */
async function sweepLeftovers(file: string): Promise<void> {
  const dir = dirname(file);
  const prefix = tempPrefix(file);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  const now = Date.now();
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d+-[0-9a-f]{8}$/.test(name.slice(prefix.length))) continue;
    const path = join(dir, name);
    const st = await fsp.lstat(path).catch(() => undefined);
    if (!st?.isFile() || now - st.mtimeMs < LEFTOVER_AGE_MS) continue;
    await fsp.unlink(path).catch(() => {});
  }
}
