/**
 * What the CLI tells a user, tried as a new user would: every hint names the right fix, the PAT stays off
 * the command line, plain http to another machine is warned about before a secret goes there, and a
 * config file readable by others is reported when it is read. Real processes against the dev server.
 */

import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeExpiry } from '../src/cli/commands/status.js';
import { suggestEndpoint } from '../src/config/endpoint.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import { profileOf, registeredHome } from './helpers/login.js';

const server = useDevServer();
const home = useTempHome();
const env = (extra: Record<string, string> = {}) => cleanEnv(home().home, extra);
const lines = (text: string) => text.split('\n').filter(Boolean);
const warnings = (text: string) => lines(text).filter((l) => l.startsWith('dhcore: warning:'));
/** Write the config file as dhcore does (0600), so no permission warning mixes in. */
const writeConfig = (text: string, mode = 0o600) => {
  writeFileSync(home().configFile, text, { mode });
  chmodSync(home().configFile, mode);
};

/** A port nothing listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const port = (probe.address() as { port: number }).port;
  await new Promise((r) => probe.close(r));
  return port;
}

describe('endpoint hints (one helper for register and resolution)', () => {
  it('suggestEndpoint keeps host:port and picks http only for loopback hosts', () => {
    expect(suggestEndpoint('localhost:39975')).toBe('http://localhost:39975');
    expect(suggestEndpoint('127.0.0.1:39975')).toBe('http://127.0.0.1:39975');
    expect(suggestEndpoint('dhcore.example.com')).toBe('https://dhcore.example.com');
    expect(suggestEndpoint('htp://dhcore.example.com/')).toBe('https://dhcore.example.com');
    expect(suggestEndpoint('user:secret@dhcore.example.com')).toBe('https://dhcore.example.com');
    expect(suggestEndpoint('')).toBe('https://dhcore.example.com');
  });

  it('DHCORE_ENDPOINT=localhost:39975 suggests http://localhost:39975', async () => {
    const res = await runCli(['status', '--offline'], { env: env({ DHCORE_ENDPOINT: 'localhost:39975' }) });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain('(for example http://localhost:39975)');
  });
});

describe('hints on a first run and after removing the current profile', () => {
  it('first run: register, never -e __default', async () => {
    const res = await runCli(['status', '--offline'], { env: env() });
    expect(res.code).toBe(3);
    expect(lines(res.stderr)).toHaveLength(1);
    expect(res.stderr).not.toContain('__default');
    expect(res.stderr).toContain("'dhcore register <endpoint>'");
    expect(res.stderr).toContain('DHCORE_ENDPOINT');
  });

  it('after removing the current profile: use one that exists', async () => {
    writeConfig(
      '[DEFAULT]\ncurrent_environment = a\n\n[a]\ndhcore_endpoint = https://a.example\n\n[b]\ndhcore_endpoint = https://b.example\n',
    );
    const removed = await runCli(['remove', 'a'], { env: env() });
    expect(removed.code).toBe(0);
    expect(removed.stdout).toContain("'dhcore use b'");
    for (const args of [['status', '--offline'], ['token'], ['login', '--no-browser']]) {
      const res = await runCli(args, { env: env() });
      expect(res.code, args.join(' ')).toBe(3);
      expect(lines(res.stderr)).toHaveLength(1);
      expect(res.stderr).not.toContain('__default');
      expect(res.stderr).toContain("'dhcore use b'");
    }
  });

  it('remove of an unknown profile does not say to add it', async () => {
    writeConfig('[prod]\ndhcore_endpoint = https://prod.example\n');
    const res = await runCli(['remove', 'qa'], { env: env() });
    expect(res.code).toBe(3);
    expect(res.stderr).not.toMatch(/Add it|register/);
    expect(res.stderr).toMatch(/Unknown profile 'qa'.*known profiles: prod.*'dhcore list-env'/);
  });
});

describe('hints about the config file and the global options', () => {
  it('DH_CONFIG naming a folder: says so and names DH_CONFIG, no chmod', async () => {
    const res = await runCli(['status', '--offline'], { env: env({ DH_CONFIG: home().home }) });
    expect(res.code).toBe(3);
    expect(lines(res.stderr)).toHaveLength(1);
    expect(res.stderr).toMatch(/is a folder/);
    expect(res.stderr).toContain('DH_CONFIG');
    expect(res.stderr).not.toContain('chmod');
  });

  it('--config naming a folder names --config', async () => {
    const res = await runCli(['--config', home().home, 'status', '--offline'], { env: env() });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(/is a folder/);
    expect(res.stderr).toContain('--config');
    expect(res.stderr).not.toContain('DH_CONFIG');
    expect(res.stderr).not.toContain('chmod');
  });

  it('a leading ~ in --config and DH_CONFIG is the home folder', async () => {
    const res = await runCli(['--config', '~/p.ini', 'register', server().endpoint, '-e', 'p'], {
      env: env(),
    });
    expect(res.code, res.stderr).toBe(0);
    const file = join(home().home, 'p.ini');
    expect(profileOf(file, 'p').dhcore_endpoint).toBe(server().endpoint);
    expect(res.stdout).toContain(file);
    const status = await runCli(['status', '--offline', '--json'], { env: env({ DH_CONFIG: '~/p.ini' }) });
    expect(JSON.parse(status.stdout)).toMatchObject({ configFile: file, profile: 'p' });
  });

  it('-e "" is a usage error', async () => {
    for (const args of [
      ['-e', '', 'status', '--offline'],
      ['--env=', 'token'],
    ]) {
      const res = await runCli(['--json', ...args], { env: env() });
      expect(res.code, args.join(' ')).toBe(2);
      expect(JSON.parse(res.stderr).error.code).toBe('usage_invalid_option');
    }
  });
});

describe('hints about credentials', () => {
  it("status on a refused access_token_only profile: run 'dhcore login -e old'", async () => {
    writeConfig(`[old]\ndhcore_endpoint = ${server().endpoint}\ndhcore_access_token = not-a-valid-token\n`);
    const res = await runCli(['status', '-e', 'old'], { env: env() });
    expect(res.code).toBe(4);
    expect(res.stdout).toContain("run 'dhcore login -e old'.");
  });

  it('login --pat with a wrong PAT says the PAT was refused, not that saved credentials were', async () => {
    const e = await registeredHome(server(), home());
    const res = await runCli(['login', '--pat', '-'], { env: e, input: 'dhpat_not-a-real-token-123456' });
    expect(res.code).toBe(4);
    expect(lines(res.stderr)).toHaveLength(1);
    expect(res.stderr).toMatch(/personal access token was refused/);
    expect(res.stderr).not.toMatch(/saved credentials|no longer accepted/i);
    expect(profileOf(home().configFile).dhcore_personal_access_token).toBeUndefined();
  });

  it('a token-endpoint failure names the key and where it came from', async () => {
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;
    writeConfig(
      `[x]\ndhcore_endpoint = ${endpoint}\ndhcore_client_id = c\ndhcore_personal_access_token = dhpat_x\n`,
    );
    const fromFile = await runCli(['token', '-e', 'x'], { env: env() });
    expect(fromFile.code).toBe(5);
    expect(fromFile.stderr).toContain(`dhcore_endpoint in [x] of ${home().configFile}`);
    expect(fromFile.stderr).not.toContain('DHCORE_ENDPOINT');

    const fromEnv = await runCli(['token'], {
      env: env({ DHCORE_ENDPOINT: endpoint, DHCORE_CLIENT_ID: 'c', DHCORE_PERSONAL_ACCESS_TOKEN: 'dhpat_x' }),
    });
    expect(fromEnv.code).toBe(5);
    expect(fromEnv.stderr).toContain('$DHCORE_ENDPOINT');

    writeConfig(
      `[x]\ndhcore_endpoint = ${server().endpoint}\noauth2_token_endpoint = ${endpoint}/token\ndhcore_client_id = c\ndhcore_personal_access_token = dhpat_x\n`,
    );
    const tokenEndpoint = await runCli(['token', '-e', 'x'], { env: env() });
    expect(tokenEndpoint.code).toBe(5);
    expect(tokenEndpoint.stderr).toContain(`oauth2_token_endpoint in [x] of ${home().configFile}`);
  });
});

describe('human durations, the same in status and refresh', () => {
  it('describeExpiry', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    const at = (s: number) => new Date(now + s * 1000).toISOString();
    expect(describeExpiry(at(42), now)).toMatch(/\(in 42 s\)$/);
    expect(describeExpiry(at(3599.4), now)).toMatch(/\(in 1 h\)$/);
    expect(describeExpiry(at(3600), now)).toMatch(/\(in 1 h\)$/);
    expect(describeExpiry(at(90 * 60), now)).toMatch(/\(in 1\.5 h\)$/);
    expect(describeExpiry(at(-5 * 86400), now)).toMatch(/\(expired 5 days ago\)$/);
    expect(describeExpiry(at(-400 * 86400), now)).toMatch(/\(expired 13 months ago\)$/);
    expect(describeExpiry(at(-60643.4 * 3600), now)).toMatch(/\(expired 6\.9 years ago\)$/);
  });

  it('refresh and status word a fresh 1 h token the same way', async () => {
    const e = await registeredHome(server(), home());
    expect((await runCli(['login', '--pat', '-'], { env: e, input: server().pat })).code).toBe(0);
    const refreshed = await runCli(['refresh'], { env: e });
    expect(refreshed.code).toBe(0);
    expect(refreshed.stdout).toMatch(/\(in 1 h\)/);
    const status = await runCli(['status', '--offline'], { env: e });
    expect(status.stdout).toMatch(/\(in 1 h\)/);
  });
});

describe('dev-server --port on a port in use', () => {
  it('says the port is taken and how to pick another', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as { port: number }).port;
    try {
      const res = await runCli(['dev-server', '--port', String(port), '--quiet'], { env: env() });
      expect(res.code).toBe(2);
      expect(lines(res.stderr)).toEqual([
        `dhcore: Port ${port} on 127.0.0.1 is already in use: stop what uses it, or pick another with --port <n> (--port 0 picks a free one).`,
      ]);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });
});

describe('the PAT stays off the command line', () => {
  it('a PAT given on argv works, with one notice saying why and what to use instead', async () => {
    const e = await registeredHome(server(), home());
    const res = await runCli(['login', '--pat', server().pat], { env: e });
    expect(res.code).toBe(0);
    expect(warnings(res.stderr)).toEqual([
      expect.stringMatching(
        /--pat <PAT>.*other users.*ps.*\/proc\/<pid>\/cmdline.*--pat -.*DHCORE_PERSONAL_ACCESS_TOKEN/,
      ),
    ]);
    expect(res.stderr).not.toContain(server().pat);
  });

  it('--pat - (stdin) and $DHCORE_PERSONAL_ACCESS_TOKEN give no notice', async () => {
    const e = await registeredHome(server(), home());
    const stdin = await runCli(['login', '--pat', '-'], { env: e, input: server().pat });
    expect(stdin.code).toBe(0);
    expect(stdin.stderr).toBe('');
    const fromEnv = await runCli(['login'], { env: { ...e, DHCORE_PERSONAL_ACCESS_TOKEN: server().pat } });
    expect(fromEnv.code).toBe(0);
    expect(fromEnv.stderr).toBe('');
  });

  it('help, hints and README show the safe forms', async () => {
    const help = await runCli(['login', '--help'], { env: env() });
    expect(help.stdout).not.toMatch(/--pat dhpat|--pat <token>|--pat <PAT>/);
    expect(help.stdout).toContain('--pat -');
    const conflict = await runCli(['login', '--pat', '-', '--device'], { env: env() });
    expect(conflict.stderr).not.toMatch(/--pat <|--pat dhpat/);
    const missing = await runCli(['login', '--pat', '-'], {
      env: env({ DHCORE_ENDPOINT: server().endpoint }),
    });
    expect(missing.code).toBe(4);
    expect(missing.stderr).not.toMatch(/--pat <|--pat dhpat/);
    const readme = readFileSync(join(import.meta.dirname, '..', 'README.md'), 'utf8');
    // The one mention of `--pat <PAT>` is the note that says why not to use it.
    expect(readme).not.toMatch(/--pat <pat>|--pat <token>|--pat dhpat/);
    expect(readme).toContain('| `dhcore login --pat -`');
    expect(readme).toMatch(/`--pat <PAT>` still\s+works but is visible to other users/);
  });
});

describe('a PAT from the environment', () => {
  it("'dhcore login' saves it (an explicit login) and says where it came from; other commands never write it", async () => {
    const e = await registeredHome(server(), home());
    const token = await runCli(['token'], { env: { ...e, DHCORE_PERSONAL_ACCESS_TOKEN: server().pat } });
    expect(token.code).toBe(0);
    expect(readFileSync(home().configFile, 'utf8')).not.toContain(server().pat);
    const login = await runCli(['login'], { env: { ...e, DHCORE_PERSONAL_ACCESS_TOKEN: server().pat } });
    expect(login.code).toBe(0);
    expect(login.stdout).toContain('$DHCORE_PERSONAL_ACCESS_TOKEN');
    expect(profileOf(home().configFile).dhcore_personal_access_token).toBe(server().pat);
  });
});

describe('plain http to another machine is warned about before a secret goes there', () => {
  // 0.0.0.0 is not a loopback name (so the warning applies) but connects to this machine on Linux; the
  // port is closed, so nothing is sent anywhere.
  const insecure = async () => `http://0.0.0.0:${await closedPort()}`;
  const expectOneWarning = (stderr: string, what: RegExp) => {
    const w = warnings(stderr);
    expect(w, stderr).toHaveLength(1);
    expect(w[0]).toMatch(/plain http/);
    expect(w[0]).toMatch(what);
    // Before the failure line.
    expect(lines(stderr)[0]).toBe(w[0]);
  };

  it('token and login --pat (a PAT), refresh (a refresh token)', async () => {
    const endpoint = await insecure();
    const base = {
      DHCORE_ENDPOINT: endpoint,
      DHCORE_CLIENT_ID: 'c',
      DHCORE_PERSONAL_ACCESS_TOKEN: 'dhpat_x',
    };
    const token = await runCli(['token'], { env: env(base) });
    expect(token.code).toBe(5);
    expectOneWarning(token.stderr, /personal access token/);

    const login = await runCli(['login', '--pat', '-'], {
      env: env({ DHCORE_ENDPOINT: endpoint, DHCORE_CLIENT_ID: 'c' }),
      input: 'dhpat_x',
    });
    expect(login.code).toBe(5);
    expectOneWarning(login.stderr, /personal access token/);

    writeConfig(`[r]\ndhcore_endpoint = ${endpoint}\ndhcore_client_id = c\ndhcore_refresh_token = rt_x\n`);
    const refresh = await runCli(['refresh', '-e', 'r'], { env: env() });
    expect(refresh.code).toBe(5);
    expectOneWarning(refresh.stderr, /refresh token/);
  });

  it('no warning for loopback', async () => {
    const e = await registeredHome(server(), home());
    const res = await runCli(['token'], { env: { ...e, DHCORE_PERSONAL_ACCESS_TOKEN: server().pat } });
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
  });
});

describe('a config file readable by other users is reported when read', () => {
  it('once per process, by a command that only reads it', async () => {
    writeConfig(`[s]\ndhcore_endpoint = https://s.example\ndhcore_access_token = SECRET-AT-123456\n`, 0o644);
    const res = await runCli(['status', '--offline', '-e', 's'], { env: env() });
    expect(res.code).toBe(0);
    expect(warnings(res.stderr)).toEqual([
      `dhcore: warning: ${home().configFile} holds credentials but is readable by other users (mode 644); run 'chmod 600 ${home().configFile}' (dhcore writes it with mode 600).`,
    ]);
    expect(statSync(home().configFile).mode & 0o777).toBe(0o644);
  });

  it('once when a command reads it and then saves to it', async () => {
    const e = await registeredHome(server(), home());
    expect((await runCli(['login', '--pat', '-'], { env: e, input: server().pat })).code).toBe(0);
    chmodSync(home().configFile, 0o640);
    const res = await runCli(['refresh'], { env: e });
    expect(res.code).toBe(0);
    expect(warnings(res.stderr)).toHaveLength(1);
    expect(res.stderr).toContain('mode 640');
  });

  it('not for a file without secrets', async () => {
    mkdirSync(home().home, { recursive: true });
    writeConfig('[s]\ndhcore_endpoint = https://s.example\n', 0o644);
    const res = await runCli(['status', '--offline', '-e', 's'], { env: env() });
    expect(res.stderr).toBe('');
  });
});
