/**
 * Loads the CLI's own CommonJS files (dist/cli/) with V8's code cache. Compiling our code was most of what
 * `dhcore token` cost beyond a bare Node start (≈20 M of its 34 M extra instructions); with the bytecode of
 * the previous run it is read back instead. This is what Node 22 calls its compile cache
 * (`module.enableCompileCache()`, which Node 20 does not have), in the same place by default: a folder of the
 * temp directory, here `dhcore-code-cache-<uid>`; `vm.Script`'s `cachedData` is the same mechanism, available
 * on every Node we support. `DHCORE_CODE_CACHE=off` turns it off, `DHCORE_CODE_CACHE=<absolute folder>` puts
 * it there. Nothing goes to the home folder.
 *
 * One file per chunk, install and runtime, 0600 in a 0700 folder, written atomically at exit by a run that had
 * to compile. Code is trusted like the package itself, so:
 * - a cache file is used only if it and its folder belong to this user and nobody else can write them (a
 *   folder another user made first is refused, not used: at worst there is no cache), and it is written only
 *   where no other user can redirect the path;
 * - its header names the exact file it was made from (path, device, inode, size, modification and change
 *   time), the Node version and the flags, and the length and a sampled checksum of its data: V8 itself only
 *   compares the source's length, and dies on damaged bytecode. Anything else is compiled afresh (V8 checks
 *   its version and flags too, and refuses on mismatch), and the cache replaced;
 * - it holds bytecode and the literals of our source, never a value computed at run time (no token).
 * Nothing about it is printed (`DEBUG=dhcore:cli` says what happened). Without a usable cache the CLI works
 * exactly the same, only slower.
 */
import { type Logger, loggerFor } from '../diagnostics.js';

const fs = process.getBuiltinModule('node:fs');
const { basename, dirname, isAbsolute, join } = process.getBuiltinModule('node:path');

/** Larger cache files are not ours (ours are a few hundred kB). */
const MAX_CACHE_BYTES = 16 * 1024 * 1024;
/** Bytes of a cache's data its checksum covers (see {@link integrityOf}). */
const SAMPLES = 1024;
/** A smaller file compiles faster than its cache is found and read. */
const MIN_SOURCE_CHARS = 4096;
const WRAPPER = ['(function (exports, require, module, __filename, __dirname) {\n', '\n})'] as const;

type ChunkFunction = (
  exports: unknown,
  require: (id: string) => unknown,
  module: NodeModule,
  filename: string,
  dirname: string,
) => void;

/** A chunk compiled in this run with a cache file of its own. */
interface Loaded {
  script: import('node:vm').Script;
  file: string;
  header: string;
  /** The commands whose code its cache held; undefined when there was no usable cache. */
  covers: string[] | undefined;
}

const loaded: Loaded[] = [];
/** The command this run is (see {@link cacheCovers}). */
let command: string | undefined;
let saving = false;

/**
 * Says which command this run is (`token`, `status`, the name of any other): a cache whose chunk ran for other
 * commands only is saved again at exit, now with this command's code too (V8 writes every function compiled
 * by then, those read from the cache included). Without that, the first command after an install would decide
 * for good what a cache holds, and `dhcore token` after a first `dhcore list-env` would compile its own code
 * on every run. A cache is saved at most once per command, by a run that succeeds (exit code 0): one that
 * failed early (no config file yet) ran little of its command's code.
 */
export function cacheCovers(name: string): void {
  command = name;
  if (loaded.some((chunk) => needsSave(chunk))) saveAtExit();
}

/** Is `chunk`'s cache to be saved at exit, by a run that succeeded or not (`succeeded`)? */
function needsSave(chunk: Loaded, succeeded = true): boolean {
  if (chunk.covers === undefined) return true;
  return succeeded && command !== undefined && !chunk.covers.includes(command);
}

function saveAtExit(): void {
  if (saving) return;
  saving = true;
  process.once('exit', saveAll);
}
let log: Logger | undefined | null = null;
function debug(message: string): void {
  // Created on first use: `--debug` sets DEBUG after this module was loaded.
  if (log === null || (log === undefined && process.env.DEBUG)) log = loggerFor(undefined, 'dhcore:cli');
  log?.(`code cache: ${message}`);
}

