import type { IniDocument } from '../config/ini.js';
import { CURRENT_ENVIRONMENT_KEY, isSecretKey } from '../config/keys.js';
import { validProfileName } from '../config/location.js';
import { unwrapQuoted } from '../config/resolve.js';
import { ConfigError, DHCoreError, HttpError } from '../errors.js';
import { type HttpOptions, httpOf } from '../net/http.js';
import { networkError } from '../net/network-error.js';
import { redactUrl } from '../redact.js';
import { editConfigFile } from '../store/config-file.js';

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
 */

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
  const value = unwrapQuoted(raw.trim()).replace(/\/+$/, '');
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:') || !/^https?:\/\//i.test(value)) {
    const bare = value.replace(/^[a-z][a-z0-9+.-]*:\/*/i, '').replace(/^\/+/, '') || 'dhcore.example.com';
    throw new ConfigError(
      'config_invalid_endpoint',
      `Endpoint "${redactUrl(value)}" must start with http:// or https://: run 'dhcore register https://${bare}'.`,
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

async function fetchJson(
  url: string,
  what: string,
  fix: string,
  opts: HttpOptions,
): Promise<Record<string, unknown>> {
  const http = httpOf(opts);
  const timeout = http.timeoutMs > 0 ? AbortSignal.timeout(http.timeoutMs) : undefined;
  let res: Response;
  try {
    res = await http.fetch(url, {
      headers: { accept: 'application/json' },
      ...(timeout ? { signal: timeout } : {}),
    });
  } catch (err) {
    throw (
      networkError(err, {
        what: `Reading the ${what}`,
        url,
        fix: `${fix}.`,
        timeoutMs: http.timeoutMs,
        timedOut: timeout?.aborted === true,
      }) ?? err
    );
  }
  const body = await res.text().catch(() => '');
  if (!res.ok) {
    throw new HttpError('http_error', `${url} answered HTTP ${res.status} for the ${what}; ${fix}.`, {
      status: res.status,
      url,
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
      `${url} did not answer with the ${what} (not a JSON object); ${fix}.`,
      {
        status: res.status,
        url,
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
}

/** Fetch a DHCore's public configuration and compute the profile it becomes. No writes. */
export async function discoverProfile(
  endpointArg: string,
  nameArg: string | undefined,
  opts: HttpOptions = {},
): Promise<Registration> {
  const endpoint = normaliseEndpoint(endpointArg);
  const fix = `check that ${endpoint} is a DHCore endpoint and that it is up`;
  const server = await fetchJson(`${endpoint}/.well-known/configuration`, 'DHCore configuration', fix, opts);
  const values: Record<string, string> = {};
  const warnings: string[] = [];
  for (const [rawKey, rawValue] of Object.entries(server)) {
    const key = rawKey.toLowerCase();
    // Only plain key names, and never anything that looks like a credential.
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(key) || isSecretKey(key) || key === CURRENT_ENVIRONMENT_KEY) continue;
    const value = iniValue(rawValue);
    if (value !== undefined) values[key] = value;
  }
  values.dhcore_endpoint = endpoint;

  const issuer = (values.dhcore_issuer ? unwrapQuoted(values.dhcore_issuer) : endpoint).replace(/\/+$/, '');
  try {
    const openid = await fetchJson(
      `${issuer}/.well-known/openid-configuration`,
      'OpenID configuration',
      `check dhcore_issuer (${issuer})`,
      opts,
    );
    for (const name of OPENID_KEYS) {
      const value = iniValue(openid[name]);
      if (value !== undefined && value !== '') values[`oauth2_${name}`] = value;
    }
    if (!values.dhcore_issuer && values.oauth2_issuer) values.dhcore_issuer = values.oauth2_issuer;
  } catch (err) {
    if (!(err instanceof DHCoreError)) throw err;
    warnings.push(`no OpenID configuration (${err.message}); 'dhcore login' will need OAUTH2_TOKEN_ENDPOINT`);
  }
  values.updated_environment = new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
  values.ini_source = 'well-known';

  const name = validProfileName(
    nameArg?.trim() || values.dhcore_name?.trim() || new URL(endpoint).host,
    `choose another with 'dhcore register ${endpoint} -e <name>'`,
  );
  return { name, endpoint, values, warnings };
}

/** Endpoint of an existing section, normalised for comparison. */
function sectionEndpoint(doc: IniDocument, name: string): string | undefined {
  const raw = doc.get(name, 'dhcore_endpoint');
  return raw ? unwrapQuoted(raw.trim()).replace(/\/+$/, '') : undefined;
}

/**
 * Write a registration into the config file (locked, atomic, 0600) and make it current.
 * Same endpoint: server keys updated, tokens kept. Different endpoint: refused unless `force`, which
 * clears the section first (tokens of another server must not be sent to this one).
 */
export async function writeRegistration(
  file: string,
  reg: Registration,
  force: boolean,
): Promise<{ replaced: boolean; updated: boolean; previousEndpoint: string | undefined }> {
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
    return { replaced, updated, previousEndpoint };
  });
}
