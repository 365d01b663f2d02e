import type { Command } from 'commander';
import { CURRENT_ENVIRONMENT_KEY } from '../../config/keys.js';
import { readConfigDocument } from '../../config/resolve.js';
import { editConfigFile } from '../../store/config-file.js';
import {
  configFileOf,
  currentEnvironmentIn,
  globalOptions,
  printJson,
  requireEnvironment,
} from '../context.js';

export function register(program: Command): void {
  program
    .command('use')
    .description(
      'Make an environment the current one ([DEFAULT] current_environment, shared with dhcli and the Python SDK)',
    )
    .argument('<name>', 'environment name, as listed by dhcore list-env')
    .addHelpText(
      'after',
      `
$DH_NAME and -e/--env still win over the current environment for a single run.

Examples:
  dhcore use staging
  dhcore list-env && dhcore use prod`,
    )
    .action(async (nameArg: string, _opts: unknown, cmd: Command) => {
      const file = configFileOf(cmd);
      const name = nameArg.trim();
      // Fail before taking the lock when the name is plainly unknown.
      requireEnvironment(readConfigDocument(file), name, file);
      const previous = await editConfigFile(file, (d) => {
        requireEnvironment(d, name, file);
        const before = currentEnvironmentIn(d);
        d.set('DEFAULT', CURRENT_ENVIRONMENT_KEY, name);
        return before;
      });
      if (globalOptions(cmd).json) {
        printJson({ current: name, previous: previous ?? null, configFile: file });
        return;
      }
      process.stdout.write(
        previous === name
          ? `'${name}' already is the current environment.\n`
          : `Now using '${name}'${previous ? ` (was '${previous}')` : ''}.\n`,
      );
      if (process.env.DH_NAME?.trim() && process.env.DH_NAME.trim() !== name) {
        process.stderr.write(
          `dhcore: warning: $DH_NAME=${process.env.DH_NAME.trim()} still overrides it in this shell; run 'unset DH_NAME'.\n`,
        );
      }
    });
}
