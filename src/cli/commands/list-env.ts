import type { Command } from 'commander';
import { listProfiles } from '../../profiles/manage.js';
import { configFileOf, globalOptions, printJson } from '../context.js';
import { writeErr, writeOut } from '../output.js';

/** `dhcore list-env`: the profiles of the config file; never a secret. */
export function register(program: Command): void {
  program
    .command('list-env')
    .description('List the profiles of the config file; the current one is marked with *')
    .addHelpText(
      'after',
      `
Only the file is shown: DHCORE_* variables and $DH_NAME are not applied (see 'dhcore status').

Examples:
  dhcore list-env
  dhcore list-env --json
  dhcore --config ./project.ini list-env`,
    )
    .action((_opts: unknown, cmd: Command) => {
      const list = listProfiles(configFileOf(cmd));
      const rows = list.profiles;
      if (globalOptions(cmd).json) {
        printJson({ configFile: list.configFile, current: list.current ?? null, environments: rows });
        return;
      }
      if (rows.length === 0) {
        writeErr(
          `No profiles in ${list.configFile}${list.exists ? '' : ' (file not found)'}; run 'dhcore register <endpoint>' to add one.\n`,
        );
        return;
      }
      const nameWidth = Math.max(...rows.map((r) => r.name.length), 'NAME'.length);
      const endpointWidth = Math.max(...rows.map((r) => (r.endpoint ?? '-').length), 'ENDPOINT'.length);
      const line = (mark: string, name: string, endpoint: string, auth: string) =>
        `${mark} ${name.padEnd(nameWidth)}  ${endpoint.padEnd(endpointWidth)}  ${auth}`.trimEnd();
      const out = [line(' ', 'NAME', 'ENDPOINT', 'AUTH')];
      for (const r of rows) out.push(line(r.current ? '*' : ' ', r.name, r.endpoint ?? '-', r.authMethod));
      writeOut(`${out.join('\n')}\n`);
      if (list.current && !rows.some((r) => r.current)) {
        writeErr(
          `dhcore: warning: current_environment '${list.current}' is not in ${list.configFile}; run 'dhcore use <name>' to pick one.\n`,
        );
      }
    });
}
