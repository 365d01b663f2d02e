#!/usr/bin/env node
import { CommanderError } from 'commander';
import { enableDebug } from '../diagnostics.js';
import { DHCoreError, ERROR_CODES, type ErrorCode, EXIT_CODES } from '../errors.js';
import { printable } from '../net/server-text.js';
import { withoutSecrets } from '../secrets.js';
import { exitCodeFor } from './context.js';
import { buildProgram } from './program.js';

/** One line on stderr that says what happened and what to do (with --json, one JSON object). */
function reportError(err: unknown, flags: { debug: boolean; json: boolean }): number {
  // Errors quote servers: one printable line, without any secret this process knows.
  const message = oneLine(withoutSecrets(err instanceof Error ? err.message : String(err)));
  const code: ErrorCode = err instanceof DHCoreError ? err.code : 'unexpected';
  if (flags.json) {
    process.stderr.write(`${JSON.stringify({ error: { code, message } })}\n`);
  } else {
    process.stderr.write(`dhcore: ${message}\n`);
  }
  if (flags.debug && err instanceof Error) {
    process.stderr.write(`${err.name} [${code}]\n${err.stack?.split('\n').slice(1).join('\n') ?? ''}\n`);
  }
  return exitCodeFor(err);
}

/** Library warnings (quoted values, loose file permissions, …) as one readable line each. */
function printWarningsPlainly(): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => {
    process.stderr.write(`dhcore: warning: ${oneLine(warning.message)}\n`);
  });
}

/** Text as one printable line (commander adds "(Did you mean …?)" on a line of its own). */
function oneLine(text: string): string {
  return printable(text).replace(/\s+/g, ' ').trim();
}

/** Commander's own message (`error: unknown option '--x'`) as our one line, with where to look for usage. */
function usageMessage(err: CommanderError, argv: readonly string[], commands: readonly string[]): string {
  const text = oneLine(err.message.replace(/^error:\s*/i, ''));
  const command = ownArgs(argv).find((a) => commands.includes(a));
  const help = command ? `dhcore ${command} --help` : 'dhcore --help';
  return `${text.charAt(0).toUpperCase()}${text.slice(1)} (see '${help}').`;
}

/** Our own arguments: everything before `--` (what follows belongs to the program `dhcore exec` runs). */
function ownArgs(argv: readonly string[]): readonly string[] {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return end === -1 ? args : args.slice(0, end);
}

/** A reader that went away (`dhcore token | true`, `| head -c1`) is not a failure: stop quietly. */
function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}

async function main(argv: string[]): Promise<void> {
  exitQuietlyOnClosedPipe();
  printWarningsPlainly();
  const own = ownArgs(argv);
  const flags = { debug: own.includes('--debug'), json: own.includes('--json') };
  // --debug turns on every dhcore diagnostic namespace (the flow of a successful run too), before anything
  // creates a logger. Lines never carry a secret.
  if (flags.debug) enableDebug();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version exit 0 (already printed); everything else is a usage error, one line.
      if (err.exitCode === 0) return;
      // No command given: commander printed the help; that is a usage error without a line of ours.
      if (err.code === 'commander.help') {
        process.exitCode = EXIT_CODES.usage;
        return;
      }
      const message = usageMessage(
        err,
        argv,
        program.commands.map((c) => c.name()),
      );
      if (flags.json)
        process.stderr.write(`${JSON.stringify({ error: { code: 'usage_error', message } })}\n`);
      else process.stderr.write(`dhcore: ${message}\n`);
      process.exitCode = EXIT_CODES[ERROR_CODES.usage_error.category];
      return;
    }
    process.exitCode = reportError(err, flags);
  }
}

await main(process.argv);
