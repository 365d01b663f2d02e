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
 *   folder another user made first is refused, not used: at worst there is no cache);
 * - it names the exact file it was made from (path, size, modification time, inode), the Node version and the
 *   flags; anything else is compiled afresh (V8 checks its version and flags too, and refuses on mismatch);
 * - it holds bytecode and the literals of our source, never a value computed at run time (no token).
 * Nothing about it is printed (`DEBUG=dhcore:cli` says what happened). Without a usable cache the CLI works
 * exactly the same, only slower.
 */
import { type Logger, loggerFor } from '../diagnostics.js';

const fs = process.getBuiltinModule('node:fs');
const { basename, dirname, isAbsolute, join } = process.getBuiltinModule('node:path');

/** Larger cache files are not ours (ours are a few hundred kB). */
const MAX_CACHE_BYTES = 16 * 1024 * 1024;
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

interface Pending {
  script: import('node:vm').Script;
  file: string;
  header: string;
}

const pending: Pending[] = [];
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
  nodeRequire.cache[file] = module;
  const fn = compile(file);
  const require = (id: string) =>
    id.startsWith('./') ? requireChunk(join(dir, id), module, nodeRequire) : nodeRequire(id);
  try {
    fn.call(module.exports, module.exports, require, module, file, dir);
  } catch (err) {
    delete nodeRequire.cache[file];
    throw err;
  }
  module.loaded = true;
  return module.exports;
}

function compile(file: string): ChunkFunction {
  const vm = process.getBuiltinModule('node:vm');
  const source = fs.readFileSync(file, 'utf8');
  const where = source.length < MIN_SOURCE_CHARS ? undefined : cacheFileOf(file);
  const header = where && headerOf(file);
  const cachedData = where && header ? readCache(where, header) : undefined;
  const script = new vm.Script(`${WRAPPER[0]}${source}${WRAPPER[1]}`, {
    filename: file,
    lineOffset: -1, // the wrapper's first line: stack traces keep the file's own line numbers
    ...(cachedData ? { cachedData } : {}),
  });
  if (where && header) {
    if (cachedData && !script.cachedDataRejected) debug(`used ${where}`);
    else {
      debug(
        cachedData ? `V8 refused ${where}; a new one is saved at exit` : `none for ${basename(file)} yet`,
      );
      if (pending.push({ script, file: where, header }) === 1) process.once('exit', saveAll);
    }
  }
  return script.runInThisContext() as ChunkFunction;
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
  if (/^(off|0|false|no)$/i.test(setting)) return undefined;
  // Ownership is how a cache is trusted: without uids (Windows) there is no cache.
  if (typeof process.getuid !== 'function') return undefined;
  const dir = isAbsolute(setting)
    ? setting
    : join(process.getBuiltinModule('node:os').tmpdir(), `dhcore-code-cache-${process.getuid()}`);
  return join(dir, `${basename(file, '.js')}-${fnv1a(`${RUNTIME}\u0000${dirname(file)}`)}.cache`);
}

/** What a cache must have been made from: this exact file (path, size, time, inode) and runtime. */
function headerOf(file: string): string | undefined {
  try {
    const st = fs.statSync(file);
    return `${JSON.stringify(['dhcore-code-cache-1', RUNTIME, file, st.size, st.mtimeMs, st.ino])}\n`;
  } catch {
    return undefined;
  }
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

/** The cache folder, if it is a folder (not a link to one) that is ours alone. */
function folderIsOurs(dir: string): boolean {
  const st = fs.lstatSync(dir);
  return st.isDirectory() && ownedByUs(st);
}

function readCache(file: string, header: string): Buffer | undefined {
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
    const bytes = Buffer.allocUnsafe(st.size);
    let got = 0;
    for (let n = -1; n !== 0 && got < bytes.length; got += n)
      n = fs.readSync(fd, bytes, got, bytes.length - got, got);
    const expected = Buffer.from(header, 'utf8');
    if (got <= expected.length || !bytes.subarray(0, expected.length).equals(expected)) {
      debug(`${file} was made from another file, Node or flags; a new one is saved at exit`);
      return undefined;
    }
    return bytes.subarray(expected.length, got);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') debug(`cannot read ${file} (${code ?? 'error'})`);
    return undefined;
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** At exit: the bytecode compiled by now (the functions this run used included), one atomic write each. */
function saveAll(): void {
  for (const { script, file, header } of pending.splice(0)) {
    const tmp = `${file}.${process.pid}.tmp`;
    try {
      const dir = dirname(file);
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      if (!folderIsOurs(dir)) {
        debug(`not saved: ${dir} is not yours alone (owner or mode)`);
        return;
      }
      const data = script.createCachedData();
      const fd = fs.openSync(tmp, 'wx', 0o600);
      try {
        for (const part of [Buffer.from(header, 'utf8'), data]) {
          for (let done = 0; done < part.length; ) done += fs.writeSync(fd, part, done);
        }
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
