/**
 * The five auth methods as values with behaviour. Resolution picks the method's name (`chooseAuthMethod`);
 * this says what each can do: whether it can refresh, which credential it stands on, and how to obtain a new
 * token — as a short chain of attempts in which the next is tried only when the previous one was refused with
 * `invalid_grant` (the Python SDK's fallback: the file's credential, then a different one from the
 * environment).
 */
import type { AuthMethod } from '../config/types.js';

type Env = Readonly<Record<string, string | undefined>>;

/** One way to obtain a token: a grant and the secret it presents. */
export interface Attempt {
  grant: 'exchange' | 'refresh';
  /** The PAT or refresh token presented. Secret. */
  secret: string;
  /** Logged when the chain falls through to this attempt (never a secret). */
  why?: string;
}

/** What an attempt chain is built from. */
export interface AttemptInputs {
  /** The PAT the lifecycle stands on (exchange). */
  pat: string | undefined;
  /** The newest refresh token: the file's under the lock, else the one held (oauth2). */
  refreshToken: string | undefined;
  env: Env;
}

export interface AuthMethodBehaviour {
  readonly name: AuthMethod;
  /** Can it obtain a new access token by itself (PAT exchange or refresh)? */
  readonly refreshable: boolean;
  /** The profile key of the credential it stands on; its source decides where new tokens are kept. */
  readonly credentialKey: 'dhcore_personal_access_token' | 'dhcore_refresh_token' | undefined;
  /** The credential in messages: "personal access token", "refresh token", … */
  readonly credentialName: string;
  /** The attempts that obtain a new token, in order (empty: nothing to present). */
  attempts(inputs: AttemptInputs): Attempt[];
}

function envValue(env: Env, key: string): string | undefined {
  const v = env[key]?.trim();
  return v ? v : undefined;
}

const fixed = (name: AuthMethod, credentialName: string): AuthMethodBehaviour => ({
  name,
  refreshable: false,
  credentialKey: undefined,
  credentialName,
  attempts: () => [],
});

export const AUTH_METHODS: Readonly<Record<AuthMethod, AuthMethodBehaviour>> = {
  exchange: {
    name: 'exchange',
    refreshable: true,
    credentialKey: 'dhcore_personal_access_token',
    credentialName: 'personal access token',
    attempts({ pat, env }) {
      const envPat = envValue(env, 'DHCORE_PERSONAL_ACCESS_TOKEN');
      const chain: Attempt[] = pat ? [{ grant: 'exchange', secret: pat }] : [];
      if (envPat && envPat !== pat) {
        chain.push({
          grant: 'exchange',
          secret: envPat,
          why: 'personal access token refused (invalid_grant); retrying with the one from the environment',
        });
      }
      return chain;
    },
  },
  oauth2: {
    name: 'oauth2',
    refreshable: true,
    credentialKey: 'dhcore_refresh_token',
    credentialName: 'refresh token',
    attempts({ refreshToken, env }) {
      if (refreshToken === undefined) return [];
      const chain: Attempt[] = [{ grant: 'refresh', secret: refreshToken }];
      const envRefresh = envValue(env, 'DHCORE_REFRESH_TOKEN');
      if (envRefresh && envRefresh !== refreshToken) {
        chain.push({
          grant: 'refresh',
          secret: envRefresh,
          why: 'refresh token refused (invalid_grant); retrying with the refresh token from the environment',
        });
      }
      const envPat = envValue(env, 'DHCORE_PERSONAL_ACCESS_TOKEN');
      if (envPat) {
        chain.push({
          grant: 'exchange',
          secret: envPat,
          why: 'refresh token refused (invalid_grant); exchanging the personal access token from the environment',
        });
      }
      return chain;
    },
  },
  access_token_only: fixed('access_token_only', 'access token'),
  basic: fixed('basic', 'user and password'),
  none: fixed('none', 'credentials'),
};
