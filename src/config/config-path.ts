/**
 * The one place that decides whether a path may be used as the config file, for readers and writers.
 *
 * - Only a regular file (or a symlink to one) is read or replaced. A FIFO would block every command
 *   forever on open/read; a device (`DH_CONFIG=/dev/null`, as root) would be *replaced* by a regular
 *   file holding tokens on the first save. Both are refused with a `ConfigError` before anything is
 *   opened for reading, locked or written.
 * - Reading opens with O_NONBLOCK and checks the opened descriptor again, so a FIFO swapped in after
 *   the check still cannot block us.
 * - A folder anyone may write (without the sticky bit) lets another user swap the file: warned once.
 */
import { ConfigError } from '../errors.js';
import { warnOnce } from '../warnings.js';
import type { IniDocument } from './ini.js';

// A builtin through process.getBuiltinModule(), not an ESM import: shorter cold start (see resolve.ts).
const fs = process.getBuiltinModule('node:fs');
const { dirname } = process.getBuiltinModule('node:path');

type Stats = import('node:fs').Stats;

// O_NONBLOCK does not exist on Windows (nor do FIFOs opened this way); 0 leaves the flags unchanged.
const OPEN_FLAGS = fs.constants.O_RDONLY | (fs.constants.O_NONBLOCK ?? 0);

function kindOf(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  if (st.isDirectory()) return 'a folder';
  return 'not a regular file';
}

/** How the file was chosen, for the fix: "point DH_CONFIG at a file", "give --config a file", … */
export type ChooseAnother = { from: string; choose: string };

export const DEFAULT_CHOICE: ChooseAnother = {
  from: '',
  choose: 'point DH_CONFIG (or --config) at a regular file, or a symlink to one',
};

function notRegular(file: string, st: Stats, how: ChooseAnother): ConfigError {
  return new ConfigError(
    'config_not_regular_file',
    `Config file ${file}${how.from} is ${kindOf(st)}, not a regular file: ${how.choose}.`,
    { file },
  );
}

const missing = (err: unknown) => (err as NodeJS.ErrnoException).code === 'ENOENT';

/** Warn once per folder when the folder holding `file` (or its symlink target) is world-writable. */
function warnIfSwappable(file: string): void {
  const dirs = new Set([dirname(file)]);
  try {
    // The system's realpath(3): the JavaScript one stats every folder on the way, in the interpreter.
    dirs.add(dirname(fs.realpathSync.native(file)));
  } catch {
    // Not there (yet): only its folder matters.
  }
  for (const dir of dirs) {
    let mode: number;
    try {
      mode = fs.statSync(dir).mode;
    } catch {
      continue;
    }
    // The sticky bit (as on /tmp) forbids others to rename or delete our file.
    if ((mode & 0o002) === 0 || (mode & 0o1000) !== 0) continue;
    warnOnce(
      `DHCORE_CONFIG_FOLDER_WRITABLE:${dir}`,
      `${dir} holds the config file ${file} and is writable by every user, so another user could replace the file: run 'chmod o-w ${dir}' or move the file to a private folder.`,
    );
  }
}

/**
 * For writers, before locking: the path is absent or a regular file (after symlinks). Throws
 * ConfigError `config_not_regular_file` otherwise; other errors (permissions …) are left to the write.
 */
export function checkConfigPath(file: string): void {
  let st: Stats;
  try {
    st = fs.statSync(file);
  } catch {
    warnIfSwappable(file);
    return;
  }
  if (!st.isFile()) throw notRegular(file, st, DEFAULT_CHOICE);
  warnIfSwappable(file);
}

/**
 * The content of the config file; `null` when it does not exist. Errno errors other than ENOENT are
 * thrown as they are. Read as text straight away (no Buffer the size of the file to collect); only a
 * file whose text shows U+FFFD — bytes that may not be UTF-8 — is read again as bytes, so that
 * IniDocument.fromBytes can keep them.
 */
export function readConfigSync(file: string, how?: ChooseAnother): string | Buffer | null;
/**
 * The same, except that `kept` — a document read from the file before — is returned when the file still
 * holds exactly its bytes (compared a chunk at a time): a 50 MB file is then not held twice.
 */
export function readConfigSync(
  file: string,
  how: ChooseAnother,
  kept: IniDocument | undefined,
): string | Buffer | IniDocument | null;
export function readConfigSync(
  file: string,
  how: ChooseAnother = DEFAULT_CHOICE,
  kept?: IniDocument,
): string | Buffer | IniDocument | null {
  let st: Stats;
  try {
    st = fs.statSync(file);
  } catch (err) {
    if (missing(err)) return null;
    throw err;
  }
  if (!st.isFile()) throw notRegular(file, st, how);
  let fd: number;
  try {
    fd = fs.openSync(file, OPEN_FLAGS);
  } catch (err) {
    if (missing(err)) return null;
    throw err;
  }
  try {
    const opened = fs.fstatSync(fd);
    if (!opened.isFile()) throw notRegular(file, opened, how);
    if (kept?.sameBytes(opened.size, (into, position) => fs.readSync(fd, into, 0, into.length, position))) {
      warnIfSwappable(file);
      return kept;
    }
    const text = fs.readFileSync(fd, 'utf8');
    warnIfSwappable(file);
    if (!text.includes('\ufffd')) return text;
    const bytes = Buffer.allocUnsafe(fs.fstatSync(fd).size);
    let got = 0;
    for (let n = -1; n !== 0 && got < bytes.length; got += n)
      n = fs.readSync(fd, bytes, got, bytes.length - got, got);
    return bytes.subarray(0, got);
  } finally {
    fs.closeSync(fd);
  }
}
