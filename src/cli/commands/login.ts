import type { Command } from 'commander';
import { loginWithPat } from '../../auth/login.js';
import { resolveConfig } from '../../config/resolve.js';
import { AuthError } from '../../errors.js';
import { globalOptions, printJson, resolveOptionsOf } from '../context.js';

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
    .description('Log in and save credentials to the profile')
    .option(
      '--pat <pat>',
      "personal access token ('-' reads it from stdin; default $DHCORE_PERSONAL_ACCESS_TOKEN)",
    )
    .addHelpText(
      'after',
      `
The personal access token is saved in the profile with the exchanged tokens, so the profile keeps working
after the access token expires ('dhcore logout' removes it).

Examples:
  DHCORE_ENDPOINT=https://dhcore.example.com dhcore login --pat dhpat_...
  pass show dhcore | dhcore login --pat - -e prod`,
    )
    .action(async (opts: { pat?: string }, cmd: Command) => {
      let pat = opts.pat === '-' ? await readStdin() : opts.pat?.trim();
      if (!pat) pat = process.env.DHCORE_PERSONAL_ACCESS_TOKEN?.trim();
      if (!pat) {
        throw new AuthError(
          'auth_no_pat',
          'No personal access token: pass --pat <PAT> (or --pat - to read it from stdin), or set DHCORE_PERSONAL_ACCESS_TOKEN.',
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
      process.stdout.write(
        `Logged in to ${result.endpoint} with a personal access token; saved to profile '${result.profile}' in ${result.configFile}.\n`,
      );
    });
}
