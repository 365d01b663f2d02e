/**
 * `dhcore register` trusts only what it shows: an issuer or token endpoint on another origin than the
 * endpoint needs --trust-issuer (or a yes on a terminal), a discovery document naming another issuer is
 * refused, redirects of the well-known documents are followed only within the endpoint's origin (and said
 * so). Against small servers that misbehave on purpose, and the dev server for the ordinary case.
 */
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { IniDocument } from '../src/config/ini.js';
import { CLI, cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import {
  type FakeDhcore,
  fakeDhcore,
  openidConfiguration,
  type Route,
  redirect,
} from './helpers/fake-dhcore.js';

const home = useTempHome();
const server = useDevServer();
const env = () => cleanEnv(home().home);
const doc = () => IniDocument.parse(readFileSync(home().configFile, 'utf8'), home().configFile);
const noFile = () => expect(() => statSync(home().configFile)).toThrow();
const lines = (text: string) => text.split('\n').filter(Boolean);

let fake: FakeDhcore | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A DHCore whose configuration and discovery come from the given functions of its own base URL. */
async function dhcore(
  configuration: (base: string, other: string) => Record<string, unknown>,
  openid: (base: string, other: string) => Record<string, unknown>,
  extra: Record<string, Route> = {},
): Promise<FakeDhcore> {
  let other = '';
  const s = await fakeDhcore({
    '/.well-known/configuration': (_req, _res, { base }) => configuration(base, other),
    '/.well-known/openid-configuration': (req, _res, { base }) => {
      // The same server answers as 127.0.0.1 and as localhost: the discovery names the origin it was asked on.
      const asked = `http://${req.headers.host}`;
      return openid(asked === other ? other : base, other);
    },
    ...extra,
  });
  other = s.otherOrigin;
  fake = s;
  return s;
}

describe('register: an issuer or token endpoint on another origin needs --trust-issuer', () => {
  it('an issuer on another origin: refused with one line naming it and the flag; nothing written', async () => {
    const s = await dhcore(
      (_b, other) => ({ dhcore_name: 'x', dhcore_client_id: 'c', dhcore_issuer: other }),
      (base) => openidConfiguration(base),
    );
    const res = await runCli(['register', s.url], { env: env() });
    expect(res.code).toBe(3);
    expect(res.stdout).toBe('');
    expect(lines(res.stderr), res.stderr).toHaveLength(1);
    expect(res.stderr).toContain(s.otherOrigin);
    expect(res.stderr).toMatch(/another origin/);
    expect(res.stderr).toContain(`'dhcore register ${s.url} --trust-issuer'`);
    noFile();

    const json = await runCli(['--json', 'register', s.url], { env: env() });
    expect(JSON.parse(json.stderr).error.code).toBe('config_untrusted_issuer');
    noFile();
  });

  it('with --trust-issuer: written, and register says whom it trusts', async () => {
    const s = await dhcore(
      (_b, other) => ({ dhcore_name: 'x', dhcore_client_id: 'c', dhcore_issuer: other }),
      (base) => openidConfiguration(base),
    );
    const res = await runCli(['register', s.url, '--trust-issuer'], { env: env() });
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toMatch(new RegExp(`trust.*${s.otherOrigin}`, 'i'));
    expect(doc().get('x', 'dhcore_issuer')).toBe(s.otherOrigin);
    expect(doc().get('x', 'oauth2_token_endpoint')).toBe(`${s.otherOrigin}/token`);
    const json = await runCli(['--json', 'register', s.url, '--trust-issuer'], { env: env() });
    expect(JSON.parse(json.stdout)).toMatchObject({
      issuer: s.otherOrigin,
      tokenEndpoint: `${s.otherOrigin}/token`,
      trusted: [s.otherOrigin],
    });
  });

  it('a token endpoint on another origin (same issuer) is refused too', async () => {
    const s = await dhcore(
      () => ({ dhcore_name: 'x', dhcore_client_id: 'c' }),
      (base, other) => openidConfiguration(base, { token_endpoint: `${other}/steal` }),
    );
    const res = await runCli(['register', s.url], { env: env() });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(`${s.otherOrigin}/steal`);
    expect(res.stderr).toContain('--trust-issuer');
    noFile();
    expect((await runCli(['register', s.url, '--trust-issuer'], { env: env() })).code).toBe(0);
  });

  it('a yes on a terminal trusts it; anything else refuses', async () => {
    const s = await dhcore(
      (_b, other) => ({ dhcore_name: 'x', dhcore_client_id: 'c', dhcore_issuer: other }),
      (base) => openidConfiguration(base),
    );
    // `script` gives the CLI a terminal (stdin and stderr are a TTY).
    const onTty = (answer: string) =>
      new Promise<{ code: number | null; out: string }>((resolve, reject) => {
        const child = spawn('script', ['-qec', `${process.execPath} ${CLI} register ${s.url}`, '/dev/null'], {
          env: env(),
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.setEncoding('utf8').on('data', (d: string) => {
          out += d;
          if (/\[y\/N\]/.test(out) && !child.stdin.writableEnded) child.stdin.end(`${answer}\n`);
        });
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        child.on('error', reject);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code, out });
        });
      });
    const no = await onTty('n');
    expect(no.out).toMatch(/\[y\/N\]/);
    expect(no.code).toBe(3);
    noFile();
    const yes = await onTty('y');
    expect(yes.code, yes.out).toBe(0);
    expect(doc().get('x', 'dhcore_issuer')).toBe(s.otherOrigin);
  });

  it('the dev server (issuer and token endpoint on the endpoint origin) needs no flag', async () => {
    const res = await runCli(['register', server().endpoint, '-e', 'dev'], { env: env() });
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    expect(res.stdout).toContain(`${server().endpoint}/auth/token`);
  });
});

