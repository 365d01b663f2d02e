/**
 * The CLI's code cache (src/cli/code-cache.ts): the first run saves the bytecode of the chunks it compiled
 * (0600, in a 0700 folder; here DHCORE_CODE_CACHE names one per test), the next runs use it; a cache that is not this user's alone, that was made from
 * another file, or that V8 refuses is never used, and the CLI works the same in every case.
 */
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { createRequire, Module } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { requireChunk } from '../src/cli/code-cache.js';
import { CLI, cleanEnv, ROOT, runNode, useTempHome } from './helpers/cli.js';

const home = useTempHome();
const codeDir = () => join(home().home, 'code');
const env = (extra: Record<string, string> = {}) =>
  cleanEnv(home().home, { DHCORE_CODE_CACHE: codeDir(), DEBUG: 'dhcore:cli', ...extra });
const runToken = (cli = CLI, extra: Record<string, string> = {}) =>
  runNode([cli, 'token'], { env: env(extra) });
/** The code-cache lines of a run's stderr, without the debug time stamps. */
const said = (stderr: string) =>
  stderr
    .split('\n')
    .filter((l) => l.includes('code cache:'))
    .map((l) => l.replace(/^.*code cache: /, ''));
/** A copy of the built CLI (its files can then be changed), with the repository's node_modules. */
function copyOfCli(name = 'pkg'): string {
  const pkg = join(home().home, name);
  cpSync(join(ROOT, 'dist', 'cli'), join(pkg, 'dist', 'cli'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), readFileSync(join(ROOT, 'package.json')));
  symlinkSync(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
  return join(pkg, 'dist', 'cli', 'main.js');
}
const runCache = () => readdirSync(codeDir()).filter((f) => /^run-[0-9a-f]{8}\.cache$/.test(f));

beforeEach(() => {
  const future = new Date(Date.now() + 3600_000).toISOString();
  writeFileSync(
    home().configFile,
    `[p]\ndhcore_endpoint = https://p.example\ndhcore_client_id = c\ndhcore_access_token = AT\ndhcore_refresh_token = RT\ndhcore_expires_at = ${future}\n\n[DEFAULT]\ncurrent_environment = p\n`,
    { mode: 0o600 },
  );
});

describe('the code cache', () => {
  it('is saved by the first run (0600 in a 0700 folder) and used by the next, which then writes nothing', async () => {
    const first = await runToken();
    expect(first.stdout).toBe('AT\n');
    expect(said(first.stderr)).toEqual([
      expect.stringMatching(/^none yet: .*\/run-[0-9a-f]{8}\.cache$/),
      expect.stringMatching(/^saved .*\/run-[0-9a-f]{8}\.cache \(\d+ bytes\)$/),
    ]);
    const [file] = runCache();
    expect(file).toBeDefined();
    const path = join(codeDir(), file!);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(statSync(codeDir()).mode & 0o777).toBe(0o700);
    const saved = statSync(path).mtimeMs;
    // Compiled code and the literals of our source: never a value of this run.
    expect(readFileSync(path).includes('https://p.example')).toBe(false);

    const second = await runToken();
    expect(second.stdout).toBe('AT\n');
    expect(said(second.stderr)).toEqual([`used ${path}`]);
    expect(statSync(path).mtimeMs).toBe(saved);
    expect(readdirSync(codeDir())).toEqual([file]);
  });

  /**
   * Node flags that make V8 log every function it compiles lazily, and how many of `chunk` the last run so
   * compiled (none of run.js when the cache holds what the command runs). A cache is made for one set of flags:
   * every run of a test gets the same ones.
   */
  function functionLog() {
    const log = join(home().home, 'v8.log');
    const flags = ['--log-function-events', `--logfile=${log}`, '--no-logfile-per-isolate'];
    const compiledIn = (chunk: string) => {
      const lines = readFileSync(log, 'utf8').split('\n');
      const ids = new Set(
        lines
          .filter((l) => l.startsWith('script-details,') && l.split(',')[2]?.endsWith(`/${chunk}`))
          .map((l) => l.split(',')[1]),
      );
      return lines.filter((l) => l.startsWith('function,parse-function,') && ids.has(l.split(',')[2])).length;
    };
    return { flags, compiledIn };
  }

  it("a cache made by another command first (list-env after the install) also gets dhcore token's code, once", async () => {
    const { flags, compiledIn } = functionLog();
    const list = await runNode([...flags, CLI, 'list-env'], { env: env() });
    expect(list.code, list.stderr).toBe(0);
    expect(said(list.stderr)).toContainEqual(expect.stringMatching(/^saved .*\/run-[0-9a-f]{8}\.cache/));
    const first = await runNode([...flags, CLI, 'token'], { env: env() });
    expect(first.stdout).toBe('AT\n');
    expect(compiledIn('run.js')).toBeGreaterThan(0); // token's own functions, compiled once more: then saved
    expect(said(first.stderr)).toEqual([
      expect.stringMatching(/^used .*\/run-[0-9a-f]{8}\.cache$/),
      expect.stringMatching(/^saved .*\/run-[0-9a-f]{8}\.cache \(\d+ bytes\)$/),
    ]);
    for (let i = 0; i < 2; i++) {
      const again = await runNode([...flags, CLI, 'token'], { env: env() });
      expect(again.stdout).toBe('AT\n');
      expect(said(again.stderr)).toEqual([expect.stringMatching(/^used .*\/run-[0-9a-f]{8}\.cache$/)]);
      expect(compiledIn('run.js')).toBe(0);
    }
    // And list-env, whose code the cache kept, still compiles nothing of run.js either.
    await runNode([...flags, CLI, 'list-env'], { env: env() });
    expect(compiledIn('run.js')).toBe(0);
  });

  it('a first run that fails (no config yet) does not stand for its command: the next that succeeds saves', async () => {
    const { flags, compiledIn } = functionLog();
    const config = readFileSync(home().configFile);
    writeFileSync(home().configFile, '');
    const failed = await runNode([...flags, CLI, 'token'], { env: env() });
    expect(failed.code).toBe(3);
    expect(said(failed.stderr).at(-1)).toMatch(/^saved .*\/run-[0-9a-f]{8}\.cache/);
    writeFileSync(home().configFile, config);
    const first = await runNode([...flags, CLI, 'token'], { env: env() });
    expect(first.stdout).toBe('AT\n');
    expect(said(first.stderr).at(-1)).toMatch(/^saved .*\/run-[0-9a-f]{8}\.cache/);
    const again = await runNode([...flags, CLI, 'token'], { env: env() });
    expect(said(again.stderr)).toEqual([expect.stringMatching(/^used .*\/run-[0-9a-f]{8}\.cache$/)]);
    expect(compiledIn('run.js')).toBe(0);
    // A command that keeps failing does not save the cache again each time.
    writeFileSync(home().configFile, '');
    for (let i = 0; i < 2; i++) {
      const r = await runNode([...flags, CLI, 'token'], { env: env() });
      expect(r.code).toBe(3);
      expect(
        said(r.stderr).every((l) => l.startsWith('used ')),
        said(r.stderr).join('; '),
      ).toBe(true);
    }
  });

  it('each command caches the chunks it loads (full.js once list-env ran)', async () => {
    await runToken();
    const list = await runNode([CLI, 'list-env'], { env: env() });
    expect(list.code, list.stderr).toBe(0);
    expect(said(list.stderr)).toEqual([
      expect.stringMatching(/^used .*run-[0-9a-f]{8}\.cache$/),
      expect.stringMatching(/^none yet: .*\/full-[0-9a-f]{8}\.cache$/),
      expect.stringMatching(/^none yet: .*\/grants-[0-9a-f]{8}\.cache$/),
      // run.js's cache, made by `token`, now gets list-env's part of run.js too.
      expect.stringMatching(/^saved .*run-[0-9a-f]{8}\.cache/),
      expect.stringMatching(/^saved .*full-[0-9a-f]{8}\.cache/),
      expect.stringMatching(/^saved .*grants-[0-9a-f]{8}\.cache/),
    ]);
    // From then on both commands only read.
    for (const args of [['list-env'], ['token']]) {
      const r = await runNode([CLI, ...args], { env: env() });
      expect(
        said(r.stderr).every((l) => l.startsWith('used ')),
        said(r.stderr).join('; '),
      ).toBe(true);
    }
  });

  it('a cache others could write is not used, and is replaced by one of ours', async () => {
    await runToken();
    const path = join(codeDir(), runCache()[0]!);
    chmodSync(path, 0o666);
    const r = await runToken();
    expect(r.stdout).toBe('AT\n');
    expect(said(r.stderr)[0]).toMatch(/^ignored .*run-[0-9a-f]{8}\.cache: not yours alone/);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(said((await runToken()).stderr)).toEqual([`used ${path}`]);
  });

  /** After `spoil` makes the cache folder not this user's alone, a run neither reads nor writes there. */
  async function folderRefused(spoil: (dir: string) => void): Promise<void> {
    await runToken();
    const path = join(codeDir(), runCache()[0]!);
    const before = readFileSync(path);
    spoil(codeDir());
    const r = await runToken();
    expect(r.stdout).toBe('AT\n');
    expect(said(r.stderr)).toEqual([
      expect.stringMatching(/^ignored .*\/code: not yours alone/),
      expect.stringMatching(/^not saved: .*\/code is not yours alone/),
    ]);
    expect(readFileSync(path).equals(before)).toBe(true);
  }

  it('a folder others could write is not used, nor written to', () =>
    folderRefused((dir) => chmodSync(dir, 0o777)));

  it.skipIf(process.getuid?.() !== 0)(
    "a folder owned by another user is not used, nor written to (root never runs a user's cache)",
    () => folderRefused((dir) => chownSync(dir, 65534, 65534)),
  );

  it('a folder that is a link (even to a folder of ours) is not used, nor written to', async () => {
    const real = join(home().home, 'real-code');
    mkdirSync(real, { mode: 0o700 });
    const link = join(home().home, 'linked-code');
    symlinkSync(real, link);
    for (let i = 0; i < 2; i++) {
      const r = await runToken(CLI, { DHCORE_CODE_CACHE: link });
      expect(r.stdout).toBe('AT\n');
      expect(said(r.stderr)).toEqual([
        expect.stringMatching(/^ignored .*\/linked-code: not yours alone/),
        expect.stringMatching(/^not saved: .*\/linked-code is not yours alone/),
      ]);
    }
    expect(readdirSync(real)).toEqual([]);
  });

  it('under a folder others can write to (not sticky) it is not saved; under a sticky one (like /tmp) it is', async () => {
    for (const [mode, saved] of [
      [0o777, false],
      [0o1777, true],
    ] as const) {
      const shared = join(home().home, `shared-${mode.toString(8)}`);
      mkdirSync(shared);
      chmodSync(shared, mode);
      const r = await runNode([CLI, 'token'], { env: env({ DHCORE_CODE_CACHE: join(shared, 'code') }) });
      expect(r.stdout).toBe('AT\n');
      expect(said(r.stderr).at(-1)).toMatch(saved ? /^saved / : /^not saved: .*a folder above it/);
    }
  });

  it.skipIf(process.getuid?.() !== 0)('a cache owned by another user is not used (as root)', async () => {
    await runToken();
    const path = join(codeDir(), runCache()[0]!);
    chownSync(path, 65534, 65534);
    const r = await runToken();
    expect(r.stdout).toBe('AT\n');
    expect(said(r.stderr)[0]).toMatch(/^ignored .*: not yours alone/);
    expect(statSync(path).uid).toBe(0); // replaced by ours
  });

  it('a damaged cache (its second half zeroed, or bytes flipped) is not given to V8, and is replaced', async () => {
    // V8 does not check the bytecode: given such data, it dies (exit 133/139) on every run.
    await runToken();
    const path = join(codeDir(), runCache()[0]!);
    const good = readFileSync(path);
    const data = good.indexOf(0x0a, good.indexOf(0x0a) + 1) + 1; // after the header's two lines
    const zeroed = Buffer.from(good);
    zeroed.fill(0, data + Math.floor((good.length - data) / 2));
    const flipped = Buffer.from(good);
    for (let i = data; i < flipped.length; i += 97) flipped[i] = flipped[i]! ^ 0x5a;
    // Cut short: in its data, or inside its second line (no line break left after the header).
    for (const damaged of [
      zeroed,
      flipped,
      good.subarray(0, good.length - 100),
      good.subarray(0, data - 3),
    ]) {
      writeFileSync(path, damaged);
      const r = await runToken();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe('AT\n');
      expect(said(r.stderr)[0]).toMatch(/ is damaged; a new one is saved at exit$/);
      expect(said((await runToken()).stderr)).toEqual([`used ${path}`]);
    }
  });

  it('a cache V8 refuses (made with other V8 flags) is compiled afresh and replaced', async () => {
    // The same chunk compiled under another V8 flag: V8's own check refuses that bytecode here.
    await runNode(['--no-lazy-feedback-allocation', CLI, 'token'], { env: env() });
    const [foreignName] = runCache();
    await runToken();
    const ownName = runCache().find((f) => f !== foreignName)!;
    const foreign = readFileSync(join(codeDir(), foreignName!));
    const own = readFileSync(join(codeDir(), ownName));
    const afterFirstLine = (b: Buffer) => b.indexOf(0x0a) + 1;
    // Our header line, then the other run's integrity line and bytecode: only V8 can tell.
    const path = join(codeDir(), ownName);
    writeFileSync(
      path,
      Buffer.concat([own.subarray(0, afterFirstLine(own)), foreign.subarray(afterFirstLine(foreign))]),
    );
    const r = await runToken();
    expect(r.stdout).toBe('AT\n');
    expect(said(r.stderr)[0]).toMatch(/^V8 refused .*; a new one is saved at exit$/);
    expect(said((await runToken()).stderr)).toEqual([`used ${path}`]);
  });

  it('a chunk changed in place after its cache was made (same length and times: V8 itself would take the cache) is compiled afresh', async () => {
    const cli = copyOfCli();
    const run = join(dirname(cli), 'run.js');
    const stamp = new Date(1_700_000_000_000); // whole seconds: utimes can put them back exactly
    utimesSync(run, stamp, stamp);
    expect((await runToken(cli)).stdout).toBe('AT\n');
    // The same number of characters, a message of the token command changed, written in place with the
    // old times put back (as `rsync --inplace` or `cp -p` onto it would): only the change time differs.
    const source = readFileSync(run, 'utf8');
    const changed = source.replaceAll('No DHCore endpoint', 'No DHCORE ENDPOINT');
    expect(changed).not.toBe(source);
    expect(changed.length).toBe(source.length);
    const { ino, mtimeMs } = statSync(run);
    await new Promise((r) => setTimeout(r, 20)); // a change time of its own
    writeFileSync(run, changed);
    utimesSync(run, stamp, stamp);
    expect(statSync(run).ino).toBe(ino);
    expect(statSync(run).mtimeMs).toBe(mtimeMs);
    writeFileSync(home().configFile, '');
    const r = await runNode([cli, 'token'], { env: env() });
    expect(said(r.stderr)[0]).toMatch(/was made from another file, Node or flags/);
    expect(r.stderr).toContain('No DHCORE ENDPOINT');
  });

  it('an install under a path beyond ASCII gets its cache used too', async () => {
    const cli = copyOfCli('pkg-josé-日本');
    expect(said((await runToken(cli)).stderr).at(-1)).toMatch(/^saved /);
    const r = await runToken(cli);
    expect(r.stdout).toBe('AT\n');
    expect(said(r.stderr)).toEqual([expect.stringMatching(/^used .*run-[0-9a-f]{8}\.cache$/)]);
  });

  it('runs with other flags keep a cache of their own', async () => {
    await runToken();
    const r = await runNode(['--no-warnings', CLI, 'token'], { env: env() });
    expect(r.stdout).toBe('AT\n');
    expect(said(r.stderr)[0]).toMatch(/^none yet: /);
    expect(runCache()).toHaveLength(2);
    expect(said((await runToken()).stderr)[0]).toMatch(/^used /);
  });

  it('DHCORE_CODE_CACHE=off: nothing is read or written', async () => {
    const r = await runToken(CLI, { DHCORE_CODE_CACHE: 'off' });
    expect(r.stdout).toBe('AT\n');
    expect(said(r.stderr)).toEqual([]);
    expect(existsSync(codeDir())).toBe(false);
  });

  it('by default it lives in the temp folder ($TMPDIR/dhcore-code-cache-<uid>), never in the home folder', async () => {
    const tmp = join(home().home, 'tmp');
    mkdirSync(tmp);
    const r = await runNode([CLI, 'token'], { env: cleanEnv(home().home, { TMPDIR: tmp }) });
    expect(r.stdout).toBe('AT\n');
    expect(r.stderr).toBe('');
    const dir = join(tmp, `dhcore-code-cache-${process.getuid?.()}`);
    expect(readdirSync(dir)).toEqual([expect.stringMatching(/^run-[0-9a-f]{8}\.cache$/)]);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(readdirSync(home().home).sort()).toEqual(['.dhcore.ini', 'tmp']);
  });

  it('a cache folder that cannot be made: the command works and says nothing (without DEBUG)', async () => {
    const notADir = join(home().home, 'file');
    writeFileSync(notADir, 'x');
    const r = await runNode([CLI, 'token'], {
      env: cleanEnv(home().home, { DHCORE_CODE_CACHE: join(notADir, 'code') }),
    });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('AT\n');
    expect(r.stderr).toBe('');
  });

  it('a failure keeps the line numbers of the file in its stack trace', async () => {
    // The loader wraps a chunk in a function on a line of its own and tells V8 so (lineOffset -1).
    const cli = copyOfCli();
    writeFileSync(
      join(dirname(cli), 'run.js'),
      `'use strict';\n// ${'x'.repeat(5000)}\n  throw new Error('boom');\n`,
    );
    for (let i = 0; i < 2; i++) {
      const r = await runNode([cli, 'token'], { env: env() });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/run\.js:3:9\b/);
    }
  });
});

describe('requireChunk', () => {
  it('a file that fails to load is not left in require.cache (a later require tries again)', () => {
    const dir = join(home().home, 'chunks');
    mkdirSync(dir);
    const file = join(dir, 'broken.js');
    writeFileSync(file, 'exports.x = ;');
    const nodeRequire = createRequire(file);
    const parent = new Module(join(dir, 'main.js'));
    parent.paths = [];
    expect(() => requireChunk(file, parent, nodeRequire)).toThrow(SyntaxError);
    expect(nodeRequire.cache[file]).toBeUndefined();
    writeFileSync(file, "exports.x = require('./other.js').y;");
    writeFileSync(join(dir, 'other.js'), 'exports.y = 42;');
    expect(requireChunk(file, parent, nodeRequire)).toEqual({ x: 42 });
    expect(nodeRequire.cache[file]?.loaded).toBe(true);
    expect(nodeRequire.cache[join(dir, 'other.js')]?.exports).toEqual({ y: 42 });
  });
});
