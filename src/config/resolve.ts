import { ConfigError } from '../errors.js';
import { redactRecord, redactUrl } from '../redact.js';
import { rememberSecret } from '../secrets.js';
import { warnOnce } from '../warnings.js';
import { readConfigSync } from './config-path.js';
import { suggestEndpoint } from './endpoint.js';
import { IniDocument } from './ini.js';
import {
  CONFIG_KEYS,
  CREDENTIAL_KEYS,
  CURRENT_ENVIRONMENT_KEY,
  isSecretKey,
  STORE_KEYS,
  URL_KEYS,
} from './keys.js';
import { noteRead } from './last-read.js';
import {
  chooseProfile,
  configFileFrom,
  configFileOrigin,
  type ProfileOrigin,
  unknownProfileError,
} from './location.js';
import { warnIfReadableByOthers } from './permissions.js';
import type { AuthMethod, ResolvedConfig, ResolveOptions, ValueSource } from './types.js';

export { configFilePath } from './location.js';
export type { AuthMethod, ResolvedConfig, ResolveOptions, ValueSource } from './types.js';

type Env = Readonly<Record<string, string | undefined>>;

// `import … from 'node:fs'` builds the whole ESM namespace of fs (≈2–4 ms of cold start, ≈1 ms for util);
// process.getBuiltinModule() does not. The same holds in the other modules on the `createClient()` path.
const { inspect } = process.getBuiltinModule('node:util');

const CONFIG_FILE_KEYS = new Set(CONFIG_KEYS.map((k) => k.toLowerCase()));
// Store credentials (aws_*, s3_*, db_*) follow the credential rule: file > env.
const CREDENTIAL_FILE_KEYS = [...CREDENTIAL_KEYS, ...STORE_KEYS].map((k) => k.toLowerCase());

/**
 * The config file, parsed; `null` when it does not exist (a missing file is not an error). Anything but
 * a regular file (a FIFO, a device …) is refused with ConfigError `config_not_regular_file`. A file that
 * holds secrets and is readable by other users is reported (once per process).
 */
export function readConfigDocument(file: string, env: Env = process.env): IniDocument | null {
  let content: string | Buffer | null;
  try {
    content = readConfigSync(file, howToChooseAnother(file, env));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw unreadableError(file, code, env, err);
  }
  if (content === null) return null;
  const doc = IniDocument.fromBytes(content, file);
  warnIfReadableByOthers(file, doc);
  noteRead(file, doc);
  return doc;
}

/** How the file was chosen (--config, DH_CONFIG, the default) and so how to choose another. */
function howToChooseAnother(file: string, env: Env): { from: string; choose: string } {
  const origin = configFileOrigin(file, env);
  const from = origin === 'env' ? ' (from $DH_CONFIG)' : origin === 'option' ? ' (given with --config)' : '';
  const choose =
    origin === 'env'
      ? 'point DH_CONFIG at a file'
      : origin === 'option'
        ? 'give --config a file'
        : 'set DH_CONFIG (or pass --config) to use another file';
  return { from, choose };
}

/** Why the file cannot be read and how to choose another, naming how it was chosen (--config, DH_CONFIG). */
function unreadableError(file: string, code: string | undefined, env: Env, cause: unknown): ConfigError {
  const { from, choose } = howToChooseAnother(file, env);
  const message =
    code === 'EISDIR'
      ? `Config file ${file}${from} is a folder, not a file: ${choose} (for example ${file.replace(/\/+$/, '')}/.dhcore.ini).`
      : code === 'EACCES' || code === 'EPERM'
        ? `Cannot read config file ${file}${from} (${code}): make it readable by you (as its owner: chmod 600 ${file}), or ${choose}.`
        : `Cannot read config file ${file}${from} (${code ?? 'error'}): ${choose}.`;
  return new ConfigError('config_unreadable', message, { cause, file });
}

/**
 * Resolve which DHCore, profile, credentials and auth method apply — from options, environment and the
 * config file, exactly as the Python SDK does (docs/ARCHITECTURE.md, "Configuration"). No network, no writes.
 *
 * @example
 * const cfg = resolveConfig({ profile: 'staging' });
 * console.log(cfg.endpoint, cfg.authMethod, cfg.sources.dhcore_endpoint); // 'https://…' 'oauth2' 'file'
 */
