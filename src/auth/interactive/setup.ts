/**
 * What both interactive logins (browser PKCE and device code) need: the OpenID configuration of the
 * DHCore issuer, our public client id, and the scopes to ask for.
 */
import type * as oidc from 'openid-client';
import type { ResolvedConfig } from '../../config/types.js';
import { DHCoreError } from '../../errors.js';
import { type HttpOptions, httpOf } from '../../net/http.js';
import { DHCORE_SCOPE } from '../grants.js';
import { oidcConfiguration, targetOf } from '../oidc.js';

/** Scopes asked for: identity, DHCore's `credentials`, and a refresh token where the server needs offline_access. */
export const INTERACTIVE_SCOPES = ['openid', 'profile', DHCORE_SCOPE, 'offline_access'] as const;

export interface InteractiveSetup {
  oidc: oidc.Configuration;
  clientId: string;
  scope: string;
  issuer: string;
}

/** The one OIDC setup (client id, cached discovery, plain-http rule) with the scopes the issuer supports. */
export async function interactiveSetup(
  config: ResolvedConfig,
  what: string,
  opts: HttpOptions = {},
): Promise<InteractiveSetup> {
  const configuration = await oidcConfiguration(targetOf(config), httpOf(opts), what, { interactive: true });
  const meta = configuration.serverMetadata();
  const supported = Array.isArray(meta.scopes_supported) ? meta.scopes_supported : undefined;
  const scopes = INTERACTIVE_SCOPES.filter((s) => !supported || supported.includes(s));
  return {
    oidc: configuration,
    clientId: configuration.clientMetadata().client_id,
    scope: scopes.join(' '),
    issuer: config.issuer,
  };
}

/** The user cancelled an interactive login (Ctrl-C). Nothing was saved. */
export class LoginCancelledError extends DHCoreError {
  constructor() {
    super('login_cancelled', 'Login cancelled; nothing was saved.');
    this.name = 'LoginCancelledError';
  }
}

/** `preferred_username`, else `sub`, of the ID token (display only). */
export function whoFrom(tokens: { claims(): oidc.IDToken | undefined }): string | undefined {
  try {
    const claims = tokens.claims();
    const name = claims?.preferred_username ?? claims?.sub;
    return typeof name === 'string' && name ? name : undefined;
  } catch {
    return undefined;
  }
}
