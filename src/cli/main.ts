#!/usr/bin/env node
/**
 * `dhcore`. `--version` is answered here, before the rest of the CLI is even read: scripts and tools ask it
 * often. Any other command line is run.ts.
 */
import { writeOut } from './output.js';
import { packageVersion } from './version.js';

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) writeOut(`${packageVersion()}\n`);
else void import('./run.js');
