/**
 * The previous IniDocument, kept as a reference for the differential tests of the fast one
 * (test/ini-python.test.ts): lines as objects, and every edit re-scans the whole file. Slow, but simple
 * enough to trust for where edits put lines. One change from the original: an empty line ending in
 * '\n' that an edit puts right after a line ending in '\r' ends in '\r\n', as the fast model writes
 * it (otherwise the two would read back as one line break).
 */
import { ConfigError, type ErrorCode } from '../../src/errors.js';

const DEFAULT_SECTION = 'DEFAULT';
const MAX_INTERPOLATION_DEPTH = 10;
/**
 * Budget of one interpolated read. Python has none: ten levels of `%(x)s` repeated a few times make a
 * few hundred bytes expand to gigabytes (it runs for minutes, then V8 dies). No real value comes close.
 */
const MAX_EXPANDED_CHARS = 1 << 20;
const MAX_REFERENCES = 10_000;

const NEWLINE_RE = /\r\n|\r|\n/;
const KEYREF_RE = /^%\(([^)]+)\)s/;

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

interface Line {
  text: string;
  /** The line's own terminator ('\n', '\r\n', '\r'), '' for a last line without one. */
  eol: string;
}

type Kind = 'blank' | 'comment' | 'header' | 'key' | 'cont';

interface Entry {
  key: string;
  /** Raw value as configparser stores it (continuations joined with '\n', right-stripped). */
  raw: string;
  /** Index of the key line and of the last continuation line of its value. */
  start: number;
  end: number;
}

interface Section {
  name: string;
  /** Indexes of its header lines (only `[DEFAULT]` may appear more than once, or not at all). */
  headers: number[];
  entries: Map<string, Entry>;
}

interface ScanResult {
  sections: Map<string, Section>;
  defaults: Section;
  kinds: Kind[];
}

/**
 * A configparser file that can be read and edited. Parsing throws ConfigError for syntax errors (code
 * 'config_syntax'), duplicates ('config_duplicate_section' / 'config_duplicate_key'), a key before any
 * section ('config_missing_section_header'); reading a value with broken `%` syntax throws
 * 'config_interpolation'. Messages name the file and line (ConfigError.file/.line), never a value.
 */
export class ReferenceIniDocument {
  readonly file: string | undefined;
  private readonly bom: string;
  private lines: Line[];
  private readonly nl: string;
  private index: ScanResult;

  private constructor(text: string, file: string | undefined) {
    this.file = file;
    this.bom = text.startsWith('\ufeff') ? '\ufeff' : '';
    this.lines = splitLines(this.bom ? text.slice(1) : text);
    this.nl = this.lines.find((l) => l.eol !== '')?.eol ?? '\n';
    this.index = scan(this.lines, file);
  }

  /** Parse like Python configparser defaults (see the module comment); throws ConfigError on bad input. */
  static parse(text: string, file?: string): ReferenceIniDocument {
    return new ReferenceIniDocument(text, file);
  }

  static empty(file?: string): ReferenceIniDocument {
    return new ReferenceIniDocument('', file);
  }

  /** Section names in file order, without DEFAULT (like configparser.sections()). */
  sections(): string[] {
    return [...this.index.sections.keys()];
  }

  /** Whether the section exists; for 'DEFAULT', whether the file has a `[DEFAULT]` header. */
  hasSection(name: string): boolean {
    return name === DEFAULT_SECTION ? this.index.defaults.headers.length > 0 : this.index.sections.has(name);
  }

  /** Interpolated value with [DEFAULT] inheritance; key case-insensitive; undefined if absent. */
  get(section: string, key: string): string | undefined {
    const entry = this.lookup(section, key.toLowerCase());
    return entry && this.interpolate(section, entry);
  }

  /** All keys → interpolated values, own keys first then inherited DEFAULT ones (like dict(cp[section])). */
  items(section: string): Record<string, string> {
    const own = this.section(section);
    if (!own) {
      throw new ConfigError('config_no_section', `${where(this.file)}: no section [${section}]`, {
        file: this.file,
      });
    }
    const out = new Map<string, string>();
    for (const s of own === this.index.defaults ? [own] : [own, this.index.defaults]) {
      for (const entry of s.entries.values()) {
        if (!out.has(entry.key)) out.set(entry.key, this.interpolate(section, entry));
      }
    }
    return Object.fromEntries(out); // own data properties, even for a key named '__proto__'
  }

  /** Keys of a section, own first then inherited DEFAULT ones (like list(cp[section])); [] without it. */
  keys(section: string): string[] {
    const own = this.section(section);
    if (!own) return [];
    const keys = [...own.entries.keys()];
    if (own !== this.index.defaults) {
      for (const k of this.index.defaults.entries.keys()) if (!own.entries.has(k)) keys.push(k);
    }
    return keys;
  }

  /** Raw (uninterpolated) value as stored, with [DEFAULT] inheritance. */
  getRaw(section: string, key: string): string | undefined {
    return this.lookup(section, key.toLowerCase())?.raw;
  }

