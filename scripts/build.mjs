#!/usr/bin/env node
/**
 * `npm run build`: two folders, both made from scratch each time.
 *
 * dist/ — exactly what the package ships (package.json "files"):
 * - rolldown bundles of the entry points and the chunks they load (see {@link bundle}). A start pays for every
 *   file it loads (find, read, compile), and `import('dhcore-credentials')` used to load a dozen of ours.
 *   - `dist/index.js` and `dist/dev-server/index.js` (ES modules) are bundled together, so code they share
 *     (the error classes) is one module and `instanceof DHCoreError` holds across the two entry points.
 *   - The CLI (`dist/cli/`, CommonJS) is bundled on its own: a CLI process never shares modules with a
 *     program, and its chunks then do not split the library's code into more modules.
 *   - Dynamic `import()`s stay dynamic (code splitting): the token lifecycle, the OAuth client, the lock, the
 *     CLI's commander program and the dev server's oidc-provider are loaded only when needed.
 *   No source maps: they would point at sources the package does not ship.
 * - tsc's declarations for the two library entry points, pruned to the files those declarations reference.
 *
 * build/ — for this repository only (`npm start`, the benchmarks and tests that drive internals): every
 * module of src/ transpiled one to one, with source maps.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { build as rolldown } from 'rolldown';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist');
const DECLARATION_ENTRIES = ['index.d.ts', 'dev-server/index.d.ts'];

rmSync(dist, { recursive: true, force: true });
rmSync(join(root, 'build'), { recursive: true, force: true });

// Declarations (tsc type-checks the library on the way).
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
pruneDeclarations();

// The library: ES modules. Both entry points in one build, so code they share (the error classes) is one
// module and `instanceof DHCoreError` holds across them.
await bundle({
  input: { index: 'src/index.ts', 'dev-server/index': 'src/dev-server/index.ts' },
  format: 'esm',
  chunkFileNames: 'chunks/[name]-[hash].js',
  // The in-process queue is tiny and shared by the lock and the token session: with the rest, not a file of
  // its own.
  groups: [{ name: 'core', from: ['src/index.ts', 'src/store/queue.ts'] }],
});
// The CLI: CommonJS files in a folder whose package.json says so. A CommonJS entry point starts without
// Node's ESM loader (≈5 ms, a sixth of a bare Node start), which `dhcore token` in a loop would pay every time.
// Its chunks are named without a hash: main.js loads run.js by name through the code cache
// (src/cli/code-cache.ts), whose files are named after the chunks and so replaced, not piled up, by an update.
// External dynamic imports become require(): a chunk compiled with vm.Script has no import() in Node 20.
await bundle({
  input: { 'cli/main': 'src/cli/main.ts' },
  format: 'cjs',
  chunkFileNames: 'cli/[name].js',
  dynamicImportInCjs: false,
  groups: [
    // What main.js needs for `--version` and to load run.js, and nothing else.
    { name: 'start', from: ['src/cli/output.ts', 'src/cli/version.ts', 'src/cli/code-cache.ts'] },
    // What `dhcore token` and `dhcore status` run: run.ts, what it imports, the token lifecycle (which nearly
    // every `dhcore token` loads) and status (a few kB: a second file costs `status` more than its code costs
    // `token` in run.js's cache).
    { name: 'run', from: ['src/cli/run.ts', 'src/auth/token-session.ts', 'src/cli/commands/status.ts'] },
  ],
});
writeFileSync(join(dist, 'cli/package.json'), '{ "type": "commonjs" }\n');
if (!existsSync(join(dist, 'cli/run.js')))
  throw new Error('dist/cli/run.js is missing: main.js loads it by name');
inlineIntoMain(join(dist, 'cli/main.js'), ['rolldown-runtime.js', 'start.js']);

await build({
  absWorkingDir: root,
  entryPoints: ['src/**/*.ts'],
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  outbase: 'src',
  outdir: 'build',
  logLevel: 'warning',
});

/**
 * One rolldown build into dist/. npm dependencies stay external (the CLI's `require()`s load the ESM-only
 * ones through Node's require(esm), only on the paths that need them). Each dynamic `import()` of ours stays
 * a chunk loaded only when needed (in CommonJS, a `require()` of it; esbuild splits only ES modules).
 *
 * Each of `groups` is one chunk: the modules of `from` and everything they import statically, minus the
 * earlier groups'. Left alone, the modules that lazily loaded chunks share with an entry point would be
 * a dozen small chunks, each a file to find, read and compile at every start.
 */
