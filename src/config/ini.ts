/**
 * The `~/.dhcore.ini` dialect: Python `configparser` with its default settings, read exactly as Python
 * reads it, and edited without losing a byte of what we did not touch.
 *
 * This layer is ours because no npm package both reads configparser files faithfully (continuation
 * lines, `[DEFAULT]` inheritance, `%` interpolation, strict duplicates) and edits them losslessly
 * (comments, blank lines, order, spacing). It is proved against python3's configparser in
 * `test/ini-python.test.ts`.
 *
 * Model: the file is a list of blocks — the lines before the first header, then each header with every
 * line up to the next one — each kept as its source text. One scan replays configparser's `_read`
 * state machine over the whole file and indexes each block's keys compactly (offsets in typed arrays,
 * no object per line or key), so a 50 MB file costs little more than its text. Values are read from
 * the text when asked; `%` interpolation runs per read, within a budget.
 *
 * Edits only ever replace a whole entry by a well-formed one with the same indentation, remove one, or
 * add entries after a section's last key. None of these changes how configparser reads any other
 * line, so a batch of sets and deletes splices the block's text (as pieces, not a copy) and shifts
 * its key index instead of re-scanning: a token save is linear in the file size. Structural edits
 * (adding or removing a section) re-scan only the blocks they touch. The differential tests in
 * `test/ini-python.test.ts` hold this against python and against the previous, re-scanning model.
 *
 * Bytes that are not UTF-8 are kept: they read as U+DC80..U+DCFF and are written back as they were.
 *
 * One deliberate leniency: a leading UTF-8 BOM is accepted (and written back), as Python does when it
 * reads with encoding 'utf-8-sig'; plain 'utf-8' Python would reject such a file.
 */
import { ConfigError, type ErrorCode } from '../errors.js';

// A builtin through process.getBuiltinModule(), not an ESM import: shorter cold start (see resolve.ts).
const { isUtf8 } = process.getBuiltinModule('node:buffer');

const DEFAULT_SECTION = 'DEFAULT';
const MAX_INTERPOLATION_DEPTH = 10;
/**
 * Budget of one interpolated read. Python has none: ten levels of `%(x)s` repeated a few times make a
 * few hundred bytes expand to gigabytes (it runs for minutes, then V8 dies). No real value comes close.
 */
const MAX_EXPANDED_CHARS = 1 << 20;
const MAX_REFERENCES = 10_000;
/** Characters encoded at a time by {@link IniDocument.chunks}. */
const CHUNK = 1 << 18;

const NEWLINE_RE = /\r\n|\r|\n/;
const KEYREF_RE = /^%\(([^)]+)\)s/;

const LF = 10;
const CR = 13;

/** Python's `str.isspace()` (identical to `re`'s `\s` for str): unlike JS `\s`, it has \x1c-\x1f and \x85, not \ufeff. */
function isWs(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x1f);
  if (c < 0x85) return false;
  return (
    c === 0x85 ||
    c === 0xa0 ||
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000
  );
}

/** Length of the leading whitespace (configparser's indentation level). */
/** A cheap test that is true for most characters, all of which `isWs` rejects. */
function notWs(c: number): boolean {
  return c > 0x20 && c < 0x85;
}

function indentOf(s: string): number {
  let i = 0;
  while (i < s.length && isWs(s.charCodeAt(i))) i++;
  return i;
}

function rstrip(s: string): string {
  let end = s.length;
  while (end > 0 && isWs(s.charCodeAt(end - 1))) end--;
  return end === s.length ? s : s.slice(0, end);
}

const strip = (s: string): string => rstrip(s.slice(indentOf(s)));
const leadingWs = (s: string): string => s.slice(0, indentOf(s));

/** Index of the first '\r' or '\n' at or after `pos` (before `limit`), else `limit`. */
function eolIndex(text: string, pos: number, limit: number): number {
  // A regular expression, not a loop over charCodeAt: the search runs natively, and a start (which reads a
  // file once) never runs long enough in the interpreter for V8 to compile the loop (time and megabytes).
  EOL.lastIndex = pos;
  const found = EOL.exec(text);
  return found === null || found.index > limit ? limit : found.index;
}
const EOL = /[\r\n]/g;

/** Where the next line starts, given the index of a line's terminator (or the end of the text). */
function skipEol(text: string, eol: number): number {
  if (eol >= text.length) return eol;
  return text.charCodeAt(eol) === CR && text.charCodeAt(eol + 1) === LF ? eol + 2 : eol + 1;
}

function isEol(c: number): boolean {
  return c === LF || c === CR;
}

/**
 * The first `=` or `:` in `text[from, to)`, else `to`. Native searches, not a loop over charCodeAt: a start
 * reads every line of the file once, in the interpreter, where such loops are what costs.
 */
function delimiterIndex(text: string, from: number, to: number): number {
  DELIMITER.lastIndex = from;
  const found = DELIMITER.exec(text);
  // The search stops at a line's end too: a line without a delimiter must not scan the rest of the file.
  if (found === null || found.index > to) return to;
  const c = text.charCodeAt(found.index);
  return c === LF || c === CR ? to : found.index;
}
const DELIMITER = /[=:\r\n]/g;

/** FNV-1a of a (lower-case) key. */
function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h | 0;
}

