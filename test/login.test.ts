/**
 * `dhcore login` (browser PKCE and --device) driven over plain HTTP — no browser needed — against the
 * dev server: the happy paths, what gets saved, and every way it can fail or be cancelled.
 */
import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { completeDeviceLogin, completeLogin, useDevServer } from './helpers/dev-server.js';
import { type LiveCli, withCli } from './helpers/interactive.js';
import {
  AUTH_URL_RE,
  apiAuthStatus,
  DEVICE_CODE_RE,
  DEVICE_COMPLETE_RE,
  dhcoreErrorLines,
  profileOf,
  registeredHome,
} from './helpers/login.js';

const server = useDevServer();
const home = useTempHome();

const creds = () => ({ username: server().user, password: server().password });

/** The authorization URL the running `dhcore login` printed. */
const authUrl = async (cli: LiveCli) => new URL((await cli.waitFor(AUTH_URL_RE))[1]!);

/**
 * What the browser does, over HTTP: opens the printed URL, signs in, and follows the redirect to the CLI's
 * loopback server, whose answer is returned.
 */
async function signInOverHttp(cli: LiveCli): Promise<Response> {
  const url = await authUrl(cli);
  return fetch(await completeLogin(url, creds(), url.searchParams.get('redirect_uri')!));
}

