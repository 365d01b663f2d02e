/**
 * Persistence of one profile of the config file (docs/ARCHITECTURE.md, "Lock protocol").
 *
 * - `read()` — the profile's values as the file holds them now (DEFAULT-inherited, lower-case keys),
 *   overlaid with tokens kept in memory when the file could not be written.
 * - `update(fn)` — a read-modify-write transaction: under the file lock (in-process queue + cross-process
 *   `<file>.lock`), re-read the file, let `fn` look at the current values (and do its network request),
 *   then apply the change it returns and replace the file atomically (temp + fsync + rename, mode 0600;
 *   a bind-mounted file that cannot be replaced is rewritten in place). Every other section, key, comment
 *   and blank line stays byte for byte (IniDocument).
 * - If another process took the lock over while `fn` ran (this one was stopped or blocked for longer than
 *   the lock's staleness bound), nothing is written: the result says `compromised`, a warning says so.
 * - If the file cannot be written (read-only file or folder, full disk …) the change is kept in memory
 *   for this process, a warning is emitted once, and the caller goes on: tokens the server just issued
 *   are never thrown away.
 * - An existing file holding secrets and readable by group/others is reported once (config/permissions.ts).
 *
 * `storage: 'memory'` never touches the file at all (values live in the process only).
 */
import { checkConfigPath, DEFAULT_CHOICE, readConfigSync } from '../config/config-path.js';
import { IniDocument } from '../config/ini.js';
import { lastReadOf, noteRead } from '../config/last-read.js';
import { warnIfReadableByOthers } from '../config/permissions.js';
import { profileValues, profileView } from '../config/resolve.js';
import { ConfigError } from '../errors.js';
import { warnOnce } from '../warnings.js';
import { debugLog } from './debug.js';
import type { LockLease, LockOptions } from './lock.js';
import { keyedQueue } from './queue.js';

// Not `import … from 'node:fs'`: its ESM namespace costs ≈2 ms of cold start (see config/resolve.ts).
// `.promises` only when a file is read or written: the getter loads fs/promises and what it needs (dir, watch,
// readline), ≈1 ms that a start with a valid token never needs.
const fsp = () => process.getBuiltinModule('node:fs').promises;

export type StorageMode = 'file' | 'memory';

/** Lower-case key → value. */
export type ProfileValues = Record<string, string>;

/** What the file held when a transaction read it. */
export interface OnDisk {
  /** Is the profile a section of the file? (Always true for memory storage.) */
  exists: boolean;
}

/** Keys to set and keys to delete in the profile. */
export interface ProfileChange {
  set?: Readonly<Record<string, string>>;
  delete?: readonly string[];
}

export interface ProfileStoreOptions {
  file: string;
  profile: string;
  /** 'file' (default) persists to the config file; 'memory' keeps values in this process only. */
  storage?: StorageMode;
  lock?: LockOptions;
  /** Diagnostics (never given secret values; default: `DEBUG=dhcore:store`). */
  logger?: (msg: string) => void;
}

export interface UpdateResult<T> {
  result: T;
  /** Whether a change was written to the file (false: nothing to write, or kept in memory). */
  persisted: boolean;
  /** Whether the change was kept in memory because the file could not be written. */
  inMemory: boolean;
  /**
   * Set when another process took the file's lock over while `fn` ran (this one was stopped or blocked
   * for longer than the lock's staleness bound): the change was NOT written, nor kept for later reads.
   */
  compromised?: true;
}

interface Overlay {
  set: Map<string, string>;
  deleted: Set<string>;
}

/** Changes that could not be written, per file+profile, shared by every store in the process. */
const overlays = new Map<string, Overlay>();
/** Files found not writable in this process (we stop trying). */
const readOnly = new Set<string>();

const overlayKey = (file: string, profile: string) => `${file}\u0000${profile}`;

/** Forget in-memory overlays (tests). */
export function resetMemoryStore(): void {
  overlays.clear();
  readOnly.clear();
}

const NOT_WRITABLE = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOSPC', 'EDQUOT', 'EISDIR', 'ENOTDIR', 'EBUSY']);

export class ProfileStore {
  readonly file: string;
  readonly profile: string;
  readonly #storage: StorageMode;
  readonly #lock: LockOptions;
  readonly #log: (msg: string) => void;

  constructor(opts: ProfileStoreOptions) {
    this.file = opts.file;
    this.profile = opts.profile;
    this.#storage = opts.storage ?? 'file';
    this.#log = opts.logger ?? debugLog;
    this.#lock = {
      logger: this.#log,
      ...opts.lock,
      onCompromised:
        opts.lock?.onCompromised ??
        (() => this.#log(`lock on ${this.file} was taken over by another process while held`)),
    };
  }

