/**
 * Where the token endpoint is, who we are, and where each URL was configured. Kept apart from oidc.ts so
 * the token lifecycle can build a target without loading openid-client (cold start).
 */
import type { ResolvedConfig } from '../config/types.js';

/** Where the token endpoint is and who we are. */
export interface OAuthTarget {
  /** DHCore endpoint (decides the plain-http rule and where the client id is served). */
  endpoint: string;
  /** Issuer for discovery (`dhcore_issuer`, else the endpoint). */
  issuer: string;
  /** `oauth2_token_endpoint`, when configured: no discovery then. */
  tokenEndpoint?: string | undefined;
  clientId?: string | undefined;
  /**
   * Where each URL was configured, for the fix in a transport failure, e.g. `$DHCORE_ENDPOINT` or
   * `dhcore_endpoint in [dev] of ~/.dhcore.ini` (default: the environment variable names).
   */
  origins?: { endpoint: string; issuer: string; tokenEndpoint: string | undefined } | undefined;
}

/** The target a resolved profile names. */
export function targetOf(config: ResolvedConfig): OAuthTarget {
  const where = (key: string) => {
    const source = config.source(key);
    if (source === 'env') return `$${key.toUpperCase()}`;
    if (source === 'option') return `${key.toUpperCase()} (passed in code)`;
    return `${key} in [${config.profile}] of ${config.configFile}`;
  };
  const endpoint = where('dhcore_endpoint');
  return {
    endpoint: config.endpoint,
    issuer: config.issuer,
    tokenEndpoint: config.tokenEndpoint,
    clientId: config.clientId,
    origins: {
      endpoint,
      // Without dhcore_issuer the endpoint is the issuer.
      issuer: config.source('dhcore_issuer') ? where('dhcore_issuer') : endpoint,
      tokenEndpoint: config.tokenEndpoint ? where('oauth2_token_endpoint') : undefined,
    },
  };
}

/** Where the URL a request went to was configured (see {@link OAuthTarget.origins}). */
export function sourceOf(target: OAuthTarget, url: 'endpoint' | 'issuer' | 'tokenEndpoint'): string {
  const o = target.origins;
  if (url === 'endpoint') return o?.endpoint ?? 'DHCORE_ENDPOINT';
  if (url === 'issuer') return o?.issuer ?? 'DHCORE_ISSUER (default: DHCORE_ENDPOINT)';
  if (target.tokenEndpoint) return o?.tokenEndpoint ?? 'OAUTH2_TOKEN_ENDPOINT';
  return `the token endpoint discovered from ${sourceOf(target, 'issuer')}`;
}