  /** Keys defined directly in a section (lower-case), without inherited DEFAULT ones. */
  ownKeys(section: string): string[] {
    return [...(this.section(section)?.entries.keys() ?? [])];
  }

  /**
   * Set a value so that configparser reads back `value` (with '%' written as '%%'). configparser strips
   * each line of a value, drops trailing empty lines and reads '\r' as a line break, so the value read
   * back is normalized the same way; a continuation line starting with '#' or ';' cannot be stored
   * (configparser would read it as a comment) and is refused with 'config_invalid_value'.
   */
  set(section: string, key: string, value: string): void {
    this.checkSection(section);
    this.checkKey(key);
    const k = key.toLowerCase();
    const valueLines = this.valueLines(section, k, value);
    let sect = this.section(section);
    if (!sect || (sect === this.index.defaults && sect.headers.length === 0)) {
      this.addSection(section);
      sect = this.section(section)!;
    }
    const existing = sect.entries.get(k);
    if (existing) {
      const indent = leadingWs(this.lines[existing.start]!.text);
      this.edit(existing.start, existing.end - existing.start + 1, block(indent, k, valueLines));
      return;
    }
    let last: Entry | undefined;
    for (const e of sect.entries.values()) if (!last || e.end > last.end) last = e;
    const at = last ? last.end + 1 : sect.headers[sect.headers.length - 1]! + 1;
    const indent = last ? leadingWs(this.lines[last.start]!.text) : '';
    this.edit(at, 0, block(indent, k, valueLines));
  }

  /** Delete a key (and its continuation lines) defined directly in a section. Returns whether it existed. */
  delete(section: string, key: string): boolean {
    const entry = this.section(section)?.entries.get(key.toLowerCase());
    if (!entry) return false;
    this.edit(entry.start, entry.end - entry.start + 1, []);
    return true;
  }

  /** Append `[name]` at the end of the file (after a blank line); no-op if it exists. */
  addSection(name: string): void {
    this.checkSection(name);
    if (this.hasSection(name)) return;
    const texts = [`[${name}]`];
    const lastLine = this.lines[this.lines.length - 1];
    if (lastLine && strip(lastLine.text) !== '') texts.unshift('');
    this.edit(this.lines.length, 0, texts);
  }

  /** Remove a section's header(s) and every line up to the next section header. */
  removeSection(name: string): boolean {
    const sect = this.section(name);
    if (!sect || sect.headers.length === 0) return false;
    for (const h of [...sect.headers].reverse()) {
      let next = h + 1;
      while (next < this.lines.length && this.index.kinds[next] !== 'header') next++;
      this.edit(h, next - h, []);
    }
    return true;
  }

  /** Serialized text; untouched lines are byte-for-byte as parsed, so parse(x).toString() === x. */
  toString(): string {
    let out = this.bom;
    for (const l of this.lines) out += l.text + l.eol;
    return out;
  }

  // --- internals ---------------------------------------------------------------------------------

  private section(name: string): Section | undefined {
    return name === DEFAULT_SECTION ? this.index.defaults : this.index.sections.get(name);
  }

  private lookup(section: string, key: string): Entry | undefined {
    const sect = this.section(section);
    if (!sect) return undefined;
    return sect.entries.get(key) ?? this.index.defaults.entries.get(key);
  }

