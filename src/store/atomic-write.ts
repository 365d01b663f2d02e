/**
 * Crash-safe replacement of a small file: write a temp file in the same folder, fsync it, rename it over
 * the target, fsync the folder. A reader (or a process killed half-way) sees either the old or the new
 * file, never a mix. The new file is created with mode 0600.
 */
import { randomBytes } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const TMP_MARK = '.dhcore-tmp-';

/** Temp-file name for `file`: hidden, in the same folder, tagged with our pid so leftovers can be swept. */
function tempPathFor(file: string): string {
  return join(dirname(file), `${tempPrefix(file)}${process.pid}-${randomBytes(4).toString('hex')}`);
}

function tempPrefix(file: string): string {
  const base = basename(file);
  return `${base.startsWith('.') ? '' : '.'}${base}${TMP_MARK}`;
}

export async function writeFileAtomic(file: string, text: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = tempPathFor(file);
  let handle: fsp.FileHandle | undefined;
  try {
    handle = await fsp.open(tmp, 'wx', mode);
    await handle.writeFile(text, 'utf8');
    await handle.sync();
    await handle.close();
    handle = undefined;
    await fsp.rename(tmp, file);
  } catch (err) {
    await handle?.close().catch(() => {});
    await fsp.unlink(tmp).catch(() => {});
    throw err;
  }
  await syncDir(dir);
  void sweepLeftovers(file);
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

/** Remove temp files left by processes that were killed mid-write (their pid is gone). Best effort. */
async function sweepLeftovers(file: string): Promise<void> {
  const dir = dirname(file);
  const prefix = tempPrefix(file);
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length).split('-')[0]);
    if (!Number.isInteger(pid) || pid === process.pid || isAlive(pid)) continue;
    await fsp.unlink(join(dir, name)).catch(() => {});
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