/**
 * `require(file)` for a file of dist/cli/ (`file` absolute), through the code cache. The module is registered
 * in `require.cache` as Node's own loader would do it, so both loaders share one instance of each file;
 * `./` requires inside it come back here, any other goes to Node.
 */
export function requireChunk(file: string, parent: NodeModule, nodeRequire: NodeJS.Require): unknown {
  const cached = nodeRequire.cache[file];
  if (cached) return cached.exports;
  const dir = dirname(file);
  // Node's Module class, from a module of its own: `node:module` would load the ESM loader (≈6 M instructions).
  const Module = parent.constructor as new (id: string, parent: NodeModule) => NodeModule;
  const module = new Module(file, parent);
  module.filename = file;
  module.paths = parent.paths;
  const require = (id: string) =>
    id.startsWith('./') ? requireChunk(join(dir, id), module, nodeRequire) : nodeRequire(id);
  // Registered before it runs (a circular require gets its exports so far), removed if it fails to load.
  nodeRequire.cache[file] = module;
  try {
    compile(file).call(module.exports, module.exports, require, module, file, dir);
  } catch (err) {
    delete nodeRequire.cache[file];
    throw err;
  }
  module.loaded = true;
  return module.exports;
}

function compile(file: string): ChunkFunction {
  const vm = process.getBuiltinModule('node:vm');
  const { source, identity } = readSource(file);
  const where = source.length < MIN_SOURCE_CHARS || identity === undefined ? undefined : cacheFileOf(file);
  const header = where && `${JSON.stringify(['dhcore-code-cache-2', RUNTIME, file, ...identity!])}\n`;
  const cache = where && header ? readCache(where, header) : undefined;
  const cachedData = cache?.data;
  const script = new vm.Script(`${WRAPPER[0]}${source}${WRAPPER[1]}`, {
    filename: file,
    lineOffset: -1, // the wrapper's first line: stack traces keep the file's own line numbers
    ...(cachedData ? { cachedData } : {}),
  });
  if (where && header) {
    const used = cachedData !== undefined && !script.cachedDataRejected;
    if (used) debug(`used ${where}`);
    else if (cachedData) debug(`V8 refused ${where}; a new one is saved at exit`);
    const chunk: Loaded = { script, file: where, header, covers: used ? cache!.covers : undefined };
    loaded.push(chunk);
    if (needsSave(chunk)) saveAtExit();
  }
  return script.runInThisContext() as ChunkFunction;
}

/**
 * The file's text, and what identifies this very content: device, inode, size, modification and change time
 * (the change time cannot be set back: a file rewritten in place with its old size and mtime — `cp -p`,
 * `rsync --inplace` — still differs). Read through one descriptor, stat'ed before and after: a file replaced
 * meanwhile has no identity, and is compiled without a cache.
 */
function readSource(file: string): { source: string; identity: number[] | undefined } {
  const fd = fs.openSync(file, 'r');
  try {
    const id = (st: import('node:fs').Stats) => [st.dev, st.ino, st.size, st.mtimeMs, st.ctimeMs];
    const before = id(fs.fstatSync(fd));
    const source = fs.readFileSync(fd, 'utf8');
    const after = id(fs.fstatSync(fd));
    return { source, identity: before.every((v, i) => v === after[i]) ? before : undefined };
  } finally {
    fs.closeSync(fd);
  }
}

/** The Node and flags a cache is made for (V8 refuses a cache of another version or other flags). */
const RUNTIME = JSON.stringify([
  process.version,
  process.arch,
  ...process.execArgv,
  process.env.NODE_OPTIONS ?? '',
]);

/**
 * Where the cache of `file` lives; undefined when the cache is off or cannot be trusted here. One file per
 * chunk, install (folder) and runtime, so two installs, or runs with other flags, do not replace each other's.
 */
