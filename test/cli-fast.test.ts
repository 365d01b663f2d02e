/**
 * The commander-free route of `dhcore token` and `status` (src/cli/fast.ts; main.ts answers `--version`): every command line it
 * takes means exactly what commander makes of it, the usual ones are taken, and the built binary then loads
 * one CommonJS file and nothing else.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type FastCommand, parseFast } from '../src/cli/fast.js';
import { buildProgram } from '../src/cli/program.js';
import { CLI, cleanEnv, runCli, useTempHome } from './helpers/cli.js';

/** What the real program (program.ts) parses `args` to, with the command actions replaced by a recorder. */
async function viaCommander(
  args: string[],
): Promise<FastCommand | { command: 'version' } | { error: string }> {
  const program = buildProgram();
  let parsed: FastCommand | { command: 'version' } | undefined;
  program.configureOutput({
    writeOut: (text) => {
      parsed = { command: 'version' };
      expect(text).toMatch(/^\d+\.\d+\.\d+/);
    },
    writeErr: () => {},
    outputError: () => {},
  });
  for (const command of program.commands) {
    if (command.name() !== 'token' && command.name() !== 'status') continue;
    command.action((opts: Record<string, unknown>, cmd) => {
      const { config, env, json, debug, ...own } = cmd.optsWithGlobals();
      const globals = Object.fromEntries(
        Object.entries({ config, env, json, debug }).filter(([, v]) => v !== undefined),
      );
      expect(own).toEqual(Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)));
      parsed = {
        command: command.name() as 'token',
        opts: Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)),
        globals,
      };
    });
  }
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (err) {
    if (parsed?.command === 'version') return parsed;
    return { error: String(err) };
  }
  return parsed ?? { error: 'no command ran' };
}

describe('parseFast agrees with commander', () => {
  const words = [
    'token',
    'status',
    '--format',
    'json',
    'raw',
    'env',
    'bogus',
    '--format=env',
    '--format=',
    '--json',
    '--json=1',
    '--debug',
    '-e',
    'staging',
    '--env',
    '--env=p2',
    '-estaging',
    '--config',
    '/tmp/x.ini',
    '--config=/tmp/y.ini',
    '--offline',
    '-V',
    '--version',
    '-h',
    '--help',
    '--',
    '-',
    'extra',
    '--bogus',
  ];

  it('on every command line it takes', async () => {
    const word = fc.constantFrom(...words);
    // Mostly lines around a command name, so that many of them are taken.
    const line = fc.oneof(
      fc.array(word, { maxLength: 6 }),
      fc
        .tuple(
          fc.array(word, { maxLength: 2 }),
          fc.constantFrom('token', 'status'),
          fc.array(word, { maxLength: 4 }),
        )
        .map(([before, command, after]) => [...before, command, ...after]),
    );
    let taken = 0;
    await fc.assert(
      fc.asyncProperty(line, async (args) => {
        const fast = parseFast(args);
        if (fast === undefined) return; // commander's to parse, as before
        taken++;
        expect(await viaCommander(args), args.join(' ')).toEqual(fast);
      }),
      { numRuns: 6000 },
    );
    expect(taken).toBeGreaterThan(200);
  });

  it('takes the command lines scripts use', async () => {
    for (const args of [
      ['token'],
      ['token', '--json'],
      ['-e', 'staging', 'token'],
      ['token', '-e', 'staging', '--format', 'env'],
      ['--config', '/tmp/x.ini', 'token', '--format=json'],
      ['status'],
      ['status', '--offline', '--json'],
      ['--env=p2', 'status', '--offline'],
    ]) {
      const fast = parseFast(args);
      expect(fast, args.join(' ')).toBeDefined();
      expect(await viaCommander(args), args.join(' ')).toEqual(fast);
    }
  });

  it('leaves help, typos and usage errors to commander', () => {
    for (const args of [
      [],
      ['--help'],
      ['token', '--help'],
      ['--version'], // answered by main.ts before any of this is loaded
      ['token', '--format'],
      ['token', '--format', 'bogus'],
      ['token', 'extra'],
      ['status', '--bogus'],
      ['--format', 'json', 'token'],
      ['token', '--version'],
      ['-estaging', 'token'],
      ['token', '--json', '--json'],
      ['token', '--', 'x'],
      ['use', 'staging'],
    ]) {
      expect(parseFast(args), args.join(' ')).toBeUndefined();
    }
  });
});

