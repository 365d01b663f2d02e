import type { Command } from 'commander';
import { CURRENT_ENVIRONMENT_KEY } from '../../config/keys.js';
import { readConfigDocument } from '../../config/resolve.js';
import { ConfigError } from '../../errors.js';
import { editConfigFile } from '../../store/config-file.js';
import { globalOptions, printJson } from '../context.js';
import { configFileOf, currentEnvironmentIn, knownList } from './register.js';

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
      const doc = readConfigDocument(file);
      if (!doc?.hasSection(name) || name === 'DEFAULT') throw unknownEnvironment(name, doc, file);
      const previous = await editConfigFile(file, (d) => {
        if (!d.hasSection(name)) throw unknownEnvironment(name, d, file);
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

export function unknownEnvironment(
  name: string,
  doc: Parameters<typeof knownList>[0],
  file: string,
): ConfigError {
  return new ConfigError(
    'config_unknown_profile',
    `Unknown environment '${name}' in ${file}; ${knownList(doc, file)}. Add it with 'dhcore register <endpoint> -e ${name}'.`,
    { file },
  );
}