  /** BasicInterpolation.before_get, step for step (same depth rule and errors). */
  private interpolate(section: string, entry: Entry): string {
    const fail = (what: string): ConfigError =>
      new ConfigError(
        'config_interpolation',
        `${where(this.file, entry.start + 1)}: bad interpolation in key "${entry.key}" of section [${section}]: ${what} (write a literal '%' as '%%')`,
        { file: this.file, line: entry.start + 1 },
      );
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
          const ref = this.lookup(section, name);
          if (!ref) throw fail('a %(name)s reference names a key that does not exist');
          if (++references > MAX_REFERENCES)
            throw fail(`it makes more than ${MAX_REFERENCES} %(name)s references (counting nested ones)`);
          if (ref.raw.includes('%')) walk(ref.raw, depth + 1);
          else emit(ref.raw);
        } else {
          throw fail(`'%' must be followed by '%' or '('`);
        }
      }
    };
    walk(entry.raw, 1);
    return out.join('');
  }

  /** Replace `count` lines at `at` with new lines, re-scan, and keep every old header a header. */
  private edit(at: number, count: number, texts: string[]): void {
    const headers = new Set(this.index.kinds.flatMap((k, i) => (k === 'header' ? [this.lines[i]!] : [])));
    const prev = this.lines[at - 1];
    if (texts.length > 0 && at === this.lines.length && prev && prev.eol === '') prev.eol = this.nl;
    this.lines.splice(at, count, ...texts.map((text) => ({ text, eol: this.nl })));
    for (const i of [at, at + texts.length]) {
      const before = this.lines[i - 1];
      const after = this.lines[i];
      if (before?.eol === '\r' && after?.text === '' && after.eol === '\n') after.eol = '\r\n';
    }
    this.index = scan(this.lines, this.file);
    // A header indented deeper than the key now before it would be read as that key's continuation
    // (possible only when an edit removes what stood between them): un-indent it.
    const swallowed = this.lines.findIndex((l, i) => headers.has(l) && this.index.kinds[i] !== 'header');
    if (swallowed >= 0) {
      const line = this.lines[swallowed]!;
      line.text = line.text.slice(leadingWs(line.text).length);
      this.index = scan(this.lines, this.file);
    }
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

/** Split on '\r\n', '\r' or '\n' (Python's universal newlines), keeping each line's own terminator. */
function splitLines(text: string): Line[] {
  const lines: Line[] = [];
  let pos = 0;
  let cr = text.indexOf('\r');
  while (pos < text.length) {
    if (cr !== -1 && cr < pos) cr = text.indexOf('\r', pos);
    const lf = text.indexOf('\n', pos);
    let end = text.length;
    let eol = '';
    if (cr !== -1 && (lf === -1 || cr < lf)) {
      end = cr;
      eol = text.charCodeAt(cr + 1) === 10 ? '\r\n' : '\r';
    } else if (lf !== -1) {
      end = lf;
      eol = '\n';
    }
    lines.push({ text: text.slice(pos, end), eol });
    pos = end + eol.length;
  }
  return lines;
}

function block(indent: string, key: string, valueLines: string[]): string[] {
  const [first = '', ...rest] = valueLines;
  return [first ? `${indent}${key} = ${first}` : `${indent}${key} =`, ...rest.map((l) => `${indent}\t${l}`)];
}

/**
 * configparser's `RawConfigParser._read` for the default settings, line by line. Like Python, a line
 * that is not a header, comment or `key = value` is remembered and reported after the whole file was
 * read, while duplicates and a missing first header are reported at once.
 */
function scan(lines: Line[], file: string | undefined): ScanResult {
  const sections = new Map<string, Section>();
  const defaults: Section = { name: DEFAULT_SECTION, headers: [], entries: new Map() };
  const kinds: Kind[] = new Array(lines.length);
  const values: [Entry, string[]][] = []; // each key's value lines, joined at the end like configparser
  let cur: Section | undefined;
  let entry: Entry | undefined; // the key whose value continuation lines extend (configparser's optname)
  let entryLines: string[] | undefined;
  let indentLevel = 0;
  let syntaxLine = 0;
  const error = (code: ErrorCode, line: number, message: string): ConfigError =>
    new ConfigError(code, `${where(file, line)}: ${message}`, { file, line });

  for (let i = 0; i < lines.length; i++) {
    const text = lines[i]!.text;
    const indent = indentOf(text);
    const value = rstrip(indent ? text.slice(indent) : text);
    if (value.startsWith('#') || value.startsWith(';')) {
      kinds[i] = 'comment';
      continue;
    }
    if (value === '') {
      kinds[i] = 'blank';
      if (entry) entryLines!.push('');
      continue;
    }
    if (entry && indent > indentLevel) {
      kinds[i] = 'cont';
      entryLines!.push(value);
      entry.end = i;
      continue;
    }
    indentLevel = indent;
    const close = value.startsWith('[') ? value.lastIndexOf(']') : -1;
    if (close > 1) {
      const name = value.slice(1, close);
      kinds[i] = 'header';
      entry = undefined;
      if (name === DEFAULT_SECTION) {
        cur = defaults;
      } else if (sections.has(name)) {
        throw error('config_duplicate_section', i + 1, `section [${name}] appears twice`);
      } else {
        cur = { name, headers: [], entries: new Map() };
        sections.set(name, cur);
      }
      cur.headers.push(i);
      continue;
    }
    if (!cur) {
      throw error(
        'config_missing_section_header',
        i + 1,
        'a key appears before any [section] header (start the file with e.g. [DEFAULT] or [__default])',
      );
    }
    kinds[i] = 'key';
    const eq = value.indexOf('=');
    const colon = value.indexOf(':');
    const d = eq < 0 ? colon : colon < 0 ? eq : Math.min(eq, colon);
    if (d < 0) {
      syntaxLine ||= i + 1;
      continue; // configparser keeps the current key, so later indented lines still continue it
    }
    const key = rstrip(value.slice(0, d)).toLowerCase();
    if (key === '') syntaxLine ||= i + 1;
    if (cur.entries.has(key)) {
      throw error(
        'config_duplicate_key',
        i + 1,
        `key "${key}" appears twice in section [${cur.name}] (keys are case-insensitive)`,
      );
    }
    const e: Entry = { key, raw: '', start: i, end: i };
    cur.entries.set(key, e);
    entryLines = [strip(value.slice(d + 1))];
    values.push([e, entryLines]);
    entry = key === '' ? undefined : e;
  }
  if (syntaxLine) {
    throw error(
      'config_syntax',
      syntaxLine,
      "line is not a [section] header, a comment or 'key = value' (continuation lines must be indented)",
    );
  }
  for (const [e, p] of values) e.raw = p.length === 1 ? p[0]! : rstrip(p.join('\n'));
  return { sections, defaults, kinds };
}
