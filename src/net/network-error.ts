/**
 * The one mapping of transport failures (undici's `TypeError('fetch failed')` with a coded cause, an aborted
 * timeout signal) to typed errors. Callers say what was being done and what to check; the message never
 * carries the cause's text beyond its errno-style code.
 */
import { DHCoreError } from '../errors.js';

export interface NetworkFailure {
  /** What was being done, e.g. `GET https://host/api/auth` or `Token refresh`. */
  what: string;
  /** The URL (user info already hidden). */
  url: string;
  /** What to check, e.g. `is DHCore running and reachable at https://host?` */
  fix: string;
  /** The time limit in force, for the timeout message. */
  timeoutMs: number;
  /** Did our own deadline fire (rather than the caller's signal)? */
  timedOut: boolean;
}

/**
 * The errno-style code of a failed fetch (`ECONNREFUSED`, `ENOTFOUND`, undici's `UND_ERR_*`, a TLS failure's
 * `ERR_SSL_*`/`ERR_TLS_*`), if it has one. Node's other `ERR_*` codes (`ERR_MODULE_NOT_FOUND`,
 * `ERR_INVALID_URL` …) are not the network's: they are left to be reported as they are.
 */
export function transportCode(err: unknown): string | undefined {
  const cause = err instanceof Error ? err.cause : undefined;
  const code =
    (cause as { code?: unknown } | undefined)?.code ?? (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(?!ERR_)E[A-Z0-9_]+$|^ERR_(SSL|TLS)_|^UND_ERR/.test(code)
    ? code
    : undefined;
}

/**
 * A `network_timeout` or `network_unreachable` error for a failed request, or undefined when `err` is not a
 * transport failure (a bad URL or header, `redirect: 'error'`, the caller's own abort).
 */
export function networkError(err: unknown, f: NetworkFailure): DHCoreError | undefined {
  const name = err instanceof Error ? err.name : '';
  if (f.timedOut || name === 'TimeoutError') {
    return new DHCoreError(
      'network_timeout',
      `${f.what} got no answer from ${f.url} within ${formatMs(f.timeoutMs)}; ${f.fix}`,
      { cause: err },
    );
  }
  const code = transportCode(err);
  if (code === undefined) return undefined;
  return new DHCoreError(
    'network_unreachable',
    `${f.what} failed: cannot reach ${f.url} (${code}); ${f.fix}`,
    { cause: err },
  );
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
