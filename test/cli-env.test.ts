import { execFileSync } from 'node:child_process';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { IniDocument } from '../src/config/ini.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';

const server = useDevServer();
const home = useTempHome();
let env: NodeJS.ProcessEnv;
beforeEach(() => {
  env = cleanEnv(home().home);
});

const read = () => readFileSync(home().configFile, 'utf8');
const doc = () => IniDocument.parse(read(), home().configFile);

describe('dhcore register', () => {
  it('writes dhcore_* and oauth2_* keys from the server(), makes the environment current, mode 0600', async () => {
    const res = await runCli(['register', server().endpoint], { env });
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("Registered profile 'dhcore-dev-server'");
    const d = doc();
    // Default name: the server's dhcore_name.
    expect(d.sections()).toEqual(['dhcore-dev-server']);
    expect(d.get('DEFAULT', 'current_environment')).toBe('dhcore-dev-server');
    const s = 'dhcore-dev-server';
    expect(d.get(s, 'dhcore_endpoint')).toBe(server().endpoint);
    expect(d.get(s, 'dhcore_issuer')).toBe(server().issuer);
    expect(d.get(s, 'dhcore_client_id')).toBe(server().clientId);
    expect(d.get(s, 'oauth2_issuer')).toBe(server().issuer);
    expect(d.get(s, 'oauth2_token_endpoint')).toBe(`${server().endpoint}/auth/token`);
    expect(d.get(s, 'oauth2_authorization_endpoint')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(d.get(s, 'oauth2_device_authorization_endpoint')).toMatch(/^http:\/\/127\.0\.0\.1:\d+\//);
    expect(d.get(s, 'oauth2_scopes_supported')?.split(',')).toContain('credentials');
    expect(d.get(s, 'ini_source')).toBe('well-known');
    expect(d.get(s, 'updated_environment')).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(statSync(home().configFile).mode & 0o777).toBe(0o600);

    // The resolution (and so every other command) now uses it.
    const status = await runCli(['status', '--offline', '--json'], { env });
    expect(JSON.parse(status.stdout)).toMatchObject({
      profile: s,
      endpoint: server().endpoint,
      authMethod: 'none',
    });
  });

  // python3 is on every dev machine and in CI: no silent skip (the INI interop tests need it too).
  it('writes a file Python configparser reads the same way', async () => {
    expect((await runCli(['register', server().endpoint, '-e', 'dev'], { env })).code).toBe(0);
    const out = execFileSync(
      'python3',
      [
        '-c',
        'import configparser,sys,json;c=configparser.ConfigParser();c.read(sys.argv[1]);' +
          'print(json.dumps({"current":c["DEFAULT"]["current_environment"],"endpoint":c["dev"]["dhcore_endpoint"],"token":c["dev"]["oauth2_token_endpoint"]}))',
        home().configFile,
      ],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual({
      current: 'dev',
      endpoint: server().endpoint,
      token: `${server().endpoint}/auth/token`,
    });
  });

  it('-e names the environment; other sections, comments and blank lines stay byte for byte', async () => {
    const before = '# my settings\n[prod]\n; keep me\ndhcore_endpoint = https://prod.example\n\n';
    writeFileSync(home().configFile, before, { mode: 0o600 });
    const res = await runCli(['register', `\`${server().endpoint}/\``, '-e', 'local', '--json'], { env });
    expect(res.code).toBe(0);
    const out = JSON.parse(res.stdout);
    expect(out).toMatchObject({ name: 'local', endpoint: server().endpoint, current: true, replaced: false });
    expect(out.keys).toContain('oauth2_token_endpoint');
    const text = read();
    expect(text.startsWith(before)).toBe(true);
    expect(doc().sections()).toEqual(['prod', 'local']);
    expect(doc().get('DEFAULT', 'current_environment')).toBe('local');
  });

  it('refuses to overwrite an environment that points elsewhere unless --force (which drops its tokens)', async () => {
    const before = `[DEFAULT]\ncurrent_environment = prod\n\n[prod]\ndhcore_endpoint = https://prod.example\ndhcore_access_token = OLD-SECRET-TOKEN-1234\n`;
    writeFileSync(home().configFile, before, { mode: 0o600 });
    const refused = await runCli(['register', server().endpoint, '-e', 'prod'], { env });
    expect(refused.code).toBe(3);
    expect(refused.stdout).toBe('');
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toContain('https://prod.example');
    expect(refused.stderr).toContain(`'dhcore register ${server().endpoint} -e prod --force'`);
    expect(read()).toBe(before);

    const forced = await runCli(['register', server().endpoint, '-e', 'prod', '--force'], { env });
    expect(forced.code).toBe(0);
    expect(forced.stdout).toContain("Replaced profile 'prod'");
    expect(doc().get('prod', 'dhcore_endpoint')).toBe(server().endpoint);
    expect(doc().get('prod', 'dhcore_access_token')).toBeUndefined();
    expect(read()).not.toContain('OLD-SECRET-TOKEN-1234');
  });

  it('re-registering the same endpoint updates the server keys and keeps saved tokens', async () => {
    writeFileSync(
      home().configFile,
      `[dev]\ndhcore_endpoint = ${server().endpoint}\ndhcore_refresh_token = KEEP-ME-REFRESH-5678\ndhcore_client_id = stale\n`,
    );
    const res = await runCli(['register', server().endpoint, '-e', 'dev'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("Updated profile 'dev'");
    expect(res.stdout).not.toContain('KEEP-ME');
    expect(doc().get('dev', 'dhcore_refresh_token')).toBe('KEEP-ME-REFRESH-5678');
    expect(doc().get('dev', 'dhcore_client_id')).toBe(server().clientId);
  });

  it('defaults the name to the host when the server has no dhcore_name', async () => {
    const { createServer } = await import('node:http');
    const bare = createServer((req, res) => {
      const port = (bare.address() as { port: number }).port;
      res.setHeader('content-type', 'application/json');
      if (req.url === '/.well-known/configuration') res.end(JSON.stringify({ dhcore_api_level: '14' }));
      else if (req.url === '/.well-known/openid-configuration')
        res.end(
          JSON.stringify({
            issuer: `http://127.0.0.1:${port}`,
            token_endpoint: `http://127.0.0.1:${port}/t`,
          }),
        );
      else res.writeHead(404).end('{}');
    });
    await new Promise<void>((r) => bare.listen(0, '127.0.0.1', r));
    try {
      const port = (bare.address() as { port: number }).port;
      const res = await runCli(['register', `http://127.0.0.1:${port}`], { env });
      expect(res.code).toBe(0);
      expect(doc().sections()).toEqual([`127.0.0.1:${port}`]);
      expect(doc().get(`127.0.0.1:${port}`, 'oauth2_token_endpoint')).toBe(`http://127.0.0.1:${port}/t`);
    } finally {
      await new Promise((r) => bare.close(r));
    }
  });

  it('fails with one line naming the fix: no scheme, unreachable, not a DHCore', async () => {
    const noScheme = await runCli(['register', 'dhcore.example.com'], { env });
    expect(noScheme.code).toBe(3);
    expect(noScheme.stderr).toBe(
      `dhcore: Endpoint "dhcore.example.com" must start with http:// or https://: run 'dhcore register https://dhcore.example.com'.\n`,
    );

    // A port that was just free: connection refused.
    const { createServer } = await import('node:net');
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as { port: number }).port;
    await new Promise((r) => probe.close(r));
    const down = await runCli(['register', `http://127.0.0.1:${port}`], { env });
    expect(down.code).toBe(5);
    expect(down.stderr.trim().split('\n')).toHaveLength(1);
    expect(down.stderr).toMatch(/cannot reach .*ECONNREFUSED.*that it is up/);

    const notDhcore = await runCli(['register', `${server().endpoint}/api`], { env });
    expect(notDhcore.code).toBe(5);
    expect(notDhcore.stderr).toMatch(/HTTP 40\d .*check that .* is a DHCore endpoint/);
    expect(() => statSync(home().configFile)).toThrow();
  });

  it('a read-only config file is an error that names the fix, and stays untouched', async () => {
    writeFileSync(home().configFile, '[a]\ndhcore_endpoint = https://a.example\n');
    chmodSync(home().configFile, 0o444);
    const res = await runCli(['register', server().endpoint, '-e', 'b'], { env });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/^dhcore: Cannot write .*read-only file.*chmod u\+w/);
    expect(read()).toBe('[a]\ndhcore_endpoint = https://a.example\n');
  });

  it('--config writes to the given file', async () => {
    const other = join(home().home, 'project.ini');
    const res = await runCli(['--config', other, 'register', server().endpoint, '-e', 'p'], { env });
    expect(res.code).toBe(0);
    expect(IniDocument.parse(readFileSync(other, 'utf8')).get('p', 'dhcore_endpoint')).toBe(
      server().endpoint,
    );
    expect(() => statSync(home().configFile)).toThrow();
  });
});

const THREE = `# shared with dhcli
[DEFAULT]
current_environment = staging

[prod]
dhcore_endpoint = https://prod.example
dhcore_personal_access_token = SECRET-PAT-abcdef12

[staging]
dhcore_endpoint = https://staging.example
dhcore_access_token = SECRET-AT-abcdef34
dhcore_refresh_token = SECRET-RT-abcdef56
dhcore_expires_at = 2030-01-01T00:00:00Z

[local]
; a comment
dhcore_endpoint = http://127.0.0.1:9
`;

function expectNoSecret(text: string): void {
  expect(text).not.toMatch(/SECRET-/);
}

describe('dhcore list-env', () => {
  it('lists environments in file order and marks the current one', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['list-env'], { env });
    expect(res.code).toBe(0);
    expectNoSecret(res.stdout + res.stderr);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^\s+NAME\s+ENDPOINT\s+AUTH$/);
    expect(lines.slice(1).map((l) => l.slice(0, 2))).toEqual(['  ', '* ', '  ']);
    expect(lines[1]).toMatch(/prod\s+https:\/\/prod\.example\s+exchange/);
    expect(lines[2]).toMatch(/staging\s+https:\/\/staging\.example\s+oauth2/);
    expect(lines[3]).toMatch(/local\s+http:\/\/127\.0\.0\.1:9\s+none/);
  });

  it('--json gives names, endpoints, current flag and auth method, never a secret', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['list-env', '--json'], { env });
    expect(res.code).toBe(0);
    expectNoSecret(res.stdout);
    expect(JSON.parse(res.stdout)).toEqual({
      configFile: home().configFile,
      current: 'staging',
      environments: [
        {
          name: 'prod',
          endpoint: 'https://prod.example',
          current: false,
          authMethod: 'exchange',
          expiresAt: null,
        },
        {
          name: 'staging',
          endpoint: 'https://staging.example',
          current: true,
          authMethod: 'oauth2',
          expiresAt: '2030-01-01T00:00:00Z',
        },
        {
          name: 'local',
          endpoint: 'http://127.0.0.1:9',
          current: false,
          authMethod: 'none',
          expiresAt: null,
        },
      ],
    });
  });

  it('no file: says how to add one (stderr), exit 0; --json gives an empty list', async () => {
    const res = await runCli(['list-env'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/No profiles in .* run 'dhcore register <endpoint>'/);
    const json = await runCli(['list-env', '--json'], { env });
    expect(JSON.parse(json.stdout)).toMatchObject({ current: null, environments: [] });
  });
});

