import type { Command } from 'commander';
import { openSession } from '../../auth/session.js';
import { exportLines, type GlobalOptions, globalOptions, printJson, sessionOptionsFrom } from '../context.js';
import { writeOut } from '../output.js';

// No runtime import of commander here: `dhcore token` runs this file without it (see ../fast.ts).
export const TOKEN_FORMATS = ['raw', 'json', 'env'] as const;
export type TokenFormat = (typeof TOKEN_FORMATS)[number];

/**
 * `dhcore token` — print a valid access token (exchanging/refreshing and saving as needed), nothing else
 * on stdout, so `$(dhcore token)` works. `--json` adds expiry, profile and auth method.
 */
export function register(program: Command): void {
  program
    .command('token')
    .description('Print a valid access token (exchanging or refreshing it if needed)')
    .addOption(
      program
        .createOption(
          '--format <format>',
          'raw: the token; json: token and expiry; env: export lines for eval',
        )
        .choices(TOKEN_FORMATS)
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
    .action((opts: { format?: TokenFormat }, cmd: Command) => tokenAction(opts, globalOptions(cmd)));
}

/** What `dhcore token` does, once its command line is parsed (by commander or by fast.ts). */
export async function tokenAction(opts: { format?: TokenFormat }, globals: GlobalOptions): Promise<void> {
  const session = await openSession(sessionOptionsFrom(globals));
  const { config } = session;
  const accessToken = await session.accessToken();
  const format = opts.format ?? (globals.json ? 'json' : 'raw');
  if (format === 'env') {
    writeOut(envLines(config.endpoint, accessToken, session.state().expiresAt));
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
  writeOut(`${accessToken}\n`);
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