function cacheFileOf(file: string): string | undefined {
  const setting = process.env.DHCORE_CODE_CACHE?.trim() ?? '';
  if (setting !== '' && !isAbsolute(setting) && /^(off|0|false|no)$/i.test(setting)) return undefined;
  // Ownership is how a cache is trusted: without uids (Windows) there is no cache.
  if (typeof process.getuid !== 'function') return undefined;
  const dir = isAbsolute(setting) ? setting : join(tmpdir(), `dhcore-code-cache-${process.getuid()}`);
  return join(dir, `${basename(file, '.js')}-${fnv1a(`${RUNTIME}\u0000${dirname(file)}`)}.cache`);
}

/**
 * `os.tmpdir()` on POSIX (TMPDIR, TMP, TEMP, else /tmp; no trailing slash), without loading node:os (it is
 * not loaded otherwise, and costs ≈1.5 M instructions, a twentieth of this start).
 */
function tmpdir(): string {
  const env = process.env;
  const dir = env.TMPDIR || env.TMP || env.TEMP || '/tmp';
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/** FNV-1a, 32 bits, as 8 hex digits: a short file name, not a check (the header is the check). */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Is this (folder or file) ours alone: owned by this user, writable by nobody else? */
function ownedByUs(st: import('node:fs').Stats): boolean {
  return st.uid === process.getuid!() && (st.mode & 0o022) === 0;
}

/**
 * The cache folder, if it is a folder (not a link to one) that is ours alone. Opened rather than lstat'ed: the
 * calls readCache makes anyway, not one more for Node to compile at every start.
 */
function folderIsOurs(dir: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(dir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY | fs.constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') return false; // a link, or not a folder
    throw err;
  }
  try {
    return ownedByUs(fs.fstatSync(fd));
  } finally {
    fs.closeSync(fd);
  }
}

function readCache(file: string, header: string): { data: Uint8Array; covers: string[] } | undefined {
  let fd: number | undefined;
  try {
    if (!folderIsOurs(dirname(file))) {
      debug(`ignored ${dirname(file)}: not yours alone (owner or mode)`);
      return undefined;
    }
    fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    const st = fs.fstatSync(fd);
    if (!st.isFile() || !ownedByUs(st) || st.size > MAX_CACHE_BYTES) {
      debug(`ignored ${file}: not yours alone (owner or mode), or not a cache`);
      return undefined;
    }
    // Plain typed arrays and loops, no Buffer method: each one a start calls first is compiled then (this
    // runs on every start, and Node's Buffer methods are a tenth of what it adds to a bare Node start).
    const bytes = new Uint8Array(st.size);
    let got = 0;
    for (let n = -1; n !== 0 && got < bytes.length; got += n)
      n = fs.readSync(fd, bytes, got, bytes.length - got, got);
    const expected = Buffer.from(header, 'utf8');
    if (got <= expected.length || !startsWith(bytes, expected, 0)) {
      debug(`${file} was made from another file, Node or flags; a new one is saved at exit`);
      return undefined;
    }
    // V8 does not check the bytecode itself: damaged data could crash every run. Its length and a sample,
    // then the commands it covers (see cacheCovers).
    let eol = expected.length;
    while (eol < got && bytes[eol] !== 0x0a) eol++;
    const damaged = () => {
      debug(`${file} is damaged; a new one is saved at exit`);
      return undefined;
    };
    if (eol >= got) return damaged();
    const data = new Uint8Array(bytes.buffer, eol + 1, got - eol - 1);
    const integrity = Buffer.from(integrityOf(data), 'utf8');
    const at = expected.length + integrity.length;
    // The line holds the integrity (it cannot reach past the line: it has no newline), then a space or nothing.
    if (!startsWith(bytes, integrity, expected.length) || (at < eol && bytes[at] !== 0x20)) return damaged();
    // Command names (ASCII, one space between them): read without a Buffer method (see above).
    const names = at + 1 < eol ? String.fromCharCode(...bytes.subarray(at + 1, eol)).split(' ') : [];
    return { data, covers: names };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    debug(code === 'ENOENT' ? `none yet: ${file}` : `cannot read ${file} (${code ?? 'error'})`);
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Does `bytes` hold `part` at `offset`? */
function startsWith(bytes: Uint8Array, part: Uint8Array, offset: number): boolean {
  if (offset + part.length > bytes.length) return false;
  for (let i = 0; i < part.length; i++) if (bytes[offset + i] !== part[i]) return false;
  return true;
}

/** At exit: the bytecode compiled by now (the functions this run used included), one atomic write each. */
function saveAll(exitCode: number): void {
  const succeeded = exitCode === 0;
  const saves = loaded.filter((chunk) => needsSave(chunk, succeeded));
  if (saves.length === 0) return;
  // Every cache of a run goes to the one folder: checked once.
  const dir = dirname(saves[0]!.file);
  try {
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!folderIsOurs(dir) || !pathIsSafe(dir)) {
      debug(`not saved: ${dir} is not yours alone (owner or mode, of it or a folder above it)`);
      return;
    }
  } catch (err) {
    debug(`not saved: ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return;
  }
  // This run's command, if it succeeded, joins the names a cache holds.
  const ran = succeeded && command !== undefined ? [command] : [];
  for (const { script, file, header, covers } of saves) {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const data = script.createCachedData();
      // Names without white space (a command name never has any): one space between them.
      const names = [...new Set([...(covers ?? []), ...ran])].filter((name) => /^\S+$/.test(name));
      const fd = fs.openSync(tmp, 'wx', 0o600);
      try {
        // UTF-8, as readCache compares it: the header names the file, whose path may be beyond ASCII.
        const lines = `${header}${integrityOf(data)} ${names.join(' ')}\n`;
        for (const part of [Buffer.from(lines, 'utf8'), data]) {
          for (let done = 0; done < part.length; ) done += fs.writeSync(fd, part, done);
        }
        // On disk before it is renamed into place: a crash must not leave a cache of zeros behind.
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, file);
      debug(`saved ${file} (${data.length} bytes)`);
      removeStale(file);
    } catch (err) {
      // At exit: nothing here may change how the command ends.
      try {
        fs.rmSync(tmp, { force: true });
      } catch {}
      debug(`not saved: ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
}

/**
 * The length of `data` and a checksum of 1024 bytes spread over it (a whole pass, in the interpreter, would
 * cost a tenth of the start it saves). Catches a truncated file or a damaged stretch of a few hundred bytes
 * (a block of zeros after a crash), not every flipped bit.
 */
function integrityOf(data: Uint8Array): string {
  const length = data.length;
  const step = Math.max(1, Math.floor(length / SAMPLES));
  let h = 0x811c9dc5 ^ length;
  for (let i = 0; i < length; i += step) h = Math.imul(h ^ data[i]!, 0x01000193);
  return `${length} ${(h >>> 0).toString(16)}`;
}

/**
 * Can no other user replace `dir` on its way from the root (rename a folder above it, swap in a link)? Each
 * folder above it belongs to root or to us and is not writable by others, or is sticky (like /tmp). Checked
 * before writing: a cache written where another user steers it would be theirs to read back.
 */
function pathIsSafe(dir: string): boolean {
  let at = fs.realpathSync.native(dir);
  const uid = process.getuid!();
  for (;;) {
    const parent = dirname(at);
    if (parent === at) return true;
    const st = fs.statSync(parent);
    if (st.uid !== 0 && st.uid !== uid) return false;
    if ((st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0) return false;
    at = parent;
  }
}

/** Caches of the same chunk for another runtime (an older Node …) that nobody made for a month. */
function removeStale(file: string): void {
  const dir = dirname(file);
  const chunk = basename(file).replace(/-[0-9a-f]{8}\.cache$/, '');
  const monthAgo = Date.now() - 30 * 24 * 3600_000;
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (name === basename(file) || !name.startsWith(`${chunk}-`) || !/-[0-9a-f]{8}\.cache$/.test(name))
      continue;
    const other = join(dir, name);
    try {
      if (fs.lstatSync(other).mtimeMs < monthAgo) fs.rmSync(other);
    } catch {
      // Gone already, or not ours to remove.
    }
  }
}