export function resolveConfig(opts: ResolveOptions = {}): ResolvedConfig {
  const env = opts.env ?? process.env;
  const configFile = configFileFrom(opts.configFile, env);
  const doc = readConfigDocument(configFile, env);
  const { profile, origin } = chooseProfile(opts.profile, env, doc?.get('DEFAULT', CURRENT_ENVIRONMENT_KEY));
  const fromFile = readProfile(doc, profile);

  const values: Record<string, string> = {};
  const sources: Record<string, ValueSource> = {};
  // A file key whose interpolation fails still takes its place in the precedence; reading it throws.
  const unreadable = new Map<string, ConfigError>();
  const put = (key: string, value: string | undefined, source: ValueSource) => {
    if (value === undefined || value === '' || key in values || unreadable.has(key)) return;
    values[key] = value;
    sources[key] = source;
  };

  const overrides = lowerKeys(opts.overrides ?? {});
  for (const [key, value] of Object.entries(overrides)) put(key, value, 'option');
  for (const key of CONFIG_FILE_KEYS) put(key, envValue(env, key), 'env');
  const file = fromFile?.values ?? {};
  for (const key of Object.keys(file)) put(key, file[key], 'file');
  for (const [key, err] of fromFile?.unreadable ?? []) {
    if (key in values) continue;
    unreadable.set(key, err);
    sources[key] = 'file';
  }
  for (const key of CREDENTIAL_FILE_KEYS) put(key, envValue(env, key), 'env');

  for (const key of URL_KEYS) {
    const value = values[key];
    if (value === undefined) continue;
    const unwrapped = unwrapQuoted(value.trim());
    if (unwrapped !== value.trim()) {
      warnOnce(
        `DHCORE_QUOTED_${key}`,
        `${key} (${describeSource(sources[key], configFile, profile)}) was wrapped in quotes or backticks; using the value inside them. Remove them to silence this warning.`,
      );
    }
    values[key] = unwrapped;
  }

  if (fromFile === undefined && origin !== 'default' && doc && values.dhcore_endpoint === undefined) {
    throw unknownProfileError(profile, configFile, doc.sections(), {
      origin,
      fix: `Use one of them with -e/--env, or run 'dhcore register <endpoint> -e ${profile}'`,
    });
  }
  const brokenEndpoint = unreadable.get('dhcore_endpoint');
  if (brokenEndpoint) throw brokenEndpoint;
  // Server answers quoted in errors and logs are cleaned of every secret this process knows.
  for (const [key, value] of Object.entries(values)) if (isSecretKey(key)) rememberSecret(value);
  const endpoint = validateEndpoint(values.dhcore_endpoint, sources.dhcore_endpoint, configFile, profile, {
    origin,
    sections: doc?.sections() ?? [],
    fileExists: doc !== null,
  });
  values.dhcore_endpoint = endpoint;
  return new Resolution(
    profile,
    configFile,
    doc !== null,
    fromFile !== undefined,
    endpoint,
    values,
    unreadable,
    sources,
  );
}

/** The auth method the merged credentials select; first match wins (docs/ARCHITECTURE.md, "Auth methods"). */
export function chooseAuthMethod(get: (key: string) => string | undefined): AuthMethod {
  if (get('dhcore_personal_access_token')) return 'exchange';
  // A refresh token alone can still obtain an access token, so it selects oauth2 too.
  if (get('dhcore_refresh_token')) return 'oauth2';
  if (get('dhcore_access_token')) return 'access_token_only';
  if (get('dhcore_user') && get('dhcore_password')) return 'basic';
  return 'none';
}

/** A profile as read: the values that could be read, and why each other key could not be. */
export interface ProfileRead {
  values: Record<string, string>;
  /** Keys whose `%` interpolation fails (ConfigError `config_interpolation`, naming key and line). */
  unreadable: Map<string, ConfigError>;
}

