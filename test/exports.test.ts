/**
 * The package's public surface, as published (the BUILT `dist/`): exactly these exports, typed without `any`,
 * and an entry point that stays light — the OAuth client, the lock library, `debug` and the dev server are not
 * loaded until a token request needs them. The entry points are esbuild bundles (scripts/bundle.mjs), so the
 * checks look at what is shipped: `dist/index.js` and the chunks it imports.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const DIST = join(ROOT, 'dist');
const HEAVY = ['openid-client', 'oidc-provider', 'proper-lockfile', 'debug', 'jose', 'koa'];

describe('public exports of dhcore-credentials', () => {
  it('are exactly the documented functions and error classes', async () => {
    const mod = (await import(pathToFileURL(join(DIST, 'index.js')).href)) as Record<string, unknown>;
    expect(Object.keys(mod).sort()).toEqual(
      [
        'AuthError',
        'ConfigError',
        'DHCoreError',
        'ERROR_CODES',
        'EXIT_CODES',
        'HttpError',
        'UsageError',
        'createClient',
        'getCredentialsAndConfig',
        'getCurrentProfile',
        'refreshToken',
        'resolveConfig',
        's3Config',
        'setCurrentProfile',
        'sqlConfig',
      ].sort(),
    );
    for (const [name, value] of Object.entries(mod)) {
      expect(typeof value).toBe(name === 'ERROR_CODES' || name === 'EXIT_CODES' ? 'object' : 'function');
    }
  });

  it('ERROR_CODES gives every code a category with an exit code and a one-line meaning', async () => {
    const { ERROR_CODES, EXIT_CODES } = (await import(pathToFileURL(join(DIST, 'index.js')).href)) as {
      ERROR_CODES: Record<string, { category: string; meaning: string }>;
      EXIT_CODES: Record<string, number>;
    };
    expect(Object.keys(ERROR_CODES).length).toBeGreaterThan(40);
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^[a-z]+(_[a-z]+)*$/);
      expect(EXIT_CODES[entry.category], code).toBeTypeOf('number');
      expect(entry.meaning).toMatch(/^[A-Z].*\.$/);
      expect(entry.meaning).not.toContain('\n');
    }
    expect(EXIT_CODES).toEqual({ unexpected: 1, usage: 2, config: 3, auth: 4, network: 5, cancelled: 130 });
    expect(ERROR_CODES.usage_conflicting_flags?.category).toBe('usage');
    // The README's table is this table.
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    for (const [code, entry] of Object.entries(ERROR_CODES)) {
      expect(readme, code).toContain(
        `| \`${code}\` | ${entry.category} | ${EXIT_CODES[entry.category]} | ${entry.meaning} |`,
      );
    }
    expect(ERROR_CODES.auth_not_refreshable?.category).toBe('auth');
  });

  it('error classes share one base with a stable code', async () => {
    const { DHCoreError, ConfigError, AuthError, HttpError } = await import(
      pathToFileURL(join(DIST, 'index.js')).href
    );
    const errors = [
      new ConfigError('config_missing_endpoint', 'm'),
      new AuthError('auth_invalid_grant', 'm', { oauthError: 'invalid_grant' }),
      new HttpError('http_error', 'm', { status: 502, url: 'https://x', bodyExcerpt: 'bad gateway' }),
    ];
    for (const e of errors) {
      expect(e).toBeInstanceOf(DHCoreError);
      expect(e).toBeInstanceOf(Error);
    }
    expect(errors.map((e) => [e.name, e.code])).toEqual([
      ['ConfigError', 'config_missing_endpoint'],
      ['AuthError', 'auth_invalid_grant'],
      ['HttpError', 'http_error'],
    ]);
    expect(errors[1]).toMatchObject({ oauthError: 'invalid_grant' });
    expect(errors[2]).toMatchObject({ status: 502, bodyExcerpt: 'bad gateway' });
  });

  it('package.json points "." at the built entry and its types, for import and require alike', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(pkg.exports['./dev-server']).toEqual({
      types: './dist/dev-server/index.d.ts',
      default: './dist/dev-server/index.js',
    });
    const dts = readFileSync(join(DIST, 'index.d.ts'), 'utf8');
    for (const name of [
      'createClient',
      'DHCoreClient',
      'ClientOptions',
      'ResolvedConfig',
      'AuthMethod',
      'Logger',
      'S3Config',
      'S3Credentials',
      'SqlConfig',
    ])
      expect(dts).toContain(name);
  });

  it('an error thrown by the dev server entry point is a DHCoreError of the main entry point', async () => {
    const { DHCoreError } = await import(pathToFileURL(join(DIST, 'index.js')).href);
    const { startDevServer } = await import(pathToFileURL(join(DIST, 'dev-server/index.js')).href);
    const err = await startDevServer({ port: -1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DHCoreError);
    expect(err).toMatchObject({ code: 'dev_server_bad_option' });
  });

  it('the public type declarations never use any', () => {
    for (const file of [
      'index.d.ts',
      'client/client.d.ts',
      'parity.d.ts',
      'errors.d.ts',
      'stores/s3.d.ts',
      'stores/sql.d.ts',
      'stores/session.d.ts',
    ]) {
      const code = readFileSync(join(DIST, file), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      expect(code, file).not.toMatch(/\bany\b/);
    }
  });
});

/** Every module reachable from `entry` through static imports (dynamic `import()` excluded). */
function staticGraph(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.startsWith('/')) continue; // a package: not followed
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(
      /^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'|^\s*import\s+'([^']+)'/gm,
    )) {
      const spec = (m[1] ?? m[2])!;
      if (spec.startsWith('.')) todo.push(resolve(dirname(file), spec));
      else
        todo.push(
          spec.startsWith('node:') ? spec : spec.split('/')[0]!.startsWith('@') ? spec : spec.split('/')[0]!,
        );
    }
  }
  return seen;
}

