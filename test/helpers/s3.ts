/**
 * Helpers for the store-credential tests: a profile that exchanges the dev server's PAT, and waiting until the
 * S3 keys a profile holds have expired at the server.
 */
import { writeFileSync } from 'node:fs';
import { resolveConfig } from '../../src/config/resolve.js';
import type { DevServer } from '../../src/dev-server/index.js';

/** INI text of a profile that exchanges the dev server's PAT (written 0600 by {@link writePatProfile}). */
export function patProfile(
  server: Pick<DevServer, 'endpoint' | 'clientId' | 'pat'>,
  section = 'dev',
): string {
  return `[${section}]
dhcore_endpoint = ${server.endpoint}
dhcore_client_id = ${server.clientId}
dhcore_personal_access_token = ${server.pat}
`;
}

export function writePatProfile(
  file: string,
  server: Pick<DevServer, 'endpoint' | 'clientId' | 'pat'>,
  section = 'dev',
  extra = '',
): void {
  writeFileSync(file, patProfile(server, section) + extra, { mode: 0o600 });
}

/** The store values a profile holds in the file now (lower-case keys). */
export function savedValues(file: string, profile = 'dev'): Record<string, string> {
  return resolveConfig({ env: {}, configFile: file, profile }).values();
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Wait until `iso` (plus a margin) has passed. */
export async function sleepPast(iso: string, marginMs = 150): Promise<void> {
  const wait = Date.parse(iso) + marginMs - Date.now();
  if (wait > 0) await sleep(wait);
}

/** The AWS CLI of the Debian `awscli` package (`/root/.pyenv/shims/aws` may shadow it on PATH). */
export const DEBIAN_AWS = '/usr/bin/aws';
