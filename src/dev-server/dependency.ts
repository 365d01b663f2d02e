import { createRequire } from 'node:module';
import { ConfigError } from '../errors.js';

/** The versions of the dev server's optional packages it is tested with, and the ones install hints name. */
const TESTED = { 'oidc-provider': '8.8.1', s3rver: '3.7.1' } as const;

/**
 * oidc-provider is an optional peer dependency: about 90 packages that only the dev server needs, so users of
 * the SDK and CLI do not install it. Checked before anything loads it, so that its absence is one line saying
 * what to run rather than a module-resolution stack trace.
 */
export function assertOidcProviderInstalled(): void {
  assertInstalled('oidc-provider', 'the dev server');
}

/** s3rver (optional too, and old: its dependencies are) is needed only for `--s3` / `{ s3: true }`. */
export function assertS3rverInstalled(): void {
  assertInstalled('s3rver', "the dev server's S3 store (--s3)");
}

function assertInstalled(name: keyof typeof TESTED, who: string): void {
  try {
    createRequire(import.meta.url).resolve(name);
  } catch (err) {
    // Any other failure (e.g. a future version that cannot be require()d) means it is there.
    if ((err as NodeJS.ErrnoException).code !== 'MODULE_NOT_FOUND') return;
    throw new ConfigError(
      'dev_server_missing_dependency',
      `${who} needs the optional package ${name}, which is not installed: run ` +
        `\`npm i ${name}@${TESTED[name]}\` where dhcore-credentials is installed ` +
        `(\`npm i -g ${name}@${TESTED[name]}\` for a global dhcore)`,
    );
  }
}