describe('the entry point stays light', () => {
  it('statically imports no OAuth library, lock library, debug or dev server', () => {
    const graph = [...staticGraph(join(DIST, 'index.js'))];
    for (const heavy of HEAVY) expect(graph).not.toContain(heavy);
    expect(graph.filter((f) => f.includes('dev-server'))).toEqual([]);
    // A bundle: the entry and a few shared chunks, not one module per source file.
    expect(graph.filter((f) => f.startsWith('/') && !f.startsWith(join(DIST, 'chunks/')))).toEqual([
      join(DIST, 'index.js'),
    ]);
  });

  it('at run time, a basic client with headers loads none of them; an oauth2 client loads them when needed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dhcore-exports-'));
    try {
      const log = join(dir, 'loaded.txt');
      const hooks = join(dir, 'hooks.mjs');
      writeFileSync(
        hooks,
        `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, r.url + '\\n');
  return r;
}`,
      );
      const register = join(dir, 'register.mjs');
      writeFileSync(
        register,
        `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`,
      );
      const ini = join(dir, 'dhcore.ini');
      writeFileSync(
        ini,
        `[b]\ndhcore_endpoint = https://b.example\ndhcore_user = u\ndhcore_password = p\n[o]\ndhcore_endpoint = https://o.example\ndhcore_access_token = a\ndhcore_refresh_token = r\ndhcore_expires_at = 2999-01-01T00:00:00Z\n`,
        { mode: 0o600 },
      );
      const run = (profile: string) => {
        writeFileSync(log, '');
        const script = `const m = await import(${JSON.stringify(pathToFileURL(join(DIST, 'index.js')).href)});
const c = await m.createClient({ env: { HOME: ${JSON.stringify(dir)} }, configFile: ${JSON.stringify(ini)}, profile: ${JSON.stringify(profile)} });
const h = await c.authHeaders();
process.stdout.write(Object.keys(h).join(','));`;
        const r = spawnSync(
          process.execPath,
          ['--import', pathToFileURL(register).href, '--input-type=module', '-e', script],
          {
            env: { PATH: process.env.PATH, HOME: dir },
            encoding: 'utf8',
          },
        );
        expect(r.stderr).toBe('');
        expect(r.stdout).toBe('Authorization');
        return readFileSync(log, 'utf8');
      };
      const tokenManager = /\/dist\/chunks\/token-session-[\w-]+\.js/;
      const basic = run('b');
      expect(basic).toContain('/dist/index.js');
      for (const heavy of HEAVY) expect(basic).not.toContain(`/node_modules/${heavy}/`);
      expect(basic).not.toContain('dev-server');
      expect(basic).not.toMatch(tokenManager);
      const oauth2 = run('o');
      expect(oauth2).toMatch(tokenManager);
      // A saved still-valid token needs no OAuth client and no lock.
      for (const heavy of HEAVY) expect(oauth2).not.toContain(`/node_modules/${heavy}/`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
