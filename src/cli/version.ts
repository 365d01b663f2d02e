// A builtin through process.getBuiltinModule(), not an import: shorter cold start (see config/resolve.ts).
const { readFileSync } = process.getBuiltinModule('node:fs');

/** The installed package's version (dist/cli/ → ../../package.json). */
export function packageVersion(): string {
  try {
    const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
  } catch {
    return 'unknown';
  }
}