describe('dhcore login (browser flow, completed over HTTP)', () => {
  it('saves access, refresh and id token with expiry in the saved-token format (docs/ARCHITECTURE.md)', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--no-browser', '--json'], { env }, async (cli) => {
      // The browser's last hop: the CLI's loopback server answers with the success page.
      const page = await signInOverHttp(cli);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('data-result="success"');

      const { code } = await cli.exited;
      expect(code).toBe(0);
      const out = JSON.parse(cli.stdout());
      expect(out).toMatchObject({
        profile: 'dev',
        configFile: home().configFile,
        endpoint: server().endpoint,
        authMethod: 'oauth2',
        flow: 'browser',
        user: server().user,
        removedPersonalAccessToken: false,
      });
      expect(out.savedKeys).toEqual(
        expect.arrayContaining([
          'dhcore_access_token',
          'dhcore_refresh_token',
          'dhcore_id_token',
          'dhcore_expires_at',
          'dhcore_refresh_at',
        ]),
      );
      const p = profileOf(home().configFile);
      expect(Date.parse(p.dhcore_expires_at!)).toBe(Date.parse(out.expiresAt));
      // 1 h token: refresh 300 s before expiry.
      expect(Date.parse(p.dhcore_expires_at!) - Date.parse(p.dhcore_refresh_at!)).toBe(300_000);
      // The credentials scope adds store credentials, saved under their own names.
      expect(p.aws_access_key_id).toBeTruthy();
      expect(await apiAuthStatus(server(), p.dhcore_access_token)).toBe(200);
      expect(cli.stdout() + cli.stderr()).not.toContain(p.dhcore_access_token!);

      // The refresh token works (and rotates) through the token lifecycle.
      const refreshed = await runCli(['refresh'], { env });
      expect(refreshed.code).toBe(0);
      const after = profileOf(home().configFile);
      expect(after.dhcore_refresh_token).not.toBe(p.dhcore_refresh_token);
      expect(await apiAuthStatus(server(), after.dhcore_access_token)).toBe(200);
    });
  });

  it('without a registered profile: uses DHCORE_ENDPOINT and saves endpoint and client id with the tokens', async () => {
    const env = cleanEnv(home().home, { DHCORE_ENDPOINT: server().endpoint });
    await withCli(['login', '--no-browser'], { env }, async (cli) => {
      await (await signInOverHttp(cli)).text();
      expect((await cli.exited).code).toBe(0);
      const p = profileOf(home().configFile, '__default');
      expect(p.dhcore_endpoint).toBe(server().endpoint);
      expect(p.dhcore_client_id).toBe(server().clientId);
      expect(p.dhcore_refresh_token).toBeTruthy();
      // Works without the environment variable now.
      const status = await runCli(['status', '--offline', '--json'], { env: cleanEnv(home().home) });
      expect(JSON.parse(status.stdout)).toMatchObject({ endpoint: server().endpoint, authMethod: 'oauth2' });
    });
  });

  it('replaces a personal access token saved in the profile (it would win over the new tokens) and says so', async () => {
    const env = await registeredHome(server(), home());
    const login = await runCli(['login', '--pat', server().pat], { env });
    expect(login.code).toBe(0);
    expect(profileOf(home().configFile).dhcore_personal_access_token).toBe(server().pat);

    await withCli(['login', '--no-browser'], { env }, async (cli) => {
      await (await signInOverHttp(cli)).text();
      expect((await cli.exited).code).toBe(0);
      expect(cli.stderr()).toContain('personal access token saved in this profile was removed');
      expect(cli.stderr()).not.toContain(server().pat);
      const p = profileOf(home().configFile);
      expect(p.dhcore_personal_access_token).toBeUndefined();
      expect(p.dhcore_pat_sha256).toBeUndefined();
      const status = await runCli(['status', '--offline', '--json'], { env });
      expect(JSON.parse(status.stdout).authMethod).toBe('oauth2');
    });
  });

  it('a callback with the wrong state gets an error page and is ignored; the real callback still logs in', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--no-browser'], { env }, async (cli) => {
      const url = await authUrl(cli);
      const redirectUri = url.searchParams.get('redirect_uri')!;
      // A stranger's link (or page) sends the browser to our port: with a code, or with an error.
      for (const query of [
        'code=forged-code&state=not-the-state',
        'error=access_denied&state=nope',
        'code=x',
      ]) {
        const forged = await fetch(`${redirectUri}?${query}`);
        expect(forged.status).toBe(400);
        const html = await forged.text();
        expect(html).toContain('data-result="failure"');
        expect(html).toContain('was ignored');
      }
      await cli.waitFor(/ignored a sign-in callback/);
      expect(cli.child.exitCode).toBeNull();
      expect(profileOf(home().configFile).dhcore_access_token).toBeUndefined();

      // The real sign-in still completes the waiting login.
      const page = await fetch(await completeLogin(url, creds(), redirectUri));
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('data-result="success"');
      const { code } = await cli.exited;
      expect(code).toBe(0);
      expect(dhcoreErrorLines(cli.stderr()).filter((l) => !l.startsWith('dhcore: warning:'))).toEqual([]);
      expect(profileOf(home().configFile).dhcore_refresh_token).toBeTruthy();
    });
  });

  it('times out with a clear message when the browser never comes back', async () => {
    const env = await registeredHome(server(), home());
    const res = await runCli(['login', '--no-browser', '--timeout', '1'], { env });
    expect(res.code).toBe(4);
    const lines = dhcoreErrorLines(res.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /No answer from the browser within 1 s; nothing was saved\. Run 'dhcore login' again/,
    );
    expect(lines[0]).toContain('--device');
    expect(profileOf(home().configFile).dhcore_access_token).toBeUndefined();
  });

  it('Ctrl-C while waiting cancels cleanly: exit 130, one line, callback server closed, nothing saved', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--no-browser'], { env }, async (cli) => {
      const url = await authUrl(cli);
      const redirectUri = url.searchParams.get('redirect_uri')!;
      // The loopback server is up while waiting …
      expect((await fetch(new URL('/other', redirectUri))).status).toBe(404);
      cli.kill('SIGINT');
      const { code } = await cli.exited;
      expect(code).toBe(130);
      expect(dhcoreErrorLines(cli.stderr())).toEqual(['dhcore: Login cancelled; nothing was saved.']);
      expect(cli.stderr()).not.toMatch(/\n\s+at /);
      // … and gone afterwards.
      await expect(fetch(redirectUri)).rejects.toThrow();
      expect(profileOf(home().configFile).dhcore_access_token).toBeUndefined();
    });
  });

  it('prints the URL and progress on stderr only; stdout is only the result', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--no-browser'], { env }, async (cli) => {
      await cli.waitFor(AUTH_URL_RE);
      await cli.waitFor(/Waiting for the browser/);
      expect(cli.stdout()).toBe('');
      expect(cli.stderr()).toMatch(
        /Open this URL in a browser on this machine to sign in to .* \(profile 'dev'\)/,
      );
      // NO_COLOR (set by cleanEnv) and no TTY: no escape sequences.
      expect(cli.stderr()).not.toContain('\x1b[');
    });
  });
});

