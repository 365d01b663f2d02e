import { suggestEndpoint } from '../config/endpoint.js';
import type { IniDocument } from '../config/ini.js';
import { CURRENT_ENVIRONMENT_KEY, isSecretKey } from '../config/keys.js';
import { validProfileName } from '../config/location.js';
import { chooseAuthMethod, profileValues, unwrapQuoted } from '../config/resolve.js';
import type { AuthMethod } from '../config/types.js';
import { ConfigError, DHCoreError, HttpError } from '../errors.js';
import { type HttpOptions, httpOf } from '../net/http.js';
import { networkError } from '../net/network-error.js';
import { originOf } from '../net/origin.js';
import { withoutTrailingSlashes } from '../net/url-text.js';
import { redactUrl } from '../redact.js';
import { editConfigFile } from '../store/config-file.js';
import { warnOnce } from '../warnings.js';

/**
 * Registering a DHCore: read its public configuration and write it as a profile (a section of the config
 * file), the way `dhcli register` does, then make it the current one.
 *
 * Written keys:
 * - every `dhcore_*` (and other scalar) key of `<endpoint>/.well-known/configuration`, as served;
 * - selected keys of `<issuer>/.well-known/openid-configuration`, prefixed `oauth2_` (dhcli's names):
 *   `oauth2_issuer`, `oauth2_authorization_endpoint`, `oauth2_token_endpoint`, … (see {@link OPENID_KEYS});
 * - `dhcore_endpoint` = the URL given on the command line (the one known to work from this machine);
 * - `updated_environment` (RFC 3339 UTC) and `ini_source = well-known`, as dhcli writes them.
 *
 * What the server may steer is shown and checked before anything is written: an issuer or token endpoint on
 * another origin than the endpoint is only written when trusted (`--trust-issuer`); a discovery document
 * naming another issuer than the one it was fetched for is refused (token requests would fail on it
 * anyway); a redirect of a well-known document is followed only within its origin, and reported.
 */

/** Redirects followed (same origin only) for one well-known document. */
const MAX_REDIRECTS = 5;

/** OpenID provider metadata copied into the profile, each as `oauth2_<name>`. */
const OPENID_KEYS = [
  'issuer',
  'authorization_endpoint',
  'token_endpoint',
  'device_authorization_endpoint',
  'userinfo_endpoint',
  'jwks_uri',
  'revocation_endpoint',
  'end_session_endpoint',
  'scopes_supported',
  'response_types_supported',
  'grant_types_supported',
  'code_challenge_methods_supported',
  'token_endpoint_auth_methods_supported',
] as const;

/** Validate and normalise an endpoint typed by the user: scheme required, quotes, blanks and trailing `/` removed. */
function normaliseEndpoint(raw: string): string {
  const trimmed = raw.trim();
  const unwrapped = unwrapQuoted(trimmed);
  if (unwrapped !== trimmed) {
    // Same key as resolution's warning: one warning per process, whichever reads it first.
    warnOnce(
      'DHCORE_QUOTED_dhcore_endpoint',
      'The endpoint was wrapped in quotes or backticks; using the value inside them. Remove them to silence this warning.',
    );
  }
  const value = withoutTrailingSlashes(unwrapped);
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !/^https?:\/\//i.test(value)) {
    throw new ConfigError(
      'config_invalid_endpoint',
      `Endpoint "${redactUrl(value)}" must start with http:// or https://: run 'dhcore register ${suggestEndpoint(value)}'.`,
    );
  }
  if (url.username || url.password) {
    throw new ConfigError(
      'config_invalid_endpoint',
      `Endpoint ${redactUrl(value)} carries user info; remove it (credentials go to 'dhcore login', never into the URL).`,
    );
  }
  return value;
}

/**
 * GET a well-known JSON document. Redirects are followed by hand and only within the origin of `url` (each
 * one reported in `warnings`); a redirect to another origin is refused: the document decides where tokens go.
 */
