/**
 * How a run of `dhcore` ends when something went wrong, and how library warnings are shown: one line each on
 * stderr (with --json, one JSON object), whichever route (fast.ts or commander) ran the command.
 */
import { DHCoreError, type ErrorCode } from '../errors.js';
import { printable } from '../net/server-text.js';
import { withoutSecrets } from '../secrets.js';
import { exitCodeFor } from './context.js';
import { writeErr } from './output.js';

/** The flags that shape how a failure is reported. */
export interface ReportFlags {
  debug: boolean;
  json: boolean;
}

/** Our own arguments: everything before `--` (what follows belongs to the program `dhcore exec` runs). */
export function ownArgs(argv: readonly string[]): readonly string[] {
  const args = argv.slice(2);
  const end = args.indexOf('--');
  return end === -1 ? args : args.slice(0, end);
}

export function reportFlags(argv: readonly string[]): ReportFlags {
  const own = ownArgs(argv);
  return { debug: own.includes('--debug'), json: own.includes('--json') };
}

/** One line on stderr that says what happened and what to do, and the exit code for it. */
export function reportError(err: unknown, flags: ReportFlags): void {
  // The exit code first: a reader of stderr that went away ends the process during the write.
  process.exitCode = exitCodeFor(err);
  // Errors quote servers: one printable line, without any secret this process knows.
  const message = oneLine(withoutSecrets(err instanceof Error ? err.message : String(err)));
  const code: ErrorCode = err instanceof DHCoreError ? err.code : 'unexpected';
  writeErr(flags.json ? `${JSON.stringify({ error: { code, message } })}\n` : `dhcore: ${message}\n`);
  if (flags.debug && err instanceof Error) {
    writeErr(`${err.name} [${code}]\n${err.stack?.split('\n').slice(1).join('\n') ?? ''}\n`);
  }
}

/** A usage error (unknown option, bad value …) as our one line, and its exit code. */
export function reportUsage(message: string, flags: ReportFlags, exitCode: number): void {
  process.exitCode = exitCode; // before the write (see reportError)
  writeErr(
    flags.json ? `${JSON.stringify({ error: { code: 'usage_error', message } })}\n` : `dhcore: ${message}\n`,
  );
}

/** Library warnings (quoted values, loose file permissions, …) as one readable line each. */
export function printWarningsPlainly(): void {
  // Set up when the first warning is emitted: listening costs a start that has none (≈1 M instructions of
  // event-emitter code compiled on every `dhcore token`).
  const emit = process.emitWarning;
  process.emitWarning = function (this: unknown, ...args: Parameters<typeof emit>) {
    process.emitWarning = emit;
    process.removeAllListeners('warning');
    process.on('warning', (warning) => {
      writeErr(`dhcore: warning: ${oneLine(warning.message)}\n`);
    });
    return Reflect.apply(emit, this, args);
  } as typeof emit;
}

/** Text as one printable line (commander adds "(Did you mean …?)" on a line of its own). */
export function oneLine(text: string): string {
  return printable(text).replace(/\s+/g, ' ').trim();
}
