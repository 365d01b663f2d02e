/**
 * Transport options shared by every HTTP request the package makes (client requests, token requests,
 * discovery, registration): defaulted and validated here, once.
 */
import { UsageError } from '../errors.js';

/** Default time limit (ms) of one HTTP request. */
export const DEFAULT_TIMEOUT_MS = 30_000;

/** How requests are sent. */
export interface HttpOptions {
  /** `fetch` implementation (default: the global `fetch`). */
  fetch?: typeof fetch | undefined;
  /** Time limit of one request in ms (default 30 000); `0` or `Infinity` disables it where a caller allows. */
  timeoutMs?: number | undefined;
}

/** {@link HttpOptions} with defaults applied. `timeoutMs` is 0 when there is no limit. */
export interface Http {
  fetch: typeof fetch;
  timeoutMs: number;
}

/** Defaults applied and `timeoutMs` validated (a `UsageError` names the bad value). */
export function httpOf(opts: HttpOptions): Http {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs >= 0)) {
    throw new UsageError(
      'usage_invalid_option',
      `timeoutMs must be a number of milliseconds >= 0 (got ${timeoutMs}).`,
    );
  }
  return {
    fetch: opts.fetch ?? globalThis.fetch,
    timeoutMs: timeoutMs === Number.POSITIVE_INFINITY ? 0 : timeoutMs,
  };
}

/** The limit for requests that must always have one (token requests): the caller's, else the default. */
export function boundedTimeout(http: Http): number {
  return http.timeoutMs > 0 ? http.timeoutMs : DEFAULT_TIMEOUT_MS;
}
