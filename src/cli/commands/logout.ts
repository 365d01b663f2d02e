import type { Command } from 'commander';
import { logout } from '../../auth/login.js';
import { globalOptions, printJson, resolveOptionsOf } from '../context.js';
import { writeOut } from '../output.js';

/**
 * `dhcore logout` — remove the tokens dhcore stored in the profile (access/refresh/id token, expiry keys,
 * PAT fingerprint, secret store credentials such as aws_secret_access_key) and the personal access token saved by `dhcore login --pat` (keep it with
 * `--keep-pat`). Endpoint, other keys, comments and other profiles stay. Needs no endpoint, no network.
 */
export function register(program: Command): void {
  program
    .command('logout')
    .description('Remove stored tokens (and the saved personal access token) from the profile')
    .option('--keep-pat', 'keep the personal access token saved by dhcore login --pat')
    .addHelpText(
      'after',
      `
Tokens and the store credentials issued with them (aws_secret_access_key, aws_session_token, …) are
removed from the file only; they are not revoked at the server.

Examples:
  dhcore logout
  dhcore logout -e staging --keep-pat`,
    )
    .action(async (opts: { keepPat?: boolean }, cmd: Command) => {
      const { profile, configFile, removed } = await logout({
        ...resolveOptionsOf(cmd),
        keepPat: opts.keepPat === true,
      });
      if (globalOptions(cmd).json) {
        printJson({ profile, configFile, removed });
        return;
      }
      writeOut(
        removed.includes('token cache')
          ? `Logged out of profile '${profile}': removed its tokens from the token cache (it lives only in the environment).\n`
          : removed.length > 0
            ? `Logged out of profile '${profile}': removed ${removed.join(', ')} from ${configFile}.\n`
            : `Nothing to remove: profile '${profile}' in ${configFile} holds no stored tokens.\n`,
      );
    });
}
