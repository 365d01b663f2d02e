import { createHash, timingSafeEqual } from 'node:crypto';
import type { Interaction, InteractionResults, KoaContextWithOIDC, default as Provider } from 'oidc-provider';
import { isRecord, type ServerKeys, verifyAccessToken } from './keys.js';
import { loginPage, messagePage } from './pages.js';
import { CREDENTIALS_SCOPE, type DemoUser, OIDC_SCOPES } from './provider.js';

export interface Stats {
  tokenRequests: number;
  byGrant: Record<string, number>;
}

export interface RouteSettings {
  endpoint: string;
  clientId: string;
  keys: ServerKeys;
  user: DemoUser;
  stats: Stats;
  log: (line: string) => void;
  devicePollInterval: number;
  /** Store credentials for a token response with the `credentials` scope (a new S3 key pair each time). */
  storeFields: () => Record<string, string>;
}

type Ctx = Parameters<Parameters<Provider['use']>[0]>[0];

const MAX_FORM_BYTES = 64 * 1024;
const INTERACTION = /^\/interaction\/([\w-]+)(?:\/(login|abort))?$/;

/**
 * Adds DHCore's own endpoints (configuration, /api/auth, a sample resource, the login pages) and the
 * token-response shaping as a Koa middleware that runs in front of oidc-provider's router.
 */
export function installRoutes(provider: Provider, s: RouteSettings): void {
  provider.use(async (ctx: Ctx, next: () => Promise<unknown>) => {
    const started = Date.now();
    try {
      if (await ownRoute(provider, s, ctx)) return;

      if (ctx.path === '/.well-known/oauth-authorization-server') {
        ctx.path = '/.well-known/openid-configuration';
      }
      const isToken = ctx.path === '/auth/token' && ctx.method === 'POST';
      await next();

      if (isToken) {
        const params = (ctx as unknown as KoaContextWithOIDC).oidc?.params;
        const grantType = typeof params?.grant_type === 'string' ? params.grant_type : '(none)';
        s.stats.tokenRequests += 1;
        s.stats.byGrant[grantType] = (s.stats.byGrant[grantType] ?? 0) + 1;
        const body: unknown = ctx.body;
        if (ctx.status === 200 && isRecord(body) && typeof body.access_token === 'string') {
          // DHCore adds these to every token response.
          body.client_id = s.clientId;
          body.issuer = s.endpoint;
          const scope = typeof body.scope === 'string' ? body.scope.split(' ') : [];
          if (scope.includes(CREDENTIALS_SCOPE)) Object.assign(body, s.storeFields());
        }
      } else if (ctx.path === '/auth/device' && ctx.status === 200 && isRecord(ctx.body)) {
        // oidc-provider leaves `interval` out (clients then wait the RFC 8628 default of 5 s).
        ctx.body.interval = s.devicePollInterval;
      } else if (
        ctx.path === '/.well-known/openid-configuration' &&
        ctx.status === 200 &&
        isRecord(ctx.body)
      ) {
        // `credentials` is a resource-server scope; oidc-provider only lists the OIDC ones.
        const scopes = Array.isArray(ctx.body.scopes_supported) ? ctx.body.scopes_supported : [];
        if (!scopes.includes(CREDENTIALS_SCOPE)) ctx.body.scopes_supported = [...scopes, CREDENTIALS_SCOPE];
      }
    } finally {
      s.log(`${ctx.method} ${ctx.path} ${ctx.status} ${Date.now() - started}ms`);
    }
  });
}

async function ownRoute(provider: Provider, s: RouteSettings, ctx: Ctx): Promise<boolean> {
  const { path, method } = ctx;

  if (path === '/.well-known/configuration' && method === 'GET') {
    ctx.set('Cache-Control', 'no-store');
    ctx.body = {
      dhcore_endpoint: s.endpoint,
      dhcore_issuer: s.endpoint,
      dhcore_client_id: s.clientId,
      dhcore_name: 'dhcore-dev-server',
      dhcore_api_level: '14',
      dhcore_version: '0.0.0-dev',
    };
    return true;
  }

  if (path === '/api/auth' || path === '/api/v1/projects') {
    if (method !== 'GET') {
      ctx.status = 405;
      ctx.set('Allow', 'GET');
      ctx.body = { error: 'method_not_allowed' };
      return true;
    }
    const who = authenticate(s, ctx);
    if (!who.ok) {
      ctx.status = 401;
      ctx.set('Cache-Control', 'no-store');
      ctx.set('WWW-Authenticate', who.challenge);
      ctx.body = { error: 'unauthorized', error_description: who.description };
      return true;
    }
    ctx.set('Cache-Control', 'no-store');
    ctx.body =
      path === '/api/auth'
        ? { name: who.name, authorities: s.user.authorities, method: who.method }
        : {
            content: [
              { id: 'demo-project', name: 'demo-project', kind: 'project', user: who.name },
              { id: 'sandbox', name: 'sandbox', kind: 'project', user: who.name },
            ],
            totalElements: 2,
          };
    return true;
  }

  if (path === '/' && method === 'GET') {
    ctx.type = 'html';
    ctx.body = messagePage(
      'DHCore dev server',
      `Local DHCore-compatible auth server. Discovery: ${s.endpoint}/.well-known/openid-configuration`,
    );
    return true;
  }

  const m = INTERACTION.exec(path);
  if (m) {
    await interaction(provider, s, ctx, m[1]!, m[2]);
    return true;
  }
  return false;
}

type AuthResult =
  | { ok: true; name: string; method: 'bearer' | 'basic' }
  | { ok: false; challenge: string[]; description: string };