/**
 * A profile's keys (with `[DEFAULT]` inherited, without `current_environment`), each interpolated on its
 * own: like Python, a broken `%` in one key (`note = 100%`) only fails a read of that key, not the whole
 * profile. Undefined if the file has no such section.
 */
export function readProfile(doc: IniDocument | null, profile: string): ProfileRead | undefined {
  if (!doc?.hasSection(profile)) return undefined;
  const values: Record<string, string> = {};
  const unreadable = new Map<string, ConfigError>();
  doc.forEach(profile, (key, read) => {
    // current_environment lives in [DEFAULT] and is inherited by every section; it is not a profile key.
    if (key === CURRENT_ENVIRONMENT_KEY) return;
    try {
      // An own property even for a key named '__proto__'.
      Object.defineProperty(values, key, {
        value: read(),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } catch (err) {
      if (!(err instanceof ConfigError) || err.code !== 'config_interpolation') throw err;
      unreadable.set(key, err);
    }
  });
  return { values, unreadable };
}

/**
 * The readable values of a profile (as {@link profileValues}, `{}` without the section) as a read-only
 * object that reads a key from the document only when it is looked up; enumerating it reads them all.
 */
export function profileView(doc: IniDocument, profile: string): Record<string, string> {
  if (!doc.hasSection(profile)) return {};
  const read = (key: string | symbol): string | undefined => {
    if (typeof key !== 'string' || key === CURRENT_ENVIRONMENT_KEY || key !== key.toLowerCase())
      return undefined;
    try {
      return doc.get(profile, key);
    } catch (err) {
      if (err instanceof ConfigError && err.code === 'config_interpolation') return undefined;
      throw err;
    }
  };
  const refuse = () => false;
  return new Proxy({} as Record<string, string>, {
    get: (_t, key) => read(key),
    has: (_t, key) => read(key) !== undefined,
    ownKeys: () => doc.keys(profile).filter((k) => read(k) !== undefined),
    getOwnPropertyDescriptor: (_t, key) => {
      const value = read(key);
      return value === undefined
        ? undefined
        : { value, writable: false, enumerable: true, configurable: true };
    },
    set: refuse,
    defineProperty: refuse,
    deleteProperty: refuse,
  });
}

/** The readable values of a profile (see {@link readProfile}); undefined if it has no section. */
export function profileValues(doc: IniDocument | null, profile: string): Record<string, string> | undefined {
  return readProfile(doc, profile)?.values;
}

function envValue(env: Env, fileKey: string): string | undefined {
  const value = env[fileKey.toUpperCase()];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function lowerKeys(record: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [key, value] of Object.entries(record)) out[key.toLowerCase()] = value;
  return out;
}

/** Strip ONE matching pair of backticks or quotes, as found around URLs copied from the docs. */
export function unwrapQuoted(value: string): string {
  const first = value[0];
  if (value.length >= 2 && (first === '`' || first === '"' || first === "'") && value.endsWith(first)) {
    return value.slice(1, -1).trim();
  }
  return value;
}

function describeSource(source: ValueSource | undefined, file: string, profile: string): string {
  if (source === 'env') return 'from the environment';
  if (source === 'option') return 'from the options passed in code';
  return `from [${profile}] in ${file}`;
}

function validateEndpoint(
  raw: string | undefined,
  source: ValueSource | undefined,
  file: string,
  profile: string,
  ctx: { origin: ProfileOrigin; sections: readonly string[]; fileExists: boolean },
): string {
  if (raw === undefined || raw.trim() === '') throw missingEndpointError(file, profile, ctx);
  const endpoint = raw.trim().replace(/\/+$/, '');
  const key = source === 'file' ? 'dhcore_endpoint' : 'DHCORE_ENDPOINT';
  if (!/^https?:\/\/[^\s/?#]+/i.test(endpoint)) {
    throw new ConfigError(
      'config_invalid_endpoint',
      `${key} ${describeSource(source, file, profile)} is "${redactUrl(endpoint)}": it must start with http:// or https:// (for example ${suggestEndpoint(endpoint)}).`,
      { file },
    );
  }
  // Credentials in the URL would bypass every rule about where secrets go (and fetch refuses them anyway).
  if (/^https?:\/\/[^/?#]*@/i.test(endpoint)) {
    throw new ConfigError(
      'config_invalid_endpoint',
      `${key} ${describeSource(source, file, profile)} is "${redactUrl(endpoint)}": it must not carry a user name or password; put them in DHCORE_USER / DHCORE_PASSWORD (dhcore_user / dhcore_password) instead.`,
      { file },
    );
  }
  return endpoint;
}

/**
 * No endpoint. When no profile was chosen at all (a first run, or the current profile was removed), the fix
 * is to pick one that exists or register one, not to add `-e __default`.
 */
function missingEndpointError(
  file: string,
  profile: string,
  ctx: { origin: ProfileOrigin; sections: readonly string[]; fileExists: boolean },
): ConfigError {
  if (ctx.origin === 'default' && !ctx.sections.includes(profile)) {
    const message =
      ctx.sections.length > 0
        ? `No current profile in ${file} (it has ${ctx.sections.join(', ')}): run 'dhcore use ${ctx.sections[0]}' (or pass -e <name>), or set DHCORE_ENDPOINT.`
        : `No DHCore endpoint configured (${file} ${ctx.fileExists ? 'has no profiles' : 'does not exist yet'}): run 'dhcore register <endpoint>', or set DHCORE_ENDPOINT.`;
    return new ConfigError('config_missing_endpoint', message, { file });
  }
  return new ConfigError(
    'config_missing_endpoint',
    `No DHCore endpoint for profile "${profile}": set DHCORE_ENDPOINT, add dhcore_endpoint to [${profile}] in ${file}, or run 'dhcore register <endpoint> -e ${profile}'.`,
    { file },
  );
}

/** Immutable resolution result. Secret values live in a private field so they never show up when printed. */
class Resolution implements ResolvedConfig {
  readonly #values: Readonly<Record<string, string>>;
  readonly #unreadable: ReadonlyMap<string, ConfigError>;
  readonly authMethod: AuthMethod;
  readonly issuer: string;
  readonly clientId: string | undefined;
  readonly tokenEndpoint: string | undefined;
  readonly expiresAt: string | undefined;

  constructor(
    readonly profile: string,
    readonly configFile: string,
    readonly fileExists: boolean,
    readonly inFile: boolean,
    readonly endpoint: string,
    values: Record<string, string>,
    unreadable: ReadonlyMap<string, ConfigError>,
    readonly sources: Readonly<Record<string, ValueSource>>,
  ) {
    this.#values = Object.freeze(values);
    this.#unreadable = unreadable;
    Object.freeze(sources);
    this.authMethod = chooseAuthMethod((k) => this.get(k));
    this.issuer = this.get('dhcore_issuer') ?? endpoint;
    this.clientId = this.get('dhcore_client_id');
    this.tokenEndpoint = this.get('oauth2_token_endpoint');
    this.expiresAt = this.get('dhcore_expires_at');
  }

  get(key: string): string | undefined {
    const k = key.toLowerCase();
    const broken = this.#unreadable.get(k);
    if (broken) throw broken;
    return Object.hasOwn(this.#values, k) ? this.#values[k] : undefined;
  }

  keys(): string[] {
    return Object.keys(this.#values);
  }

  values(): Record<string, string> {
    for (const err of this.#unreadable.values()) {
      warnOnce(`DHCORE_UNREADABLE_KEY:${err.message}`, `${err.message}; it is left out.`);
    }
    return { ...this.#values };
  }

  /** What JSON.stringify and util.inspect show: everything but secret values. */
  toJSON(): Record<string, unknown> {
    return {
      profile: this.profile,
      configFile: this.configFile,
      endpoint: this.endpoint,
      issuer: redactUrl(this.issuer),
      authMethod: this.authMethod,
      expiresAt: this.expiresAt,
      sources: this.sources,
      values: redactRecord(this.#values),
    };
  }

  toString(): string {
    return `ResolvedConfig(${this.profile} → ${this.endpoint}, ${this.authMethod})`;
  }

  [inspect.custom](): string {
    return `ResolvedConfig ${inspect(this.toJSON(), { depth: 3 })}`;
  }
}
