import { type Command, Option } from 'commander';
import { openSession } from '../../auth/session.js';
import { exportLines, globalOptions, printJson, sessionOptionsOf } from '../context.js';

/**
 * `dhcore token` — print a valid access token (exchanging/refreshing and saving as needed), nothing else
 * on stdout, so `$(dhcore token)` works. `--json` adds expiry, profile and auth method.
 */
export function register(program: Command): void {
  program
    .command('token')
    .description('Print a valid access token (exchanging or refreshing it if needed)')
    .addOption(
      new Option('--format <format>', 'raw: the token; json: token and expiry; env: export lines for eval')
        .choices(['raw', 'json', 'env'])
        .default(undefined, 'raw, or json with --json'),
    )
    .addHelpText(
      'after',
      `
Only the token goes to stdout; with --json (or --format json): {"accessToken","expiresAt","profile","authMethod"}.
--format env prints shell-quoted 'export DHCORE_ENDPOINT=…', 'export DHCORE_ACCESS_TOKEN=…' (and
DHCORE_EXPIRES_AT when known) lines for eval.

Examples:
  curl -H "Authorization: Bearer $(dhcore token)" "$DHCORE_ENDPOINT/api/v1/projects"
  dhcore token --json -e staging
  eval "$(dhcore token --format env)"`,
    )
    .action(async (opts: { format?: 'raw' | 'json' | 'env' }, cmd: Command) => {
      const session = await openSession(sessionOptionsOf(cmd));
      const { config } = session;
      const accessToken = await session.accessToken();
      const format = opts.format ?? (globalOptions(cmd).json ? 'json' : 'raw');
      if (format === 'env') {
        process.stdout.write(envLines(config.endpoint, accessToken, session.state().expiresAt));
        return;
      }
      if (format === 'json') {
        printJson({
          accessToken,
          expiresAt: session.state().expiresAt ?? null,
          profile: config.profile,
          authMethod: config.authMethod,
        });
        return;
      }
      process.stdout.write(`${accessToken}\n`);
    });
}

/** The `export` lines of `--format env`. */
function envLines(endpoint: string, accessToken: string, expiresAt: string | undefined): string {
  const vars: Array<[string, string]> = [
    ['DHCORE_ENDPOINT', endpoint],
    ['DHCORE_ACCESS_TOKEN', accessToken],
  ];
  if (expiresAt) vars.push(['DHCORE_EXPIRES_AT', expiresAt]);
  return exportLines(vars);
}
