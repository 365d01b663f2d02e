import { ConfigError } from '../errors.js';
import { hasUserInfo, hostStartsAt, httpSchemeLength, withoutTrailingSlashes } from '../net/url-text.js';
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
  TOKEN_FILE_KEYS,
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

const CONFIG_FILE_KEYS: ReadonlySet<string> = new Set(CONFIG_KEYS.map((k) => k.toLowerCase()));
// Store credentials (aws_*, s3_*, db_*) follow the credential rule: file > env.
const CREDENTIAL_FILE_KEYS: ReadonlySet<string> = new Set(
  [...CREDENTIAL_KEYS, ...STORE_KEYS].map((k) => k.toLowerCase()),
);

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
      ? `Config file ${file}${from} is a folder, not a file: ${choose} (for example ${withoutTrailingSlashes(file)}/.dhcore.ini).`
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
  const section = doc?.hasSection(profile) ? { doc, profile } : undefined;
  const overrides = lowerKeys(opts.overrides ?? {});

  // The precedence of one key: option > environment (configuration keys) > file > environment (credentials).
  const decide = (key: string): Entry | undefined => {
    const option = overrides[key];
    if (option !== undefined && option !== '') return { source: 'option', value: option };
    const fromEnv = (keys: ReadonlySet<string>) => {
      const value = keys.has(key) ? envValue(env, key) : undefined;
      return value === undefined ? undefined : ({ source: 'env', value } as const);
    };
    return fromEnv(CONFIG_FILE_KEYS) ?? (section && fileEntry(section, key)) ?? fromEnv(CREDENTIAL_FILE_KEYS);
  };
  // Every key that may come from elsewhere than the file is decided now; any other key can only come from
  // the profile's section and is read from the document when looked up (a profile of a million keys costs
  // nothing until then).
  const decided = new Map<string, Entry | undefined>();
  const optionKeys = Object.keys(overrides);
  for (const key of [...optionKeys, ...CONFIG_FILE_KEYS, ...CREDENTIAL_FILE_KEYS, ...TOKEN_FILE_KEYS]) {
    if (!decided.has(key)) decided.set(key, decide(key));
  }

  for (const key of URL_KEYS) {
    const entry = decided.get(key);
    if (entry?.value === undefined) continue;
    const unwrapped = unwrapQuoted(entry.value.trim());
    if (unwrapped !== entry.value.trim()) {
      warnOnce(
        `DHCORE_QUOTED_${key}`,
        `${key} (${describeSource(entry.source, configFile, profile)}) was wrapped in quotes or backticks; using the value inside them. Remove them to silence this warning.`,
      );
    }
    decided.set(key, { source: entry.source, value: unwrapped });
  }

  const endpointEntry = decided.get('dhcore_endpoint');
  if (section === undefined && origin !== 'default' && doc && endpointEntry === undefined) {
    throw unknownProfileError(profile, configFile, doc.sections(), {
      origin,
      fix: `Use one of them with -e/--env, or run 'dhcore register <endpoint> -e ${profile}'`,
    });
  }
  if (endpointEntry?.error) throw endpointEntry.error;
  // Server answers quoted in errors and logs are cleaned of every secret this process knows (the keys
  // read later are remembered when read).
  for (const [key, entry] of decided)
    if (entry?.value !== undefined && isSecretKey(key)) rememberSecret(entry.value);
  const endpoint = validateEndpoint(endpointEntry?.value, endpointEntry?.source, configFile, profile, {
    origin,
    sections: doc?.sections() ?? [],
    fileExists: doc !== null,
  });
  decided.set('dhcore_endpoint', { source: endpointEntry!.source, value: endpoint });
  return new Resolution(profile, configFile, doc !== null, endpoint, decided, optionKeys, section);
}

/** A key as resolved: where its value came from and the value, or why the file's value cannot be read. */
type Entry =
  | { readonly source: ValueSource; readonly value: string; readonly error?: undefined }
  | { readonly source: 'file'; readonly value?: undefined; readonly error: ConfigError };

interface Section {
  readonly doc: IniDocument;
  readonly profile: string;
}

/**
 * `read()`, or the ConfigError `config_interpolation` it throws: like Python, a broken `%` in one key
 * (`note = 100%`) only fails a read of that key. Any other error is thrown.
 */
