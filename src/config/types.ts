/** The five auth methods, in the order they are chosen (docs/ARCHITECTURE.md, "Auth methods"). Part of the public contract. */
export type AuthMethod = 'exchange' | 'oauth2' | 'access_token_only' | 'basic' | 'none';

/** Where a resolved value came from. */
export type ValueSource = 'option' | 'env' | 'file';

/** Inputs of {@link resolveConfig}. Everything is optional; defaults read `process.env` and `~/.dhcore.ini`. */
export interface ResolveOptions {
  /** Environment to read (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Config file (default `$DH_CONFIG`, else `~/.dhcore.ini`). */
  configFile?: string;
  /** Profile (default `$DH_NAME`, else `[DEFAULT] current_environment`, else `__default`). */
  profile?: string;
  /** Values that beat both environment and file; keys in either spelling (`DHCORE_ENDPOINT` or `dhcore_endpoint`). */
  overrides?: Readonly<Record<string, string | undefined>>;
}

/**
 * The answer to "which DHCore, which profile, which credentials, which auth method?" — no network, no writes.
 * Secret values are readable through `get()` but hidden from `util.inspect`, `JSON.stringify` and `toString`.
 */
export interface ResolvedConfig {
  readonly profile: string;
  readonly configFile: string;
  /** Whether the config file existed when resolved. */
  readonly fileExists: boolean;
  /** Whether the profile is a section of the config file (else it lives only in the environment and options). */
  readonly inFile: boolean;
  /** Validated endpoint: has `http://` or `https://`, no whitespace, no trailing `/`. */
  readonly endpoint: string;
  /** `dhcore_issuer`, else the endpoint (DHCore is its own issuer by default). */
  readonly issuer: string;
  readonly clientId: string | undefined;
  /** `oauth2_token_endpoint`, when configured (else discovered from the issuer). */
  readonly tokenEndpoint: string | undefined;
  readonly authMethod: AuthMethod;
  /** `dhcore_expires_at` as written (RFC 3339), if any. */
  readonly expiresAt: string | undefined;
  /** Lower-case key → where its value came from (built when first read). */
  readonly sources: Readonly<Record<string, ValueSource>>;
  /**
   * Where one key's value came from (either spelling), as `sources[key]` without listing every key.
   *
   * @example
   * if (cfg.source('dhcore_endpoint') === 'env') console.log('endpoint from $DHCORE_ENDPOINT');
   */
  source(key: string): ValueSource | undefined;
  /**
   * Value of a key in either spelling (`DHCORE_ACCESS_TOKEN` / `dhcore_access_token`), incl. unknown keys
   * like `aws_*`. Throws `ConfigError` `config_interpolation` (naming key and line) for a file value
   * whose `%` interpolation fails (`note = 100%`): like Python, only reading that key fails.
   */
  get(key: string): string | undefined;
  /** Lower-case names of all keys that have a readable value. */
  keys(): string[];
  /** Plain object of every readable key → value (unreadable ones are left out, warned once). Contains secrets: never log it. */
  values(): Record<string, string>;
}
