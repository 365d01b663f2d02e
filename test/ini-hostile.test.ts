/**
 * The INI reader never hangs, never crashes, never destroys bytes: `%` interpolation only for keys that
 * are read, a total expansion budget, refusal of anything that is not a regular file, bytes that are not
 * UTF-8 kept as they were, a warning for a config file in a folder anyone may write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { TokenManager } from '../src/auth/token-manager.js';
import { IniDocument } from '../src/config/ini.js';
import { profileValues, resolveConfig } from '../src/config/resolve.js';
import { ConfigError } from '../src/errors.js';
import { getCredentialsAndConfig } from '../src/parity.js';
import { ProfileStore } from '../src/store/profile-store.js';
import { useTempHome } from './helpers/cli.js';

const home = useTempHome();

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error');
}

/** `levels` keys each referencing the previous one `fan` times: fan^levels references for the last. */
function fanOut(levels: number, fan: number, key = 'a'): string {
  const lines = ['[s]', `${key}0 = xxxxxxxxxxxxxxxx`];
  for (let i = 1; i <= levels; i++) lines.push(`${key}${i} = ${`%(${key}${i - 1})s`.repeat(fan)}`);
  return `${lines.join('\n')}\n`;
}

describe('interpolation budget', () => {
  it('a tiny file of %(x)s fan-out fails fast with config_interpolation naming the key and line', () => {
    const text = fanOut(9, 8); // ≈ 500 bytes, 8^9 ≈ 134 million references
    expect(text.length).toBeLessThan(600);
    const doc = IniDocument.parse(text, 'bomb.ini');
    const err = caught(() => doc.get('s', 'a9')) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe('config_interpolation');
    expect(err.line).toBe(11);
    expect(err.file).toBe('bomb.ini');
    expect(err.message).toContain('bomb.ini, line 11');
    expect(err.message).toContain('"a9"');
    expect(err.message).toMatch(/expands to more than|more than .* references/);
    expect(() => doc.items('s')).toThrow(expect.objectContaining({ code: 'config_interpolation' }));
  });

  it('references to empty values are bounded too (no output, only work)', () => {
    const text = fanOut(9, 8).replace('a0 = xxxxxxxxxxxxxxxx', 'a0 =');
    const doc = IniDocument.parse(text, 'bomb.ini');
    expect(() => doc.get('s', 'a9')).toThrow(expect.objectContaining({ code: 'config_interpolation' }));
  });

  it('ordinary fan-out well inside the budget still expands like python', () => {
    const doc = IniDocument.parse(fanOut(3, 4), 'ok.ini');
    expect(doc.get('s', 'a3')).toBe('x'.repeat(16 * 64));
  });

  it('a bomb in a key nobody reads does not stop resolution', () => {
    writeFileSync(
      home().configFile,
      `${fanOut(9, 8, 'b').replace('[s]', '[__default]\ndhcore_endpoint = https://h.example')}`,
    );
    const cfg = resolveConfig({ env: { HOME: home().home } });
    expect(cfg.endpoint).toBe('https://h.example');
    expect(() => cfg.get('b9')).toThrow(expect.objectContaining({ code: 'config_interpolation', line: 12 }));
  });
});

describe('lazy interpolation: only keys that are read', () => {
  const PROFILE = `[__default]
dhcore_endpoint = https://h.example
dhcore_access_token = at-123
note = 100%
aws_secret_access_key = abc%(nope)s
`;

  it('resolveConfig accepts a profile with note = 100%; reading that key fails like python', () => {
    writeFileSync(home().configFile, PROFILE);
    const cfg = resolveConfig({ env: { HOME: home().home } });
    expect(cfg.endpoint).toBe('https://h.example');
    expect(cfg.authMethod).toBe('access_token_only');
    expect(cfg.get('dhcore_access_token')).toBe('at-123');
    const err = caught(() => cfg.get('note')) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.code).toBe('config_interpolation');
    expect(err.line).toBe(4);
    expect(err.message).toContain('"note"');
    expect(() => cfg.get('NOTE')).toThrow(expect.objectContaining({ line: 4 }));
    expect(() => cfg.get('aws_secret_access_key')).toThrow(expect.objectContaining({ line: 5 }));
    // keys()/values() list what can be read; the unreadable keys are left out, not fatal.
    expect(cfg.keys()).not.toContain('note');
    expect(cfg.values()).not.toHaveProperty('note');
    expect(cfg.values().dhcore_access_token).toBe('at-123');
    expect(cfg.sources.note).toBe('file');
  });

  it('a token manager and getCredentialsAndConfig work with such a profile (the key is left out, with a warning)', async () => {
    writeFileSync(home().configFile, PROFILE);
    const env = { HOME: home().home };
    const tm = new TokenManager({ config: resolveConfig({ env }), env });
    expect(await tm.accessToken()).toBe('at-123');
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    try {
      const creds = await getCredentialsAndConfig({ env });
      expect(creds.DHCORE_ACCESS_TOKEN).toBe('at-123');
      expect(creds).not.toHaveProperty('NOTE');
      await new Promise((r) => setImmediate(r));
      expect(warnings.join('\n')).toMatch(/line 4: bad interpolation in key "note".*left out/);
      expect(warnings.join('\n')).not.toContain('100%');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('an unreadable file value still takes its place in the precedence (file > env for credentials)', () => {
    writeFileSync(home().configFile, `${PROFILE}dhcore_refresh_token = r%t\n`);
    // Choosing the auth method reads dhcore_refresh_token: the file's (broken) value, not the env's.
    expect(() => resolveConfig({ env: { HOME: home().home, DHCORE_REFRESH_TOKEN: 'rt-env' } })).toThrow(
      expect.objectContaining({ code: 'config_interpolation', line: 6 }),
    );
  });

  it('an environment configuration key beats an unreadable file value without reading it', () => {
    writeFileSync(home().configFile, '[__default]\ndhcore_endpoint = https://h%\n');
    const cfg = resolveConfig({ env: { HOME: home().home, DHCORE_ENDPOINT: 'https://env.example' } });
    expect(cfg.endpoint).toBe('https://env.example');
    // Without the environment value the endpoint is read, so the error surfaces.
    expect(() => resolveConfig({ env: { HOME: home().home } })).toThrow(
      expect.objectContaining({ code: 'config_interpolation', line: 2 }),
    );
  });

  it('profileValues (list-env, the token store) leaves unreadable keys out instead of refusing the profile', () => {
    const doc = IniDocument.parse(PROFILE, 'f.ini');
    expect(profileValues(doc, '__default')).toEqual({
      dhcore_endpoint: 'https://h.example',
      dhcore_access_token: 'at-123',
    });
  });

  it('the token store reads and saves a profile that holds note = 100%', async () => {
    writeFileSync(home().configFile, PROFILE, { mode: 0o600 });
    const store = new ProfileStore({ file: home().configFile, profile: '__default' });
    expect((await store.read()).dhcore_access_token).toBe('at-123');
    await store.update(async () => ({ result: null, change: { set: { dhcore_access_token: 'at-456' } } }));
    const text = readFileSync(home().configFile, 'utf8');
    expect(text).toContain('note = 100%\n');
    expect(text).toContain('dhcore_access_token = at-456\n');
  });
});