function readOrBroken(read: () => string | undefined): string | ConfigError | undefined {
  try {
    return read();
  } catch (err) {
    if (err instanceof ConfigError && err.code === 'config_interpolation') return err;
    throw err;
  }
}

/** A key of the profile's section (with [DEFAULT] inherited); an empty value counts as absent. */
function fileEntry({ doc, profile }: Section, key: string): Entry | undefined {
  // current_environment lives in [DEFAULT] and is inherited by every section; it is not a profile key.
  if (key === CURRENT_ENVIRONMENT_KEY) return undefined;
  const value = readOrBroken(() => doc.get(profile, key));
  if (value instanceof ConfigError) return { source: 'file', error: value };
  return value === undefined || value === '' ? undefined : { source: 'file', value };
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

/**
 * The readable values of a profile (as {@link profileValues}, `{}` without the section) as a read-only
 * object that reads a key from the document only when it is looked up; enumerating it reads them all.
 */
export function profileView(doc: IniDocument, profile: string): Record<string, string> {
  if (!doc.hasSection(profile)) return {};
  const read = (key: string | symbol): string | undefined => {
    if (typeof key !== 'string' || key === CURRENT_ENVIRONMENT_KEY || key !== key.toLowerCase())
      return undefined;
    const value = readOrBroken(() => doc.get(profile, key));
    return typeof value === 'string' ? value : undefined;
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

/**
 * The readable values of a profile (with `[DEFAULT]` inherited, without `current_environment`; a key whose
 * `%` interpolation fails is left out); undefined if the file has no such section.
 */
export function profileValues(doc: IniDocument | null, profile: string): Record<string, string> | undefined {
  if (!doc?.hasSection(profile)) return undefined;
  const values: Record<string, string> = {};
  doc.forEach(profile, (key, read) => {
    if (key === CURRENT_ENVIRONMENT_KEY) return;
    const value = readOrBroken(read);
    if (typeof value === 'string') define(values, key, value);
  });
  return values;
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
  const endpoint = withoutTrailingSlashes(raw.trim());
  const key = source === 'file' ? 'dhcore_endpoint' : 'DHCORE_ENDPOINT';
  const scheme = httpSchemeLength(endpoint);
  if (scheme === 0 || !hostStartsAt(endpoint, scheme)) {
    throw new ConfigError(
      'config_invalid_endpoint',
      `${key} ${describeSource(source, file, profile)} is "${redactUrl(endpoint)}": it must start with http:// or https:// (for example ${suggestEndpoint(endpoint)}).`,
      { file },
    );
  }
  // Credentials in the URL would bypass every rule about where secrets go (and fetch refuses them anyway).
  if (hasUserInfo(endpoint, scheme)) {
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

/**
 * Immutable resolution result. Secret values live in private fields so they never show up when printed.
 * Its document is never edited (a save edits a copy, see ProfileStore), so a key read later reads what
 * the file held at resolution.
 */
class Resolution implements ResolvedConfig {
  readonly #decided: ReadonlyMap<string, Entry | undefined>;
  readonly #optionKeys: readonly string[];
  readonly #section: Section | undefined;
  #sources: Readonly<Record<string, ValueSource>> | undefined;
  readonly authMethod: AuthMethod;
  readonly issuer: string;
  readonly clientId: string | undefined;
  readonly tokenEndpoint: string | undefined;
  readonly expiresAt: string | undefined;
  readonly inFile: boolean;

  constructor(
    readonly profile: string,
    readonly configFile: string,
    readonly fileExists: boolean,
    readonly endpoint: string,
    decided: ReadonlyMap<string, Entry | undefined>,
    optionKeys: readonly string[],
    section: Section | undefined,
  ) {
    this.#decided = decided;
    this.#optionKeys = optionKeys;
    this.#section = section;
    this.inFile = section !== undefined;
    this.authMethod = chooseAuthMethod((k) => this.get(k));
    this.issuer = this.get('dhcore_issuer') ?? endpoint;
    this.clientId = this.get('dhcore_client_id');
    this.tokenEndpoint = this.get('oauth2_token_endpoint');
    this.expiresAt = this.get('dhcore_expires_at');
  }

  /** Built on first use: a profile of a million keys is not listed unless asked for. */
  get sources(): Readonly<Record<string, ValueSource>> {
    if (this.#sources === undefined) {
      const out: Record<string, ValueSource> = {};
      this.#walk(true, (key, entry) => define(out, key, entry.source));
      this.#sources = Object.freeze(out);
    }
    return this.#sources;
  }

  source(key: string): ValueSource | undefined {
    return this.#entry(key.toLowerCase())?.source;
  }

  get(key: string): string | undefined {
    const entry = this.#entry(key.toLowerCase());
    if (entry?.error) throw entry.error;
    return entry?.value;
  }

  keys(): string[] {
    const out: string[] = [];
    this.#walk(false, (key) => out.push(key));
    return out;
  }

  values(): Record<string, string> {
    const out: Record<string, string> = {};
    this.#walk(true, (key, entry) => {
      if (entry.error)
        warnOnce(`DHCORE_UNREADABLE_KEY:${entry.error.message}`, `${entry.error.message}; it is left out.`);
      else define(out, key, entry.value);
    });
    return out;
  }

  /** The readable values of the keys beginning with one of `prefixes` (lower-case), read from the file only for those. */
  valuesWithPrefix(prefixes: readonly string[]): Record<string, string> {
    const out: Record<string, string> = {};
    const take = (key: string, entry: Entry | undefined) => {
      if (entry?.value !== undefined) define(out, key, entry.value);
    };
    for (const [key, entry] of this.#decided) if (prefixes.some((p) => key.startsWith(p))) take(key, entry);
    const section = this.#section;
    section?.doc.forEach(
      section.profile,
      (key) => {
        if (!this.#decided.has(key)) take(key, this.#entry(key));
      },
      prefixes,
    );
    return out;
  }

  #entry(key: string): Entry | undefined {
    if (this.#decided.has(key)) return this.#decided.get(key);
    const entry = this.#section && fileEntry(this.#section, key);
    if (entry?.value !== undefined && isSecretKey(key)) rememberSecret(entry.value);
    return entry;
  }

  /**
   * Each resolved key in one order: options, configuration keys from the environment, the file's keys
   * (in file order; unreadable ones after them when `unreadable`), then credentials from the environment.
   */
  #walk(unreadable: boolean, fn: (key: string, entry: Entry) => void): void {
    const from = (source: ValueSource, keys: Iterable<string>) => {
      for (const key of keys) {
        const entry = this.#decided.get(key);
        if (entry?.source === source && entry.value !== undefined) fn(key, entry);
      }
    };
    from('option', this.#optionKeys);
    from('env', CONFIG_FILE_KEYS);
    const broken: [string, Entry][] = [];
    const section = this.#section;
    section?.doc.forEach(section.profile, (key) => {
      const entry = this.#entry(key);
      if (entry?.source !== 'file') return;
      if (entry.error) broken.push([key, entry]);
      else fn(key, entry);
    });
    if (unreadable) for (const [key, entry] of broken) fn(key, entry);
    from('env', CREDENTIAL_FILE_KEYS);
  }

  /** What JSON.stringify and util.inspect show: everything but secret values. */
  toJSON(): Record<string, unknown> {
    const values: Record<string, string> = {};
    this.#walk(false, (key, entry) => define(values, key, entry.value!));
    return {
      profile: this.profile,
      configFile: this.configFile,
      endpoint: this.endpoint,
      issuer: redactUrl(this.issuer),
      authMethod: this.authMethod,
      expiresAt: this.expiresAt,
      sources: this.sources,
      values: redactRecord(values),
    };
  }

  toString(): string {
    return `ResolvedConfig(${this.profile} → ${this.endpoint}, ${this.authMethod})`;
  }

  [inspect.custom](): string {
    return `ResolvedConfig ${inspect(this.toJSON(), { depth: 3 })}`;
  }
}

/** An own, enumerable property, even for a key named '__proto__'. */
function define<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * The values of a resolution's keys that begin with one of `prefixes` (lower-case): for a profile of a
 * million keys, without reading the others.
 */
export function valuesWithPrefix(
  config: ResolvedConfig,
  prefixes: readonly string[],
): Record<string, string> {
  if (config instanceof Resolution) return config.valuesWithPrefix(prefixes);
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(config.values()))
    if (prefixes.some((p) => key.startsWith(p))) define(out, key, value);
  return out;
}
