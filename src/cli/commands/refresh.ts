import type { Command } from 'commander';
import { openSession } from '../../auth/session.js';
import { globalOptions, printJson, printTable, sessionOptionsOf } from '../context.js';
import { describeExpiry } from './status.js';

/** `dhcore refresh` — force a refresh (oauth2) or a new exchange (PAT) now and save it; no secrets printed. */
export function register(program: Command): void {
  program
    .command('refresh')
    .description('Refresh the access token now (or exchange the personal access token again) and save it')
    .addHelpText(
      'after',
      `
Examples:
  dhcore refresh
  dhcore refresh --json -e staging`,
    )
    .action(async (_opts: unknown, cmd: Command) => {
      const session = await openSession(sessionOptionsOf(cmd));
      const { config } = session;
      await session.refresh();
      const state = session.state();
      const last = session.lastRefresh();
      // An adopted token was saved by the process that obtained it.
      const saved = last?.persisted === true || last?.action === 'adopted';
      const summary = {
        profile: config.profile,
        configFile: config.configFile,
        authMethod: config.authMethod,
        action: last?.action ?? 'refreshed',
        expiresAt: state.expiresAt ?? null,
        refreshAt: state.refreshAt ?? null,
        saved,
        storage: state.storage,
      };
      if (globalOptions(cmd).json) {
        printJson(summary);
        return;
      }
      printTable([
        ['profile', config.profile],
        ['auth method', config.authMethod],
        ['token', summary.action === 'exchanged' ? 'exchanged again' : summary.action],
        ['expires at', describeExpiry(summary.expiresAt)],
        [
          'saved to',
          !saved
            ? `memory only (${state.storage === 'cache' ? 'the token cache' : config.configFile} not written)`
            : state.storage === 'cache'
              ? 'the token cache (this profile lives only in the environment)'
              : config.configFile,
        ],
      ]);
    });
}
