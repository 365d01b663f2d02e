/**
 * Resolution against the precedence rule, written out here on its own, for many random profiles: options
 * beat everything; for configuration keys the environment beats the file; for credentials (and store
 * credentials) the file beats the environment; an empty value counts as absent; a file value whose `%`
 * interpolation fails takes its place in the precedence and throws when read. Every way of reading the
 * result — get(), source(), keys(), values(), sources — must agree with it, in the documented order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { IniDocument } from '../src/config/ini.js';
import { CONFIG_KEYS, CREDENTIAL_KEYS, STORE_KEYS } from '../src/config/keys.js';
import { resolveConfig, valuesWithPrefix } from '../src/config/resolve.js';
import { ConfigError } from '../src/errors.js';
import { useTempHome } from './helpers/cli.js';

const home = useTempHome();

const CONFIG = CONFIG_KEYS.map((k) => k.toLowerCase());
const CREDENTIAL = [...CREDENTIAL_KEYS, ...STORE_KEYS].map((k) => k.toLowerCase());
const OTHER = [
  'note',
  'aws_extra_thing',
  'db_more',
  's3_custom',
  'my_secret_key',
  'dhcore_id_token',
  'plain',
];
const URLS = ['dhcore_issuer', 'oauth2_token_endpoint'];
const KEYS = [...CONFIG.filter((k) => k !== 'dhcore_endpoint'), ...CREDENTIAL, ...OTHER];

/** A tiny deterministic generator (so a failure can be replayed from its seed). */
function random(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

type Where = 'option' | 'env' | 'file';
type Expected = { source: Where; value?: string; broken?: boolean };

function expected(
  file: Map<string, string>,
  env: Record<string, string>,
  options: Map<string, string>,
): Map<string, Expected> {
  const out = new Map<string, Expected>();
  const decide = (key: string): Expected | undefined => {
    const option = options.get(key);
    // A URL is used trimmed (options are not trimmed otherwise).
    if (option) return { source: 'option', value: URLS.includes(key) ? option.trim() : option };
    const fromEnv = env[key.toUpperCase()]?.trim();
    if (CONFIG.includes(key) && fromEnv) return { source: 'env', value: fromEnv };
    const raw = file.get(key);
    if (raw === '%') return { source: 'file', broken: true };
    if (raw) return { source: 'file', value: raw };
    if (CREDENTIAL.includes(key) && fromEnv) return { source: 'env', value: fromEnv };
    return undefined;
  };
  // The documented order: options, configuration keys from the environment, the file's keys (readable,
  // then unreadable), credentials from the environment.
  const order = [
    ...[...options.keys()].filter((k) => decide(k)?.source === 'option'),
    ...CONFIG.filter((k) => decide(k)?.source === 'env'),
    ...[...file.keys()].filter((k) => decide(k)?.source === 'file' && !decide(k)!.broken),
    ...[...file.keys()].filter((k) => decide(k)?.broken),
    ...CREDENTIAL.filter((k) => decide(k)?.source === 'env'),
  ];
  for (const key of order) if (!out.has(key)) out.set(key, decide(key)!);
  return out;
}

describe('resolution follows the precedence rule, read in any way', () => {
  it('agrees on 400 random profiles', () => {
    vi.spyOn(process, 'emitWarning').mockImplementation(() => {}); // the unreadable keys, left out
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = random(seed);
      const pick = () => KEYS[Math.floor(rnd() * KEYS.length)]!;
      const value = (tag: string) => {
        const r = rnd();
        return r < 0.1 ? '' : r < 0.15 ? '  ' : `${tag}-${Math.floor(rnd() * 1e6)}`;
      };
      const file = new Map<string, string>([['dhcore_endpoint', 'https://file.example']]);
      const env: Record<string, string> = {};
      const options = new Map<string, string>();
      for (let i = 0; i < 12; i++) {
        const key = pick();
        // A broken value only where resolution itself does not read it (those fail the whole resolution).
        const mayBreak = !CONFIG.includes(key) && !CREDENTIAL_KEYS.some((k) => k.toLowerCase() === key);
        if (!file.has(key)) file.set(key, mayBreak && rnd() < 0.15 ? '%' : value('f').trim());
      }
      for (let i = 0; i < 8; i++) env[pick().toUpperCase()] = value('e');
      for (let i = 0; i < 3; i++) options.set(pick(), value('o'));
      if (rnd() < 0.3) env.DHCORE_ENDPOINT = 'https://env.example';

      const text = `[p]\n${[...file].map(([k, v]) => `${k} = ${v}`).join('\n')}\n`;
      const configFile = join(home().home, `seed-${seed}.ini`);
      writeFileSync(configFile, text, { mode: 0o600 });
      const config = resolveConfig({
        env,
        configFile,
        profile: 'p',
        overrides: Object.fromEntries([...options].map(([k, v]) => [rnd() < 0.5 ? k.toUpperCase() : k, v])),
      });
      const want = expected(file, env, options);
      const ctx = `seed ${seed}`;

      const readable = [...want].filter(([, e]) => !e.broken);
      expect(config.keys(), ctx).toEqual(readable.map(([k]) => k));
      expect(Object.entries(config.sources), ctx).toEqual([...want].map(([k, e]) => [k, e.source]));
      const values = config.values();
      expect(Object.keys(values), ctx).toEqual(readable.map(([k]) => k));
      for (const key of [...KEYS, 'dhcore_endpoint', 'absent']) {
        const e = want.get(key);
        expect(config.source(key), `${ctx} ${key}`).toBe(e?.source);
        expect(config.source(key.toUpperCase()), `${ctx} ${key}`).toBe(e?.source);
        if (e?.broken) {
          expect(() => config.get(key), `${ctx} ${key}`).toThrow(ConfigError);
        } else if (key !== 'dhcore_endpoint') {
          expect(config.get(key), `${ctx} ${key}`).toBe(e?.value);
          expect(values[key], `${ctx} ${key}`).toBe(e?.value);
        }
      }
      const prefixed = valuesWithPrefix(config, ['aws_', 'db_', 's3_']);
      expect(prefixed, ctx).toEqual(
        Object.fromEntries(readable.filter(([k]) => /^(aws|db|s3)_/.test(k)).map(([k, e]) => [k, e.value])),
      );
    }
  });
});

