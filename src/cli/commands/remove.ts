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
    .command('remove')
    .description('Delete an environment and everything saved in it (tokens included) from the config file')
    .argument('<name>', 'environment name, as listed by dhcore list-env')
    .addHelpText(
      'after',
      `
If it was the current environment, current_environment is cleared too. Other sections, keys and
comments of the file are kept as they are. Tokens are deleted from the file, not revoked at
the server.

Examples:
  dhcore remove staging
  dhcore --config ./project.ini remove local`,
    )
    .action(async (nameArg: string, _opts: unknown, cmd: Command) => {
      const file = configFileOf(cmd);
      const name = nameArg.trim();
      requireEnvironment(readConfigDocument(file), name, file);
      const wasCurrent = await editConfigFile(file, (d) => {
        requireEnvironment(d, name, file);
        d.removeSection(name);
        const current = currentEnvironmentIn(d);
        if (current !== name) return false;
        d.delete('DEFAULT', CURRENT_ENVIRONMENT_KEY);
        return true;
      });
      if (globalOptions(cmd).json) {
        printJson({ removed: name, wasCurrent, configFile: file });
        return;
      }
      process.stdout.write(
        `Removed environment '${name}' from ${file}.${wasCurrent ? " It was the current one: pick another with 'dhcore use <name>'." : ''}\n`,
      );
    });
}
