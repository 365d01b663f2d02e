import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { resolveConfig } from '../src/config/resolve.js';
import { ConfigError, DHCoreError } from '../src/errors.js';
import { useTempHome } from './helpers/cli.js';

const home = useTempHome();

function writeConfig(text: string): string {
  writeFileSync(home().configFile, text);
  return home().configFile;
}

function expectConfigError(fn: () => unknown, code: string): ConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toBeInstanceOf(DHCoreError);
    expect((err as ConfigError).code).toBe(code);
    return err as ConfigError;
  }
  throw new Error(`expected a ConfigError ${code}`);
}

describe('config file location', () => {
  it('uses ~/.dhcore.ini from HOME, and $DH_CONFIG over it', () => {
    writeConfig('[__default]\ndhcore_endpoint = https://home.example\n');
    expect(resolveConfig({ env: { HOME: home().home } }).configFile).toBe(home().configFile);
    const other = join(home().home, 'other.ini');
    writeFileSync(other, '[__default]\ndhcore_endpoint = https://other.example\n');
    const cfg = resolveConfig({ env: { HOME: home().home, DH_CONFIG: other } });
    expect(cfg.configFile).toBe(other);
    expect(cfg.endpoint).toBe('https://other.example');
    expect(
      resolveConfig({ env: { HOME: home().home, DH_CONFIG: other }, configFile: home().configFile }).endpoint,
    ).toBe('https://home.example');
  });

  it('treats a missing file as empty, not as an error', () => {
    const cfg = resolveConfig({ env: { HOME: home().home, DHCORE_ENDPOINT: 'https://env.example' } });
    expect(cfg.fileExists).toBe(false);
    expect(cfg.profile).toBe('__default');
    expect(cfg.authMethod).toBe('none');
  });
});

describe('profile selection', () => {
  const file = `[DEFAULT]
current_environment = fromfile

[__default]
dhcore_endpoint = https://default.example
[fromfile]
dhcore_endpoint = https://fromfile.example
[fromenv]
dhcore_endpoint = https://fromenv.example
[fromoption]
dhcore_endpoint = https://fromoption.example
`;
  it('option > $DH_NAME > [DEFAULT] current_environment > __default', () => {
    const configFile = writeConfig(file);
    expect(resolveConfig({ configFile, env: {}, profile: 'fromoption' }).profile).toBe('fromoption');
    expect(resolveConfig({ configFile, env: { DH_NAME: 'fromenv' }, profile: 'fromoption' }).profile).toBe(
      'fromoption',
    );
    expect(resolveConfig({ configFile, env: { DH_NAME: 'fromenv' } }).endpoint).toBe(
      'https://fromenv.example',
    );
    expect(resolveConfig({ configFile, env: {} }).endpoint).toBe('https://fromfile.example');
    writeConfig(file.replace('current_environment = fromfile\n', ''));
    expect(resolveConfig({ configFile, env: {} }).profile).toBe('__default');
  });

  it('an unknown profile is an error that lists the known ones, and nothing is modified', () => {
    const configFile = writeConfig(file);
    const err = expectConfigError(
      () => resolveConfig({ configFile, env: {}, profile: 'nope' }),
      'config_unknown_profile',
    );
    expect(err.message).toContain("'nope'");
    expect(err.message).toContain('__default, fromfile, fromenv, fromoption');
    expect(readFileSync(configFile, 'utf8')).toBe(file);
    const viaEnv = expectConfigError(
      () => resolveConfig({ configFile, env: { DH_NAME: 'ghost' } }),
      'config_unknown_profile',
    );
    expect(viaEnv.message).toContain('DH_NAME');
  });

  it('a named profile missing from the file is fine when the environment supplies the endpoint', () => {
    const configFile = writeConfig(file);
    const cfg = resolveConfig({
      configFile,
      env: { DHCORE_ENDPOINT: 'https://env.example' },
      profile: 'new',
    });
    expect(cfg.profile).toBe('new');
    expect(cfg.endpoint).toBe('https://env.example');
  });
});