function authenticate(s: RouteSettings, ctx: Ctx): AuthResult {
  const header = ctx.get('Authorization');
  const realm = 'realm="dhcore"';
  const [scheme = '', value = ''] = header.trim().split(/\s+/, 2);
  if (scheme.toLowerCase() === 'bearer' && value) {
    const check = verifyAccessToken(value, s.keys, { issuer: s.endpoint, audience: s.endpoint });
    if (check.ok && typeof check.payload.sub === 'string' && check.payload.sub === s.user.username) {
      return { ok: true, name: check.payload.sub, method: 'bearer' };
    }
    const description = check.ok
      ? 'access token subject is unknown'
      : check.reason === 'expired'
        ? 'access token expired'
        : `access token is not valid (${check.reason})`;
    return {
      ok: false,
      description,
      challenge: [`Bearer ${realm}, error="invalid_token", error_description="${description}"`],
    };
  }
  if (scheme.toLowerCase() === 'basic' && value) {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const sep = decoded.indexOf(':');
    if (sep > 0) {
      const username = decoded.slice(0, sep);
      const password = decoded.slice(sep + 1);
      if (username === s.user.username && sameSecret(password, s.user.password)) {
        return { ok: true, name: username, method: 'basic' };
      }
    }
    return { ok: false, description: 'invalid username or password', challenge: [`Basic ${realm}`] };
  }
  return {
    ok: false,
    description: header ? 'unsupported authorization scheme' : 'authentication required',
    challenge: [`Bearer ${realm}`, `Basic ${realm}`],
  };
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}

async function readForm(ctx: Ctx): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_FORM_BYTES) throw new Error('form body too large');
    chunks.push(buf);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

async function interaction(
  provider: Provider,
  s: RouteSettings,
  ctx: Ctx,
  uid: string,
  action: string | undefined,
): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  let details: Interaction;
  try {
    details = await provider.interactionDetails(ctx.req, ctx.res);
  } catch {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = messagePage(
      'Sign-in expired',
      'This sign-in request is unknown or has expired (or cookies are blocked). Start the login again.',
    );
    return;
  }
  if (details.uid !== uid) {
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = messagePage('Sign-in error', 'This page does not belong to the current sign-in request.');
    return;
  }

  const finish = async (result: InteractionResults) => {
    const returnTo = await provider.interactionResult(ctx.req, ctx.res, result, {
      mergeWithLastSubmission: false,
    });
    ctx.redirect(returnTo);
    ctx.status = 303;
  };

  if (action === 'abort' && ctx.method === 'POST') {
    await finish({ error: 'access_denied', error_description: 'the user cancelled the sign-in' });
    return;
  }

  const page = (error?: string, username?: string) => {
    ctx.type = 'html';
    ctx.body = loginPage({
      action: `/interaction/${uid}/login`,
      abortAction: `/interaction/${uid}/abort`,
      clientName: typeof details.params.client_id === 'string' ? details.params.client_id : 'An application',
      ...(error ? { error } : {}),
      ...(username ? { username } : {}),
    });
  };

  if (action === 'login' && ctx.method === 'POST') {
    const form = await readForm(ctx);
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    if (username !== s.user.username || !sameSecret(password, s.user.password)) {
      ctx.status = 401;
      page('Wrong username or password.', username);
      return;
    }
    const grantId = await autoGrant(provider, s, details, username);
    await finish({ login: { accountId: username }, consent: { grantId } });
    return;
  }

  if (action === undefined && ctx.method === 'GET') {
    if (details.prompt.name === 'login') {
      page();
      return;
    }
    // First-party client: consent is granted without asking.
    const accountId = details.session?.accountId;
    if (details.prompt.name === 'consent' && accountId) {
      const grantId = await autoGrant(provider, s, details, accountId);
      await finish({ consent: { grantId } });
      return;
    }
    ctx.status = 400;
    ctx.type = 'html';
    ctx.body = messagePage('Sign-in error', `Unsupported interaction '${details.prompt.name}'.`);
    return;
  }

  ctx.status = 405;
  ctx.type = 'html';
  ctx.body = messagePage('Sign-in error', 'Method not allowed.');
}

/** Grants everything the (first-party) client asked for: OIDC scopes, claims and API resource scopes. */
async function autoGrant(
  provider: Provider,
  s: RouteSettings,
  details: Interaction,
  accountId: string,
): Promise<string> {
  const { params } = details;
  const clientId = typeof params.client_id === 'string' ? params.client_id : s.clientId;
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant =
    existing && existing.accountId === accountId ? existing : new provider.Grant({ accountId, clientId });

  const requested = typeof params.scope === 'string' ? params.scope.split(' ').filter(Boolean) : [];
  const oidc = requested.filter((sc) => (OIDC_SCOPES as readonly string[]).includes(sc));
  if (oidc.length) grant.addOIDCScope(oidc.join(' '));

  const promptDetails: Record<string, unknown> = isRecord(details.prompt.details)
    ? details.prompt.details
    : {};
  const claims = promptDetails.missingOIDCClaims;
  if (Array.isArray(claims) && claims.length) grant.addOIDCClaims(claims.map(String));

  const resourceParam = params.resource;
  const resources =
    typeof resourceParam === 'string'
      ? [resourceParam]
      : Array.isArray(resourceParam)
        ? resourceParam.map(String)
        : [s.endpoint];
  if (requested.includes(CREDENTIALS_SCOPE)) {
    for (const resource of resources) grant.addResourceScope(resource, CREDENTIALS_SCOPE);
  }
  const missing = promptDetails.missingResourceScopes;
  if (isRecord(missing)) {
    for (const [resource, scopes] of Object.entries(missing)) {
      if (Array.isArray(scopes) && scopes.length)
        grant.addResourceScope(resource, scopes.map(String).join(' '));
    }
  }
  return grant.save();
}
