/**
 * `dhcore login` opens the system browser itself (the `open` package, an ES module the CommonJS CLI loads
 * when needed): the browser — here a stand-in named by $BROWSER, as xdg-open honours it — is given the
 * authorization URL, and the login completes once that URL is followed.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useTempHome } from './helpers/cli.js';
import { completeLogin, useDevServer } from './helpers/dev-server.js';
import { withCli } from './helpers/interactive.js';
import { apiAuthStatus, profileOf, registeredHome } from './helpers/login.js';

describe('dhcore login (browser)', () => {
  const server = useDevServer();
  const home = useTempHome();

  it('hands the authorization URL to the system browser; following it completes the login', async () => {
    const opened = join(home().home, 'opened-url');
    const browser = join(home().home, 'fake-browser');
    writeFileSync(browser, `#!/bin/sh\nprintf '%s' "$1" > '${opened}'\n`);
    chmodSync(browser, 0o755);
    const env = await registeredHome(server(), home(), {
      BROWSER: browser,
      DISPLAY: '',
      WAYLAND_DISPLAY: '',
    });
    await withCli(['login'], { env }, async (cli) => {
      const deadline = Date.now() + 15_000;
      while (!existsSync(opened) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(existsSync(opened), `no browser was started; stderr: ${cli.stderr()}`).toBe(true);
      const url = new URL(readFileSync(opened, 'utf8'));
      expect(url.href.startsWith(`${server().issuer}`)).toBe(true);
      const redirectUri = url.searchParams.get('redirect_uri')!;
      const callback = await completeLogin(
        url,
        { username: server().user, password: server().password },
        redirectUri,
      );
      await fetch(callback).then((r) => r.arrayBuffer());
      const { code } = await cli.exited;
      expect(code, cli.stderr()).toBe(0);
    });
    const saved = profileOf(home().configFile);
    expect(await apiAuthStatus(server(), saved.dhcore_access_token)).toBe(200);
  });
});