async function fetchJson(
  url: string,
  what: string,
  fix: string,
  opts: HttpOptions,
  warnings: string[],
): Promise<Record<string, unknown>> {
  const http = httpOf(opts);
  const timeout = http.timeoutMs > 0 ? AbortSignal.timeout(http.timeoutMs) : undefined;
  const origin = new URL(url).origin;
  let current = url;
  let res: Response;
  for (let hops = 0; ; hops++) {
    try {
      res = await http.fetch(current, {
        headers: { accept: 'application/json' },
        redirect: 'manual',
        ...(timeout ? { signal: timeout } : {}),
      });
    } catch (err) {
      throw (
        networkError(err, {
          what: `Reading the ${what}`,
          url: current,
          fix: `${fix}.`,
          timeoutMs: http.timeoutMs,
          timedOut: timeout?.aborted === true,
        }) ?? err
      );
    }
    const location = res.status >= 300 && res.status < 400 ? res.headers.get('location') : null;
    if (location === null) break;
    await res.body?.cancel().catch(() => {});
    let next: URL | undefined;
    try {
      next = new URL(location, current);
    } catch {
      next = undefined;
    }
    if (!next || next.origin !== origin) {
      const where = next ? redactUrl(next.href) : 'an invalid URL';
      const other = next && /^https?:$/.test(next.protocol) ? next.origin : undefined;
      throw new HttpError(
        'http_redirect_refused',
        `${redactUrl(current)} redirected the ${what} to ${where}, another origin; not followed, nothing was written.${other ? ` If you trust that server, register it directly: 'dhcore register ${redactUrl(other)}'.` : ''}`,
        { status: res.status, url: current },
      );
    }
    if (hops >= MAX_REDIRECTS) {
      throw new HttpError(
        'http_too_many_redirects',
        `${redactUrl(url)} redirected the ${what} more than ${MAX_REDIRECTS} times; ${fix}.`,
        { status: res.status, url: current },
      );
    }
    warnings.push(`${redactUrl(current)} redirected to ${redactUrl(next.href)} (same origin); followed it.`);
    current = next.href;
  }
  const body = await res.text().catch(() => '');
  if (!res.ok) {
    throw new HttpError('http_error', `${current} answered HTTP ${res.status} for the ${what}; ${fix}.`, {
      status: res.status,
      url: current,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    json = undefined;
  }
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new HttpError(
      'http_invalid_response',
      `${current} did not answer with the ${what} (not a JSON object); ${fix}.`,
      {
        status: res.status,
        url: current,
      },
    );
  }
  return json as Record<string, unknown>;
}

/** A JSON value as an INI value (arrays comma-joined like dhcli); undefined for what cannot be stored. */
function iniValue(value: unknown): string | undefined {
  if (typeof value === 'string') return /[\r\n]/.test(value) ? undefined : value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    return value.join(',');
  }
  return undefined;
}

export interface Registration {
  name: string;
  endpoint: string;
  /** Key → value written (no secrets: a server's public configuration). */
  values: Record<string, string>;
  /** Problems worth telling the user (e.g. no OpenID configuration: login will not work). */
  warnings: string[];
  /** The issuer the profile will discover its token endpoint from (`dhcore_issuer`, else the endpoint). */
  issuer: string;
  /** Where grants (PAT, refresh token) will be posted, when the discovery named it. */
  tokenEndpoint: string | undefined;
  /**
   * Issuer and token endpoint URLs on another origin than the endpoint: secrets would go there, so
   * {@link writeRegistration} writes the profile only when they are trusted.
   */
  foreign: Array<{ key: 'dhcore_issuer' | 'oauth2_token_endpoint'; url: string }>;
  /** The command that registers this again (for messages). */
  command: string;
}

/** Origins of the {@link Registration.foreign} URLs, each once. */
export function foreignOrigins(reg: Registration): string[] {
  return [...new Set(reg.foreign.map((f) => originOf(f.url) ?? f.url))];
}

/** What the registration trusts on another origin, in words: `issuer X and token endpoint Y`. */
export function describeForeign(reg: Registration): string {
  const names = { dhcore_issuer: 'issuer', oauth2_token_endpoint: 'token endpoint' } as const;
  return reg.foreign.map((f) => `${names[f.key]} ${redactUrl(f.url)}`).join(' and ');
}

/** The refusal to write a profile whose issuer or token endpoint is on another origin, untrusted. */
export function untrustedIssuerError(reg: Registration): ConfigError {
  return new ConfigError(
    'config_untrusted_issuer',
    `${reg.endpoint} names ${describeForeign(reg)}, on another origin than the endpoint: your tokens and PAT would be sent there. Nothing was written; if you trust it, run '${reg.command} --trust-issuer'.`,
  );
}

