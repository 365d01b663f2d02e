/**
 * Interactive login against servers that send text meant to fool the terminal, and the time limit of the
 * device login. A small misbehaving device-flow server, and the real dev server.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { printable } from '../src/net/server-text.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import { type FakeDhcore, fakeDhcore, openidConfiguration } from './helpers/fake-dhcore.js';
import { dhcoreErrorLines, registeredHome } from './helpers/login.js';

const home = useTempHome();
const server = useDevServer();

let fake: FakeDhcore | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

const ESC = '\u001b';
const BEL = '\u0007';

/** A device-flow server whose code, URLs and errors carry escape sequences and control characters. */
async function hostileDeviceServer(): Promise<FakeDhcore> {
  fake = await fakeDhcore({
    '/.well-known/openid-configuration': (_req, _res, { base }) =>
      openidConfiguration(base, { device_authorization_endpoint: `${base}/device/auth` }),
    '/device/auth': () => ({
      device_code: 'dc-1',
      // Clear the screen, retitle the window, and hide part of the code.
      user_code: `WXYZ${ESC}[2J${ESC}]0;pwned${BEL}-12\u202e34`,
      verification_uri: `http://evil.example/device${ESC}[8m`,
      verification_uri_complete: `http://evil.example/device?user_code=WXYZ${ESC}]8;;http://x${BEL}`,
      expires_in: 30,
      interval: 1,
    }),
    '/token': (_req, res) => {
      res.writeHead(400, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          error: `invalid_request${ESC}[2K`,
          error_description: `try ${ESC}[31mred${ESC}[0m again\r\nnow${ESC}]8;;http://x${BEL}`,
        }),
      );
    },
  });
  return fake;
}

describe('device login prints server text safely', () => {
  it('printable removes escape sequences, control characters and bidi overrides', () => {
    expect(printable(`AB${ESC}[2JCD`)).toBe('ABCD');
    expect(printable(`http://x/${ESC}]8;;http://evil${BEL}dev${ESC}]8;;${BEL}ice`)).toBe('http://x/device');
    expect(printable(`a${ESC}]0;title${ESC}\\b`)).toBe('ab');
    expect(printable('l1\nl2\r\n\tz')).toBe('l1 l2 z');
    expect(printable('x\u202eevil\u0000\u007f\u009b31m!')).toBe('xevil!');
  });

  it('no escape sequence or control character reaches the terminal; a foreign verification host is warned about', async () => {
    const s = await hostileDeviceServer();
    const res = await runCli(['login', '--device'], {
      env: cleanEnv(home().home, { DHCORE_ENDPOINT: s.url, DHCORE_CLIENT_ID: 'c' }),
    });
    expect(res.code).toBe(4);
    const out = res.stdout + res.stderr;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: looking for control characters is the point.
    expect(out).not.toMatch(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/);
    expect(res.stderr).toContain('enter the code: WXYZ-1234');
    expect(res.stderr).toMatch(/^ {2}http:\/\/evil\.example\/device$/m);
    expect(res.stderr).not.toContain('pwned');
    const warnings = res.stderr.split('\n').filter((l) => l.startsWith('dhcore: warning:'));
    expect(warnings).toEqual([
      expect.stringMatching(
        /http:\/\/evil\.example\/device.*not on the host of .*127\.0\.0\.1.*only if you trust/,
      ),
    ]);
    const errors = dhcoreErrorLines(res.stderr).filter((l) => !l.startsWith('dhcore: warning:'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('invalid_request');
    expect(errors[0]).toContain('try red again now');
  });

  it('the dev server (verification page on the endpoint) gives no warning', async () => {
    const env = await registeredHome(server(), home());
    const res = await runCli(['login', '--device', '--timeout', '1'], { env });
    expect(res.stderr).not.toContain('warning');
  });
});

describe('device login honours --timeout', () => {
  it('--timeout 2 stops polling after 2 s: exit 4, one line, nothing saved', async () => {
    const env = await registeredHome(server(), home());
    // Killed after 20 s (exit code null) if it keeps polling until the code expires.
    const res = await runCli(['login', '--device', '--timeout', '2'], { env, timeoutMs: 20_000 });
    expect(res.code, res.stderr).toBe(4);
    expect(res.stderr).toMatch(/Waiting for approval… giving up in \d+ s/);
    expect(dhcoreErrorLines(res.stderr)).toEqual([
      "dhcore: No approval within 2 s; nothing was saved. Run 'dhcore login --device' again (use --timeout <seconds> for more time).",
    ]);
  });
});
