/** The folder rules of docs/ARCHITECTURE.md ("Folder map"): which part of src/ may import which. */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const SRC = join(ROOT, 'src');

/** Every module of src/ with the src/ modules it imports (static and dynamic). */
function imports(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        const targets = [...text.matchAll(/(?:from|import\()\s*'(\.{1,2}\/[^']+)'/g)].map((m) =>
          relative(SRC, resolve(dirname(path), m[1]!.replace(/\.js$/, '.ts'))),
        );
        out.set(relative(SRC, path), targets);
      }
    }
  };
  walk(SRC);
  return out;
}

/** The part of src/ a module belongs to: its folder, or the file name for root files. */
const part = (module: string) => (module.includes('/') ? module.split('/')[0]! : module.replace(/\.ts$/, ''));

const ROOT_HELPERS = ['errors', 'redact', 'warnings', 'diagnostics', 'secrets', 'sha256'];
const ALLOWED: Record<string, string[]> = {
  secrets: [],
  sha256: [],
  errors: ['secrets'],
  redact: ['config'],
  warnings: ['secrets'],
  diagnostics: ['secrets'],
  config: ['errors', 'redact', 'warnings', 'net', 'secrets'],
  net: ['errors'],
  store: ['config', 'errors', 'warnings', 'net', 'sha256'],
  auth: ['config', 'store', 'net', 'profiles', ...ROOT_HELPERS],
  profiles: ['config', 'store', 'net', ...ROOT_HELPERS],
  client: ['auth', 'net', 'config', 'profiles', ...ROOT_HELPERS],
  parity: ['auth', 'client', 'config', 'profiles'],
  stores: ['auth', 'client', 'config', ...ROOT_HELPERS],
  'dev-server': ['errors', 'net'],
  demo: ['auth', 'client', 'config', 'dev-server', 'parity', 'profiles', 'stores', ...ROOT_HELPERS],
};

describe('folder rules', () => {
  const graph = imports();

  it('each part imports only what the architecture allows', () => {
    const broken: string[] = [];
    for (const [module, targets] of graph) {
      const from = part(module);
      const allowed = ALLOWED[from];
      if (allowed === undefined) continue; // cli/ and index.ts may import anything of the SDK
      for (const target of targets) {
        const to = part(target);
        if (to !== from && !allowed.includes(to)) broken.push(`${module} → ${target}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('nothing outside the CLI imports src/cli (the demo uses SDK modules only)', () => {
    const intoCli = [...graph].flatMap(([module, targets]) =>
      part(module) === 'cli' ? [] : targets.filter((t) => part(t) === 'cli').map((t) => `${module} → ${t}`),
    );
    expect(intoCli).toEqual([]);
  });

  it('auth/profiles only reach profiles/current (the current-profile choice)', () => {
    const uses = [...graph].flatMap(([module, targets]) =>
      part(module) === 'auth' ? targets.filter((t) => part(t) === 'profiles') : [],
    );
    for (const target of uses) expect(target).toBe('profiles/current.ts');
  });
});