describe('register: a discovery document naming another issuer is refused', () => {
  it('config_issuer_mismatch, even with --trust-issuer; nothing written', async () => {
    const s = await dhcore(
      () => ({ dhcore_name: 'x', dhcore_client_id: 'c' }),
      () => openidConfiguration('http://127.0.0.1:1'),
    );
    for (const args of [[], ['--trust-issuer']]) {
      const res = await runCli(['--json', 'register', s.url, ...args], { env: env() });
      expect(res.code).toBe(3);
      const error = JSON.parse(res.stderr).error;
      expect(error.code).toBe('config_issuer_mismatch');
      expect(error.message).toContain('http://127.0.0.1:1');
      expect(error.message).toContain(s.url);
      noFile();
    }
  });
});

describe('register: redirects of the well-known documents', () => {
  it('to another origin: refused, one line naming where it pointed; nothing written', async () => {
    const s = await dhcore(
      () => ({ dhcore_name: 'x' }),
      (base) => openidConfiguration(base),
    );
    const moved = await fakeDhcore({
      '/.well-known/configuration': (_req, res) => redirect(res, `${s.url}/.well-known/configuration`),
    });
    try {
      const res = await runCli(['--json', 'register', moved.url], { env: env() });
      expect(res.code).toBe(5);
      const error = JSON.parse(res.stderr).error;
      expect(error.code).toBe('http_redirect_refused');
      expect(error.message).toContain(s.url);
      // Not followed: the other server was never asked.
      expect(s.requests).toEqual([]);
      noFile();
    } finally {
      await moved.close();
    }
  });

  it('within the origin: followed, and said so', async () => {
    const moved = await fakeDhcore({
      '/.well-known/configuration': (_req, res) => redirect(res, '/v2/.well-known/configuration', 301),
      '/v2/.well-known/configuration': () => ({ dhcore_name: 'moved', dhcore_client_id: 'c' }),
      '/.well-known/openid-configuration': (_req, _res, { base }) => openidConfiguration(base),
    });
    try {
      const res = await runCli(['register', moved.url], { env: env() });
      expect(res.code, res.stderr).toBe(0);
      expect(lines(res.stderr)).toEqual([
        `dhcore: warning: ${moved.url}/.well-known/configuration redirected to ${moved.url}/v2/.well-known/configuration (same origin); followed it.`,
      ]);
      expect(doc().sections()).toEqual(['moved']);
    } finally {
      await moved.close();
    }
  });
});

describe('register: hints that are right', () => {
  it.each([
    ['localhost:39975', 'http://localhost:39975'],
    ['127.0.0.1:39975', 'http://127.0.0.1:39975'],
    ['[::1]:8080', 'http://[::1]:8080'],
    ['dhcore.example.com', 'https://dhcore.example.com'],
    ['dhcore.example.com:8443/x', 'https://dhcore.example.com:8443/x'],
    ['ftp://dhcore.example.com', 'https://dhcore.example.com'],
  ])('%s suggests %s', async (typed, suggested) => {
    const res = await runCli(['register', typed], { env: env() });
    expect(res.code).toBe(3);
    expect(res.stderr).toContain(`run 'dhcore register ${suggested}'`);
  });

  it('a backticked endpoint is unwrapped with one warning', async () => {
    const res = await runCli(['register', `\`${server().endpoint}\``, '-e', 'dev'], { env: env() });
    expect(res.code).toBe(0);
    expect(lines(res.stderr)).toEqual([
      expect.stringMatching(/^dhcore: warning: .*wrapped in quotes or backticks.*using the value inside/),
    ]);
    expect(doc().get('dev', 'dhcore_endpoint')).toBe(server().endpoint);
  });

  it('Next: shows the safe PAT forms, never a PAT on the command line', async () => {
    const res = await runCli(['register', server().endpoint, '-e', 'dev'], { env: env() });
    expect(res.code).toBe(0);
    expect(res.stdout).toMatch(/Next: run 'dhcore login'/);
    expect(res.stdout).toContain("'dhcore login --pat -'");
    expect(res.stdout).toContain('$DHCORE_PERSONAL_ACCESS_TOKEN');
    expect(res.stdout).not.toMatch(/--pat <|--pat dhpat/);
  });

  it('re-registering a logged-in profile does not ask to log in again', async () => {
    writeFileSync(
      home().configFile,
      `[dev]\ndhcore_endpoint = ${server().endpoint}\ndhcore_refresh_token = KEEP-ME-REFRESH-5678\n`,
      { mode: 0o600 },
    );
    const res = await runCli(['register', server().endpoint, '-e', 'dev'], { env: env() });
    expect(res.code).toBe(0);
    expect(res.stdout).toContain("Updated profile 'dev'");
    expect(res.stdout).not.toMatch(/Next: run 'dhcore login'/);
    expect(res.stdout).toMatch(/credentials .*kept/i);
    expect(res.stdout).not.toContain('KEEP-ME');
  });
});
