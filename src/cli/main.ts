#!/usr/bin/env node
/**
 * `dhcore`. `--version` is answered here, before the rest of the CLI is even read: scripts and tools ask it
 * often. Any other command line is run.ts, loaded with the code cache (code-cache.ts).
 */
import { requireChunk } from './code-cache.js';
import { writeOut } from './output.js';
import { packageVersion } from './version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) writeOut(`${packageVersion()}\n`);
// Built, this file is CommonJS and run.ts is run.js beside it (scripts/build.mjs): loaded through the code
// cache. Anywhere else (the sources), a plain import.
else if (typeof module === 'object' && typeof __dirname === 'string')
  requireChunk(process.getBuiltinModule('node:path').join(__dirname, 'run.js'), module, require);
else void import('./run.js');