/** Fetch a DHCore's public configuration and compute the profile it becomes. No writes. */
export async function discoverProfile(
  endpointArg: string,
  nameArg: string | undefined,
  opts: HttpOptions = {},
): Promise<Registration> {
  const endpoint = normaliseEndpoint(endpointArg);
  const fix = `check that ${endpoint} is a DHCore endpoint and that it is up`;
  const warnings: string[] = [];
  const server = await fetchJson(
    `${endpoint}/.well-known/configuration`,
    'DHCore configuration',
    fix,
    opts,
    warnings,
  );
  const values: Record<string, string> = {};
  for (const [rawKey, rawValue] of Object.entries(server)) {
    const key = rawKey.toLowerCase();
    // Only plain key names, and never anything that looks like a credential.
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(key) || isSecretKey(key) || key === CURRENT_ENVIRONMENT_KEY) continue;
    const value = iniValue(rawValue);
    if (value !== undefined) values[key] = value;
  }
  values.dhcore_endpoint = endpoint;

  const issuer = withoutTrailingSlashes(values.dhcore_issuer ? unwrapQuoted(values.dhcore_issuer) : endpoint);
  const discoveryUrl = `${issuer}/.well-known/openid-configuration`;
  let openid: Record<string, unknown> | undefined;
  try {
    openid = await fetchJson(
      discoveryUrl,
      'OpenID configuration',
      `check dhcore_issuer (${issuer})`,
      opts,
      warnings,
    );
  } catch (err) {
    // A missing document only limits login; a redirect elsewhere is a server steering where tokens go.
    if (!(err instanceof DHCoreError) || err.code === 'http_redirect_refused') throw err;
    warnings.push(`no OpenID configuration (${err.message}); 'dhcore login' will need OAUTH2_TOKEN_ENDPOINT`);
  }
  if (openid) {
    const named = typeof openid.issuer === 'string' ? withoutTrailingSlashes(openid.issuer) : undefined;
    if (named !== issuer) {
      throw new ConfigError(
        'config_issuer_mismatch',
        `The OpenID configuration at ${redactUrl(discoveryUrl)} names issuer ${named === undefined ? '(none)' : redactUrl(named)}, not ${redactUrl(issuer)}: token requests would be refused, so nothing was written. Ask the DHCore administrator to fix its dhcore_issuer or the provider's issuer.`,
      );
    }
    for (const name of OPENID_KEYS) {
      const value = iniValue(openid[name]);
      if (value !== undefined && value !== '') values[`oauth2_${name}`] = value;
    }
    if (!values.dhcore_issuer && values.oauth2_issuer) values.dhcore_issuer = values.oauth2_issuer;
  }
  const origin = new URL(endpoint).origin;
  const foreign: Registration['foreign'] = [];
  const tokenEndpoint = values.oauth2_token_endpoint;
  if (originOf(issuer) !== origin) foreign.push({ key: 'dhcore_issuer', url: issuer });
  if (tokenEndpoint && originOf(tokenEndpoint) !== origin) {
    foreign.push({ key: 'oauth2_token_endpoint', url: tokenEndpoint });
  }
  values.updated_environment = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  values.ini_source = 'well-known';

  const name = validProfileName(
    nameArg?.trim() || values.dhcore_name?.trim() || new URL(endpoint).host,
    `choose another with 'dhcore register ${endpoint} -e <name>'`,
  );
  const command = `dhcore register ${endpoint}${nameArg?.trim() ? ` -e ${name}` : ''}`;
  return { name, endpoint, values, warnings, issuer, tokenEndpoint, foreign, command };
}

/** Endpoint of an existing section, normalised for comparison. */
function sectionEndpoint(doc: IniDocument, name: string): string | undefined {
  const raw = doc.get(name, 'dhcore_endpoint');
  return raw ? withoutTrailingSlashes(unwrapQuoted(raw.trim())) : undefined;
}

/**
 * Write a registration into the config file (locked, atomic, 0600) and make it current.
 * Same endpoint: server keys updated, tokens kept. Different endpoint: refused unless `force`, which
 * clears the section first (tokens of another server must not be sent to this one). An issuer or token
 * endpoint on another origin is refused unless `trustIssuer`.
 * `authMethod` is what the profile holds afterwards (not `none`: saved credentials were kept).
 */
export async function writeRegistration(
  file: string,
  reg: Registration,
  force: boolean,
  opts: { trustIssuer?: boolean } = {},
): Promise<{
  replaced: boolean;
  updated: boolean;
  previousEndpoint: string | undefined;
  authMethod: AuthMethod;
}> {
  if (reg.foreign.length > 0 && opts.trustIssuer !== true) throw untrustedIssuerError(reg);
  return editConfigFile(file, (doc) => {
    let replaced = false;
    let updated = false;
    const previousEndpoint = doc.hasSection(reg.name) ? sectionEndpoint(doc, reg.name) : undefined;
    if (doc.hasSection(reg.name)) {
      if (previousEndpoint !== undefined && previousEndpoint !== reg.endpoint) {
        if (!force) {
          throw new ConfigError(
            'config_profile_exists',
            `Profile '${reg.name}' in ${file} points to ${previousEndpoint}, not ${reg.endpoint}: register under another name with -e <name>, or replace it with 'dhcore register ${reg.endpoint} -e ${reg.name} --force'.`,
            { file },
          );
        }
        for (const key of doc.ownKeys(reg.name)) doc.delete(reg.name, key);
        replaced = true;
      } else {
        updated = true;
      }
    }
    // In a new file, [DEFAULT] goes first (where people expect it); an existing one is edited in place.
    doc.set('DEFAULT', CURRENT_ENVIRONMENT_KEY, reg.name);
    for (const [key, value] of Object.entries(reg.values)) doc.set(reg.name, key, value);
    const saved = profileValues(doc, reg.name) ?? {};
    const authMethod = chooseAuthMethod((k) => saved[k] || undefined);
    return { replaced, updated, previousEndpoint, authMethod };
  });
}
