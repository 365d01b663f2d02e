import type { Command } from 'commander';
import { logout } from '../../auth/login.js';
import { chooseProfile } from '../../config/location.js';
import { readConfigDocument } from '../../config/resolve.js';
import { configFileOf, currentEnvironmentIn, globalOptions, printJson } from '../context.js';

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
      const g = globalOptions(cmd);
      const file = configFileOf(cmd);
      const doc = readConfigDocument(file);
      const { profile } = chooseProfile(g.env, process.env, currentEnvironmentIn(doc));
      const removed = doc?.hasSection(profile)
        ? await logout({ file, profile, keepPat: opts.keepPat === true })
        : [];
      if (g.json) {
        printJson({ profile, configFile: file, removed });
        return;
      }
      process.stdout.write(
        removed.length > 0
          ? `Logged out of profile '${profile}': removed ${removed.join(', ')} from ${file}.\n`
          : `Nothing to remove: profile '${profile}' in ${file} holds no stored tokens.\n`,
      );
    });
}