describe('dhcore use', () => {
  it('switches the current environment and keeps the rest of the file', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['use', 'prod'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toBe("Now using 'prod' (was 'staging').\n");
    expect(read()).toBe(THREE.replace('current_environment = staging', 'current_environment = prod'));
    const status = await runCli(['status', '--offline', '--json'], { env });
    expect(JSON.parse(status.stdout)).toMatchObject({ profile: 'prod', authMethod: 'exchange' });
  });

  it('an unknown name fails with one line listing the known ones; nothing written', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['use', 'qa'], { env });
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(
      `dhcore: Unknown profile 'qa' in ${home().configFile}; known profiles: prod, staging, local. Add it with 'dhcore register <endpoint> -e qa'.\n`,
    );
    expect(read()).toBe(THREE);
  });

  it('warns when $DH_NAME still overrides the choice', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['use', 'local'], { env: cleanEnv(home().home, { DH_NAME: 'prod' }) });
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/\$DH_NAME=prod still overrides it.*unset DH_NAME/);
  });

  it('--json reports the change', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['use', 'local', '--json'], { env });
    expect(JSON.parse(res.stdout)).toEqual({
      current: 'local',
      previous: 'staging',
      configFile: home().configFile,
    });
  });
});

describe('dhcore remove', () => {
  it('removes the current environment and clears current_environment', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['remove', 'staging'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Removed profile 'staging'.*'dhcore use prod' \(profiles: prod, local\)/);
    const d = doc();
    expect(d.sections()).toEqual(['prod', 'local']);
    expect(d.get('DEFAULT', 'current_environment')).toBeUndefined();
    expect(read()).not.toContain('SECRET-AT');
    expect(read()).toContain('# shared with dhcli');
    expect(read()).toContain('; a comment');
    expect(d.get('prod', 'dhcore_personal_access_token')).toBe('SECRET-PAT-abcdef12');
  });

  it('removing another environment keeps current_environment', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['remove', 'local', '--json'], { env });
    expect(JSON.parse(res.stdout)).toEqual({
      removed: 'local',
      wasCurrent: false,
      configFile: home().configFile,
    });
    expect(doc().get('DEFAULT', 'current_environment')).toBe('staging');
    expect(doc().sections()).toEqual(['prod', 'staging']);
  });

  it('an unknown name is an error that lists the known ones', async () => {
    writeFileSync(home().configFile, THREE, { mode: 0o600 });
    const res = await runCli(['remove', 'nope'], { env });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/Unknown profile 'nope'.*known profiles: prod, staging, local/);
    expect(read()).toBe(THREE);
  });
});

describe('help', () => {
  it.each(['register', 'list-env', 'use', 'remove'])('%s --help shows examples', async (name) => {
    const res = await runCli([name, '--help'], { env });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('Examples:');
    expect(res.stdout).toContain(`dhcore ${name}`);
  });
});
