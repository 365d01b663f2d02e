/**
 * Real-browser end-to-end: the built `dhcore login` against the dev server, with headless Debian
 * Chromium (driven by playwright-core) doing what a person does in the browser.
 *
 * Chromium missing: SKIPPED locally (install it with `apt-get install -y chromium`); a FAILURE in CI.
 */
import { existsSync } from 'node:fs';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import { withCli } from './helpers/interactive.js';
import {
  AUTH_URL_RE,
  apiAuthStatus,
  DEVICE_CODE_RE,
  DEVICE_COMPLETE_RE,
  dhcoreErrorLines,
  profileOf,
  registeredHome,
} from './helpers/login.js';

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
const SKIP_NOTE = `SKIPPED: ${CHROMIUM} not found; install it with 'apt-get install -y chromium' to run the real-browser tests`;
if (!haveChromium && !inCi) console.warn(SKIP_NOTE);

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe.runIf(!haveChromium && inCi)('real browser in CI', () => {
  it('Chromium is installed (CI must run the browser tests)', () => {
    throw new Error(`${CHROMIUM} is missing in CI: .ci/run must 'apt-get install -y chromium'`);
  });
});

describe.skipIf(!haveChromium)('dhcore login in a real browser (headless Chromium)', () => {
  const server = useDevServer();
  const home = useTempHome();
  let browser: Browser;
  let context: BrowserContext;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  });
  afterAll(async () => {
    await browser?.close();
  });
  beforeEach(async () => {
    // A fresh browser context per test: no cookies or session from a previous login.
    context = await browser.newContext();
  });
  afterEach(async () => {
    await context?.close();
  });

  async function signIn(page: Page): Promise<void> {
    await page.locator('input[name="username"]').fill(server().user);
    await page.locator('input[name="password"]').fill(server().password);
    await page.locator('#submit').click();
  }

  it('browser login (code + PKCE): URL printed, form filled, CLI exits 0, saved tokens pass /api/auth', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--no-browser'], { env }, async (cli) => {
      const url = new URL((await cli.waitFor(AUTH_URL_RE))[1]!);
      expect(url.searchParams.get('code_challenge_method')).toBe('S256');
      expect(url.searchParams.get('code_challenge')).toMatch(/^[\w-]{43}$/);
      expect(url.searchParams.get('state')).toBeTruthy();
      expect(url.searchParams.get('redirect_uri')).toMatch(/^http:\/\/localhost:\d+\/callback$/);
      expect(url.searchParams.get('scope')?.split(' ')).toEqual(
        expect.arrayContaining(['openid', 'credentials']),
      );

      const page = await context.newPage();
      await page.goto(url.href);
      await signIn(page);
      await page.waitForURL(/^http:\/\/localhost:\d+\/callback\?/);
      await expect.poll(() => page.locator('#result').getAttribute('data-result')).toBe('success');
      expect(await page.textContent('body')).toContain('You are signed in');

      const { code } = await cli.exited;
      expect(cli.stderr()).not.toMatch(/^dhcore: /m);
      expect(code).toBe(0);
      expect(cli.stdout()).toMatch(
        new RegExp(`^Logged in to ${server().endpoint} as ${server().user}; saved to profile 'dev'`),
      );

      const profile = profileOf(home().configFile);
      expect(profile.dhcore_access_token).toBeTruthy();
      expect(profile.dhcore_refresh_token).toBeTruthy();
      expect(profile.dhcore_id_token).toBeTruthy();
      expect(profile.dhcore_expires_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(profile.dhcore_refresh_at).toMatch(/^\d{4}-\d\d-\d\dT/);
      // Secrets never reach the terminal.
      for (const secret of [profile.dhcore_access_token, profile.dhcore_refresh_token, server().password]) {
        expect(cli.stdout() + cli.stderr()).not.toContain(secret);
      }
      expect(await apiAuthStatus(server(), profile.dhcore_access_token)).toBe(200);

      // The saved profile is now an oauth2 profile that other commands use as is.
      const status = await runCli(['status', '--offline', '--json'], { env });
      expect(JSON.parse(status.stdout)).toMatchObject({ profile: 'dev', authMethod: 'oauth2' });
      const token = await runCli(['token'], { env });
      expect(token.code).toBe(0);
      expect(await apiAuthStatus(server(), token.stdout.trim())).toBe(200);
    });
  });

  it('cancelling on the login page: the browser shows the failure, the CLI exits 4 with one line, nothing saved', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--no-browser'], { env }, async (cli) => {
      const url = (await cli.waitFor(AUTH_URL_RE))[1]!;
      const page = await context.newPage();
      await page.goto(url);
      await page.locator('#cancel').click();
      await page.waitForURL(/^http:\/\/localhost:\d+\/callback\?/);
      await expect.poll(() => page.locator('#result').getAttribute('data-result')).toBe('failure');
      const { code } = await cli.exited;
      expect(code).toBe(4);
      const lines = dhcoreErrorLines(cli.stderr());
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/access_denied.*run 'dhcore login' again/);
      expect(profileOf(home().configFile).dhcore_access_token).toBeUndefined();
    });
  });

  it('device login: code and URL printed, the browser completes the verification page, tokens saved and accepted', async () => {
    const env = await registeredHome(server(), home());
    await withCli(['login', '--device'], { env }, async (cli) => {
      const userCode = (await cli.waitFor(DEVICE_CODE_RE))[1]!;
      const complete = (await cli.waitFor(DEVICE_COMPLETE_RE))[1]!;
      expect(complete).toContain('user_code=');
      await cli.waitFor(/Waiting for approval/);

      const page = await context.newPage();
      await page.goto(complete);
      // verification_uri_complete pre-fills the code; confirm it (typing it if the page asks).
      const codeInput = page.locator('input[name="user_code"]');
      if ((await codeInput.count()) > 0 && (await codeInput.first().isVisible())) {
        if (!(await codeInput.first().inputValue())) await codeInput.first().fill(userCode);
        await page.locator('#submit').click();
        await page.waitForLoadState();
      }
      expect(await page.textContent('body')).toContain(userCode);
      await page.locator('#submit').click();
      await page.locator('input[name="password"]').waitFor();
      await signIn(page);
      await expect.poll(() => page.textContent('body')).toContain('Your device is signed in');

      const { code } = await cli.exited;
      expect(cli.stderr()).not.toMatch(/^dhcore: /m);
      expect(code).toBe(0);
      expect(cli.stdout()).toMatch(/^Logged in to .* as demo; saved to profile 'dev'/);
      const profile = profileOf(home().configFile);
      expect(profile.dhcore_refresh_token).toBeTruthy();
      expect(await apiAuthStatus(server(), profile.dhcore_access_token)).toBe(200);
      expect(cli.stdout() + cli.stderr()).not.toContain(profile.dhcore_access_token);
    });
  });
});
