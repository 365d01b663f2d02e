// The named export, not the default one: the CommonJS CLI loads this ES-module-only package through
// require(esm), where a default import would name the whole module.
import {
  type Account,
  type ClientMetadata,
  type Configuration,
  errors,
  type KoaContextWithOIDC,
  Provider,
  type ResourceServer,
} from 'oidc-provider';
import { type ServerKeys, SIGNING_ALG } from './keys.js';
import { deviceConfirmPage, deviceInputPage, messagePage } from './pages.js';
import type { MemoryStore } from './store.js';

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const PAT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:pat';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
/** Resource-server scope that makes token responses carry store credentials. */
export const CREDENTIALS_SCOPE = 'credentials';
/** OIDC scopes this server grants (the `credentials` scope belongs to the API resource server). */
export const OIDC_SCOPES = ['openid', 'profile', 'email', 'offline_access'] as const;

export interface DemoUser {
  username: string;
  password: string;
  pat: string;
  name: string;
  email: string;
  authorities: string[];
}

export interface ProviderSettings {
  issuer: string;
  /** Resource indicator (and JWT `aud`) of the DHCore API: the endpoint itself. */
  apiResource: string;
  clientId: string;
  accessTokenTtl: number;
  keys: ServerKeys;
  store: MemoryStore;
  user: DemoUser;
}

type ResourceServerCtor = new (identifier: string, info: ResourceServer) => ResourceServer;

/**
 * Builds the oidc-provider instance with DHCore's shapes. Every default helper that oidc-provider flags as
 * "you SHOULD/MUST change" is replaced here: those defaults print notices with `console.info` (stdout) and
 * `console.warn` the first time they run, which would break the CLI's one-JSON-line stdout contract.
 */
