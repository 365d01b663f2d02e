#!/usr/bin/env node
/**
 * Second step of `npm run build`, after tsc (which type-checks and emits every module and the .d.ts files):
 * replace the JavaScript of the public entry points with esbuild bundles. Node's ESM loader pays about a
 * millisecond per module at cold start, and `import('dhcore-credentials')` used to load a dozen of ours.
 *
 * - `dist/index.js` and `dist/dev-server/index.js` are bundled together, so code they share (the error
 *   classes) is one module and `instanceof DHCoreError` holds across the two entry points.
 * - `dist/cli/main.js` is bundled on its own: a CLI process never shares modules with a program, and its
 *   chunks then do not split the library's code into more modules.
 * - Dynamic `import()`s stay dynamic (code splitting): the token manager, the OAuth client, the lock and the
 *   dev server are still loaded only when needed. npm dependencies stay external.
 *
 * The other tsc outputs (`dist/config/*.js`, …) remain, for the benchmarks that drive internals directly.
 */
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const common = {
  absWorkingDir: new URL('..', import.meta.url).pathname,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  outbase: 'src',
  outdir: 'dist',
  logLevel: 'warning',
};

// Chunk names carry a content hash: drop the previous build's so stale ones do not pile up.
rmSync(new URL('../dist/chunks', import.meta.url), { recursive: true, force: true });
rmSync(new URL('../dist/cli-chunks', import.meta.url), { recursive: true, force: true });

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
