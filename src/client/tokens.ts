/**
 * The client's view of the token lifecycle (`src/auth/token-manager.ts`). The manager — and with it
 * `openid-client`, `proper-lockfile` and `debug` — is imported only when a profile actually uses tokens that
 * can be exchanged or refreshed, so `basic`, `access_token_only` and `none` clients start without them.
 */
import type { ResolvedConfig } from '../config/types.js';
import type { Logger } from './log.js';

/** What the client needs from the token manager. */
export interface TokenSource {
  /** A valid access token (exchange/refresh as needed, single-flight). */
  accessToken(): Promise<string>;
  /** A new token; with `rejectedToken`, a different still-valid token is returned without a server call. */
  refresh(opts?: { rejectedToken?: string }): Promise<string>;
  /** Non-secret state: `expiresAt` is RFC 3339. */
  state(): { expiresAt?: string; refreshAt?: string; hasRefreshToken: boolean };
  /** Extra credential fields (`aws_*`, …) from the profile and token responses. Secrets. */
  credentials(): Record<string, string>;
}

export interface TokenSourceOptions {
  storage: 'file' | 'memory';
  fetch: typeof fetch;
  timeoutMs: number | undefined;
  logger: Logger | undefined;
  env: Readonly<Record<string, string | undefined>>;
}

export async function loadTokenSource(
  config: ResolvedConfig,
  opts: TokenSourceOptions,
): Promise<TokenSource> {
  const { TokenManager } = await import('../auth/token-manager.js');
  return new TokenManager({
    config,
    storage: opts.storage,
    fetch: opts.fetch,
    env: opts.env,
    ...(opts.timeoutMs !== undefined ? { timeoutMs: opts.timeoutMs } : {}),
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
}
