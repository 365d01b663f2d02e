import type { Command } from 'commander';
import { chooseAuthMethod, profileValues, readConfigDocument } from '../../config/resolve.js';
import { redactUrl } from '../../redact.js';
import { configFileOf, currentEnvironmentIn, environmentsIn, globalOptions, printJson } from '../context.js';

/** One row of `dhcore list-env`: never a secret, only which kind of credentials the profile holds. */
interface EnvironmentRow {
  name: string;
  endpoint: string | null;
  current: boolean;
  authMethod: string;
  expiresAt: string | null;
}

export function register(program: Command): void {
  program
    .command('list-env')
    .description('List the environments (profiles) of the config file; the current one is marked with *')
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
      const file = configFileOf(cmd);
      const doc = readConfigDocument(file);
      const current = currentEnvironmentIn(doc);
      const rows: EnvironmentRow[] = environmentsIn(doc).map((name) => {
        const values = profileValues(doc, name) ?? {};
        return {
          name,
          endpoint: values.dhcore_endpoint === undefined ? null : redactUrl(values.dhcore_endpoint),
          current: name === current,
          authMethod: chooseAuthMethod((k) => values[k] || undefined),
          expiresAt: values.dhcore_expires_at ?? null,
        };
      });
      if (globalOptions(cmd).json) {
        printJson({ configFile: file, current: current ?? null, environments: rows });
        return;
      }
      if (rows.length === 0) {
        process.stderr.write(
          `No environments in ${file}${doc ? '' : ' (file not found)'}; run 'dhcore register <endpoint>' to add one.\n`,
        );
        return;
      }
      const nameWidth = Math.max(...rows.map((r) => r.name.length), 'NAME'.length);
      const endpointWidth = Math.max(...rows.map((r) => (r.endpoint ?? '-').length), 'ENDPOINT'.length);
      const line = (mark: string, name: string, endpoint: string, auth: string) =>
        `${mark} ${name.padEnd(nameWidth)}  ${endpoint.padEnd(endpointWidth)}  ${auth}`.trimEnd();
      const out = [line(' ', 'NAME', 'ENDPOINT', 'AUTH')];
      for (const r of rows) out.push(line(r.current ? '*' : ' ', r.name, r.endpoint ?? '-', r.authMethod));
      process.stdout.write(`${out.join('\n')}\n`);
      if (current && !rows.some((r) => r.current)) {
        process.stderr.write(
          `dhcore: warning: current_environment '${current}' is not in ${file}; run 'dhcore use <name>' to pick one.\n`,
        );
      }
    });
}
