/**
 * The whole command line through commander, every command registered: help, usage errors and every command
 * line that fast.ts does not take.
 */
import { CommanderError } from 'commander';
import { ERROR_CODES, EXIT_CODES } from '../errors.js';
import { cacheCovers } from './code-cache.js';
import { exitQuietlyOnClosedPipe } from './output.js';
import { buildProgram } from './program.js';
import { oneLine, ownArgs, type ReportFlags, reportError, reportUsage } from './report.js';

/** Commander's own message (`error: unknown option '--x'`) as our one line, with where to look for usage. */
function usageMessage(err: CommanderError, argv: readonly string[], commands: readonly string[]): string {
  const text = oneLine(err.message.replace(/^error:\s*/i, ''));
  const command = ownArgs(argv).find((a) => commands.includes(a));
  const help = command ? `dhcore ${command} --help` : 'dhcore --help';
  return `${text.charAt(0).toUpperCase()}${text.slice(1)} (see '${help}').`;
}

export async function runProgram(argv: string[], flags: ReportFlags): Promise<void> {
  // Commander prints help through process.stdout/stderr.
  exitQuietlyOnClosedPipe();
  const program = buildProgram();
  // The code cache keeps each command's code (see cacheCovers).
  program.hook('preAction', (_program, command) => cacheCovers(command.name()));
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
      const commands = program.commands.map((c) => c.name());
      const exitCode = EXIT_CODES[ERROR_CODES.usage_error.category];
      reportUsage(usageMessage(err, argv, commands), flags, exitCode);
      return;
    }
    reportError(err, flags);
  }
}