describe('precedence', () => {
  it('configuration keys: env > file; credential keys: file > env, key by key; options beat both', () => {
    const configFile = writeConfig(`[p]
dhcore_endpoint = https://file.example
dhcore_client_id = file-client
dhcore_access_token = file-access
aws_access_key_id = AKIAFILE
`);
    const env = {
      DHCORE_ENDPOINT: 'https://env.example',
      DHCORE_ACCESS_TOKEN: 'env-access',
      DHCORE_REFRESH_TOKEN: 'env-refresh',
      DHCORE_ISSUER: 'https://issuer.example',
    };
    const cfg = resolveConfig({ configFile, env, profile: 'p' });
    expect(cfg.endpoint).toBe('https://env.example');
    expect(cfg.sources.dhcore_endpoint).toBe('env');
    expect(cfg.clientId).toBe('file-client');
    expect(cfg.sources.dhcore_client_id).toBe('file');
    expect(cfg.issuer).toBe('https://issuer.example');
    expect(cfg.get('DHCORE_ACCESS_TOKEN')).toBe('file-access');
    expect(cfg.sources.dhcore_access_token).toBe('file');
    expect(cfg.get('dhcore_refresh_token')).toBe('env-refresh');
    expect(cfg.sources.dhcore_refresh_token).toBe('env');
    expect(cfg.authMethod).toBe('oauth2');
    // Unknown keys are kept and readable.
    expect(cfg.get('aws_access_key_id')).toBe('AKIAFILE');
    expect(cfg.keys()).toContain('aws_access_key_id');

    const withOptions = resolveConfig({
      configFile,
      env,
      profile: 'p',
      overrides: { DHCORE_ENDPOINT: 'https://option.example', dhcore_access_token: 'opt-access' },
    });
    expect(withOptions.endpoint).toBe('https://option.example');
    expect(withOptions.sources.dhcore_endpoint).toBe('option');
    expect(withOptions.get('dhcore_access_token')).toBe('opt-access');
  });

  it('the issuer defaults to the endpoint; [DEFAULT] values are inherited', () => {
    const configFile = writeConfig('[DEFAULT]\ndhcore_endpoint = https://inherited.example/\n[p]\n');
    const cfg = resolveConfig({ configFile, env: {}, profile: 'p' });
    expect(cfg.endpoint).toBe('https://inherited.example');
    expect(cfg.issuer).toBe('https://inherited.example');
  });
});

describe('auth method', () => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ DHCORE_PERSONAL_ACCESS_TOKEN: 'p', DHCORE_ACCESS_TOKEN: 'a', DHCORE_REFRESH_TOKEN: 'r' }, 'exchange'],
    [
      { DHCORE_ACCESS_TOKEN: 'a', DHCORE_REFRESH_TOKEN: 'r', DHCORE_USER: 'u', DHCORE_PASSWORD: 'x' },
      'oauth2',
    ],
    [{ DHCORE_ACCESS_TOKEN: 'a', DHCORE_USER: 'u', DHCORE_PASSWORD: 'x' }, 'access_token_only'],
    [{ DHCORE_USER: 'u', DHCORE_PASSWORD: 'x' }, 'basic'],
    [{ DHCORE_USER: 'u' }, 'none'],
    [{}, 'none'],
  ];
  it.each(cases)('%j → %s', (creds, method) => {
    const cfg = resolveConfig({
      configFile: home().configFile,
      env: { DHCORE_ENDPOINT: 'https://x.example', ...creds },
    });
    expect(cfg.authMethod).toBe(method);
  });

  it('merges file and env credentials before choosing (file refresh token + env PAT → exchange)', () => {
    const configFile = writeConfig(
      '[__default]\ndhcore_endpoint = https://x.example\ndhcore_access_token = a\n',
    );
    expect(resolveConfig({ configFile, env: {} }).authMethod).toBe('access_token_only');
    expect(resolveConfig({ configFile, env: { DHCORE_PERSONAL_ACCESS_TOKEN: 'pat' } }).authMethod).toBe(
      'exchange',
    );
  });
});