  /** 'memory' when configured so, or when the file turned out not to be writable. */
  get mode(): StorageMode {
    return this.#storage === 'memory' || readOnly.has(this.file) ? 'memory' : 'file';
  }

  /** The profile's current values (file + in-memory overlay). A missing file or profile gives `{}`. */
  async read(): Promise<ProfileValues> {
    const doc = this.#storage === 'memory' ? null : await this.#readDocument();
    return this.#withOverlay(profileValues(doc, this.profile) ?? {});
  }

  /**
   * Transaction: lock, re-read, `fn(current)`, write the returned change atomically, unlock.
   * If `fn` throws, nothing is written. If writing fails, the change is kept in memory (warned once).
   */
  async update<T>(
    fn: (current: ProfileValues, on: OnDisk) => Promise<{ result: T; change?: ProfileChange | undefined }>,
  ): Promise<UpdateResult<T>> {
    if (this.mode === 'memory') return this.#updateInMemory(fn);
    // Before the lock: a FIFO or device must not even get a `.lock` folder beside it.
    checkConfigPath(this.file);
    // proper-lockfile is loaded on the first write only: reading a valid saved token needs no lock.
    const { LockUnavailableError, withFileLock } = await import('./lock.js');
    try {
      return await withFileLock(this.file, (lease) => this.#updateLocked(fn, lease), this.#lock);
    } catch (err) {
      if (!(err instanceof LockUnavailableError)) throw err;
      this.#goReadOnly(err.errno);
      return this.#updateInMemory(fn);
    }
  }

  async #updateLocked<T>(
    fn: (current: ProfileValues, on: OnDisk) => Promise<{ result: T; change?: ProfileChange | undefined }>,
    lease: LockLease,
  ): Promise<UpdateResult<T>> {
    const doc = (await this.#readDocument(true)) ?? IniDocument.empty(this.file);
    // A view, not a copy: a profile of a million keys costs nothing until a key is read.
    const exists = doc.hasSection(this.profile);
    const { result, change } = await fn(this.#withOverlay(profileView(doc, this.profile)), { exists });
    if (!change || isEmpty(change)) return { result, persisted: false, inMemory: false };
    applyChange(doc, this.profile, change);
    if (await this.#fileIsReadOnly()) {
      this.#goReadOnly('read-only file');
      this.#remember(change);
      return { result, persisted: false, inMemory: true };
    }
    // Lost the lock while fn ran (e.g. stopped past the staleness bound): another process may be writing
    // now, so writing would undo its work. Nothing is written; the caller gets its result all the same.
    if (!(await lease.held())) {
      this.#log(`lock on ${this.file} was taken over by another process while held: nothing written`);
      warnOnce(
        `DHCORE_LOCK_LOST:${this.file}`,
        `Another process took over the lock on ${this.file} while this one held it (stopped or blocked too long); the new tokens of profile "${this.profile}" were not saved to the file.`,
      );
      return { result, persisted: false, inMemory: false, compromised: true };
    }
    try {
      // Loaded on the first write only (it pulls in node:crypto): reusing a saved token never writes.
      const { writeFileAtomic } = await import('./atomic-write.js');
      await writeFileAtomic(lease.path, doc, { log: this.#log });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (!code || !NOT_WRITABLE.has(code)) throw err;
      this.#goReadOnly(code);
      this.#remember(change);
      return { result, persisted: false, inMemory: true };
    }
    // The file now holds the change: drop any overlay for these keys.
    const overlay = overlays.get(overlayKey(this.file, this.profile));
    if (overlay)
      for (const k of [...Object.keys(change.set ?? {}), ...(change.delete ?? [])]) forget(overlay, k);
    this.#log(`saved ${Object.keys(change.set ?? {}).length} key(s) to [${this.profile}] in ${this.file}`);
    return { result, persisted: true, inMemory: false };
  }

  async #updateInMemory<T>(
    fn: (current: ProfileValues, on: OnDisk) => Promise<{ result: T; change?: ProfileChange | undefined }>,
  ): Promise<UpdateResult<T>> {
    // Still serialize within the process so two refreshes never use the same refresh token.
    return withMemoryQueue(overlayKey(this.file, this.profile), async () => {
      const base = this.#storage === 'memory' ? {} : await this.#readDocumentQuietly();
      const { result, change } = await fn(this.#withOverlay(base), { exists: true });
      if (!change || isEmpty(change)) return { result, persisted: false, inMemory: false };
      this.#remember(change);
      return { result, persisted: false, inMemory: true };
    });
  }

  async #readDocumentQuietly(): Promise<ProfileValues> {
    try {
      const doc = await this.#readDocument();
      return profileValues(doc, this.profile) ?? {};
    } catch {
      return {};
    }
  }

  /** The file's document; `forEdit`: one nobody else holds (a kept one, maybe a resolution's, is copied). */
  async #readDocument(forEdit = false): Promise<IniDocument | null> {
    let content: string | Buffer | IniDocument | null;
    try {
      // Synchronous like the parse that follows (no Buffer the size of the file to collect). A document
      // this process read from the file and that still matches it is used as it is (see last-read.ts).
      content = readConfigSync(this.file, DEFAULT_CHOICE, lastReadOf(this.file));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw new ConfigError(
        'config_unreadable',
        `Cannot read config file ${this.file} (${code ?? 'error'}): fix its permissions (chmod 600 ${this.file}).`,
        { file: this.file },
      );
    }
    if (content === null) return null;
    const doc =
      content instanceof IniDocument
        ? forEdit
          ? content.clone()
          : content
        : IniDocument.fromBytes(content, this.file);
    warnIfReadableByOthers(this.file, doc);
    noteRead(this.file, doc);
    return doc;
  }

  /**
   * Why a change could not be saved to the file right now (undefined: it can): the file, or — for the atomic
   * replace — its folder, is not writable. Names path, mode and owner so the user can fix it. Always
   * undefined for memory storage.
   */
  async whyNotWritable(): Promise<string | undefined> {
    if (this.#storage === 'memory') return undefined;
    const { canonicalPath } = await import('./lock.js');
    const target = await canonicalPath(this.file);
    const { W_OK } = process.getBuiltinModule('node:fs').constants;
    const { dirname } = process.getBuiltinModule('node:path');
    const describe = (path: string, st: { mode: number; uid: number }, what: string) =>
      `${what} ${path} is not writable (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}, owner uid ${st.uid})`;
    const st = await fsp()
      .stat(target)
      .catch(() => undefined);
    if (st) {
      // No write bit at all is read-only on purpose, even for root.
      if (
        (st.mode & 0o222) === 0 ||
        !(await fsp()
          .access(target, W_OK)
          .then(
            () => true,
            () => false,
          ))
      ) {
        return describe(target, st, 'file');
      }
    }
    const dir = dirname(target);
    const dirSt = await fsp()
      .stat(dir)
      .catch(() => undefined);
    if (
      dirSt &&
      !(await fsp()
        .access(dir, W_OK)
        .then(
          () => true,
          () => false,
        ))
    ) {
      return describe(dir, dirSt, 'folder');
    }
    return undefined;
  }

  /** A file without any write bit is read-only on purpose, even for root: respect it. */
  async #fileIsReadOnly(): Promise<boolean> {
    try {
      const st = await fsp().stat(this.file);
      return (st.mode & 0o222) === 0;
    } catch {
      return false;
    }
  }

  #goReadOnly(reason: string | undefined): void {
    readOnly.add(this.file);
    warnOnce(
      `DHCORE_CONFIG_NOT_WRITABLE:${this.file}`,
      `Cannot write ${this.file} (${reason ?? 'error'}): new tokens are kept in memory for this process only; make the file writable to keep them across runs.`,
    );
  }

  #remember(change: ProfileChange): void {
    const key = overlayKey(this.file, this.profile);
    let overlay = overlays.get(key);
    if (!overlay) {
      overlay = { set: new Map(), deleted: new Set() };
      overlays.set(key, overlay);
    }
    for (const [k, v] of Object.entries(change.set ?? {})) {
      overlay.set.set(k.toLowerCase(), v);
      overlay.deleted.delete(k.toLowerCase());
    }
    for (const k of change.delete ?? []) {
      overlay.set.delete(k.toLowerCase());
      overlay.deleted.add(k.toLowerCase());
    }
  }

  #withOverlay(values: ProfileValues): ProfileValues {
    const overlay = overlays.get(overlayKey(this.file, this.profile));
    if (!overlay) return values;
    const out = { ...values };
    for (const k of overlay.deleted) delete out[k];
    for (const [k, v] of overlay.set) out[k] = v;
    return out;
  }
}

function forget(overlay: Overlay, key: string): void {
  overlay.set.delete(key.toLowerCase());
  overlay.deleted.delete(key.toLowerCase());
}

function isEmpty(change: ProfileChange): boolean {
  return Object.keys(change.set ?? {}).length === 0 && (change.delete ?? []).length === 0;
}

/**
 * Apply a change to a profile section (created if needed); deletes only keys the section itself holds.
 * One batch: the section is re-scanned once, not once per key.
 */
export function applyChange(doc: IniDocument, profile: string, change: ProfileChange): void {
  const set: Record<string, string> = {};
  for (const [k, v] of Object.entries(change.set ?? {})) set[k.toLowerCase()] = v;
  doc.update(profile, { set, delete: (change.delete ?? []).map((k) => k.toLowerCase()) });
}

/** Serializes in-memory updates per file+profile (the file lock does it for file updates). */
const withMemoryQueue = keyedQueue();
