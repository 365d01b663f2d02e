// A builtin through process.getBuiltinModule(), not an import: shorter cold start (see config/resolve.ts).
const { readFileSync } = process.getBuiltinModule('node:fs');
const { join } = process.getBuiltinModule('node:path');

/** The installed package's version (dist/cli/ → ../../package.json). */
export function packageVersion(): string {
  try {
    // A path, not a URL: `import.meta.url` in the CommonJS build loads node:url to make one.
    const pkg: unknown = JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8'));
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
  } catch {
    return 'unknown';
  }
}