describe('dhcore login --device (completed over HTTP)', () => {
  it('shows code, URL and complete URL; polls until approved; saves tokens that /api/auth accepts', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--device'], { env }, async (cli) => {
      const userCode = (await cli.waitFor(DEVICE_CODE_RE))[1]!;
      await cli.waitFor(DEVICE_COMPLETE_RE);
      expect(cli.stderr()).toMatch(new RegExp(`^  ${server().endpoint}/device$`, 'm'));
      // Printed after the code, possibly in a later chunk: wait for it rather than race it.
      await cli.waitFor(/Waiting for approval… code expires in \d+ s, checking every \d+ s/);
      await completeDeviceLogin(`${server().endpoint}/device`, userCode, creds());
      const { code } = await cli.exited;
      expect(code).toBe(0);
      const p = profileOf(home().configFile);
      expect(p.dhcore_refresh_token).toBeTruthy();
      expect(await apiAuthStatus(server(), p.dhcore_access_token)).toBe(200);
    });
  });

  it('Ctrl-C while polling cancels cleanly (exit 130, nothing saved)', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--device'], { env }, async (cli) => {
      await cli.waitFor(DEVICE_CODE_RE);
      cli.kill('SIGINT');
      const { code } = await cli.exited;
      expect(code).toBe(130);
      expect(dhcoreErrorLines(cli.stderr())).toEqual(['dhcore: Login cancelled; nothing was saved.']);
      expect(profileOf(home().configFile).dhcore_access_token).toBeUndefined();
    });
  });
});

describe('dhcore login: usage and configuration errors name the fix', () => {
  it('--pat with --device is refused', async () => {
    const res = await runCli(['login', '--device', '--pat', 'x'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(2);
    expect(res.stderr).toBe(
      "dhcore: --pat cannot be combined with --device or --no-browser: run 'dhcore login --pat -' (the token on stdin) or 'dhcore login --device'.\n",
    );
  });

  it('no endpoint anywhere: says to register one', async () => {
    const res = await runCli(['login', '--no-browser'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(3);
    expect(res.stderr).toMatch(
      /^dhcore: No DHCore endpoint configured .* run 'dhcore register <endpoint>', or set DHCORE_ENDPOINT\.\n$/,
    );
  });

  it('a bad --timeout is refused', async () => {
    const env = await registeredHome(server(), home());
    const res = await runCli(['login', '--timeout', 'soon'], { env });
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--timeout must be a positive number of seconds/);
  });

  it('an unreachable server: one line, network exit code', async () => {
    writeFileSync(home().configFile, '[x]\ndhcore_endpoint = http://127.0.0.1:9\ndhcore_client_id = c\n');
    const res = await runCli(['login', '--no-browser', '-e', 'x'], { env: cleanEnv(home().home) });
    expect(res.code).toBe(5);
    expect(dhcoreErrorLines(res.stderr)).toHaveLength(1);
  });

  it('--help documents the flows with examples', async () => {
    const res = await runCli(['login', '--help'], { env: cleanEnv(home().home) });
    expect(res.stdout).toContain('--device');
    expect(res.stdout).toContain('--no-browser');
    expect(res.stdout).toContain('Examples:');
    expect(res.stdout).toContain('dhcore login --device');
  });
});