describe('the built dhcore', () => {
  const home = useTempHome();

  it('runs token, status and --version as CommonJS: no ESM loader, no commander, no other command', async () => {
    const future = new Date(Date.now() + 3600_000).toISOString();
    writeFileSync(
      home().configFile,
      `[p]\ndhcore_endpoint = https://p.example\ndhcore_client_id = c\ndhcore_access_token = AT\ndhcore_refresh_token = RT\ndhcore_expires_at = ${future}\n`,
      { mode: 0o600 },
    );
    // At exit: every CommonJS module loaded, and whether any ES module was (the ESM loader started).
    const log = join(home().home, 'loaded.json');
    const preload = join(home().home, 'loaded.cjs');
    writeFileSync(
      preload,
      `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(log)}, JSON.stringify({
  cjs: Object.keys(require.cache).filter((f) => f !== __filename),
  esm: process.moduleLoadList.some((m) => m.includes('internal/modules/esm/module_job')),
  crypto: process.moduleLoadList.includes('NativeModule crypto'),
})));\n`,
    );
    const env = { ...cleanEnv(home().home), NODE_OPTIONS: `--require ${preload}` };
    const cli = dirname(CLI);
    const chunk = (name: string) => new RegExp(`^${name}\\.js$`);
    // The chunks every run needs are inside main.js (scripts/build.mjs), registered under their own names:
    // there are no such files for Node to find and read.
    const inMain = [chunk('rolldown-runtime'), chunk('start')];
    for (const name of ['rolldown-runtime.js', 'start.js'])
      expect(existsSync(join(cli, name)), name).toBe(false);
    for (const [args, stdout, files] of [
      [['-e', 'p', 'token'], /^AT\n$/, ['main.js', ...inMain, chunk('run')]],
      [['-e', 'p', 'status', '--offline'], /^profile\s+p$/m, ['main.js', ...inMain, chunk('run')]],
      [['--version'], /^\d+\.\d+\.\d+\n$/, ['main.js', ...inMain]],
    ] as const) {
      const r = await runCli([...args], { env });
      expect(r.stderr, args.join(' ')).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(stdout);
      const loaded = JSON.parse(readFileSync(log, 'utf8')) as { cjs: string[]; esm: boolean };
      // Only files of dist/cli/ (no npm package: not commander, not openid-client), and only these.
      expect(
        loaded.cjs.every((f) => dirname(f) === cli),
        loaded.cjs.join(' '),
      ).toBe(true);
      const names = loaded.cjs.map((f) => basename(f));
      expect(names, args.join(' ')).toHaveLength(files.length);
      files.forEach((file, i) => {
        expect(names[i], args.join(' ')).toMatch(typeof file === 'string' ? new RegExp(`^${file}$`) : file);
      });
      expect(loaded.esm, `${args.join(' ')} started the ESM loader`).toBe(false);
    }
    // An exchange profile: its PAT fingerprint is checked without loading node:crypto (it costs more than
    // the rest of the start).
    const pat = `dhpat_${'z'.repeat(40)}`;
    const fingerprint = createHash('sha256').update(pat).digest('hex').slice(0, 16);
    writeFileSync(
      home().configFile,
      `[x]\ndhcore_endpoint = https://x.example\ndhcore_client_id = c\ndhcore_personal_access_token = ${pat}\ndhcore_pat_sha256 = ${fingerprint}\ndhcore_access_token = XT\ndhcore_expires_at = ${future}\n`,
      { mode: 0o600 },
    );
    const exchange = await runCli(['-e', 'x', 'token'], { env });
    expect(exchange.stdout, exchange.stderr).toBe('XT\n');
    expect((JSON.parse(readFileSync(log, 'utf8')) as { crypto: boolean }).crypto).toBe(false);
    // Any other command line loads commander and the full program.
    const r = await runCli(['list-env'], { env });
    expect(r.code).toBe(0);
    const loaded = JSON.parse(readFileSync(log, 'utf8')) as { cjs: string[] };
    expect(loaded.cjs.some((f) => f.includes(`${join('node_modules', 'commander')}`))).toBe(true);
  });
});
