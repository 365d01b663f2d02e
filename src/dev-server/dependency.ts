import { createRequire } from 'node:module';
import { ConfigError } from '../errors.js';

/** The oidc-provider version the dev server is tested with, and the one the install hint names. */
const TESTED_VERSION = '8.8.1';

/**
 * oidc-provider is an optional peer dependency: about 90 packages that only the dev server needs, so users of
 * the SDK and CLI do not install it. Checked before anything loads it, so that its absence is one line saying
 * what to run rather than a module-resolution stack trace.
 */
export function assertOidcProviderInstalled(): void {
  try {
    createRequire(import.meta.url).resolve('oidc-provider');
  } catch (err) {
    // Any other failure (e.g. a future version that cannot be require()d) means it is there.
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') return;
    throw new ConfigError(
      'dev_server_missing_dependency',
      'the dev server needs the optional package oidc-provider, which is not installed: run ' +
        `\`npm i oidc-provider@${TESTED_VERSION}\` where dhcore-credentials is installed ` +
        `(\`npm i -g oidc-provider@${TESTED_VERSION}\` for a global dhcore)`,
    );
  }
}
