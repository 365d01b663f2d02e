import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CliResult, ROOT, runCommand } from './helpers/cli.js';

const MAX_PACKAGES = 25;
const MAX_KB = 5 * 1024;
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');
const NPM_FLAGS = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'];

type Result = CliResult;

/** npm's own `npm_*` variables (we run under `npm test`) must not steer the npm commands of the test. */
function npmEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k)) env[k] = v;
  env.npm_config_update_notifier = 'false';
  return env;
}

function run(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Result> {
  return runCommand(cmd, args, {
    cwd: opts.cwd,
    env: opts.env ?? npmEnv(),
    timeoutMs: opts.timeoutMs ?? 120_000,
  });
}

async function ok(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Result> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

/** `npx` runs the project's own `dhcore`; it must never fetch a package of that name instead. */
function npxEnv(): NodeJS.ProcessEnv {
  return { ...npmEnv(), npm_config_yes: 'false' };
}

/** A program's environment: PATH only, and a throw-away HOME (nothing reads the developer's config). */
function programEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: work, NO_COLOR: '1' };
}

let work: string;
let app: string;
let packed: { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] };
let install: Result;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'dhcore-package-'));
  app = join(work, 'app');
  mkdirSync(app);
  // --ignore-scripts: prepack would rebuild dist/ under the feet of the tests running beside this one.
  const pack = await ok('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], {
    cwd: ROOT,
  });
  [packed] = JSON.parse(pack.stdout);
  writeFileSync(
    join(app, 'package.json'),
    `${JSON.stringify({ name: 'app', version: '1.0.0', private: true })}\n`,
  );
  install = await ok('npm', ['install', join(work, packed.filename), ...NPM_FLAGS], { cwd: app });
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the bundles, their types, README, CHANGELOG and LICENSE — nothing else', () => {
    const files = packed.files.map((f) => f.path).sort();
    const report = packed.files.map((f) => `${String(f.size).padStart(7)}  ${f.path}`).join('\n');
    console.log(
      `npm pack: ${files.length} files, ${(packed.size / 1000).toFixed(1)} kB packed, ` +
        `${(packed.unpackedSize / 1000).toFixed(1)} kB unpacked\n${report}`,
    );
    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE']) expect(files).toContain(f);
    const allowed = [
      /^(package\.json|README\.md|CHANGELOG\.md|LICENSE)$/,
      /^dist\/(index|dev-server\/index)\.js$/,
      /^dist\/(chunks|cli)\/[\w-]+\.js$/,
      // The CLI's files are CommonJS (it starts without Node's ESM loader).
      /^dist\/cli\/package\.json$/,
      /^dist\/[\w/-]+\.d\.ts$/,
    ];
    expect(files.filter((f) => !allowed.some((re) => re.test(f)))).toEqual([]);
    expect(files.filter((f) => f.startsWith('dist/demo/') || f.endsWith('.map'))).toEqual([]);
  });

  it('ships no module that nothing loads: every file is reachable from an entry point', () => {
    const shipped = new Set(packed.files.map((f) => f.path));
    const exportsMap = pkg.exports as Record<string, string | Record<string, string>>;
    const entries = [pkg.bin.dhcore as string, ...Object.values(exportsMap)]
      .flatMap((e) => (typeof e === 'string' ? [e] : Object.values(e)))
      .map((p) => posix.normalize(p))
      .filter((p) => p.startsWith('dist/'));
    expect(
      entries.every((e) => shipped.has(e)),
      entries.join(', '),
    ).toBe(true);
    // Node reads the package.json of the bin's folder: it says the CLI's files are CommonJS.
    const reached = new Set<string>([posix.join(posix.dirname(pkg.bin.dhcore as string), 'package.json')]);
    // Chunks that main.js carries inside it (scripts/build.mjs, inlineIntoMain) and registers under their own
    // names: the other chunks' require()s of them are served from there; they are no files.
    const bin = pkg.bin.dhcore as string;
    const binText = readFileSync(join(app, 'node_modules', pkg.name, bin), 'utf8');
    const inMain = new Set(
      [...binText.matchAll(/new module\.constructor\(__inlinedChunk\("([\w-]+\.js)"\)/g)].map((m) =>
        posix.join(posix.dirname(bin), m[1]!),
      ),
    );
    expect([...inMain].map((f) => posix.basename(f)).sort()).toEqual(['rolldown-runtime.js', 'start.js']);
    expect([...inMain].filter((f) => shipped.has(f))).toEqual([]);
    const todo = [...entries];
    while (todo.length > 0) {
      const file = todo.pop()!;
      if (reached.has(file) || inMain.has(file)) continue;
      reached.add(file);
      const text = readFileSync(join(app, 'node_modules', pkg.name, file), 'utf8');
      // static imports/exports, dynamic import(), require() (the CLI), and type imports in declarations
      for (const m of text.matchAll(
        /(?:from\s*|import\s*\(\s*|import\s+|require\(\s*)['"`](\.[^'"`]+)['"`]/g,
      )) {
        let target = posix.join(posix.dirname(file), m[1]!);
        if (file.endsWith('.d.ts')) target = target.replace(/\.js$/, '.d.ts');
        todo.push(target);
      }
    }
    expect([...shipped].filter((f) => f.startsWith('dist/') && !reached.has(f))).toEqual([]);
    expect([...reached].filter((f) => !shipped.has(f))).toEqual([]);
  });

  it('has the metadata a registry page needs, and the Apache-2.0 text', () => {
    expect(pkg.license).toBe('Apache-2.0');
    expect(pkg.repository?.url).toMatch(/^git\+https:\/\//);
    expect(pkg.homepage).toMatch(/^https:\/\//);
    expect(pkg.bugs?.url).toMatch(/^https:\/\//);
    expect(pkg.keywords).toEqual(expect.arrayContaining(['dhcore', 'digitalhub', 'oauth2']));
    const license = readFileSync(join(app, 'node_modules', pkg.name, 'LICENSE'), 'utf8');
    expect(license).toContain('Apache License\n                           Version 2.0, January 2004');
    expect(license).toContain('END OF TERMS AND CONDITIONS');
    expect(license.split('\n').length).toBeGreaterThan(190);
  });
});

describe("this repository's npm ci", () => {
  it('meets no install script that allowScripts has not decided on (npm would warn)', async () => {
    const r = await ok('npm', ['install-scripts', 'ls', '--json'], { cwd: ROOT });
    expect(JSON.parse(r.stdout)).toEqual({ allowScripts: [] });
    expect(pkg.allowScripts).toEqual({ esbuild: false });
  });
});

describe('installed into an empty project', () => {
  it(`adds at most ${MAX_PACKAGES} packages and ${MAX_KB / 1024} MB, without oidc-provider or s3rver`, async () => {
    const ls = await ok('npm', ['ls', '--all', '--omit=dev', '--parseable'], { cwd: app });
    const lines = ls.stdout.split('\n').filter((l) => l.trim() !== '');
    const du = await ok('du', ['-sk', 'node_modules'], { cwd: app });
    const kb = Number(du.stdout.split('\t')[0]);
    console.log(`npm ls --all --omit=dev --parseable | wc -l → ${lines.length}; du -sk node_modules → ${kb}`);
    expect(lines.length).toBeLessThanOrEqual(MAX_PACKAGES);
    expect(kb).toBeLessThanOrEqual(MAX_KB);
    expect(existsSync(join(app, 'node_modules/oidc-provider'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/s3rver'))).toBe(false);
    expect(install.stderr).not.toMatch(/install-scripts|allowScripts|ERESOLVE|peer/i);
  });

  it('works through import from an ES module', async () => {
    writeFileSync(join(app, 'esm.mjs'), USE.replace('%LOAD%', "await import('dhcore-credentials')"));
    const r = await run(process.execPath, ['esm.mjs'], { cwd: app, env: programEnv() });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(EXPECTED);
  });

  it('works through require from CommonJS, sharing the classes with import', async () => {
    writeFileSync(
      join(app, 'cjs.cjs'),
      `(async () => {\n${USE.replace('%LOAD%', "require('dhcore-credentials')")}\n` +
        `if ((await import('dhcore-credentials')).DHCoreError !== m.DHCoreError) throw new Error('two copies');\n` +
        `if (require('dhcore-credentials/package.json').version !== ${JSON.stringify(pkg.version)}) throw new Error('version');\n` +
        '})().catch((e) => { console.error(e); process.exitCode = 1; });\n',
    );
    const r = await run(process.execPath, ['cjs.cjs'], { cwd: app, env: programEnv() });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual(EXPECTED);
  });

  for (const type of ['module', 'commonjs'] as const) {
    it(`type-checks in a strict TypeScript project ("type": "${type}", module nodenext) and runs`, async () => {
      const dir = join(app, `ts-${type}`);
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ type })}\n`);
      writeFileSync(
        join(dir, 'tsconfig.json'),
        JSON.stringify({
          compilerOptions: {
            strict: true,
            module: 'nodenext',
            moduleResolution: 'nodenext',
            target: 'es2022',
            lib: ['es2023'],
            types: ['node'],
            typeRoots: [join(ROOT, 'node_modules/@types')],
            skipLibCheck: false,
            noEmitOnError: true,
            outDir: 'out',
          },
          files: ['main.ts'],
        }),
      );
      writeFileSync(join(dir, 'main.ts'), TS_MAIN);
      const tsc = await run(process.execPath, [TSC, '-p', dir], { cwd: dir, env: programEnv() });
      expect(tsc.stdout + tsc.stderr).toBe('');
      expect(tsc.code).toBe(0);
      const out = readFileSync(join(dir, 'out/main.js'), 'utf8');
      expect(out).toMatch(
        type === 'commonjs' ? /require\("dhcore-credentials"\)/ : /from 'dhcore-credentials'/,
      );
      const r = await run(process.execPath, [join(dir, 'out/main.js')], { cwd: dir, env: programEnv() });
      expect(r.stderr).toBe('');
      expect(JSON.parse(r.stdout)).toEqual(EXPECTED);
    });
  }

  it('runs `npx dhcore --version`', async () => {
    const r = await run('npx', ['dhcore', '--version'], { cwd: app, env: npxEnv() });
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(r.code).toBe(0);
  });
});

describe('the dev server without its optional dependency', () => {
  // The version this repository tests the dev server with.
  const tested = pkg.devDependencies['oidc-provider'];
  const hint = `npm i oidc-provider@${tested}`;

  it('is an optional peer dependency: never installed for users, one command away', () => {
    expect(pkg.dependencies['oidc-provider']).toBeUndefined();
    expect(pkg.peerDependencies['oidc-provider']).toBeDefined();
    expect(pkg.peerDependenciesMeta['oidc-provider']).toEqual({ optional: true });
    expect(pkg.dependencies.s3rver).toBeUndefined();
    expect(pkg.peerDependenciesMeta.s3rver).toEqual({ optional: true });
    expect(tested).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('`dhcore dev-server` fails with one line naming the install command, exit code 3', async () => {
    const r = await run('npx', ['dhcore', 'dev-server', '--port', '0'], {
      cwd: app,
      env: npxEnv(),
      timeoutMs: 20_000,
    });
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
    expect(r.stderr).toMatch(/^dhcore: .*oidc-provider/);
    expect(r.stderr).toContain(`\`${hint}\``);
    expect(r.code).toBe(3);
  });

  it('importing or requiring dhcore-credentials/dev-server fails with that one line', async () => {
    const show = `(e) => { console.log(JSON.stringify({ name: e.name, code: e.code, message: e.message })); }`;
    writeFileSync(
      join(app, 'dev.mjs'),
      `await import('dhcore-credentials/dev-server').then(() => console.log('{}'), ${show});\n`,
    );
    writeFileSync(
      join(app, 'dev.cjs'),
      `try { require('dhcore-credentials/dev-server'); console.log('{}'); } catch (e) { (${show})(e); }\n`,
    );
    for (const file of ['dev.mjs', 'dev.cjs']) {
      const r = await run(process.execPath, [file], { cwd: app, env: programEnv() });
      expect(r.stderr, file).toBe('');
      const err = JSON.parse(r.stdout);
      expect(err, file).toMatchObject({ name: 'ConfigError', code: 'dev_server_missing_dependency' });
      expect(err.message, file).not.toContain('\n');
      expect(err.message, file).toContain(`\`${hint}\``);
    }
  });

  it('works once the command it names has run', { timeout: 180_000 }, async () => {
    const stderr = (
      await run('npx', ['dhcore', 'dev-server'], { cwd: app, env: npxEnv(), timeoutMs: 20_000 })
    ).stderr;
    const command = /`(npm i [^`]+)`/.exec(stderr)?.[1];
    expect(command).toBe(hint);
    const [npm, ...args] = command!.split(' ');
    const added = await ok(npm!, [...args, ...NPM_FLAGS], { cwd: app });
    expect(added.stderr).not.toMatch(/ERESOLVE|peer/i);
    await ok('npm', ['ls', 'oidc-provider'], { cwd: app });
    writeFileSync(
      join(app, 'dev-ok.mjs'),
      `import { startDevServer } from 'dhcore-credentials/dev-server';
const server = await startDevServer();
try {
  const res = await fetch(server.endpoint + '/.well-known/openid-configuration');
  console.log(JSON.stringify({ status: res.status, issuer: (await res.json()).issuer === server.issuer }));
} finally {
  await server.close();
}
`,
    );
    const r = await run(process.execPath, ['dev-ok.mjs'], { cwd: app, env: programEnv() });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ status: 200, issuer: true });
  });
});

/** What a program does with the package: resolve a configuration and get headers (no network, no files). */
const USE = `const m = %LOAD%;
const env = { DHCORE_ENDPOINT: 'https://dh.example', DHCORE_ACCESS_TOKEN: 'tok' };
const configFile = ${JSON.stringify(join(tmpdir(), 'dhcore-package-none', 'none.ini'))};
const cfg = m.resolveConfig({ env, configFile });
const client = await m.createClient({ env, configFile, storage: 'memory' });
const headers = await client.authHeaders();
const err = new m.ConfigError('x', 'y');
console.log(JSON.stringify({ endpoint: cfg.endpoint, authMethod: cfg.authMethod, headers, base: err instanceof m.DHCoreError }));`;

const EXPECTED = {
  endpoint: 'https://dh.example',
  authMethod: 'access_token_only',
  headers: { Authorization: 'Bearer tok' },
  base: true,
};

/** Strict TypeScript against the published types; `@ts-expect-error` proves the types are not `any`. */
const TS_MAIN = `import { ConfigError, createClient, DHCoreError, type DHCoreClient, type ResolvedConfig, resolveConfig } from 'dhcore-credentials';
import type { DevServer, DevServerOptions } from 'dhcore-credentials/dev-server';

const options: DevServerOptions = { accessTokenTtl: 2 };
const noServer: DevServer | undefined = undefined;
export const wrong = (): void => {
  // @ts-expect-error a profile is a string
  resolveConfig({ profile: 42 });
};

async function main(): Promise<void> {
  const env = { DHCORE_ENDPOINT: 'https://dh.example', DHCORE_ACCESS_TOKEN: 'tok' };
  const configFile = ${JSON.stringify(join(dirname(tmpdir()), 'dhcore-package-none.ini'))};
  const cfg: ResolvedConfig = resolveConfig({ env, configFile });
  const client: DHCoreClient = await createClient({ env, configFile, storage: 'memory' });
  const headers: Record<string, string> = await client.authHeaders();
  const err: DHCoreError = new ConfigError('config_missing_endpoint', 'y');
  const base: boolean = err instanceof DHCoreError && options.accessTokenTtl === 2 && noServer === undefined;
  console.log(JSON.stringify({ endpoint: cfg.endpoint, authMethod: cfg.authMethod, headers, base }));
}
main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
`;
