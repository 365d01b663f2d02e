import type { Command } from 'commander';
import { readConfigDocument } from '../../config/resolve.js';
import {
  describeForeign,
  discoverProfile,
  foreignOrigins,
  type Registration,
  untrustedIssuerError,
  writeRegistration,
} from '../../profiles/register.js';
import { configFileOf, globalOptions, printJson } from '../context.js';
import { writeErr, writeOut } from '../output.js';

/** On a terminal, ask whether to trust an issuer on another origin; elsewhere the flag is the only yes. */
async function confirmTrust(reg: Registration, json: boolean): Promise<boolean> {
  if (json || !process.stdin.isTTY || !process.stderr.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(
      `${reg.endpoint} names ${describeForeign(reg)}, on another origin than the endpoint: your tokens and PAT would be sent there. Trust it for profile '${reg.name}'? [y/N] `,
    );
    return /^\s*y(es)?\s*$/i.test(answer);
  } finally {
    rl.close();
  }
}

/** `dhcore register <endpoint>`: a thin shell over `discoverProfile` + `writeRegistration`. */
export function register(program: Command): void {
  program
    .command('register')
    .description(
      "Add a DHCore profile from its public configuration and make it the current one (like 'dhcli register')",
    )
    .argument('<endpoint>', 'DHCore base URL, with http:// or https://')
    .option('--force', 'replace a profile of the same name that points to another endpoint')
    .option(
      '--trust-issuer',
      'accept an issuer or token endpoint on another origin than the endpoint (tokens will be sent there)',
    )
    .addHelpText(
      'after',
      `
The name is -e/--env <name>, else the server's dhcore_name, else the endpoint's host.
Reads <endpoint>/.well-known/configuration and the OpenID configuration, and writes the
profile's dhcore_* and oauth2_* keys to the config file. Tokens already saved for the same
endpoint are kept; --force replaces a profile that pointed elsewhere (its tokens are dropped).
If the server names an issuer or token endpoint on another origin, register shows it and writes
nothing unless you trust it: --trust-issuer, or answer yes on a terminal. Redirects of the
well-known documents are followed only within the endpoint's origin.

Examples:
  dhcore register https://dhcore.example.com
  dhcore register https://staging.dhcore.example.com -e staging
  dhcore register http://127.0.0.1:8080 -e local --force
  dhcore --config ./project.ini register https://dhcore.example.com`,
    )
    .action(async (endpoint: string, opts: { force?: boolean; trustIssuer?: boolean }, cmd: Command) => {
      const file = configFileOf(cmd);
      const json = globalOptions(cmd).json === true;
      // Read first so a broken file fails before any network request.
      readConfigDocument(file);
      const reg = await discoverProfile(endpoint, globalOptions(cmd).env);
      for (const warning of reg.warnings) writeErr(`dhcore: warning: ${warning}\n`);
      const trusted = foreignOrigins(reg);
      let trustIssuer = opts.trustIssuer === true;
      if (trusted.length > 0 && !trustIssuer) {
        trustIssuer = await confirmTrust(reg, json);
        if (!trustIssuer) throw untrustedIssuerError(reg);
      }
      const result = await writeRegistration(file, reg, opts.force === true, { trustIssuer });
      if (trusted.length > 0) {
        writeErr(
          `dhcore: trusting ${trusted.join(', ')} for profile '${reg.name}' (another origin than ${reg.endpoint}): tokens are sent there.\n`,
        );
      }
      if (json) {
        printJson({
          name: reg.name,
          endpoint: reg.endpoint,
          configFile: file,
          current: true,
          replaced: result.replaced,
          updated: result.updated,
          issuer: reg.issuer,
          tokenEndpoint: reg.tokenEndpoint ?? null,
          trusted,
          keys: Object.keys(reg.values).sort(),
        });
        return;
      }
      const verb = result.replaced ? 'Replaced' : result.updated ? 'Updated' : 'Registered';
      const next =
        result.authMethod === 'none'
          ? "Next: run 'dhcore login' (browser), 'dhcore login --device', or 'dhcore login --pat -' with the personal access token on stdin (or in $DHCORE_PERSONAL_ACCESS_TOKEN).\n"
          : `Its saved credentials (auth method ${result.authMethod}) were kept; 'dhcore status' checks them.\n`;
      writeOut(
        `${verb} profile '${reg.name}' (${reg.endpoint}) in ${file}; it is now the current profile.\n` +
          `Tokens come from ${reg.tokenEndpoint ?? 'the token endpoint the issuer names'} (issuer ${reg.issuer}).\n` +
          next,
      );
    });
}
