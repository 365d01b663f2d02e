/**
 * The INI reader never hangs, never crashes, never destroys bytes: `%` interpolation only for keys that
 * are read, a total expansion budget, refusal of anything that is not a regular file, bytes that are not
 * UTF-8 kept as they were, a warning for a config file in a folder anyone may write.
 */
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSession } from '../src/auth/session.js';
import { IniDocument } from '../src/config/ini.js';
import { profileValues, resolveConfig } from '../src/config/resolve.js';
import { ConfigError } from '../src/errors.js';
import { getCredentialsAndConfig, setCurrentProfile } from '../src/parity.js';
import { ProfileStore } from '../src/store/profile-store.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';

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

describe('work linear in the file', () => {
  // Each line is read once: a line without a delimiter must not make the scanner look through the rest of
  // the file for one (that took seconds for 160 kB and minutes for 1.6 MB). The time limit only catches a
  // scanner that hangs; a linear one needs milliseconds.
  it('a file of many lines that are not key = value fails with config_syntax naming the first', {
    timeout: 20_000,
  }, () => {
    const text = `[s]\nk = v\n${'not a key line\n'.repeat(200_000)}end = 1\n`;
    let err: unknown;
    try {
      IniDocument.parse(text, 'big.ini');
    } catch (e) {
      err = e;
    }
    expect(err).toMatchObject({ code: 'config_syntax', line: 3 });
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
    const tm = await openSession({ config: resolveConfig({ env }), env });
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

const isRoot = process.getuid?.() === 0;

describe('only a regular file (or a symlink to one) is read or written', () => {
  const refused = expect.objectContaining({ code: 'config_not_regular_file' });
  const tokenChange = { set: { dhcore_access_token: 'at-secret', dhcore_refresh_token: 'rt-secret' } };

  function fifo(): string {
    const path = join(home().home, 'pipe.ini');
    execFileSync('mkfifo', [path]);
    return path;
  }

  it('a FIFO: resolution, the token store and whole-file edits refuse it at once, the FIFO stays', async () => {
    const path = fifo();
    expect(() => resolveConfig({ env: {}, configFile: path })).toThrow(refused);
    const err = caught(() => resolveConfig({ env: {}, configFile: path })) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toContain('FIFO');
    expect(err.message).toContain(path);
    const store = new ProfileStore({ file: path, profile: '__default' });
    await expect(store.read()).rejects.toThrow(refused);
    await expect(store.update(async () => ({ result: 1, change: tokenChange }))).rejects.toThrow(refused);
    await expect(setCurrentProfile('x', { configFile: path, create: true })).rejects.toThrow(refused);
    expect(lstatSync(path).isFIFO()).toBe(true);
    expect(existsSync(`${path}.lock`)).toBe(false);
    // Through a symlink too.
    const link = join(home().home, 'link.ini');
    symlinkSync(path, link);
    expect(() => resolveConfig({ env: {}, configFile: link })).toThrow(refused);
  });

  it('a directory is refused as not a regular file (not as a permission problem)', () => {
    const dir = join(home().home, 'dir.ini');
    mkdirSync(dir);
    expect(() => resolveConfig({ env: {}, configFile: dir })).toThrow(refused);
  });

  it('a symlink to a regular file is read and written through', async () => {
    const target = join(home().home, 'real.ini');
    const link = join(home().home, 'link.ini');
    writeFileSync(target, '[__default]\ndhcore_endpoint = https://h.example\n', { mode: 0o600 });
    symlinkSync(target, link);
    expect(resolveConfig({ env: {}, configFile: link }).endpoint).toBe('https://h.example');
    await new ProfileStore({ file: link, profile: '__default' }).update(async () => ({
      result: 1,
      change: tokenChange,
    }));
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readFileSync(target, 'utf8')).toContain('dhcore_access_token = at-secret');
  });

  it('the CLI exits 3 with one line instead of hanging on a FIFO (reader and writer commands)', async () => {
    const path = fifo();
    const env = cleanEnv(home().home, { DH_CONFIG: path, DHCORE_ENDPOINT: 'http://127.0.0.1:9' });
    for (const args of [['status', '--offline'], ['use', 'x'], ['token']]) {
      const r = await runCli(args, { env, timeoutMs: 15_000 });
      expect(r.code, `dhcore ${args.join(' ')}: ${r.stderr}`).toBe(3);
      expect(r.stderr).toMatch(/^dhcore: .*FIFO/);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    expect(lstatSync(path).isFIFO()).toBe(true);
  });

  it('a device node (as root, via mknod) is never replaced by a file holding tokens', async (ctx) => {
    if (!isRoot) {
      console.log('skipped: creating a device node with mknod needs root');
      ctx.skip();
    }
    const dev = join(home().home, 'null.ini');
    execFileSync('mknod', [dev, 'c', '1', '3']); // same major/minor as /dev/null
    expect(() => resolveConfig({ env: {}, configFile: dev })).toThrow(refused);
    const store = new ProfileStore({ file: dev, profile: '__default' });
    await expect(store.update(async () => ({ result: 1, change: tokenChange }))).rejects.toThrow(refused);
    await expect(setCurrentProfile('x', { configFile: dev, create: true })).rejects.toThrow(refused);
    expect(lstatSync(dev).isCharacterDevice()).toBe(true);
    expect(existsSync(`${dev}.lock`)).toBe(false);
    const r = await runCli(['token'], {
      env: cleanEnv(home().home, {
        DH_CONFIG: dev,
        DHCORE_ENDPOINT: 'http://127.0.0.1:9',
        DHCORE_ACCESS_TOKEN: 'at-secret',
      }),
      timeoutMs: 15_000,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^dhcore: .*character device/);
    expect(r.stdout + r.stderr).not.toContain('at-secret');
    expect(lstatSync(dev).isCharacterDevice()).toBe(true);
    expect(readdirSync(home().home).sort()).toEqual(['null.ini']);
  });
});

describe('a config file in a folder anyone may write', () => {
  let warnings: string[];
  const onWarning = (w: Error) => warnings.push(w.message);
  beforeEach(() => {
    warnings = [];
    process.on('warning', onWarning);
  });
  afterEach(() => {
    process.off('warning', onWarning);
  });
  const flush = () => new Promise((r) => setImmediate(r));

  function sharedFolder(mode: number): string {
    const dir = join(home().home, 'shared');
    mkdirSync(dir);
    chmodSync(dir, mode);
    const file = join(dir, 'dhcore.ini');
    writeFileSync(file, '[__default]\ndhcore_endpoint = https://h.example\n', { mode: 0o600 });
    return file;
  }

  it('is warned about once per process, naming the folder', async () => {
    const file = sharedFolder(0o777);
    resolveConfig({ env: {}, configFile: file });
    resolveConfig({ env: {}, configFile: file });
    await new ProfileStore({ file, profile: '__default' }).read();
    await flush();
    const mine = warnings.filter((w) => w.includes(dirname(file)));
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatch(/writable by every user/);
    expect(mine[0]).toContain(`chmod o-w ${dirname(file)}`);
  });

  it('also when a save is about to create the file there', async () => {
    const file = sharedFolder(0o777);
    rmSync(file);
    await new ProfileStore({ file, profile: '__default' }).update(async () => ({
      result: 1,
      change: { set: { dhcore_endpoint: 'https://h.example' } },
    }));
    await flush();
    expect(warnings.filter((w) => w.includes(dirname(file)))).toHaveLength(1);
  });

  it('a sticky world-writable folder (like /tmp) and a private one are not warned about', async () => {
    const file = sharedFolder(0o1777);
    writeFileSync(home().configFile, '[__default]\ndhcore_endpoint = https://h.example\n');
    resolveConfig({ env: {}, configFile: file });
    resolveConfig({ env: {}, configFile: home().configFile });
    await flush();
    expect(warnings.filter((w) => /writable by every user/.test(w))).toEqual([]);
  });
});