describe('endpoint validation', () => {
  it('a missing endpoint names the fix', () => {
    const err = expectConfigError(
      () => resolveConfig({ configFile: home().configFile, env: {} }),
      'config_missing_endpoint',
    );
    expect(err.message).toMatch(/DHCORE_ENDPOINT/);
    expect(err.message).toMatch(/dhcore register/);
  });

  it('a scheme-less endpoint names the key and where it came from', () => {
    const fromEnv = expectConfigError(
      () => resolveConfig({ configFile: home().configFile, env: { DHCORE_ENDPOINT: 'dhcore.example.com' } }),
      'config_invalid_endpoint',
    );
    expect(fromEnv.message).toContain('DHCORE_ENDPOINT from the environment');
    expect(fromEnv.message).toContain('https://dhcore.example.com');
    const original = '[__default]\ndhcore_endpoint = ftp://user:hunter22@dhcore.example.com\n';
    const configFile = writeConfig(original);
    const fromFile = expectConfigError(
      () => resolveConfig({ configFile, env: {} }),
      'config_invalid_endpoint',
    );
    expect(fromFile.message).toContain(`dhcore_endpoint from [__default] in ${configFile}`);
    expect(fromFile.message).not.toContain('hunter22');
    expect(readFileSync(configFile, 'utf8')).toBe(original);
  });

  it('trims whitespace and trailing slashes, and unwraps one pair of backticks or quotes with one warning', () => {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const emit = vi.spyOn(process, 'emitWarning');
    try {
      const configFile = writeConfig('[__default]\ndhcore_endpoint = `https://docs.example/`\n');
      expect(resolveConfig({ configFile, env: {} }).endpoint).toBe('https://docs.example');
      expect(resolveConfig({ configFile, env: {} }).endpoint).toBe('https://docs.example');
      expect(
        resolveConfig({
          configFile: home().configFile,
          env: { DHCORE_ISSUER: '"https://issuer.example"', DHCORE_ENDPOINT: 'https://e.example' },
        }).issuer,
      ).toBe('https://issuer.example');
      const quoted = emit.mock.calls.filter((c) => String(c[0]).includes('dhcore_endpoint'));
      expect(quoted).toHaveLength(1);
    } finally {
      emit.mockRestore();
      process.off('warning', onWarning);
    }
  });
});

describe('bad input', () => {
  it('an unreadable config file is a typed error naming the file', () => {
    const dir = join(home().home, 'a-directory.ini');
    mkdirSync(dir);
    const err = expectConfigError(
      () => resolveConfig({ configFile: dir, env: {} }),
      'config_not_regular_file',
    );
    expect(err.message).toContain(dir);
    expect(err.file).toBe(dir);
    const below = join(writeConfig('[__default]\n'), 'x.ini'); // a path through a regular file: ENOTDIR
    const err2 = expectConfigError(() => resolveConfig({ configFile: below, env: {} }), 'config_unreadable');
    expect(err2.message).toContain(below);
    expect(err2.file).toBe(below);
  });

  it('a syntax error names the file and line, and the file is left as it was', () => {
    const original = '[__default]\ndhcore_endpoint = https://x.example\nthis line has no delimiter\n';
    const configFile = writeConfig(original);
    let caught: unknown;
    try {
      resolveConfig({ configFile, env: {} });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).line).toBe(3);
    expect((caught as ConfigError).file).toBe(configFile);
    expect((caught as Error).message).toContain(configFile);
    expect(readFileSync(configFile, 'utf8')).toBe(original);
  });
});

describe('secrets never leak from a resolved config', () => {
  const secrets = {
    pat: 'SECRET-PAT-5f1c2d',
    access: 'SECRET-ACCESS-a9b8c7',
    refresh: 'SECRET-REFRESH-0e0f11',
    password: 'SECRET-PASSWORD-77aa',
    aws: 'SECRET-AWS-4242deadbeef',
    envAccess: 'SECRET-ENVACCESS-31337',
  };
  it('util.inspect, JSON.stringify, String and template literals show no secret', () => {
    const configFile = writeConfig(`[__default]
dhcore_endpoint = https://x.example
dhcore_personal_access_token = ${secrets.pat}
dhcore_refresh_token = ${secrets.refresh}
dhcore_password = ${secrets.password}
dhcore_user = alice
aws_secret_access_key = ${secrets.aws}
aws_session_token = ${secrets.aws}-session
`);
    const cfg = resolveConfig({ configFile, env: { DHCORE_ACCESS_TOKEN: secrets.envAccess } });
    expect(cfg.get('dhcore_personal_access_token')).toBe(secrets.pat);
    const shown = [inspect(cfg, { depth: 10, showHidden: true }), JSON.stringify(cfg), String(cfg), `${cfg}`];
    for (const text of shown) {
      for (const secret of Object.values(secrets)) expect(text).not.toContain(secret);
    }
    expect(JSON.stringify(cfg)).toContain('***');
    expect(JSON.stringify(cfg)).toContain('alice');
  });
});

describe('endpoint user info', () => {
  it('is refused with the password hidden, naming DHCORE_USER / DHCORE_PASSWORD', () => {
    let caught: unknown;
    try {
      resolveConfig({
        configFile: '/nonexistent/dhcore.ini',
        env: { DHCORE_ENDPOINT: 'https://bob:pw-7f3e9a@x.example' },
      });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).code).toBe('config_invalid_endpoint');
    expect((caught as Error).message).toContain('DHCORE_PASSWORD');
    expect((caught as Error).message).not.toContain('pw-7f3e9a');
  });
});
