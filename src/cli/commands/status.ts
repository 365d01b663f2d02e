import type { Command } from 'commander';
import { resolveConfig } from '../../config/resolve.js';
import type { ResolvedConfig } from '../../config/types.js';
import { globalOptions, printJson, printTable, resolveOptionsOf } from '../context.js';

/** The offline part of `dhcore status`: what resolution decided. Never includes a secret value. */
export function offlineStatus(config: ResolvedConfig) {
  return {
    profile: config.profile,
    configFile: config.configFile,
    endpoint: config.endpoint,
    issuer: config.issuer,
    clientId: config.clientId ?? null,
    authMethod: config.authMethod,
    expiresAt: config.expiresAt ?? null,
    sources: { ...config.sources },
  };
}

export function describeExpiry(expiresAt: string | null, now = Date.now()): string {
  if (!expiresAt) return 'unknown';
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return `${expiresAt} (unreadable)`;
  const seconds = Math.round((at - now) / 1000);
  const span = (s: number) =>
    s >= 3600 ? `${Math.round(s / 360) / 10} h` : s >= 60 ? `${Math.round(s / 60)} min` : `${s} s`;
  return seconds >= 0 ? `${expiresAt} (in ${span(seconds)})` : `${expiresAt} (expired ${span(-seconds)} ago)`;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('Show which endpoint, profile and auth method apply, and where each value comes from')
    .option('--offline', 'do not contact DHCore; only show the resolved configuration')
    .addHelpText(
      'after',
      `
Examples:
  dhcore status --offline
  dhcore status --json -e staging`,
    )
    .action(async (_opts: { offline?: boolean }, cmd: Command) => {
      const config = resolveConfig(resolveOptionsOf(cmd));
      const status = offlineStatus(config);
      if (globalOptions(cmd).json) {
        printJson(status);
        return;
      }
      const sourceList = Object.entries(status.sources)
        .map(([key, source]) => `${key} (${source})`)
        .join(', ');
      printTable([
        ['profile', status.profile],
        ['config file', `${status.configFile}${config.fileExists ? '' : ' (not found)'}`],
        ['endpoint', status.endpoint],
        ['issuer', status.issuer],
        ['auth method', status.authMethod],
        ['expires at', describeExpiry(status.expiresAt)],
        ['values', sourceList || 'none'],
      ]);
    });
}
