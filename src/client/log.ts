/**
 * Optional diagnostics: `DEBUG=dhcore*` (through the `debug` package) or a `logger` callback. Lines describe
 * flows and timings — method, origin + path, status, milliseconds, which auth method, refreshes — and never a
 * header value, token, password, query string or body.
 */

/** Receives one human-readable line per event. Never given a secret. */
export type Logger = (message: string) => void;

/**
 * The logger to use: the caller's, else a `debug` namespace when `DEBUG` is set and enables it, else none.
 * `debug` is only imported when `DEBUG` is set, so a normal start pays nothing for it.
 */
export async function resolveLogger(
  option: Logger | undefined,
  namespace: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): Promise<Logger | undefined> {
  if (option) return option;
  if (!env.DEBUG) return undefined;
  const { default: createDebug } = await import('debug');
  const debug = createDebug(namespace);
  return debug.enabled ? (message: string) => debug(message) : undefined;
}

/** Milliseconds since `start` (a `performance.now()` reading), rounded to 0.1 ms. */
export function elapsed(start: number): string {
  return `${Math.round((performance.now() - start) * 10) / 10} ms`;
}
