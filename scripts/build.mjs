#!/usr/bin/env node
/**
 * `npm run build`: two folders, both made from scratch each time.
 *
 * dist/ — exactly what the package ships (package.json "files"):
 * - esbuild bundles of the entry points and the chunks they load. Node's ESM loader pays about a millisecond
 *   per module at cold start, and `import('dhcore-credentials')` used to load a dozen of ours.
 *   - `dist/index.js` and `dist/dev-server/index.js` are bundled together, so code they share (the error
 *     classes) is one module and `instanceof DHCoreError` holds across the two entry points.
 *   - `dist/cli/main.js` is bundled on its own: a CLI process never shares modules with a program, and its
 *     chunks then do not split the library's code into more modules.
 *   - Dynamic `import()`s stay dynamic (code splitting): the token manager, the OAuth client, the lock and the
 *     dev server's oidc-provider are still loaded only when needed. npm dependencies stay external.
 *   No source maps: they would point at sources the package does not ship.
 * - tsc's declarations for the two library entry points, pruned to the files those declarations reference.
 *
 * build/ — for this repository only (`npm start`, the benchmarks and tests that drive internals): every
 * module of src/ transpiled one to one, with source maps.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

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

const common = {
  absWorkingDir: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  outbase: 'src',
  outdir: 'dist',
  logLevel: 'warning',
};
await build({
  ...common,
  entryPoints: ['src/index.ts', 'src/dev-server/index.ts'],
  chunkNames: 'chunks/[name]-[hash]',
});
await build({
  ...common,
  entryPoints: ['src/cli/main.ts'],
  // One folder below dist/ like the modules they are made of, so `import.meta.url`-relative paths
  // (`../../package.json`) still hold wherever a module ends up.
  chunkNames: 'cli-chunks/[name]-[hash]',
});

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
