/**
 * Diagnostic lines: a `logger` callback given in code, else the `debug` package's namespaces when `DEBUG` is
 * set (`DEBUG=dhcore*`). Lines describe flows and timings — method, origin + path, status, milliseconds,
 * auth method, refreshes, lock and storage decisions — and never a header value, token, password, query
 * string or body.
 */

import { withoutSecrets } from './secrets.js';

/** Receives one human-readable line per event. Never given a secret. */
export type Logger = (message: string) => void;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * The logger to use: `option`, else the `namespace` of `debug` when `DEBUG` enables it, else undefined.
 * `debug` is only loaded when `DEBUG` is set, so a normal start pays nothing for it.
 */
export function loggerFor(
  option: Logger | undefined,
  namespace: string,
  env: Env = process.env,
): Logger | undefined {
  if (option) return (message: string) => option(withoutSecrets(message));
  if (!env.DEBUG) return undefined;
  const { createRequire } = process.getBuiltinModule('node:module');
  const createDebug = createRequire(import.meta.url)('debug') as typeof import('debug');
  const debug = createDebug(namespace);
  return debug.enabled ? (message: string) => debug(withoutSecrets(message)) : undefined;
}

/** `DEBUG` as the process started, before {@link enableDebug} changed it (for child processes). */
let inheritedDebug: string | undefined | null = null;

/** Turn on every `dhcore*` namespace (the CLI's `--debug`), for loggers created from now on. */
export function enableDebug(): void {
  if (inheritedDebug === null) inheritedDebug = process.env.DEBUG;
  process.env.DEBUG = inheritedDebug ? `${inheritedDebug},dhcore*` : 'dhcore*';
}

/** The environment a child process should get: ours, with `DEBUG` as it was before `--debug`. */
export function environmentForChildren(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (inheritedDebug === null) return env;
  if (inheritedDebug === undefined) delete env.DEBUG;
  else env.DEBUG = inheritedDebug;
  return env;
}

/** Milliseconds since `start` (a `performance.now()` reading), rounded to 0.1 ms. */
export function elapsed(start: number): string {
  return `${Math.round((performance.now() - start) * 10) / 10} ms`;
}
