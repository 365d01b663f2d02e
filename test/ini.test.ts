import { describe, expect, it } from 'vitest';
import { IniDocument } from '../src/config/ini.js';
import { ConfigError } from '../src/errors.js';
import { ReferenceIniDocument } from './helpers/ini-reference.js';

const parse = (text: string) => IniDocument.parse(text, '/home/u/.dhcore.ini');

function parseError(text: string): ConfigError {
  try {
    parse(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('IniDocument.parse: reading like configparser', () => {
  it('splits on the first = or :, strips keys and values, lower-cases keys, keeps section case', () => {
    const doc = parse('[Prof]\n  Key One  =  a = b : c  \nurl: https://x:8080/p?q=1\nK3 :=x\nempty=\nE2 :\n');
    expect(doc.sections()).toEqual(['Prof']);
    expect(doc.hasSection('prof')).toBe(false);
    expect(doc.ownKeys('Prof')).toEqual(['key one', 'url', 'k3', 'empty', 'e2']);
    expect(doc.get('Prof', 'KEY ONE')).toBe('a = b : c');
    expect(doc.get('Prof', 'url')).toBe('https://x:8080/p?q=1');
    expect(doc.get('Prof', 'k3')).toBe('=x');
    expect(doc.get('Prof', 'empty')).toBe('');
    expect(doc.get('Prof', 'e2')).toBe('');
    expect(doc.get('Prof', 'missing')).toBeUndefined();
    expect(doc.get('Nope', 'url')).toBeUndefined();
  });

  it('treats only full lines as comments: # and ; inside a value are value', () => {
    const doc = parse('# top\n; top2\n[s]\n  # indented comment\na = x # y ; z\n;b = 1\n');
    expect(doc.ownKeys('s')).toEqual(['a']);
    expect(doc.get('s', 'a')).toBe('x # y ; z');
  });

  it('joins continuation lines (deeper than the key) with \\n, keeps inner blank lines, drops comments and trailing blanks', () => {
    const doc = parse('[s]\nm = one\n  two\n\n\tthree\n  # skipped\n\n\nn =\n  first\n  k = v\no = 1\n');
    expect(doc.get('s', 'm')).toBe('one\ntwo\n\nthree');
    expect(doc.get('s', 'n')).toBe('\nfirst\nk = v');
    expect(doc.ownKeys('s')).toEqual(['m', 'n', 'o']);
  });

  it('continuation depends on the key line indentation, and wins over a header', () => {
    const doc = parse('[s]\n  a = 1\n  b = 2\n    [t]\n[u]\n   x = 1\n');
    expect(doc.get('s', 'a')).toBe('1');
    expect(doc.get('s', 'b')).toBe('2\n[t]');
    expect(doc.sections()).toEqual(['s', 'u']);
  });

  it('header quirks: rest of line after ] ignored, last ] closes, inner spaces kept, [default] is not DEFAULT', () => {
    const doc = parse('[a] tail\n[b]c]\n[ sp ]\n[default]\nk = 1\n');
    expect(doc.sections()).toEqual(['a', 'b]c', ' sp ', 'default']);
    expect(doc.get('a', 'k')).toBeUndefined();
  });

  it('inherits [DEFAULT] (which may appear twice) and orders items like dict(cp[section])', () => {
    const doc = parse(
      '[DEFAULT]\ncurrent_environment = b\nshared = d\n[a]\nx = 1\nshared = own\n[DEFAULT]\nlate = L\n',
    );
    expect(doc.sections()).toEqual(['a']);
    expect(doc.hasSection('DEFAULT')).toBe(true);
    expect(doc.get('a', 'shared')).toBe('own');
    expect(doc.get('a', 'late')).toBe('L');
    expect(doc.get('DEFAULT', 'Current_Environment')).toBe('b');
    expect(Object.entries(doc.items('a'))).toEqual([
      ['x', '1'],
      ['shared', 'own'],
      ['current_environment', 'b'],
      ['late', 'L'],
    ]);
    expect(doc.items('DEFAULT')).toEqual({ current_environment: 'b', shared: 'd', late: 'L' });
    expect(doc.ownKeys('a')).toEqual(['x', 'shared']);
    expect(doc.getRaw('a', 'late')).toBe('L');
    expect(() => doc.items('zz')).toThrow(expect.objectContaining({ code: 'config_no_section' }));
    expect(parse('[a]\n').items('DEFAULT')).toEqual({});
    expect(parse('[a]\n').hasSection('DEFAULT')).toBe(false);
  });

  it('strips Python whitespace (\\u3000, \\x85, \\x1c), not JS-only whitespace (\\ufeff inside a line)', () => {
    const doc = parse('[s]\nk = \u3000v\x85\nk2 = \x1cw\x1f\nk3 = \ufeffx\n');
    expect(doc.get('s', 'k')).toBe('v');
    expect(doc.get('s', 'k2')).toBe('w');
    expect(doc.get('s', 'k3')).toBe('\ufeffx');
  });

  it('handles CRLF, lone CR, a BOM and a missing final newline, and round-trips them byte for byte', () => {
    const texts = [
      '[s]\r\na = 1\r\n  two\r\n',
      '[s]\ra = 1\r  two\r',
      '\ufeff[s]\na = 1\n  two',
      '[s]\na = 1\r\n  two\r',
      '',
      '\n\n# only comments\n\n',
    ];
    for (const t of texts) {
      expect(parse(t).toString()).toBe(t);
      if (t.includes('[s]')) expect(parse(t).get('s', 'a')).toBe('1\ntwo');
    }
  });
});

describe('IniDocument.parse: errors name file and line, never a value', () => {
  const cases: [string, string, number][] = [
    ['k = supersecret\n[s]\n', 'config_missing_section_header', 1],
    ['[s]\na = 1\n[t]\n[s]\n', 'config_duplicate_section', 4],
    ['[s]\nKey = supersecret\nkey = 2\n', 'config_duplicate_key', 3],
    ['[DEFAULT]\na = 1\n[s]\n[DEFAULT]\nA = supersecret\n', 'config_duplicate_key', 5],
    ['[s]\na = 1\nsupersecret\n', 'config_syntax', 3],
    ['[s]\n= supersecret\n', 'config_syntax', 2],
    ['[]\n', 'config_missing_section_header', 1],
    // Like configparser, a bad line is reported after the file was read; a duplicate is reported at once.
    ['[s]\nsupersecret\na = 1\na = 2\n', 'config_duplicate_key', 4],
    ['[s]\nsupersecret\nfine = 1\n', 'config_syntax', 2],
  ];
  it.each(cases)('%j → %s at line %i', (text, code, line) => {
    const err = parseError(text);
    expect(err.code).toBe(code);
    expect(err.line).toBe(line);
    expect(err.file).toBe('/home/u/.dhcore.ini');
    expect(err.message).toContain(`/home/u/.dhcore.ini, line ${line}`);
    expect(err.message).not.toContain('supersecret');
  });

  it('an indented line without delimiter after a key is a continuation, not an error', () => {
    expect(parse('[s]\nk = v\n\tno delimiter\n').get('s', 'k')).toBe('v\nno delimiter');
  });
});

describe('interpolation (BasicInterpolation)', () => {
  const doc = parse(
    [
      '[DEFAULT]',
      'base = https://h',
      '[s]',
      'pct = 100%%',
      'url = %(BASE)s/api',
      'chain = %(url)s/%(pct)s',
      'lit = %%(base)s',
      'bad = secret%value',
      'missing = %(nope)s',
      'unclosed = %(base',
      'self = %(self)s',
      'end = %',
    ].join('\n'),
  );

  it('expands %% and %(name)s from the section and DEFAULT, recursively', () => {
    expect(doc.get('s', 'pct')).toBe('100%');
    expect(doc.getRaw('s', 'pct')).toBe('100%%');
    expect(doc.get('s', 'url')).toBe('https://h/api');
    expect(doc.get('s', 'chain')).toBe('https://h/api/100%');
    expect(doc.get('s', 'lit')).toBe('%(base)s');
  });

  it.each([
    ['bad', 8],
    ['missing', 9],
    ['unclosed', 10],
    ['self', 11],
    ['end', 12],
  ])('%s → config_interpolation naming section, key and line %i, not the value', (key, line) => {
    let err: unknown;
    try {
      doc.get('s', key);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const e = err as ConfigError;
    expect(e.code).toBe('config_interpolation');
    expect(e.line).toBe(line);
    expect(e.message).toContain(`"${key}"`);
    expect(e.message).toContain('[s]');
    expect(e.message).not.toMatch(/secret|value|nope/);
    expect(() => doc.items('s')).toThrow(ConfigError);
  });

  it('follows MAX_INTERPOLATION_DEPTH = 10 exactly like python (a value with % counts as a level)', () => {
    const chain = (n: number) =>
      `[s]\nk0 = end%%\n${Array.from({ length: n }, (_, i) => `k${i + 1} = %(k${i})s`).join('\n')}\n`;
    expect(parse(chain(9)).get('s', 'k9')).toBe('end%');
    expect(parse(chain(10).replace('end%%', 'end')).get('s', 'k10')).toBe('end');
    expect(() => parse(chain(10)).get('s', 'k10')).toThrow(
      expect.objectContaining({ code: 'config_interpolation' }),
    );
  });
});

describe('editing keeps every untouched byte', () => {
  const base = [
    '# my config',
    '[DEFAULT]',
    'current_environment = a',
    '',
    '[a]',
    'Endpoint : https://a   ',
    'token = old',
    '    continued',
    '  # note inside',
    '    more',
    'other=1',
    '',
    '# about b',
    '[b]',
    'x = 1',
    '',
  ].join('\n');

  it('parse(x).toString() === x', () => {
    expect(parse(base).toString()).toBe(base);
  });

  it('set on an existing key replaces its line and continuation lines in place', () => {
    const doc = parse(base);
    doc.set('a', 'TOKEN', 'new');
    expect(doc.toString()).toBe(
      base.replace('token = old\n    continued\n  # note inside\n    more\n', 'token = new\n'),
    );
    doc.set('a', 'endpoint', 'https://b');
    expect(doc.toString()).toContain('\nendpoint = https://b\ntoken = new\n');
  });

  it('a new key goes after the last key of the section, before its trailing blank lines and comments', () => {
    const doc = parse(base);
    doc.set('a', 'dhcore_refresh_at', '2030-01-01T00:00:00Z');
    expect(doc.toString()).toBe(
      base.replace('other=1\n', 'other=1\ndhcore_refresh_at = 2030-01-01T00:00:00Z\n'),
    );
    doc.set('DEFAULT', 'Extra', 'e');
    expect(doc.toString()).toContain('current_environment = a\nextra = e\n\n[a]');
  });

  it('a new section is appended after a blank line; multi-line values use tab continuations; % is escaped', () => {
    const doc = parse(base);
    doc.set('c d', 'k', 'line1\n\nline3 50%');
    expect(doc.toString()).toBe(`${base}\n[c d]\nk = line1\n\t\n\tline3 50%%\n`);
    expect(doc.get('c d', 'k')).toBe('line1\n\nline3 50%');
    const noBlank = parse('[a]\nx = 1');
    noBlank.set('b', 'y', '');
    expect(noBlank.toString()).toBe('[a]\nx = 1\n\n[b]\ny =\n');
    const empty = IniDocument.empty('/f.ini');
    empty.set('DEFAULT', 'current_environment', 'p');
    expect(empty.toString()).toBe('[DEFAULT]\ncurrent_environment = p\n');
    expect(empty.file).toBe('/f.ini');
  });

  it('keeps the line ending style and the indentation of an edited key', () => {
    const doc = parse('  [s]\r\n  a = 1\r\n  b = 2\r\n');
    doc.set('s', 'a', 'x\ny');
    doc.set('s', 'c', '3');
    expect(doc.toString()).toBe('  [s]\r\n  a = x\r\n  \ty\r\n  b = 2\r\n  c = 3\r\n');
    expect(doc.items('s')).toEqual({ a: 'x\ny', b: '2', c: '3' });
  });

  it('delete removes the key with its continuation lines, not inherited keys', () => {
    const doc = parse(base);
    expect(doc.delete('a', 'Token')).toBe(true);
    expect(doc.toString()).toBe(base.replace('token = old\n    continued\n  # note inside\n    more\n', ''));
    expect(doc.delete('a', 'token')).toBe(false);
    expect(doc.delete('a', 'current_environment')).toBe(false);
    expect(doc.delete('zz', 'x')).toBe(false);
    expect(doc.get('a', 'current_environment')).toBe('a');
  });

  it('addSection is a no-op for an existing section; removeSection removes up to the next header', () => {
    const doc = parse(base);
    doc.addSection('a');
    doc.addSection('DEFAULT');
    expect(doc.toString()).toBe(base);
    expect(doc.removeSection('a')).toBe(true);
    expect(doc.toString()).toBe('# my config\n[DEFAULT]\ncurrent_environment = a\n\n[b]\nx = 1\n');
    expect(doc.removeSection('a')).toBe(false);
    expect(doc.removeSection('DEFAULT')).toBe(true);
    expect(doc.toString()).toBe('# my config\n[b]\nx = 1\n');
    doc.addSection('DEFAULT');
    expect(doc.toString()).toBe('# my config\n[b]\nx = 1\n\n[DEFAULT]\n');
  });

  it('removes every [DEFAULT] block', () => {
    const doc = parse('[DEFAULT]\na = 1\n[s]\nk = v\n[DEFAULT]\nb = 2\n');
    doc.removeSection('DEFAULT');
    expect(doc.toString()).toBe('[s]\nk = v\n');
  });

  it('never lets a removal turn a following indented header into a continuation line', () => {
    const doc = parse('[a]\nx = 1\n[b]\n   [c]\ny = 2\n');
    expect(doc.sections()).toEqual(['a', 'b', 'c']);
    doc.removeSection('b');
    expect(doc.sections()).toEqual(['a', 'c']);
    expect(doc.get('a', 'x')).toBe('1');
    expect(doc.toString()).toBe('[a]\nx = 1\n[c]\ny = 2\n');
  });

  it('a value whose extra lines look like comments cannot be stored', () => {
    const doc = parse(base);
    expect(() => doc.set('a', 'k', 'one\n# two')).toThrow(
      expect.objectContaining({ code: 'config_invalid_value' }),
    );
    expect(doc.toString()).toBe(base);
  });

  it.each([
    ['s', ''],
    ['s', 'a=b'],
    ['s', 'a:b'],
    ['s', 'a\nb'],
    ['s', '[a'],
    ['s', '#a'],
    ['s', ';a'],
    ['s', ' a'],
    ['s', 'a '],
    ['', 'k'],
    ['a]b', 'k'],
    ['a\nb', 'k'],
  ])('refuses section %j key %j with config_invalid_key', (section, key) => {
    const doc = parse(base);
    expect(() => doc.set(section, key, 'v')).toThrow(expect.objectContaining({ code: 'config_invalid_key' }));
    expect(doc.toString()).toBe(base);
  });

  it('set then get returns the value; keys are written lower-case', () => {
    const doc = parse(base);
    doc.set('b', 'MixedKey', 'v:=#;%(x)s%%');
    expect(doc.get('b', 'mixedkey')).toBe('v:=#;%(x)s%%');
    expect(doc.toString()).toContain('mixedkey = v:=#;%%(x)s%%%%\n');
    expect(parse(doc.toString()).get('b', 'MIXEDKEY')).toBe('v:=#;%(x)s%%');
  });
});

describe('edits of a big file: one batch, the same text as the re-scanning reference', () => {
  const big = (n: number) => {
    const lines = ['# big', '[DEFAULT]', 'base = https://h', '', '[small]', 'k = v', '', '[big]'];
    for (let i = 0; i < n; i++)
      lines.push(i % 97 === 0 ? `  key_${i} = v${i}\n    more ${i}` : `key_${i} = v${i}`);
    lines.push('', '[after]', 'x = 1');
    return `${lines.join('\n')}\n`;
  };
  const change = {
    set: {
      key_10: 'ten',
      key_9700: 'multi\nline',
      key_19999: '%(base)s/x',
      dhcore_access_token: 'at',
      dhcore_refresh_token: 'rt',
    },
    delete: ['key_500', 'key_0', 'missing'],
  };

  it('update() on a 20 000-key section writes what set()/delete() one by one write in the old model', () => {
    const text = big(20_000);
    const fast = parse(text);
    const ref = ReferenceIniDocument.parse(text, '/home/u/.dhcore.ini');
    fast.update('big', change);
    for (const [k, v] of Object.entries(change.set)) ref.set('big', k, v);
    for (const k of change.delete) ref.delete('big', k);
    expect(fast.toString()).toBe(ref.toString());
    // The index after the edit reads like a fresh parse.
    const fresh = parse(fast.toString());
    for (const k of [
      'key_10',
      'key_9700',
      'key_19999',
      'key_19998',
      'key_1',
      'dhcore_refresh_token',
      'base',
    ]) {
      expect(fast.get('big', k)).toBe(fresh.get('big', k));
    }
    expect(fast.get('big', 'key_19999')).toBe('%(base)s/x'); // written as %%(base)s
    expect(fast.get('big', 'key_500')).toBeUndefined();
    expect(fast.ownKeys('big')).toEqual(fresh.ownKeys('big'));
    // And a second save (keys now in the middle of the section) as well.
    fast.update('big', { set: { dhcore_access_token: 'at2', key_5: 'five' } });
    ref.set('big', 'dhcore_access_token', 'at2');
    ref.set('big', 'key_5', 'five');
    expect(fast.toString()).toBe(ref.toString());
    expect(Buffer.compare(fast.toBytes(), Buffer.from(ref.toString()))).toBe(0);
  });

  it('a duplicate key deep in a big section is still reported at its line', () => {
    const text = big(6000).replace('key_5000 = v5000', 'KEY_17 = again');
    const err = parseError(text);
    expect(err.code).toBe('config_duplicate_key');
    expect(err.line).toBe(text.split('\n').indexOf('KEY_17 = again') + 1);
  });
});
