import { Command } from 'commander';
import { register as registerCredentials } from './commands/credentials.js';
import { register as registerDevServer } from './commands/dev-server.js';
import { register as registerExec } from './commands/exec.js';
import { register as registerListEnv } from './commands/list-env.js';
import { register as registerLogin } from './commands/login.js';
import { register as registerLogout } from './commands/logout.js';
import { register as registerRefresh } from './commands/refresh.js';
import { register as registerRegister } from './commands/register.js';
import { register as registerRemove } from './commands/remove.js';
import { register as registerStatus } from './commands/status.js';
import { register as registerToken } from './commands/token.js';
import { register as registerUse } from './commands/use.js';
import { packageVersion } from './version.js';

const EXIT_HELP = `
Exit codes:
  0  success
  1  unexpected failure
  2  usage error (unknown command or option)
  3  configuration error (missing endpoint, bad INI syntax, unknown profile)
  4  authentication error (credentials refused or missing: run 'dhcore login')
  5  network or server error (DHCore or the token endpoint unreachable or misbehaving)
  130 cancelled (Ctrl-C during login; nothing saved)

Environment:
  DH_CONFIG   config file (default ~/.dhcore.ini)
  DH_NAME     profile to use (default: [DEFAULT] current_environment, else __default)
  DHCORE_*    endpoint, issuer, client id and credentials (see README)
  NO_COLOR    disable colours`;

/** The `dhcore` command tree. Each command lives in `commands/<name>.ts` and registers itself here. */
export function buildProgram(): Command {
  const program = new Command('dhcore')
    .description('Working credentials for DHCore (DigitalHub) from your shell.')
    .version(packageVersion(), '-V, --version', 'print the dhcore-credentials version')
    .option('--config <file>', 'config file (default: $DH_CONFIG or ~/.dhcore.ini)')
    .option('-e, --env <profile>', 'profile to use (default: $DH_NAME or the current one)')
    .option('--json', 'machine-readable JSON output')
    .option('--debug', 'print diagnostic detail to stderr (never secrets)')
    .addHelpText('after', EXIT_HELP)
    // Usage errors are reported by main.ts as one line; help text is still printed as usual.
    .configureOutput({ outputError: () => {} })
    .exitOverride();
  registerStatus(program);
  registerRegister(program);
  registerListEnv(program);
  registerUse(program);
  registerRemove(program);
  registerLogin(program);
  registerLogout(program);
  registerRefresh(program);
  registerToken(program);
  registerCredentials(program);
  registerExec(program);
  registerDevServer(program);
  return program;
}
