/**
 * The command lines scripts run in loops — `dhcore token`, `dhcore status` — recognised
 * without loading commander (about a fifth of a bare Node start) or any other command. Only argument lists
 * whose meaning is beyond doubt are taken: each option spelled exactly as declared in program.ts and the
 * command's own file, given once, a value that does not look like an option, a known `--format`. Anything else
 * (help, a typo, an abbreviation, `--`, `-ep`, an extra argument) returns `undefined`, and commander parses it
 * as always, with its help and usage errors. Both routes run the same command function.
 */

import { TOKEN_FORMATS, type TokenFormat, tokenAction } from './commands/token.js';
import { checkedGlobals, type GlobalOptions } from './context.js';

/** The options of `dhcore status` (commands/status.ts). */
const STATUS_OPTIONS: readonly string[] = ['--offline'];

/** The root program's options (program.ts) that take a value, and the boolean ones. */
const VALUE_OPTIONS: Readonly<Record<string, 'config' | 'env'>> = {
  '--config': 'config',
  '-e': 'env',
  '--env': 'env',
};
const FLAG_OPTIONS: Readonly<Record<string, 'json' | 'debug'>> = { '--json': 'json', '--debug': 'debug' };

/** A command line recognised without commander: what commander would have parsed it to. */
export type FastCommand =
  | { command: 'token'; opts: { format?: TokenFormat }; globals: GlobalOptions }
  | { command: 'status'; opts: { offline?: true }; globals: GlobalOptions };

/** `args` (argv without node and the script) as a {@link FastCommand}, or `undefined`: let commander parse. */
export function parseFast(args: readonly string[]): FastCommand | undefined {
  const globals: GlobalOptions = {};
  const local = new Map<string, string | true>();
  const seen = new Set<string>();
  let command: 'token' | 'status' | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 2 ? arg.slice(0, eq) : arg;
    if (seen.has(name)) return undefined;
    seen.add(name);
    let value: string | undefined;
    const takesValue = VALUE_OPTIONS[name] !== undefined || (command === 'token' && name === '--format');
    if (takesValue) {
      if (eq > 2) value = arg.slice(eq + 1);
      else {
        value = args[++i];
        if (value === undefined || value.startsWith('-')) return undefined;
      }
    } else if (eq > 2) {
      return undefined; // `--json=…`: commander's error
    }
    const global = VALUE_OPTIONS[name] ?? FLAG_OPTIONS[name];
    if (global !== undefined) {
      if (global === 'config' || global === 'env') globals[global] = value;
      else globals[global] = true;
    } else if (command === undefined && (arg === 'token' || arg === 'status')) {
      command = arg;
      seen.delete(arg);
    } else if (command === 'token' && name === '--format') {
      if (!TOKEN_FORMATS.includes(value as TokenFormat)) return undefined;
      local.set('format', value!);
    } else if (command === 'status' && STATUS_OPTIONS.includes(name)) {
      local.set(name.slice(2), true);
    } else {
      return undefined;
    }
  }
  if (command === 'token') {
    const format = local.get('format') as TokenFormat | undefined;
    return { command, opts: format === undefined ? {} : { format }, globals };
  }
  if (command === 'status') return { command, opts: local.has('offline') ? { offline: true } : {}, globals };
  return undefined;
}

/**
 * The command for `args` and how to run it, or `undefined`: let commander parse (see {@link parseFast}).
 */
export function fastCommand(
  args: readonly string[],
): { command: FastCommand['command']; run: () => Promise<void> } | undefined {
  const fast = parseFast(args);
  switch (fast?.command) {
    case 'token':
      return { command: 'token', run: async () => tokenAction(fast.opts, checkedGlobals(fast.globals)) };
    case 'status':
      return {
        command: 'status',
        run: async () => {
          const globals = checkedGlobals(fast.globals);
          // Loaded when run: the library's build keeps it out of what every start loads (in the CLI's it is
          // part of run.js, and its functions are compiled only when status runs).
          const { statusAction } = await import('./commands/status.js');
          return statusAction(fast.opts, globals);
        },
      };
    default:
      return undefined;
  }
}
