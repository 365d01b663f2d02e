import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Command } from 'commander';
import { environmentForChildren } from '../../diagnostics.js';
import { FreshStoreValues } from '../../stores/fresh.js';
import { openStoreSession } from '../../stores/session.js';
import { sessionOptionsOf } from '../context.js';
import { writeErr } from '../output.js';

/** Our own long-lived secrets: a child that finds them would use them instead of the token it was given. */
const WITHHELD = ['DHCORE_PERSONAL_ACCESS_TOKEN', 'DHCORE_REFRESH_TOKEN', 'DHCORE_PASSWORD'] as const;
const FORWARDED: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * `dhcore exec -- <command> [args…]` — run a program with a fresh DHCore access token and the store
 * credentials in its environment (as `aws-vault exec` does), its exit code passed through.
 */
export function register(program: Command): void {
  program
    .command('exec')
    .description('Run a program with a fresh access token and the store credentials in its environment')
    .argument('<command...>', 'the program to run and its arguments (put -- before them)')
    .option(
      '--pass-credentials',
      `also pass ${WITHHELD.join(', ')} from this environment on (withheld by default)`,
    )
    .addHelpText(
      'after',
      `
The program gets DHCORE_ENDPOINT, DHCORE_ACCESS_TOKEN, DHCORE_EXPIRES_AT, DH_NAME, DH_CONFIG and the store
credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_ENDPOINT_URL, …, DB_USERNAME,
DB_PASSWORD, …), its stdin, stdout and stderr are this terminal's, SIGINT/SIGTERM/SIGHUP are passed to it,
and dhcore exits with its exit code (127: command not found). ${WITHHELD.join(', ')} are not passed on
unless --pass-credentials is given.

These values are a snapshot: they stop working when the token or the store credentials expire
(DHCORE_EXPIRES_AT, AWS_CREDENTIALS_EXPIRATION). For long jobs use the SDK (s3Config(), sqlConfig(),
createClient()) or credential_process ('dhcore credentials --help'), which renew them.

Examples:
  dhcore exec -- python job.py
  dhcore -e prod exec -- aws s3 ls --endpoint-url "$AWS_ENDPOINT_URL"
  dhcore exec -- sh -c 'curl -H "Authorization: Bearer $DHCORE_ACCESS_TOKEN" "$DHCORE_ENDPOINT/api/auth"'`,
    )
    .action(async (argv: string[], opts: { passCredentials?: boolean }, cmd: Command) => {
      // Without `--`, the program's own options (node -e, aws --profile …) would be read as dhcore's.
      if (!process.argv.includes('--')) {
        cmd.error('error: put -- before the program: dhcore exec [options] -- <command> [args…]', {
          exitCode: 2,
          code: 'dhcore.exec.separator',
        });
      }
      const session = await openStoreSession(sessionOptionsOf(cmd));
      const values = await new FreshStoreValues(session).values();
      const accessToken = await session.accessToken();

      const env: NodeJS.ProcessEnv = environmentForChildren();
      if (!opts.passCredentials) for (const key of WITHHELD) delete env[key];
      delete env.DHCORE_EXPIRES_AT;
      for (const [key, value] of Object.entries(values)) env[key.toUpperCase()] = value;
      env.DHCORE_ENDPOINT = session.endpoint;
      env.DHCORE_ACCESS_TOKEN = accessToken;
      const expiresAt = session.expiresAt();
      if (expiresAt) env.DHCORE_EXPIRES_AT = expiresAt;
      // Whatever the program resolves by itself (a DHCore SDK, dhcore) names the same profile and file.
      env.DH_NAME = session.profile;
      env.DH_CONFIG = session.configFile;

      const [file, ...args] = argv as [string, ...string[]];
      const outcome = await run(file, args, env);
      if ('error' in outcome) {
        const notFound = outcome.error.code === 'ENOENT';
        writeErr(
          `dhcore: cannot run '${file}': ${notFound ? 'command not found (check the name and PATH)' : `${outcome.error.code ?? 'error'} (is it executable?)`}\n`,
        );
        process.exitCode = notFound ? 127 : 126;
        return;
      }
      if (outcome.signal) {
        // Die of the same signal, so a shell or supervisor sees what happened to the program.
        process.exitCode = 128 + (constants.signals[outcome.signal] ?? 0);
        process.kill(process.pid, outcome.signal);
        return;
      }
      process.exitCode = outcome.code ?? 1;
    });
}

type Outcome = { code: number | null; signal: NodeJS.Signals | null } | { error: NodeJS.ErrnoException };

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<Outcome> {
  return new Promise((resolve) => {
    const child = spawn(file, args, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals) => {
      child.kill(signal);
    };
    for (const signal of FORWARDED) process.on(signal, forward);
    const done = (outcome: Outcome) => {
      for (const signal of FORWARDED) process.off(signal, forward);
      resolve(outcome);
    };
    child.once('error', (error: NodeJS.ErrnoException) => done({ error }));
    child.once('exit', (code, signal) => done({ code, signal }));
  });
}
