/**
 * The DHCore configuration vocabulary. Environment names are upper-case; the INI file uses the same
 * names lower-cased (docs/ARCHITECTURE.md, "Configuration").
 */

/** Configuration keys: the environment beats the file. */
export const CONFIG_KEYS = [
  'DHCORE_ENDPOINT',
  'DHCORE_ISSUER',
  'DHCORE_CLIENT_ID',
  'OAUTH2_TOKEN_ENDPOINT',
] as const;

/** Credential keys: the file beats the environment (Python SDK parity). */
export const CREDENTIAL_KEYS = [
  'DHCORE_PERSONAL_ACCESS_TOKEN',
  'DHCORE_ACCESS_TOKEN',
  'DHCORE_REFRESH_TOKEN',
  'DHCORE_USER',
  'DHCORE_PASSWORD',
  'DHCORE_EXPIRES_AT',
] as const;

/**
 * Store credentials DHCore hands out with the `credentials` scope (the Python SDK's names). Credentials
 * too: the file beats the environment, key by key.
 */
export const S3_KEYS = [
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'AWS_CREDENTIALS_EXPIRATION',
  'AWS_ENDPOINT_URL',
  'AWS_REGION',
  'S3_SIGNATURE_VERSION',
  'S3_PATH_STYLE',
  'S3_BUCKET',
] as const;
export const SQL_KEYS = [
  'DB_USERNAME',
  'DB_PASSWORD',
  'DB_HOST',
  'DB_PORT',
  'DB_DATABASE',
  'DB_SCHEMA',
  'DB_PLATFORM',
] as const;
export const STORE_KEYS = [...S3_KEYS, ...SQL_KEYS] as const;
export type StoreKey = (typeof STORE_KEYS)[number];

export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type CredentialKey = (typeof CREDENTIAL_KEYS)[number];
export type KnownKey = ConfigKey | CredentialKey;

/** Keys whose value is a URL: one pair of wrapping backticks/quotes is stripped (docs copy-paste). */
export const URL_KEYS: readonly string[] = ['dhcore_endpoint', 'dhcore_issuer', 'oauth2_token_endpoint'];

/** Keys we write after obtaining tokens, beside `dhcore_expires_at`. */
export const TOKEN_FILE_KEYS = [
  'dhcore_access_token',
  'dhcore_refresh_token',
  'dhcore_id_token',
  'dhcore_expires_at',
  'dhcore_refresh_at',
] as const;

/**
 * Store credentials DHCore hands out with the `credentials` scope (`aws_*`, `s3_*`, `db_*`): the only
 * fields of a token response, besides the tokens, that are saved.
 */
export function isStoreCredentialKey(key: string): boolean {
  return /^(aws|s3|db)_[a-z0-9_]+$/.test(key);
}
/** How every key {@link isStoreCredentialKey} accepts begins. */
export const STORE_KEY_PREFIXES: readonly string[] = ['aws_', 's3_', 'db_'];

/** Profile chosen when nothing names one. */
export const DEFAULT_PROFILE = '__default';
/** `[DEFAULT]` key naming the current profile, shared with the Python SDK and `dhcli`. */
export const CURRENT_ENVIRONMENT_KEY = 'current_environment';

/**
 * Is this key's value a secret? Known token/password keys, plus anything that looks like one
 * (`aws_secret_access_key`, `db_password`, `*_token`, …), so store credentials handed out with the
 * `credentials` scope are hidden too.
 */
export function isSecretKey(key: string): boolean {
  const k = key.toLowerCase();
  if (NOT_SECRET.has(k) || k.endsWith('_token_type') || k.endsWith('_endpoint') || k.endsWith('_url'))
    return false;
  return SECRET_WORDS.some((word) => k.includes(word));
}

/** Words that make a key's value a secret (a list, not a regular expression: no compile at every start). */
const SECRET_WORDS: readonly string[] = [
  'token',
  'password',
  'passwd',
  'secret',
  'pat',
  'credential',
  'session',
  'key',
];

const NOT_SECRET = new Set([
  'dhcore_expires_at',
  'dhcore_refresh_at',
  'current_environment',
  'aws_credentials_expiration',
  // "pat" as in path, not a personal access token.
  's3_path_style',
]);
