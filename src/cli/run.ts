/**
 * `dhcore` (after main.ts). The command lines scripts run in loops (`dhcore token`, `dhcore status`) are
 * recognised without commander (fast.ts) and run the very same command code; anything else — help, usage
 * errors, every other command — loads the commander program (full.ts), and only then.
 */
import { enableDebug } from '../diagnostics.js';
import { cacheCovers } from './code-cache.js';
import { fastCommand } from './fast.js';
import { printWarningsPlainly, reportError, reportFlags } from './report.js';

async function main(argv: string[]): Promise<void> {
  printWarningsPlainly();
  const flags = reportFlags(argv);
  // --debug turns on every dhcore diagnostic namespace (the flow of a successful run too), before anything
  // creates a logger. Lines never carry a secret.
  if (flags.debug) enableDebug();
  const fast = fastCommand(argv.slice(2));
  if (fast === undefined) {
    const { runProgram } = await import('./full.js');
    await runProgram(argv, flags);
    return;
  }
  cacheCovers(fast.command);
  try {
    await fast.run();
  } catch (err) {
    reportError(err, flags);
  }
}

void main(process.argv);