/** hashString(text.slice(from, to).toLowerCase()) without building the string when it is ASCII. */
function hashKey(text: string, from: number, to: number): number {
  let h = 0x811c9dc5;
  for (let i = from; i < to; i++) {
    let c = text.charCodeAt(i);
    if (c >= 0x80) return hashString(text.slice(from, to).toLowerCase());
    if (c >= 65 && c <= 90) c += 32;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h | 0;
}

/** Where the key of the key line starting at `start` begins and ends (delimiter excluded, right-stripped). */
function keyBounds(text: string, start: number): [number, number] {
  const le = eolIndex(text, start, text.length);
  let vs = start;
  while (vs < le && isWs(text.charCodeAt(vs))) vs++;
  let d = delimiterIndex(text, vs, le);
  while (d > vs && isWs(text.charCodeAt(d - 1))) d--;
  return [vs, d];
}

/**
 * Whether the (lower-case) key of the key line at `start` begins with `prefix` (lower-case ASCII, with no
 * whitespace or delimiter: so a key whose first characters match is at least that long).
 */
function keyStartsWith(text: string, start: number, prefix: string): boolean {
  let pos = start;
  while (pos < text.length && isWs(text.charCodeAt(pos))) pos++;
  for (let i = 0; i < prefix.length; i++) {
    const c = text.charCodeAt(pos + i);
    // Beyond ASCII, lower-casing may change lengths (U+0130) or give ASCII (U+212A is 'k'): ask keyAt.
    if (c >= 0x80) return keyAt(text, start).startsWith(prefix);
    if ((c >= 0x41 && c <= 0x5a ? c + 0x20 : c) !== prefix.charCodeAt(i)) return false;
  }
  return true;
}

/** The (lower-case) key of the key line starting at `start`. */
function keyAt(text: string, start: number): string {
  const [from, to] = keyBounds(text, start);
  return text.slice(from, to).toLowerCase();
}

/**
 * The raw value of the entry whose lines are `text[start, end)`: the key line's value after the
 * delimiter, then each continuation line stripped, blank lines kept, comment lines dropped, joined
 * with '\n' and right-stripped — configparser's stored value.
 */
function rawAt(text: string, start: number, end: number): string {
  let le = eolIndex(text, start, end);
  const d = delimiterIndex(text, start, le);
  const first = strip(text.slice(d + 1, le));
  let pos = skipEol(text, le);
  if (pos >= end) return first;
  const parts = [first];
  while (pos < end) {
    le = eolIndex(text, pos, end);
    const value = strip(text.slice(pos, le));
    if (!value.startsWith('#') && !value.startsWith(';')) parts.push(value);
    pos = skipEol(text, le);
  }
  return parts.length === 1 ? first : rstrip(parts.join('\n'));
}

/**
 * The keys of one block, without an object per key: in file order, the offset of each key line and
 * the offset just past the entry's last line (terminator included) in the block's text, and the hash
 * of its lower-case key; plus an open-addressing table from that hash to the key's position.
 */
class KeyIndex {
  count: number;
  #data: Int32Array; // stride 4: start, end, hash, (unused); may have room beyond count
  #slots: Int32Array; // position + 1; 0 = free
  /** The first key (by position) equal to an earlier one, or -1. */
  readonly duplicate: number = -1;

  /** Index the first `count` keys of `data`; with the block's `text`, also find a duplicate. */
  constructor(data: Int32Array, count: number, text?: string, slots?: Int32Array) {
    this.#data = data;
    this.count = count;
    if (slots) {
      this.#slots = slots;
      return;
    }
    let size = 8;
    while (size * 3 < count * 4) size *= 2;
    this.#slots = new Int32Array(size);
    const mask = size - 1;
    for (let i = 0; i < count; i++) {
      const hash = this.hash(i);
      let s = hash & mask;
      for (let slot = this.#slots[s]!; slot !== 0; slot = this.#slots[s]!) {
        const j = slot - 1;
        if (
          text !== undefined &&
          this.duplicate < 0 &&
          this.hash(j) === hash &&
          keyAt(text, this.start(j)) === keyAt(text, this.start(i))
        ) {
          this.duplicate = i;
        }
        s = (s + 1) & mask;
      }
      this.#slots[s] = i + 1;
    }
  }

  /** An index of its own with the same keys (edits of one leave the other as it was). */
  copy(): KeyIndex {
    return new KeyIndex(this.#data.slice(0, this.count * 4), this.count, undefined, this.#slots.slice());
  }

  start(i: number): number {
    return this.#data[i * 4]!;
  }
  end(i: number): number {
    return this.#data[i * 4 + 1]!;
  }
  hash(i: number): number {
    return this.#data[i * 4 + 2]!;
  }

  /** Move the keys [from, to) by `delta` characters. */
  shift(from: number, to: number, delta: number): void {
    if (delta === 0) return;
    for (let i = from; i < to; i++) {
      this.#data[i * 4]! += delta;
      this.#data[i * 4 + 1]! += delta;
    }
  }

  /** Put the (same) key at position i on new offsets. */
  move(i: number, start: number, end: number): void {
    this.#data[i * 4] = start;
    this.#data[i * 4 + 1] = end;
  }

  /** Add a key after the last one. */
  push(start: number, end: number, hash: number): void {
    const i = this.count++;
    if (this.#data.length < this.count * 4) {
      const grown = new Int32Array(this.count * 8);
      grown.set(this.#data.subarray(0, i * 4));
      this.#data = grown;
    }
    this.#data.set([start, end, hash, 0], i * 4);
    if (this.count * 4 > this.#slots.length * 3) {
      this.#slots = new Int32Array(this.#slots.length * 2);
      for (let j = 0; j < this.count; j++) this.#place(j);
    } else {
      this.#place(i);
    }
  }

  /** Position of `key` (lower-case) in this block, whose text is `text`; -1 if absent. */
  find(key: string, text: string, hash = hashString(key)): number {
    const mask = this.#slots.length - 1;
    for (let s = hash & mask; ; s = (s + 1) & mask) {
      const slot = this.#slots[s]!;
      if (slot === 0) return -1;
      if (this.hash(slot - 1) === hash && keyAt(text, this.start(slot - 1)) === key) return slot - 1;
    }
  }

  #place(i: number): void {
    const mask = this.#slots.length - 1;
    let s = this.hash(i) & mask;
    while (this.#slots[s] !== 0) s = (s + 1) & mask;
    this.#slots[s] = i + 1;
  }
}

/** One header line with every line up to the next header, or the lines before the first header. */
interface Block {
  /** Section name; null for the lines before the first header. */
  name: string | null;
  /** Source text, line terminators included, as pieces (joined when first read after an edit). */
  pieces: string[];
  keys: KeyIndex;
  /** Scanner state after its last line: whether a deeper-indented line would continue a value, and the indentation it compares with. */
  open: boolean;
  indentLevel: number;
  /** Line starts, built only to name a line in an error. */
  lineStarts?: number[];
}

function textOf(block: Block): string {
  if (block.pieces.length !== 1) block.pieces = [block.pieces.join('')];
  return block.pieces[0]!;
}

function lineStartsOf(block: Block): number[] {
  if (!block.lineStarts) {
    const text = textOf(block);
    const starts = [0];
    for (let pos = 0; pos < text.length; ) {
      pos = skipEol(text, eolIndex(text, pos, text.length));
      if (pos < text.length) starts.push(pos);
    }
    block.lineStarts = text === '' ? [] : starts;
  }
  return block.lineStarts;
}

/** A key found in a block. */
interface Ref {
  block: Block;
  ord: number;
  key: string;
}

/**
 * configparser's `RawConfigParser._read` for the default settings, line by line, over `text`; returns
 * its blocks. Like Python, a line that is not a header, comment or `key = value` is remembered and
 * reported after the whole text was read, while duplicates and a missing first header are reported at
 * once. `lineBase` is the number of lines before `text` in the file (for messages).
 */
function scan(text: string, file: string | undefined, lineBase = 0): Block[] {
  const blocks: Block[] = [];
  const names = new Set<string>();
  const defaults: Block[] = [];
  // The keys of the block being read, as (start, end, hash, line) in one array reused for every block;
  // sized from the text (pages never written cost no memory) so a big block rarely makes it grow.
  let keys = new Int32Array(Math.max(64, Math.ceil(text.length / 24)) * 4);
  let count = 0;
  let cur = { name: null as string | null, start: 0 };
  let open = false; // configparser's optname: a key whose value deeper-indented lines continue
  let indentLevel = 0;
  let syntaxLine = 0;
  let line = 0;
  const error = (code: ErrorCode, at: number, message: string): ConfigError =>
    new ConfigError(code, `${where(file, lineBase + at + 1)}: ${message}`, { file, line: lineBase + at + 1 });
  // Duplicate keys are found when their block ends, which reports the same first duplicate: no other
  // error can come from the lines of a block after its first key.
  const finish = (end: number, tailOpen: boolean, tailIndent: number): void => {
    const piece = text.slice(cur.start, end);
    // A big block keeps the array it was read into (its untouched room costs no memory); a small
    // one gets a copy of its part.
    const big = count > 4096;
    const index = new KeyIndex(big ? keys : keys.slice(0, count * 4), count, piece);
    let dup = index.duplicate;
    if (cur.name === DEFAULT_SECTION && defaults.length > 0) {
      for (let i = 0; i < (dup < 0 ? count : dup); i++) {
        const key = keyAt(piece, index.start(i));
        if (defaults.some((b) => b.keys.find(key, textOf(b), index.hash(i)) >= 0)) {
          dup = i;
          break;
        }
      }
    }
    if (dup >= 0) {
      throw error(
        'config_duplicate_key',
        keys[dup * 4 + 3]!,
        `key "${keyAt(piece, index.start(dup))}" appears twice in section [${cur.name}] (keys are case-insensitive)`,
      );
    }
    count = 0;
    if (big) keys = new Int32Array(Math.max(64, Math.ceil((text.length - end) / 24)) * 4);
    if (cur.name === null && piece === '') return;
    const block: Block = {
      name: cur.name,
      pieces: [piece],
      keys: index,
      open: tailOpen,
      indentLevel: tailIndent,
    };
    blocks.push(block);
    if (block.name === DEFAULT_SECTION) defaults.push(block);
  };

  const n = text.length;
  let pos = 0;
  let cr = text.indexOf('\r');
  let lf = text.indexOf('\n');
  for (; pos < n; line++) {
    if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
    if (lf !== -1 && lf < pos) lf = text.indexOf('\n', pos);
    let end = n;
    let next = n;
    if (cr !== -1 && (lf === -1 || cr < lf)) {
      end = cr;
      next = text.charCodeAt(cr + 1) === LF ? cr + 2 : cr + 1;
    } else if (lf !== -1) {
      end = lf;
      next = lf + 1;
    }
    const lineStart = pos;
    pos = next;
    // Most lines neither start nor end with whitespace: no calls then (codes 33–132 are never whitespace).
    let vs = lineStart;
    if (!notWs(text.charCodeAt(vs))) while (vs < end && isWs(text.charCodeAt(vs))) vs++;
    let ve = end;
    if (!notWs(text.charCodeAt(ve - 1))) while (ve > vs && isWs(text.charCodeAt(ve - 1))) ve--;
    const c0 = vs < ve ? text.charCodeAt(vs) : -1;
    if (c0 === 35 || c0 === 59 || vs === ve) continue; // comment, or blank (an open value gains an empty line)
    const indent = vs - lineStart;
    if (open && indent > indentLevel) {
      keys[(count - 1) * 4 + 1] = next - cur.start; // continuation line of the last key
      continue;
    }
    const tailIndent = indentLevel;
    indentLevel = indent;
    let close = -1;
    if (c0 === 91) {
      for (let j = ve - 1; j >= vs + 2; j--) {
        if (text.charCodeAt(j) === 93) {
          close = j;
          break;
        }
      }
    }
    if (close >= 0) {
      const name = text.slice(vs + 1, close);
      finish(lineStart, open, tailIndent);
      if (name !== DEFAULT_SECTION && names.has(name)) {
        throw error('config_duplicate_section', line, `section [${name}] appears twice`);
      }
      names.add(name);
      cur = { name, start: lineStart };
      open = false;
      continue;
    }
    if (cur.name === null) {
      throw error(
        'config_missing_section_header',
        line,
        'a key appears before any [section] header (start the file with e.g. [DEFAULT] or [__default])',
      );
    }
    const d = delimiterIndex(text, vs, ve);
    if (d === ve) {
      syntaxLine ||= line + 1;
      continue; // configparser keeps the current key, so later indented lines still continue it
    }
    let ke = d;
    while (ke > vs && isWs(text.charCodeAt(ke - 1))) ke--;
    if (ke === vs) syntaxLine ||= line + 1;
    if (keys.length < (count + 1) * 4) {
      const grown = new Int32Array(keys.length * 2);
      grown.set(keys);
      keys = grown;
    }
    const k = count++ * 4;
    keys[k] = lineStart - cur.start;
    keys[k + 1] = next - cur.start;
    keys[k + 2] = hashKey(text, vs, ke);
    keys[k + 3] = line;
    open = ke > vs;
  }
  finish(n, open, indentLevel);
  if (syntaxLine) {
    throw error(
      'config_syntax',
      syntaxLine - 1,
      "line is not a [section] header, a comment or 'key = value' (continuation lines must be indented)",
    );
  }
  return blocks;
}

/**
 * A pending change of one block: replace the entry at `ord` (or, with `ord` -1, insert at `at`) by
 * the entries `keys`, whose text is `insert` (`ends[i]`: where entry i ends in it).
 */
interface Edit {
  ord: number;
  at: number;
  end: number;
  insert: string;
  keys: string[];
  ends: number[];
  /** Indentation of the inserted entries' key lines. */
  indent: number;
  /** Length of a line ending put before them (to end a last line that had none). */
  prefix: number;
}

/** Keys to set and keys to delete in one section, applied with one re-scan per block touched. */
export interface IniChange {
  set?: Readonly<Record<string, string>>;
  delete?: readonly string[];
}

// Bytes that are not UTF-8 are read as U+DC80..U+DCFF ("surrogateescape") and written back as they
// were: a lone low surrogate cannot come out of decoding valid UTF-8.
const ESCAPED_RE = /(?<![\ud800-\udbff])[\udc80-\udcff]/;

/** UTF-8 → text, each byte of an invalid sequence as U+DC00 + byte. */
function decodeEscaped(bytes: Uint8Array): string {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const parts: string[] = [];
  let run = 0;
  let i = 0;
  const n = buf.length;
  while (i < n) {
    const b = buf[i]!;
    let len = 0;
    if (b < 0x80) len = 1;
    else if (b >= 0xc2 && b <= 0xdf) len = 2;
    else if (b >= 0xe0 && b <= 0xef) len = 3;
    else if (b >= 0xf0 && b <= 0xf4) len = 4;
    let ok = len > 0 && i + len <= n;
    for (let k = 1; ok && k < len; k++) ok = (buf[i + k]! & 0xc0) === 0x80;
    if (ok && len === 3) {
      const b1 = buf[i + 1]!;
      ok = !(b === 0xe0 && b1 < 0xa0) && !(b === 0xed && b1 >= 0xa0); // overlong, surrogates
    } else if (ok && len === 4) {
      const b1 = buf[i + 1]!;
      ok = !(b === 0xf0 && b1 < 0x90) && !(b === 0xf4 && b1 >= 0x90); // overlong, > U+10FFFF
    }
    if (ok) {
      i += len;
      continue;
    }
    if (run < i) parts.push(buf.toString('utf8', run, i));
    parts.push(String.fromCharCode(0xdc00 + b));
    i++;
    run = i;
  }
  if (run < n) parts.push(buf.toString('utf8', run, n));
  return parts.join('');
}

function writeEscaped(piece: string, out: Buffer, at: number): number {
  if (!ESCAPED_RE.test(piece)) return at + out.write(piece, at, 'utf8');
  let pos = at;
  forEachRun(piece, (run) => {
    if (typeof run === 'number') out[pos++] = run;
    else pos += out.write(run, pos, 'utf8');
  });
  return pos;
}

/** Runs of ordinary text and escaped bytes (as numbers) of a piece. */
function forEachRun(piece: string, fn: (run: string | number) => void): void {
  let from = 0;
  for (let i = 0; i < piece.length; i++) {
    const c = piece.charCodeAt(i);
    if (c < 0xdc80 || c > 0xdcff) continue;
    const before = i > 0 ? piece.charCodeAt(i - 1) : 0;
    if (before >= 0xd800 && before <= 0xdbff) continue;
    if (from < i) fn(piece.slice(from, i));
    fn(c - 0xdc00);
    from = i + 1;
  }
  if (from < piece.length) fn(piece.slice(from));
}

/**
 * A configparser file that can be read and edited. Parsing throws ConfigError for syntax errors (code
 * 'config_syntax'), duplicates ('config_duplicate_section' / 'config_duplicate_key'), a key before any
 * section ('config_missing_section_header'); reading a value with broken `%` syntax throws
 * 'config_interpolation'. Messages name the file and line (ConfigError.file/.line), never a value.
 */
export class IniDocument {
  readonly file: string | undefined;
  private readonly bom: string;
  private readonly nl: string;
  /** Whether the source held bytes that are not UTF-8 (kept as they were, see {@link toBytes}). */
  private readonly escaped: boolean;
  private blocks: Block[];
  private named = new Map<string, Block>();
  private defaults: Block[] = [];

  private constructor(text: string, file: string | undefined, escaped: boolean) {
    this.file = file;
    this.escaped = escaped;
    this.bom = text.startsWith('\ufeff') ? '\ufeff' : '';
    const body = this.bom ? text.slice(1) : text;
    const eol = eolIndex(body, 0, body.length);
    this.nl = eol === body.length ? '\n' : body.slice(eol, skipEol(body, eol));
    this.blocks = scan(body, file);
    this.reindex();
  }

  /** Parse like Python configparser defaults (see the module comment); throws ConfigError on bad input. */
  static parse(text: string, file?: string): IniDocument {
    return new IniDocument(text, file, ESCAPED_RE.test(text));
  }

  /**
   * Parse the bytes of a file (or its text, already decoded from valid UTF-8). Bytes that are not
   * UTF-8 (a comment saved as Latin-1 …) are kept: they read as U+DC80..U+DCFF and {@link toBytes}
   * writes them back exactly.
   */
  static fromBytes(bytes: Uint8Array | string, file?: string): IniDocument {
    // Text decoded from a file without U+FFFD came from valid UTF-8 (see readConfigSync).
    if (typeof bytes === 'string') return new IniDocument(bytes, file, false);
    const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (isUtf8(buf)) return new IniDocument(buf.toString('utf8'), file, false);
    return new IniDocument(decodeEscaped(buf), file, true);
  }

  static empty(file?: string): IniDocument {
    return new IniDocument('', file, false);
  }

  /**
   * A document of its own with the same content: edits of either leave the other as it was. The text is
   * shared (strings are immutable), only the key indexes are copied, so it costs a fraction of a parse.
   */
  clone(): IniDocument {
    const copy = Object.create(IniDocument.prototype) as IniDocument;
    const blocks = this.blocks.map((b) => ({ ...b, pieces: [...b.pieces], keys: b.keys.copy() }));
    Object.assign(copy, this, { blocks });
    copy.reindex();
    return copy;
  }

  /**
   * Whether this document's bytes ({@link toBytes}) are exactly the `size` bytes that `read(into, position)`
   * gives (it fills `into` from that position and returns the count, like fs.readSync). Compared a chunk at
   * a time, so nothing the size of the file is allocated: a caller about to parse a file again can keep
   * this document instead when the file still holds it.
   */
  sameBytes(size: number, read: (into: Buffer, position: number) => number): boolean {
    let position = 0;
    let theirs = Buffer.alloc(0);
    for (const ours of this.chunks()) {
      if (position + ours.length > size) return false;
      if (theirs.length < ours.length) theirs = Buffer.allocUnsafe(ours.length);
      for (let got = 0; got < ours.length; ) {
        const r = read(theirs.subarray(got, ours.length), position + got);
        if (r <= 0) return false;
        got += r;
      }
      if (!ours.equals(theirs.subarray(0, ours.length))) return false;
      position += ours.length;
    }
    return position === size;
  }

  /** Section names in file order, without DEFAULT (like configparser.sections()). */
  sections(): string[] {
    return [...this.named.keys()];
  }

  /** Whether the section exists; for 'DEFAULT', whether the file has a `[DEFAULT]` header. */
  hasSection(name: string): boolean {
    return name === DEFAULT_SECTION ? this.defaults.length > 0 : this.named.has(name);
  }

  /** Interpolated value with [DEFAULT] inheritance; key case-insensitive; undefined if absent. */
  get(section: string, key: string): string | undefined {
    const ref = this.lookup(section, key.toLowerCase());
    return ref && this.interpolate(section, ref);
  }

  /** All keys → interpolated values, own keys first then inherited DEFAULT ones (like dict(cp[section])). */
  items(section: string): Record<string, string> {
    if (!this.exists(section)) {
      throw new ConfigError('config_no_section', `${where(this.file)}: no section [${section}]`, {
        file: this.file,
      });
    }
    const out = new Map<string, string>();
    for (const key of this.keys(section)) out.set(key, this.get(section, key)!);
    return Object.fromEntries(out); // own data properties, even for a key named '__proto__'
  }

  /** Keys of a section, own first then inherited DEFAULT ones (like list(cp[section])); [] without it. */
  keys(section: string): string[] {
    if (!this.exists(section)) return [];
    const keys = this.ownKeys(section);
    if (section !== DEFAULT_SECTION) {
      const own = new Set(keys);
      for (const k of this.ownKeys(DEFAULT_SECTION)) if (!own.has(k)) keys.push(k);
    }
    return keys;
  }

  /**
   * Each key of a section in the order of {@link keys}, with a function that reads its interpolated
   * value (throwing as {@link get} does): keys() and get() without looking each key up again. With
   * `prefixes` (lower-case ASCII, without whitespace or delimiters), only the keys that begin with one.
   */
  forEach(
    section: string,
    fn: (key: string, read: () => string) => void,
    prefixes?: readonly string[],
  ): void {
    if (!this.exists(section)) return;
    const visit = (block: Block, inherited: boolean) => {
      const text = textOf(block);
      for (let ord = 0; ord < block.keys.count; ord++) {
        // Checked on the text first: a section of a million keys is not turned into a million strings.
        if (prefixes && !prefixes.some((p) => keyStartsWith(text, block.keys.start(ord), p))) continue;
        const key = keyAt(text, block.keys.start(ord));
        if (inherited && this.findOwn(section, key)) continue;
        fn(key, () => this.interpolate(section, { block, ord, key }));
      }
    };
    for (const b of this.own(section)) visit(b, false);
    if (section !== DEFAULT_SECTION) for (const b of this.defaults) visit(b, true);
  }

  /** Raw (uninterpolated) value as stored, with [DEFAULT] inheritance. */
  getRaw(section: string, key: string): string | undefined {
    const ref = this.lookup(section, key.toLowerCase());
    return ref && this.raw(ref);
  }

  /** Keys defined directly in a section (lower-case), without inherited DEFAULT ones. */
  ownKeys(section: string): string[] {
    const keys: string[] = [];
    for (const b of this.own(section)) {
      const text = textOf(b);
      for (let i = 0; i < b.keys.count; i++) keys.push(keyAt(text, b.keys.start(i)));
    }
    return keys;
  }

  /**
   * Set a value so that configparser reads back `value` (with '%' written as '%%'). configparser strips
   * each line of a value, drops trailing empty lines and reads '\r' as a line break, so the value read
   * back is normalized the same way; a continuation line starting with '#' or ';' cannot be stored
   * (configparser would read it as a comment) and is refused with 'config_invalid_value'.
   */
  set(section: string, key: string, value: string): void {
    this.checkKey(key);
    this.update(section, { set: { [key]: value } });
  }

  /** Delete a key (and its continuation lines) defined directly in a section. Returns whether it existed. */
  delete(section: string, key: string): boolean {
    if (!this.findOwn(section, key.toLowerCase())) return false;
    this.update(section, { delete: [key] });
    return true;
  }

  /**
   * Set and delete many keys of one section at once, as `set()` for each key of `change.set` then
   * `delete()` for each of `change.delete` would (a key in both ends up deleted), in time linear in
   * the size of what changes: the blocks touched are neither copied nor re-scanned. Nothing changes if
   * a key or value is refused.
   */
  update(section: string, change: IniChange): void {
    this.checkSection(section);
    const deletes = new Set((change.delete ?? []).map((k) => k.toLowerCase()));
    const sets = new Map<string, string[]>();
    const setEntries = Object.entries(change.set ?? {});
    for (const [key, value] of setEntries) {
      this.checkKey(key);
      const k = key.toLowerCase();
      const lines = this.valueLines(section, k, value);
      if (deletes.has(k)) sets.delete(k);
      else sets.set(k, lines);
    }
    if (setEntries.length > 0 && !this.hasSection(section)) this.addSection(section);
    const edits = new Map<Block, Edit[]>();
    const edit = (block: Block, e: Edit) => {
      const list = edits.get(block);
      if (list) list.push(e);
      else edits.set(block, [e]);
    };
    const added: [string, string[]][] = [];
    for (const [k, lines] of sets) {
      const ref = this.findOwn(section, k);
      if (!ref) {
        added.push([k, lines]);
        continue;
      }
      const { block, ord } = ref;
      const indent = indentOf(lineAt(textOf(block), block.keys.start(ord)));
      const insert = this.entryText(leadingWs(lineAt(textOf(block), block.keys.start(ord))), k, lines);
      edit(block, {
        ord,
        at: block.keys.start(ord),
        end: block.keys.end(ord),
        insert,
        keys: [k],
        ends: [insert.length],
        indent,
        prefix: 0,
      });
    }
    for (const k of deletes) {
      const ref = this.findOwn(section, k);
      if (!ref) continue;
      const { block, ord } = ref;
      edit(block, {
        ord,
        at: block.keys.start(ord),
        end: block.keys.end(ord),
        insert: '',
        keys: [],
        ends: [],
        indent: 0,
        prefix: 0,
      });
    }
    if (added.length > 0) {
      // New keys go after the section's last key (with its indentation), else right after its header.
      const own = this.own(section);
      const withKeys = own.filter((b) => b.keys.count > 0);
      const last = withKeys[withKeys.length - 1];
      let block: Block;
      let at: number;
      let indent = '';
      if (last) {
        block = last;
        const ord = last.keys.count - 1;
        at = last.keys.end(ord);
        indent = leadingWs(lineAt(textOf(last), last.keys.start(ord)));
      } else {
        block = own[own.length - 1]!;
        const text = textOf(block);
        at = skipEol(text, eolIndex(text, 0, text.length));
      }
      const texts = added.map(([k, lines]) => this.entryText(indent, k, lines));
      const ends: number[] = [];
      let len = 0;
      for (const t of texts) {
        len += t.length;
        ends.push(len);
      }
      edit(block, {
        ord: -1,
        at,
        end: at,
        insert: texts.join(''),
        keys: added.map(([k]) => k),
        ends,
        indent: indent.length,
        prefix: 0,
      });
    }
    for (const [block, list] of edits) this.applyEdits(block, list);
  }

  /** Append `[name]` at the end of the file (after a blank line); no-op if it exists. */
  addSection(name: string): void {
    this.checkSection(name);
    if (this.hasSection(name)) return;
    const last = this.blocks[this.blocks.length - 1];
    if (last) {
      const text = textOf(last);
      const noEol = !isEol(text.charCodeAt(text.length - 1));
      const nonBlank = strip(text.slice(lastLineStart(text))) !== '';
      // An empty line right after a '\r' ends in '\r\n', or the two would read as one line break.
      const blank = !noEol && text.endsWith('\r') && this.nl === '\n' ? '\r\n' : this.nl;
      if (noEol || nonBlank) this.rewrite(last, text + (noEol ? this.nl : '') + (nonBlank ? blank : ''));
    }
    this.blocks.push(...scan(`[${name}]${this.nl}`, this.file));
    this.reindex();
  }

  /** Remove a section's header(s) and every line up to the next section header. */
  removeSection(name: string): boolean {
    const own = name === DEFAULT_SECTION ? this.defaults : this.own(name);
    if (own.length === 0) return false;
    for (const block of [...own].reverse()) {
      const i = this.blocks.indexOf(block);
      this.blocks.splice(i, 1);
      this.unswallow(i - 1);
    }
    this.reindex();
    return true;
  }

  /** Serialized text; untouched lines are byte-for-byte as parsed, so parse(x).toString() === x. */
  toString(): string {
    return this.bom + this.blocks.map(textOf).join('');
  }

  /** The file's bytes: untouched lines exactly as read (bytes that were not UTF-8 included). */
  toBytes(): Buffer {
    return Buffer.concat([...this.chunks()]);
  }

  /**
   * The bytes of {@link toBytes} a chunk (of at most ~768 KiB) at a time: a large file is written, or
   * compared, without a buffer the size of the file.
   */
  *chunks(): Generator<Buffer> {
    const pieces = [this.bom, ...this.blocks.flatMap((b) => b.pieces)];
    // A UTF-16 code unit is at most 3 bytes of UTF-8 (a surrogate pair, 2 units, is 4).
    const room =
      3 *
        Math.min(
          CHUNK,
          pieces.reduce((n, p) => n + p.length, 0),
        ) +
      3;
    let out = Buffer.allocUnsafe(room);
    let at = 0;
    for (const piece of pieces) {
      for (let i = 0; i < piece.length; ) {
        let end = Math.min(i + CHUNK, piece.length);
        // Never split a surrogate pair: each half alone would encode as U+FFFD.
        const last = piece.charCodeAt(end - 1);
        if (end < piece.length && last >= 0xd800 && last <= 0xdbff) end++;
        const part = piece.slice(i, end);
        // Small pieces (a profile each) are gathered: one write per chunk, not per piece.
        if (at + 3 * part.length > out.length) {
          yield out.subarray(0, at);
          out = Buffer.allocUnsafe(room);
          at = 0;
        }
        at = this.escaped ? writeEscaped(part, out, at) : at + out.write(part, at, 'utf8');
        i = end;
      }
    }
    if (at > 0) yield out.subarray(0, at);
  }

  // --- internals ---------------------------------------------------------------------------------

  private reindex(): void {
    this.named = new Map();
    this.defaults = [];
    for (const b of this.blocks) {
      if (b.name === DEFAULT_SECTION) this.defaults.push(b);
      else if (b.name !== null) this.named.set(b.name, b);
    }
  }

  /** DEFAULT always exists (possibly without a header); other sections when they have one. */
  private exists(section: string): boolean {
    return section === DEFAULT_SECTION || this.named.has(section);
  }

  /** The blocks holding a section's own keys. */
  private own(section: string): Block[] {
    if (section === DEFAULT_SECTION) return this.defaults;
    const b = this.named.get(section);
    return b ? [b] : [];
  }

  private findOwn(section: string, key: string): Ref | undefined {
    const hash = hashString(key);
    for (const block of this.own(section)) {
      const ord = block.keys.find(key, textOf(block), hash);
      if (ord >= 0) return { block, ord, key };
    }
    return undefined;
  }

  private lookup(section: string, key: string): Ref | undefined {
    if (!this.exists(section)) return undefined;
    return (
      this.findOwn(section, key) ??
      (section === DEFAULT_SECTION ? undefined : this.findOwn(DEFAULT_SECTION, key))
    );
  }

  private raw(ref: Ref): string {
    return rawAt(textOf(ref.block), ref.block.keys.start(ref.ord), ref.block.keys.end(ref.ord));
  }

  /** 1-based line number of a key in the file. */
  private lineOf(ref: Ref): number {
    let line = 1;
    for (const b of this.blocks) {
      if (b === ref.block) break;
      line += lineStartsOf(b).length;
    }
    const starts = lineStartsOf(ref.block);
    const start = ref.block.keys.start(ref.ord);
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= start) lo = mid;
      else hi = mid - 1;
    }
    return line + lo;
  }

  /**
   * Apply a block's edits, which replace whole entries with well-formed ones (same indentation,
   * continuation lines deeper) or add entries after the last one: every other line keeps how
   * configparser reads it, so the key index is shifted and patched instead of re-scanned, and the
   * text becomes pieces: slices of the old text around the new entries.
   */
  private applyEdits(block: Block, edits: Edit[]): void {
    const text = textOf(block);
    edits.sort((a, b) => a.at - b.at || a.end - b.end);
    const pieces: string[] = [];
    let pos = 0;
    let lastChar = -1;
    for (const [i, e] of edits.entries()) {
      if (e.at > pos) {
        pieces.push(text.slice(pos, e.at));
        lastChar = text.charCodeAt(e.at - 1);
      }
      // After a last line without terminator, end that line first (unless an edit just removed it).
      if (e.insert && e.at === text.length && lastChar !== -1 && !isEol(lastChar)) {
        e.insert = this.nl + e.insert;
        e.ends = e.ends.map((x) => x + this.nl.length);
        e.prefix = this.nl.length;
      }
      if (e.insert) lastChar = e.insert.charCodeAt(e.insert.length - 1);
      // A line ending in '\r' now right before an empty line ending in '\n' would read back as one
      // '\r\n': that empty line ends in '\r\n' instead (unless the next edit decides what follows).
      if (edits[i + 1]?.at !== e.end && lastChar === CR && text.charCodeAt(e.end) === LF) e.insert += '\r';
      if (e.insert) pieces.push(e.insert);
      pos = e.end;
    }
    if (pos < text.length) pieces.push(text.slice(pos));

    const old = block.keys;
    const oldCount = old.count;
    const appended = edits.find((e) => e.ord < 0);
    // The line ending put after a last line without one belongs to the entry on that line.
    const ended = (i: number) =>
      appended && appended.prefix > 0 && i === oldCount - 1 && old.end(i) === appended.at
        ? appended.prefix
        : 0;
    // The last entry decides the tail state: a new one's indentation is known, an old one's is read.
    let tailOld = oldCount - 1;
    let tailNew = -1;
    // Read before the fast path below moves the old keys.
    const tailIndentOf = (i: number) =>
      indentOf(lineAt(text, i === oldCount - 1 ? lastOldStart : old.start(i)));
    const lastOldStart = oldCount > 0 ? old.start(oldCount - 1) : 0;
    let keys: KeyIndex;
    if (!edits.some((e) => e.ord >= 0 && e.keys.length === 0)) {
      // Only entries replaced in place (same key, same position) and entries added at the end: move
      // the keys after each edit, keep the table.
      keys = old;
      let delta = 0;
      let from = 0;
      for (const e of edits) {
        if (e.ord < 0) continue;
        keys.shift(from, e.ord, delta);
        const at = e.at + delta;
        keys.move(e.ord, at + e.prefix, at + e.ends[0]!);
        if (e.ord === oldCount - 1) {
          tailOld = -1;
          tailNew = e.indent;
        }
        delta += e.insert.length - (e.end - e.at);
        from = e.ord + 1;
      }
      keys.shift(from, oldCount, delta);
      if (oldCount > 0 && ended(oldCount - 1))
        keys.move(oldCount - 1, keys.start(oldCount - 1), keys.end(oldCount - 1) + ended(oldCount - 1));
      if (appended) {
        const at = appended.at + delta;
        appended.keys.forEach((k, i) => {
          keys.push(
            at + (i === 0 ? appended.prefix : appended.ends[i - 1]!),
            at + appended.ends[i]!,
            hashString(k),
          );
        });
        if (appended.keys.length > 0) {
          tailOld = -1;
          tailNew = appended.indent;
        }
      }
    } else {
      // Keys removed: positions change, so the index is built anew from the old one and the edits.
      const byOrd = new Map<number, Edit>();
      let count = oldCount;
      for (const e of edits) {
        if (e.ord >= 0) byOrd.set(e.ord, e);
        count += e.keys.length - (e.ord >= 0 ? 1 : 0);
      }
      const data = new Int32Array(Math.max(count, 4) * 4);
      let n = 0;
      let delta = 0;
      tailOld = -1;
      const put = (start: number, end: number, hash: number) => {
        data.set([start, end, hash, 0], n * 4);
        n++;
      };
      const putEdit = (e: Edit, at: number) => {
        e.keys.forEach((k, i) => {
          put(at + (i === 0 ? e.prefix : e.ends[i - 1]!), at + e.ends[i]!, hashString(k));
          tailNew = e.indent;
          tailOld = -1;
        });
      };
      for (let i = 0; i < oldCount; i++) {
        const e = byOrd.get(i);
        if (e) {
          putEdit(e, e.at + delta);
          delta += e.insert.length - (e.end - e.at);
        } else {
          put(old.start(i) + delta, old.end(i) + delta + ended(i), old.hash(i));
          tailOld = i;
        }
      }
      if (appended) putEdit(appended, appended.at + delta);
      keys = new KeyIndex(data, n);
    }
    const n = keys.count;
    block.pieces = pieces;
    block.keys = keys;
    block.lineStarts = undefined;
    // Every key of a valid file is non-empty, so a block with keys ends open; without, the header's state.
    block.open = n > 0;
    block.indentLevel = tailOld >= 0 ? tailIndentOf(tailOld) : n > 0 ? tailNew : indentOf(text);
    this.unswallow(this.blocks.indexOf(block));
  }

  /** Replace a block's text and re-scan it (and only it); then keep the next header a header. */
  private rewrite(block: Block, text: string): void {
    const i = this.blocks.indexOf(block);
    let base = 0;
    for (let j = 0; j < i; j++) base += lineStartsOf(this.blocks[j]!).length;
    const scanned = scan(text, this.file, base);
    const fresh = scanned[0];
    if (scanned.length !== 1 || !fresh || fresh.name !== block.name) {
      throw new Error(`internal error: an edit of [${block.name}] changed the section structure`);
    }
    Object.assign(block, fresh, { lineStarts: undefined });
    this.unswallow(i);
  }

  /**
   * A header indented deeper than the key before it would be read as that key's continuation (possible
   * only when an edit adds a key before it or removes what stood between them): un-indent it.
   */
  private unswallow(i: number): void {
    const prev = this.blocks[i];
    const next = this.blocks[i + 1];
    if (!prev || !next || !prev.open) return;
    const text = textOf(next);
    const indent = indentOf(text);
    if (indent > prev.indentLevel) this.rewrite(next, text.slice(indent));
  }

  /** BasicInterpolation.before_get, step for step (same depth rule and errors). */
  private interpolate(section: string, entry: Ref): string {
    const fail = (what: string): ConfigError => {
      const line = this.lineOf(entry);
      return new ConfigError(
        'config_interpolation',
        `${where(this.file, line)}: bad interpolation in key "${entry.key}" of section [${section}]: ${what} (write a literal '%' as '%%')`,
        { file: this.file, line },
      );
    };
    const first = this.raw(entry);
    if (!first.includes('%')) return first;
    const raws = new Map<string, string | null>();
    const out: string[] = [];
    let length = 0;
    let references = 0;
    const emit = (s: string): void => {
      length += s.length;
      if (length > MAX_EXPANDED_CHARS)
        throw fail(`its %(name)s references expand to more than ${MAX_EXPANDED_CHARS} characters`);
      out.push(s);
    };
    const walk = (value: string, depth: number): void => {
      if (depth > MAX_INTERPOLATION_DEPTH)
        throw fail(`references nested deeper than ${MAX_INTERPOLATION_DEPTH}`);
      let rest = value;
      while (rest) {
        const p = rest.indexOf('%');
        if (p < 0) {
          emit(rest);
          return;
        }
        if (p > 0) {
          emit(rest.slice(0, p));
          rest = rest.slice(p);
        }
        const c = rest[1];
        if (c === '%') {
          emit('%');
          rest = rest.slice(2);
        } else if (c === '(') {
          const m = KEYREF_RE.exec(rest);
          if (!m) throw fail(`'%(' not followed by 'name)s'`);
          const name = m[1]!.toLowerCase();
          rest = rest.slice(m[0].length);
          let raw = raws.get(name);
          if (raw === undefined) {
            const ref = this.lookup(section, name);
            raw = ref ? this.raw(ref) : null;
            raws.set(name, raw);
          }
          if (raw === null) throw fail('a %(name)s reference names a key that does not exist');
          if (++references > MAX_REFERENCES)
            throw fail(`it makes more than ${MAX_REFERENCES} %(name)s references (counting nested ones)`);
          if (raw.includes('%')) walk(raw, depth + 1);
          else emit(raw);
        } else {
          throw fail(`'%' must be followed by '%' or '('`);
        }
      }
    };
    walk(first, 1);
    return out.join('');
  }

  /** The text of an entry (its key line and continuation lines), each line ended with the file's line ending. */
  private entryText(indent: string, key: string, valueLines: string[]): string {
    const [first = '', ...rest] = valueLines;
    const head = first ? `${indent}${key} = ${first}` : `${indent}${key} =`;
    return [head, ...rest.map((l) => `${indent}\t${l}`)].map((l) => l + this.nl).join('');
  }

  private valueLines(section: string, key: string, value: string): string[] {
    const parts = value.replaceAll('%', '%%').split(NEWLINE_RE).map(strip);
    while (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
    if (parts.slice(1).some((p) => p.startsWith('#') || p.startsWith(';'))) {
      throw new ConfigError(
        'config_invalid_value',
        `${where(this.file)}: cannot store key "${key}" of section [${section}]: a line of a multi-line value may not start with '#' or ';'`,
        { file: this.file },
      );
    }
    return parts;
  }

  private checkSection(name: string): void {
    if (name === '' || /[\]\r\n]/.test(name)) {
      throw new ConfigError(
        'config_invalid_key',
        `${where(this.file)}: invalid section name ${JSON.stringify(name)} (it must be non-empty, without ']' or line breaks)`,
        { file: this.file },
      );
    }
  }

  private checkKey(key: string): void {
    if (key === '' || /[=:\r\n]/.test(key) || /^[[#;]/.test(key) || strip(key) !== key) {
      throw new ConfigError(
        'config_invalid_key',
        `${where(this.file)}: invalid key ${JSON.stringify(key)} (it must be non-empty, without '=', ':', line breaks or surrounding whitespace, and not start with '[', '#' or ';')`,
        { file: this.file },
      );
    }
  }
}

function where(file: string | undefined, line?: number): string {
  const f = file ?? '<config>';
  return line === undefined ? f : `${f}, line ${line}`;
}

/** The text of the line starting at `start`, without its terminator. */
function lineAt(text: string, start: number): string {
  return text.slice(start, eolIndex(text, start, text.length));
}

/** Offset of the last line of a non-empty text. */
function lastLineStart(text: string): number {
  let end = text.length;
  if (isEol(text.charCodeAt(end - 1))) end -= text.endsWith('\r\n') ? 2 : 1;
  let i = end;
  while (i > 0 && !isEol(text.charCodeAt(i - 1))) i--;
  return i;
}
