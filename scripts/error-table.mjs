#!/usr/bin/env node
/**
 * Rewrite the README's error-code table from ERROR_CODES (run after `npm run build`). test/exports.test.ts
 * fails when the two disagree.
 */
import { readFileSync, writeFileSync } from 'node:fs';

const { ERROR_CODES, EXIT_CODES } = await import(new URL('../dist/index.js', import.meta.url).href);
const rows = Object.entries(ERROR_CODES).map(
  ([code, e]) => `| \`${code}\` | ${e.category} | ${EXIT_CODES[e.category]} | ${e.meaning} |`,
);
const table = ['| Code | Category | Exit | Meaning |', '| --- | --- | --- | --- |', ...rows].join('\n');
const file = new URL('../README.md', import.meta.url);
const readme = readFileSync(file, 'utf8');
const start = readme.indexOf('| Code | Category | Exit | Meaning |');
const end = readme.indexOf('\n\n', start);
if (start < 0 || end < 0) throw new Error('README.md has no error-code table to replace');
writeFileSync(file, readme.slice(0, start) + table + readme.slice(end));
