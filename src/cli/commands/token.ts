import type { Command } from 'commander';
import { TokenManager } from '../../auth/token-manager.js';
import { resolveConfig } from '../../config/resolve.js';
import { globalOptions, printJson, resolveOptionsOf } from '../context.js';

/**
 * `dhcore token` — print a valid access token (exchanging/refreshing and saving as needed), nothing else
 * on stdout, so `$(dhcore token)` works. `--json` adds expiry, profile and auth method.
 */
export function register(program: Command): void {
  program
    .command('token')
    .description('Print a valid access token (exchanging or refreshing it if needed)')
    .addHelpText(
      'after',
      `
Only the token goes to stdout; with --json: {"accessToken","expiresAt","profile","authMethod"}.

Examples:
  curl -H "Authorization: Bearer $(dhcore token)" "$DHCORE_ENDPOINT/api/v1/projects"
  dhcore token --json -e staging`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const config = resolveConfig(resolveOptionsOf(cmd));
      const manager = new TokenManager({ config });
      const accessToken = await manager.accessToken();
      if (globalOptions(cmd).json) {
        printJson({
          accessToken,
          expiresAt: manager.state().expiresAt ?? null,
          profile: config.profile,
          authMethod: config.authMethod,
        });
        return;
      }
      process.stdout.write(`${accessToken}\n`);
    });
}
