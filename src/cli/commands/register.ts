import type { Command } from 'commander';
import { readConfigDocument } from '../../config/resolve.js';
import { discoverProfile, writeRegistration } from '../../profiles/register.js';
import { configFileOf, globalOptions, printJson } from '../context.js';

/** `dhcore register <endpoint>`: a thin shell over `discoverProfile` + `writeRegistration`. */
export function register(program: Command): void {
  program
    .command('register')
    .description(
      "Add a DHCore profile from its public configuration and make it the current one (like 'dhcli register')",
    )
    .argument('<endpoint>', 'DHCore base URL, with http:// or https://')
    .option('--force', 'replace a profile of the same name that points to another endpoint')
    .addHelpText(
      'after',
      `
The name is -e/--env <name>, else the server's dhcore_name, else the endpoint's host.
Reads <endpoint>/.well-known/configuration and the OpenID configuration, and writes the
profile's dhcore_* and oauth2_* keys to the config file. Tokens already saved for the same
endpoint are kept; --force replaces a profile that pointed elsewhere (its tokens are dropped).

Examples:
  dhcore register https://dhcore.example.com
  dhcore register https://staging.dhcore.example.com -e staging
  dhcore register http://127.0.0.1:8080 -e local --force
  dhcore --config ./project.ini register https://dhcore.example.com`,
    )
    .action(async (endpoint: string, opts: { force?: boolean }, cmd: Command) => {
      const file = configFileOf(cmd);
      // Read first so a broken file fails before any network request.
      readConfigDocument(file);
      const reg = await discoverProfile(endpoint, globalOptions(cmd).env);
      const result = await writeRegistration(file, reg, opts.force === true);
      for (const warning of reg.warnings) process.stderr.write(`dhcore: warning: ${warning}\n`);
      if (globalOptions(cmd).json) {
        printJson({
          name: reg.name,
          endpoint: reg.endpoint,
          configFile: file,
          current: true,
          replaced: result.replaced,
          updated: result.updated,
          keys: Object.keys(reg.values).sort(),
        });
        return;
      }
      const verb = result.replaced ? 'Replaced' : result.updated ? 'Updated' : 'Registered';
      process.stdout.write(
        `${verb} profile '${reg.name}' (${reg.endpoint}) in ${file}; it is now the current profile.\n` +
          `Next: run 'dhcore login' (browser), 'dhcore login --device' or 'dhcore login --pat <token>'.\n`,
      );
    });
}
