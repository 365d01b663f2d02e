#!/usr/bin/env node
import { CommanderError } from 'commander';
import { DHCoreError } from '../errors.js';
import { EXIT, exitCodeFor } from './context.js';
import { buildProgram } from './program.js';

/** One line on stderr that says what happened and (via the error's message) what to do. */
function reportError(err: unknown, debug: boolean): number {
  if (err instanceof CommanderError) {
    // Commander already printed its message (help, version or a usage error).
    return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`dhcore: ${message.split('\n')[0]}\n`);
  if (debug && err instanceof Error) {
    const code = err instanceof DHCoreError ? ` [${err.code}]` : '';
    process.stderr.write(`${err.name}${code}\n${err.stack?.split('\n').slice(1).join('\n') ?? ''}\n`);
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

async function main(argv: string[]): Promise<void> {
  printWarningsPlainly();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    process.exitCode = reportError(err, argv.includes('--debug'));
  }
}

await main(process.argv);