export function createProvider(s: ProviderSettings): Provider {
  const resourceServerInfo: ResourceServer = {
    scope: CREDENTIALS_SCOPE,
    audience: s.apiResource,
    accessTokenFormat: 'jwt',
    accessTokenTTL: s.accessTokenTtl,
    jwt: { sign: { alg: SIGNING_ALG, kid: s.keys.kid } },
  };

  const findAccount = (_ctx: KoaContextWithOIDC, sub: string): Account | undefined => {
    if (sub !== s.user.username) return undefined;
    return {
      accountId: sub,
      claims: () => ({
        sub,
        name: s.user.name,
        preferred_username: s.user.username,
        email: s.user.email,
        email_verified: true,
      }),
    };
  };

  const client: ClientMetadata = {
    client_id: s.clientId,
    client_name: 'DHCore CLI',
    application_type: 'native',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT],
    response_types: ['code'],
    id_token_signed_response_alg: SIGNING_ALG,
    // Loopback redirects of native clients match on any port (RFC 8252 §7.3).
    redirect_uris: ['http://localhost/callback', 'http://127.0.0.1/callback', 'http://[::1]/callback'],
  };

  const ttl = s.accessTokenTtl;
  const configuration: Configuration = {
    adapter: s.store.adapterFactory,
    clients: [client],
    clientDefaults: { id_token_signed_response_alg: SIGNING_ALG },
    jwks: s.keys.jwks,
    cookies: { keys: s.keys.cookieKeys },
    findAccount,
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    scopes: [...OIDC_SCOPES],
    routes: {
      authorization: '/auth/authorize',
      token: '/auth/token',
      jwks: '/auth/jwks',
      revocation: '/auth/revoke',
      device_authorization: '/auth/device',
      code_verification: '/device',
      end_session: '/auth/logout',
      userinfo: '/auth/userinfo',
      introspection: '/auth/introspect',
      registration: '/auth/register',
      pushed_authorization_request: '/auth/par',
      backchannel_authentication: '/auth/backchannel',
    },
    pkce: { methods: ['S256'], required: () => true },
    rotateRefreshToken: true,
    revokeGrantPolicy: () => true,
    // Interactive logins always get a refresh token (DHCore does), even without offline_access, which
    // OIDC would otherwise drop unless prompt=consent is sent.
    issueRefreshToken: (_ctx, c) => c.grantTypeAllowed('refresh_token'),
    expiresWithSession: () => false,
    ttl: {
      AccessToken: () => ttl,
      ClientCredentials: () => ttl,
      IdToken: () => ttl,
      RefreshToken: () => 30 * 24 * 3600,
      AuthorizationCode: () => 60,
      DeviceCode: () => 10 * 60,
      BackchannelAuthenticationRequest: () => 10 * 60,
      Interaction: () => 60 * 60,
      Session: () => 24 * 3600,
      Grant: () => 30 * 24 * 3600,
    },
    clientBasedCORS: () => true,
    pairwiseIdentifier: (_ctx, accountId) => accountId,
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: false },
      revocation: { enabled: true },
      introspection: { enabled: false },
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        userCodeInputSource: (ctx, form, out, err) => {
          let message: string | undefined;
          if (err && ('userCode' in err || err.name === 'NoCodeError')) {
            message = 'That code is not valid or has expired. Try again.';
          } else if (err && err.name === 'AbortedError') {
            message = 'The sign-in request was cancelled.';
          } else if (out) {
            message = out.error_description ?? out.error;
          }
          ctx.type = 'html';
          ctx.body = deviceInputPage(form, message);
        },
        userCodeConfirmSource: (ctx, form, c, _deviceInfo, userCode) => {
          ctx.type = 'html';
          ctx.body = deviceConfirmPage(form, c.clientName ?? c.clientId, userCode);
        },
        successSource: (ctx) => {
          ctx.type = 'html';
          ctx.body = messagePage('Device signed in', 'Your device is signed in. You can close this page.');
        },
      },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.type = 'html';
          ctx.body = `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head><body>
${form}<p>Sign out of DHCore?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>
<button type="submit" form="op.logoutForm">Stay signed in</button></body></html>`;
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.type = 'html';
          ctx.body = messagePage('Signed out', 'You are signed out of the DHCore dev server.');
        },
      },
      resourceIndicators: {
        enabled: true,
        // Every authorization is for the DHCore API unless the client names it explicitly.
        defaultResource: (_ctx, _client, oneOf) => (oneOf && oneOf.length > 0 ? oneOf : s.apiResource),
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, resourceIndicator) => {
          if (resourceIndicator !== s.apiResource) {
            throw new errors.InvalidTarget(
              `unknown resource indicator; this server only serves ${s.apiResource}`,
            );
          }
          return resourceServerInfo;
        },
      },
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = messagePage('Sign-in error', `${out.error}: ${out.error_description ?? ''}`);
    },
  };

  const provider = new Provider(s.issuer, configuration);

  const ResourceServerClass = (provider as unknown as { ResourceServer: ResourceServerCtor }).ResourceServer;

  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    async (ctx, next) => {
      const params = (ctx.oidc.params ?? {}) as Record<string, unknown>;
      const str = (name: string): string | undefined => {
        const v = params[name];
        return typeof v === 'string' && v !== '' ? v : undefined;
      };
      const subjectToken = str('subject_token');
      if (!subjectToken) throw new errors.InvalidRequest("missing required parameter 'subject_token'");
      const subjectTokenType = str('subject_token_type');
      if (!subjectTokenType)
        throw new errors.InvalidRequest("missing required parameter 'subject_token_type'");
      if (subjectTokenType !== PAT_TOKEN_TYPE) {
        throw new errors.InvalidRequest(
          `unsupported subject_token_type '${subjectTokenType}'; this server exchanges personal access tokens (${PAT_TOKEN_TYPE})`,
        );
      }
      const requestedType = str('requested_token_type');
      if (requestedType && requestedType !== ACCESS_TOKEN_TYPE) {
        throw new errors.InvalidRequest(`unsupported requested_token_type '${requestedType}'`);
      }
      const scopes = [...new Set((str('scope') ?? CREDENTIALS_SCOPE).split(' ').filter(Boolean))];
      for (const scope of scopes) {
        if (scope !== CREDENTIALS_SCOPE && !(OIDC_SCOPES as readonly string[]).includes(scope)) {
          throw new errors.InvalidScope('requested scope is not allowed', scope);
        }
      }
      if (subjectToken !== s.user.pat) {
        const err = new errors.InvalidGrant('unknown personal access token');
        err.error_description = 'personal access token is not valid (unknown, revoked or expired)';
        throw err;
      }

      const accountId = s.user.username;
      const oidcClient = ctx.oidc.client;
      if (!oidcClient) throw new errors.InvalidClient('client not found');
      const grant = new provider.Grant({ accountId, clientId: oidcClient.clientId });
      const oidcScopes = scopes.filter((sc) => sc !== CREDENTIALS_SCOPE && sc !== 'offline_access');
      if (oidcScopes.length) grant.addOIDCScope(oidcScopes.join(' '));
      if (scopes.includes(CREDENTIALS_SCOPE)) grant.addResourceScope(s.apiResource, CREDENTIALS_SCOPE);
      const grantId = await grant.save();

      const at = new provider.AccessToken({
        accountId,
        client: oidcClient,
        grantId,
        gty: 'token_exchange',
        scope: scopes.includes(CREDENTIALS_SCOPE) ? CREDENTIALS_SCOPE : '',
        resourceServer: new ResourceServerClass(s.apiResource, resourceServerInfo),
      });
      ctx.oidc.entity('AccessToken', at);
      const accessToken = await at.save();

      // As DHCore does for a PAT: an access token only, never a refresh token.
      ctx.body = {
        access_token: accessToken,
        issued_token_type: ACCESS_TOKEN_TYPE,
        token_type: at.tokenType,
        expires_in: at.expiration,
        scope: at.scope || undefined,
      };
      await next();
    },
    ['subject_token', 'subject_token_type', 'requested_token_type', 'scope', 'audience', 'resource'],
  );

  // oidc-provider hides the reason of an invalid_grant (`error_detail`) behind a generic description;
  // DHCore clients show the description to people, so make it say what went wrong.
  provider.on('grant.error', (ctx: KoaContextWithOIDC, err: unknown) => {
    if (!(err instanceof errors.InvalidGrant)) return;
    const body: unknown = ctx.body;
    if (typeof body !== 'object' || body === null || !('error' in body)) return;
    const out = body as { error: string; error_description?: string };
    const detail = (err as { error_detail?: unknown }).error_detail;
    if (out.error_description === 'grant request is invalid' && typeof detail === 'string') {
      out.error_description =
        detail === 'refresh token already used'
          ? 'refresh token already used; the whole token family has been revoked, log in again'
          : detail;
    }
  });

  return provider;
}
