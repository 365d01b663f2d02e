#!/usr/bin/env node
import { CommanderError } from 'commander';
import { DHCoreError, ERROR_CODES, EXIT_CODES } from '../errors.js';
import { exitCodeFor } from './context.js';
import { buildProgram } from './program.js';

/** One line on stderr that says what happened and what to do (with --json, one JSON object). */
function reportError(err: unknown, flags: { debug: boolean; json: boolean }): number {
  const message = (err instanceof Error ? err.message : String(err)).split('\n')[0]!;
  const code = err instanceof DHCoreError ? err.code : 'unexpected';
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
    process.stderr.write(`dhcore: warning: ${warning.message}\n`);
  });
}

/** Commander's own message (`error: unknown option '--x'`) as our one line, with where to look for usage. */
function usageMessage(err: CommanderError, argv: readonly string[]): string {
  const text = err.message.replace(/^error:\s*/i, '').trim();
  const command = argv.slice(2).find((a) => !a.startsWith('-'));
  const help = command ? `dhcore ${command} --help` : 'dhcore --help';
  return `${text.charAt(0).toUpperCase()}${text.slice(1)} (see '${help}').`;
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
  const flags = { debug: argv.includes('--debug'), json: argv.includes('--json') };
  // --debug turns on every dhcore diagnostic namespace (the flow of a successful run too), before anything
  // creates a logger. Lines never carry a secret.
  if (flags.debug) process.env.DEBUG = process.env.DEBUG ? `${process.env.DEBUG},dhcore*` : 'dhcore*';
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
      const message = usageMessage(err, argv);
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