describe('keys named like Object properties', () => {
  it('__proto__ and constructor are keys like any other, in every view (configparser keeps them too)', () => {
    const configFile = join(home().home, 'proto.ini');
    writeFileSync(
      configFile,
      '[p]\ndhcore_endpoint = https://p.example\n__proto__ = polluted\nconstructor = abc\nmy_token = tok-secret-value\n',
      { mode: 0o600 },
    );
    const config = resolveConfig({ env: {}, configFile, profile: 'p' });
    expect(config.get('__proto__')).toBe('polluted');
    expect(config.get('constructor')).toBe('abc');
    expect(config.keys()).toEqual(['dhcore_endpoint', '__proto__', 'constructor', 'my_token']);
    expect(Object.keys(config.values())).toEqual(config.keys());
    expect(Object.keys(config.sources)).toEqual(config.keys());
    const shown = JSON.parse(JSON.stringify(config)) as { values: Record<string, string> };
    expect(Object.keys(shown.values)).toEqual(config.keys());
    expect(shown.values.my_token).not.toContain('tok-secret-value');

    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('IniDocument.forEach with prefixes', () => {
  it('visits exactly the keys that begin with a prefix once lower-cased, in file order', () => {
    const keys = [
      'AWS_Key',
      'aws',
      'aws_x',
      'Aws_Y',
      'awsz',
      'db_1',
      'DB_2',
      'dbx',
      's3_a',
      'S3_B',
      'x_aws_',
      '\u212Aey',
      'kite',
      'İx',
    ];
    const text = `[DEFAULT]\ndb_default = 1\naws_x = inherited\n\n[p]\n${keys.map((k, i) => `${k} = ${i}`).join('\n')}\n`;
    const doc = IniDocument.parse(text);
    for (const prefixes of [['aws_'], ['aws_', 'db_', 's3_'], ['k'], ['i'], ['aws']]) {
      const all: string[] = [];
      doc.forEach('p', (key) => all.push(key));
      const some: string[] = [];
      doc.forEach('p', (key, read) => some.push(`${key}=${read()}`), prefixes);
      const want = all
        .filter((k) => prefixes.some((p) => k.startsWith(p)))
        .map((k) => `${k}=${doc.get('p', k)}`);
      expect(some, prefixes.join()).toEqual(want);
    }
  });
});
