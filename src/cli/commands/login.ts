import type { Command } from 'commander';
import { loginWithPat } from '../../auth/login.js';
import { resolveConfig } from '../../config/resolve.js';
import { AuthError, UsageError } from '../../errors.js';
import { globalOptions, printJson, resolveOptionsOf } from '../context.js';
import { writeErr, writeOut } from '../output.js';

export interface InteractiveFlags {
  pat?: string;
  device?: boolean;
  /** commander's `--no-browser` sets this to false. */
  browser?: boolean;
  timeout?: string;
}

/** Seconds the browser flow waits for the browser by default. */
export const DEFAULT_LOGIN_TIMEOUT_S = 300;

/** Whether `dhcore login` runs an interactive flow (else the PAT path). Throws on contradicting flags. */
export function wantsInteractiveLogin(flags: InteractiveFlags, env = process.env): boolean {
  const interactive = flags.device === true || flags.browser === false;
  if (interactive && flags.pat !== undefined) {
    throw new UsageError(
      'usage_conflicting_flags',
      "--pat cannot be combined with --device or --no-browser: run 'dhcore login --pat -' (the token on stdin) or 'dhcore login --device'.",
    );
  }
  if (interactive) return true;
  return flags.pat === undefined && !env.DHCORE_PERSONAL_ACCESS_TOKEN?.trim();
}

/** `--timeout` in seconds (default {@link DEFAULT_LOGIN_TIMEOUT_S}); a `UsageError` for anything else. */
export function loginTimeoutSeconds(flags: InteractiveFlags): number {
  if (flags.timeout === undefined) return DEFAULT_LOGIN_TIMEOUT_S;
  const value = Number(flags.timeout);
  if (!Number.isFinite(value) || value <= 0) {
    throw new UsageError(
      'usage_invalid_option',
      `--timeout must be a positive number of seconds, not "${flags.timeout}" (for example --timeout 600).`,
    );
  }
  return value;
}

async function readStdin(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += String(chunk);
  return text.trim();
}

/**
 * `dhcore login --pat <PAT>` (or `--pat -` to read it from stdin, or `$DHCORE_PERSONAL_ACCESS_TOKEN`):
 * exchange the personal access token and save it, the tokens and the endpoint/issuer/client id into the
 * profile (file and profile created if needed), so the profile works on its own afterwards.
 */
export function register(program: Command): void {
  program
    .command('login')
    .description('Log in (browser, device code or personal access token) and save credentials to the profile')
    .option('--device', 'device code login: shows a code and a URL to open on any device')
    .option('--no-browser', 'do not open a browser; print the login URL only')
    .option(
      '--timeout <seconds>',
      `how long the login waits (browser: default ${DEFAULT_LOGIN_TIMEOUT_S}; device: default the code's lifetime)`,
    )
    .option(
      '--pat <pat>',
      "personal access token: '-' reads it from stdin (a value on the command line is visible to other users); default $DHCORE_PERSONAL_ACCESS_TOKEN",
    )
    .addHelpText(
      'after',
      `
Without --pat (and without $DHCORE_PERSONAL_ACCESS_TOKEN), 'dhcore login' opens your browser
(authorization code + PKCE, redirect to http://localhost:<port>/callback); --no-browser only prints the
URL; --device shows a code to enter on any device. Access and refresh tokens are saved to the profile.

The personal access token (from --pat or $DHCORE_PERSONAL_ACCESS_TOKEN) is saved in the profile with the
exchanged tokens, so the profile keeps working after the access token expires ('dhcore logout' removes it).
Give it on stdin (--pat -) or in the environment: a value after --pat is visible to other users of this
machine (ps, /proc/<pid>/cmdline).

Examples:
  dhcore login
  dhcore login -e staging --no-browser
  dhcore login --device --timeout 120
  pass show dhcore | dhcore login --pat - -e prod
  read -rs DHCORE_PERSONAL_ACCESS_TOKEN && export DHCORE_PERSONAL_ACCESS_TOKEN && dhcore login`,
    )
    .action(async (opts: InteractiveFlags, cmd: Command) => {
      loginTimeoutSeconds(opts);
      // The flows load openid-client and friends: only on use, so other commands start fast.
      if (wantsInteractiveLogin(opts)) {
        const { runInteractiveLogin } = await import('../interactive-login.js');
        return runInteractiveLogin(cmd, opts);
      }
      if (opts.pat !== undefined && opts.pat !== '-') {
        writeErr(
          "dhcore: warning: a PAT given as --pat <PAT> is visible to other users of this machine (ps, /proc/<pid>/cmdline); pipe it to 'dhcore login --pat -' or set DHCORE_PERSONAL_ACCESS_TOKEN instead.\n",
        );
      }
      let pat = opts.pat === '-' ? await readStdin() : opts.pat?.trim();
      const fromEnv = !pat;
      if (!pat) pat = process.env.DHCORE_PERSONAL_ACCESS_TOKEN?.trim();
      if (!pat) {
        throw new AuthError(
          'auth_no_pat',
          "No personal access token: pipe it to 'dhcore login --pat -' (for example 'pass show dhcore | dhcore login --pat -'), or set DHCORE_PERSONAL_ACCESS_TOKEN.",
        );
      }
      const config = resolveConfig(resolveOptionsOf(cmd));
      const result = await loginWithPat({ config, pat });
      if (globalOptions(cmd).json) {
        printJson({
          profile: result.profile,
          configFile: result.configFile,
          endpoint: result.endpoint,
          authMethod: 'exchange',
          expiresAt: result.expiresAt ?? null,
          savedKeys: result.savedKeys,
        });
        return;
      }
      writeOut(
        `Logged in to ${result.endpoint} with the personal access token${fromEnv ? ' from $DHCORE_PERSONAL_ACCESS_TOKEN' : ''}; saved it and the tokens to profile '${result.profile}' in ${result.configFile}.\n`,
      );
    });
}
