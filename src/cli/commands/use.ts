import type { Command } from 'commander';
import { validProfileName } from '../../config/location.js';
import { useProfileIn } from '../../profiles/current.js';
import { requireProfile } from '../../profiles/manage.js';
import { configFileOf, globalOptions, printJson } from '../context.js';
import { writeErr, writeOut } from '../output.js';

/** `dhcore use <name>`: make a profile the current one ([DEFAULT] current_environment). */
export function register(program: Command): void {
  program
    .command('use')
    .description(
      'Make a profile the current one ([DEFAULT] current_environment, shared with dhcli and the Python SDK)',
    )
    .argument('<name>', 'profile name, as listed by dhcore list-env')
    .addHelpText(
      'after',
      `
$DH_NAME and -e/--env still win over the current profile for a single run.

Examples:
  dhcore use staging
  dhcore list-env && dhcore use prod`,
    )
    .action(async (nameArg: string, _opts: unknown, cmd: Command) => {
      const file = configFileOf(cmd);
      const name = validProfileName(nameArg, "see 'dhcore list-env'");
      // Fail before taking the lock when the name is plainly unknown.
      requireProfile(file, name);
      const previous = await useProfileIn(file, name);
      if (globalOptions(cmd).json) {
        printJson({ current: name, previous: previous ?? null, configFile: file });
        return;
      }
      writeOut(
        previous === name
          ? `'${name}' already is the current profile.\n`
          : `Now using '${name}'${previous ? ` (was '${previous}')` : ''}.\n`,
      );
      const fromEnv = process.env.DH_NAME?.trim();
      if (fromEnv && fromEnv !== name) {
        writeErr(
          `dhcore: warning: $DH_NAME=${fromEnv} still overrides it in this shell; run 'unset DH_NAME'.\n`,
        );
      }
    });
}