async function bundle({ input, format, chunkFileNames, groups, dynamicImportInCjs }) {
  const members = groups.map(() => new Set());
  await rolldown({
    cwd: root,
    input,
    platform: 'node',
    external: (id) => !id.startsWith('.') && !id.startsWith('/') && !id.startsWith('\0'),
    logLevel: 'warn',
    plugins: [
      {
        name: 'static-closures',
        buildEnd() {
          const taken = new Set();
          groups.forEach((group, g) => {
            const todo = group.from.map((f) => join(root, f));
            while (todo.length > 0) {
              const id = todo.pop();
              if (taken.has(id)) continue;
              taken.add(id);
              members[g].add(id);
              const info = this.getModuleInfo(id);
              todo.push(...(info?.importedIds ?? []).filter((i) => i.startsWith(root)));
            }
          });
        },
      },
    ],
    output: {
      dir: dist,
      format,
      entryFileNames: '[name].js',
      chunkFileNames,
      ...(dynamicImportInCjs === undefined ? {} : { dynamicImportInCjs }),
      // Minified, with function and class names kept (stack traces stay readable), and only ASCII
      // (non-ASCII characters of strings escaped): V8 then reads each file as one-byte text, without
      // decoding UTF-8. Reading and compiling our code is most of what a start spends on it: the token path
      // of the CLI went from 101 to 77 kB.
      minify: {
        compress: true,
        mangle: { keepNames: true },
        codegen: { removeWhitespace: true, asciiOnly: true },
      },
      codeSplitting: {
        groups: groups.map((group, g) => ({
          name: group.name,
          test: (id) => members[g].has(id),
          priority: groups.length - g,
        })),
      },
    },
  });
}

/**
 * Puts the chunks every run of the CLI loads (`chunks`, in dependency order) into its entry file, and removes
 * their files. Node finds, stats and reads each file a `require()` names (≈1 M instructions each, a fiftieth
 * of what `dhcore token` adds to a bare Node start); rolldown has no way to put a chunk that others import
 * into the entry chunk. Each is registered in `require.cache` under its own path before anything requires
 * it, so the other chunks, loaded by requireChunk (src/cli/code-cache.ts, which looks there first), share
 * the one instance; their `./` requires among themselves are served from there too.
 */
function inlineIntoMain(entry, chunks) {
  const shebang = '#!/usr/bin/env node\n';
  let main = readFileSync(entry, 'utf8');
  if (!main.startsWith(shebang)) throw new Error(`${entry} does not start with ${shebang.trim()}`);
  main = main.slice(shebang.length);
  // The path requireChunk looks a chunk up by (path.join, so that it is the same string on Windows too).
  const helper = '__inlinedChunk';
  const pathOf = (name) => `${helper}(${JSON.stringify(name)})`;
  const own = (name) => `require.cache[${pathOf(name)}].exports`;
  const relativeRequire = /require\(\s*['"`]\.\.?\//;
  const served = (code, what, allowed = []) => {
    for (const name of chunks) code = code.replaceAll(`require(${JSON.stringify(`./${name}`)})`, own(name));
    let rest = code;
    for (const pattern of allowed) rest = rest.replace(pattern, '');
    if (relativeRequire.test(rest)) throw new Error(`${what}: a require() of a chunk that is not inlined`);
    return code;
  };
  const modules = chunks.map((name) => {
    const file = join(dirname(entry), name);
    // Their require() is Node's: one of a chunk of ours would load it past requireChunk.
    const code = served(readFileSync(file, 'utf8'), file);
    rmSync(file);
    return (
      `{const m=new module.constructor(${pathOf(name)},module);` +
      'm.filename=m.id;m.paths=module.paths;require.cache[m.id]=m;' +
      `(function(exports,require,module,__filename,__dirname){${code}\n})(m.exports,require,m,m.id,__dirname);` +
      'm.loaded=true}\n'
    );
  });
  // main.js's fallback for the sources (never taken in the build) may name run.js.
  const fallback = /Promise\.resolve\(\)\.then\(\(\)=>require\("\.\/run\.js"\)\)/;
  const helperCode = `const ${helper}=(n)=>process.getBuiltinModule("node:path").join(__dirname,n);\n`;
  writeFileSync(entry, `${shebang}${helperCode}${modules.join('')}${served(main, entry, [fallback])}`);
}

/** Removes the declarations that no entry point's declarations reach (tsc emits one per module it saw). */
function pruneDeclarations() {
  const reached = new Set();
  const todo = DECLARATION_ENTRIES.map((f) => join(dist, f));
  while (todo.length > 0) {
    const file = todo.pop();
    if (reached.has(file)) continue;
    reached.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(
      /(?:from\s+|import\s*\(\s*)['"](\.{1,2}\/[^'"]+)\.js['"]/g,
    )) {
      todo.push(join(dirname(file), `${m[1]}.d.ts`));
    }
  }
  for (const entry of readdirSync(dist, { recursive: true, withFileTypes: true })) {
    const file = join(entry.parentPath, entry.name);
    if (entry.isFile() && !reached.has(file)) rmSync(file);
  }
  // Folders left empty, deepest first.
  const dirs = readdirSync(dist, { recursive: true, withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(e.parentPath, e.name))
    .sort((a, b) => relative(dist, b).split('/').length - relative(dist, a).split('/').length);
  for (const dir of dirs) if (readdirSync(dir).length === 0) rmdirSync(dir);
}
