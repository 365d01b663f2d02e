import type { Command } from 'commander';
import { profileNames, removeProfile } from '../../profiles/manage.js';
import { configFileOf, globalOptions, printJson } from '../context.js';
import { writeOut } from '../output.js';

/** `dhcore remove <name>`: delete a profile and everything saved in it. */
export function register(program: Command): void {
  program
    .command('remove')
    .description('Delete a profile and everything saved in it (tokens included) from the config file')
    .argument('<name>', 'profile name, as listed by dhcore list-env')
    .addHelpText(
      'after',
      `
If it was the current profile, current_environment is cleared too. Other sections, keys and
comments of the file are kept as they are. Tokens are deleted from the file, not revoked at
the server.

Examples:
  dhcore remove staging
  dhcore --config ./project.ini remove local`,
    )
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const file = configFileOf(cmd);
      const { wasCurrent } = await removeProfile(file, name);
      if (globalOptions(cmd).json) {
        printJson({ removed: name.trim(), wasCurrent, configFile: file });
        return;
      }
      const others = wasCurrent ? profileNames(file) : [];
      const next =
        others.length > 0
          ? ` It was the current one: pick another with 'dhcore use ${others[0]}' (profiles: ${others.join(', ')}).`
          : " It was the current one and no profile is left: add one with 'dhcore register <endpoint>'.";
      writeOut(`Removed profile '${name.trim()}' from ${file}.${wasCurrent ? next : ''}\n`);
    });
}
