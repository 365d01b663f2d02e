/**
 * What both interactive logins (browser PKCE and device code) need: the OpenID configuration of the
 * DHCore issuer, our public client id, and the scopes to ask for.
 */
import * as oidc from 'openid-client';
import type { ResolvedConfig } from '../../config/types.js';
import { ConfigError, DHCoreError } from '../../errors.js';
import { redactUrl } from '../../redact.js';
import { DHCORE_SCOPE, insecureAllowed, mapOAuthError } from '../oauth.js';

/** Scopes asked for: identity, DHCore's `credentials`, and a refresh token where the server needs offline_access. */
export const INTERACTIVE_SCOPES = ['openid', 'profile', DHCORE_SCOPE, 'offline_access'] as const;

const TIMEOUT_MS = 30_000;

export interface InteractiveSetup {
  oidc: oidc.Configuration;
  clientId: string;
  scope: string;
  issuer: string;
}

async function serverClientId(endpoint: string): Promise<string | undefined> {
  try {
    const res = await fetch(`${endpoint}/.well-known/configuration`, {
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    if (!res.ok) return undefined;
    const json = (await res.json()) as { dhcore_client_id?: unknown };
    return typeof json.dhcore_client_id === 'string' && json.dhcore_client_id
      ? json.dhcore_client_id
      : undefined;
  } catch {
    return undefined;
  }
}

/** Discover the issuer and pick the client id (profile, else the server's `dhcore_client_id`). */
export async function interactiveSetup(config: ResolvedConfig, what: string): Promise<InteractiveSetup> {
  const clientId = config.clientId ?? (await serverClientId(config.endpoint));
  if (!clientId) {
    throw new ConfigError(
      'config_missing_client_id',
      `No OAuth client id for profile '${config.profile}': run 'dhcore register ${redactUrl(config.endpoint)} -e ${config.profile}', or set DHCORE_CLIENT_ID.`,
    );
  }
  const issuer = config.issuer;
  if (issuer.startsWith('http://') && !insecureAllowed(config.endpoint, issuer)) {
    throw new ConfigError(
      'config_insecure_url',
      `DHCORE_ISSUER ${redactUrl(issuer)} uses plain http while the endpoint uses https; use https.`,
    );
  }
  let configuration: oidc.Configuration;
  try {
    configuration = await oidc.discovery(new URL(issuer), clientId, undefined, oidc.None(), {
      execute: issuer.startsWith('http://') ? [oidc.allowInsecureRequests] : [],
      timeout: TIMEOUT_MS / 1000,
    });
  } catch (err) {
    throw mapOAuthError(err, `${what}: OpenID discovery`, `${issuer}/.well-known/openid-configuration`);
  }
  const meta = configuration.serverMetadata();
  for (const url of [meta.token_endpoint, meta.authorization_endpoint, meta.device_authorization_endpoint]) {
    if (url?.startsWith('http://') && !insecureAllowed(config.endpoint, url)) {
      throw new ConfigError(
        'config_insecure_url',
        `The OpenID configuration of ${redactUrl(issuer)} names plain-http ${redactUrl(url)}; refusing to send credentials over it.`,
      );
    }
  }
  if (meta.token_endpoint?.startsWith('http://')) oidc.allowInsecureRequests(configuration);
  const supported = Array.isArray(meta.scopes_supported) ? meta.scopes_supported : undefined;
  const scopes = INTERACTIVE_SCOPES.filter((s) => !supported || supported.includes(s));
  return { oidc: configuration, clientId, scope: scopes.join(' '), issuer };
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
