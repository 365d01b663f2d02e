/**
 * Every error the SDK and CLI raise is a `DHCoreError` with a stable `code` from {@link ERROR_CODES}, so
 * programs can branch on `err.code` without parsing messages. The table gives each code its category and so
 * the CLI's exit code. Messages say what happened and what to do next, and never carry a secret value.
 *
 * @example
 * try { await createClient(); } catch (err) {
 *   if (err instanceof DHCoreError && err.code === 'config_missing_endpoint') console.error(err.message);
 * }
 */

import { withoutSecrets } from './secrets.js';

/** What kind of failure a code is; decides the CLI's exit code. */
export type ErrorCategory = 'usage' | 'config' | 'auth' | 'network' | 'cancelled' | 'unexpected';

/** The CLI's exit code for each category (`dhcore --help` lists them). */
export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = {
  unexpected: 1,
  usage: 2,
  config: 3,
  auth: 4,
  network: 5,
  cancelled: 130,
};

/**
 * Every error code: its category and a one-line meaning. The README's error table is this table.
 *
 * @example
 * import { ERROR_CODES } from 'dhcore-credentials';
 * ERROR_CODES.auth_invalid_grant; // { category: 'auth', meaning: 'The server refused the refresh token or PAT …' }
 */
export const ERROR_CODES = {
  usage_invalid_option: { category: 'usage', meaning: 'An option has a value it cannot take.' },
  usage_conflicting_flags: { category: 'usage', meaning: 'Two options that exclude each other were given.' },
  usage_error: { category: 'usage', meaning: 'Unknown command or option, or a missing argument.' },
  unexpected: {
    category: 'unexpected',
    meaning: 'Something failed that dhcore did not expect (a bug: please report it).',
  },

  config_missing_endpoint: {
    category: 'config',
    meaning: 'No DHCore endpoint is configured for the profile.',
  },
  config_invalid_endpoint: {
    category: 'config',
    meaning: 'The endpoint is not an http(s) URL, or carries user info.',
  },
  config_unknown_profile: { category: 'config', meaning: 'The named profile is not in the config file.' },
  config_invalid_profile: { category: 'config', meaning: 'The name cannot be a profile (e.g. DEFAULT).' },
  config_profile_exists: {
    category: 'config',
    meaning: 'A profile of that name points to another endpoint (register --force replaces it).',
  },
  config_unreadable: { category: 'config', meaning: 'The config file exists but cannot be read.' },
  config_not_regular_file: {
    category: 'config',
    meaning: 'The config file is not a regular file (a folder, a FIFO, a device): refused before reading.',
  },
  config_not_writable: { category: 'config', meaning: 'The config file or its folder cannot be written.' },
  config_syntax: { category: 'config', meaning: 'A line of the config file is not valid INI.' },
  config_missing_section_header: {
    category: 'config',
    meaning: 'The config file has a key before the first [section].',
  },
  config_duplicate_section: { category: 'config', meaning: 'A [section] appears twice in the config file.' },
  config_duplicate_key: { category: 'config', meaning: 'A key appears twice in one section.' },
  config_interpolation: {
    category: 'config',
    meaning: 'A %-interpolation in the config file cannot be expanded.',
  },
  config_no_section: { category: 'config', meaning: 'An INI edit named a section the file does not have.' },
  config_invalid_key: { category: 'config', meaning: 'A key name cannot be written to the INI file.' },
  config_invalid_value: { category: 'config', meaning: 'A value cannot be written to the INI file as is.' },
  config_insecure_url: {
    category: 'config',
    meaning: 'A secret would go over plain http to a host other than this machine.',
  },
  config_issuer_mismatch: {
    category: 'config',
    meaning: 'The discovery document names another issuer than the one configured.',
  },
  config_untrusted_issuer: {
    category: 'config',
    meaning:
      'The server names an issuer or token endpoint on another origin than the endpoint (register --trust-issuer accepts it).',
  },
  config_missing_client_id: { category: 'config', meaning: 'No OAuth client id is configured or served.' },
  config_no_token_endpoint: { category: 'config', meaning: 'The issuer names no token endpoint.' },
  config_no_device_flow: { category: 'config', meaning: 'The issuer offers no device login.' },
  config_missing_store_credentials: {
    category: 'config',
    meaning: 'The profile has no S3 or SQL store credentials (the message names the missing keys).',
  },
  config_unsupported_store: { category: 'config', meaning: 'The SQL store is not PostgreSQL (DB_PLATFORM).' },
  config_invalid_store_value: {
    category: 'config',
    meaning: 'A store credential has a value it cannot take.',
  },
  store_not_writable: {
    category: 'config',
    meaning: 'A login or logout could not be saved: the config file cannot be written.',
  },
  store_lock_lost: {
    category: 'unexpected',
    meaning: 'Another process took over the config file lock while this one held it; nothing was written.',
  },
  store_lock_timeout: {
    category: 'unexpected',
    meaning: 'Another process held the config file lock for too long.',
  },
  dev_server_missing_dependency: {
    category: 'config',
    meaning: 'The dev server needs oidc-provider, which is not installed (the message gives the command).',
  },
  dev_server_bad_option: { category: 'usage', meaning: 'A dev-server option has a value it cannot take.' },
  dev_server_port_in_use: {
    category: 'usage',
    meaning: 'The dev server port is taken by another program (--port picks another).',
  },
  dev_server_non_loopback: {
    category: 'usage',
    meaning: 'The dev server only listens on loopback addresses.',
  },

  auth_no_token: { category: 'auth', meaning: 'The profile has no access token and no way to obtain one.' },
  auth_no_pat: { category: 'auth', meaning: 'A PAT login was asked for but no personal access token given.' },
  auth_not_refreshable: {
    category: 'auth',
    meaning: 'The auth method (access_token_only, basic, none) has no token to refresh.',
  },
  auth_token_expired: {
    category: 'auth',
    meaning: 'The access token expired and the profile cannot obtain a new one.',
  },
  auth_invalid_grant: {
    category: 'auth',
    meaning: 'The server refused the refresh token or PAT (expired, revoked or already used).',
  },
  auth_refused: { category: 'auth', meaning: 'The token endpoint refused the request with an OAuth error.' },
  auth_rejected: { category: 'auth', meaning: 'DHCore answered 401 to the credentials.' },
  auth_forbidden: { category: 'auth', meaning: 'DHCore answered 403 to the credentials.' },
  auth_denied: { category: 'auth', meaning: 'The user or the server denied the login.' },
  auth_no_code: { category: 'auth', meaning: 'The login callback carried no authorization code.' },
  auth_login_timeout: { category: 'auth', meaning: 'The login was not completed in time.' },
  auth_device_expired: { category: 'auth', meaning: 'The device code expired before it was approved.' },
  auth_store_credentials_expired: {
    category: 'auth',
    meaning: 'The store credentials expired and renewing the token gave no new ones.',
  },
  auth_failed: { category: 'auth', meaning: 'A token request failed for an unexpected reason.' },
  login_cancelled: { category: 'cancelled', meaning: 'The login was cancelled (Ctrl-C); nothing was saved.' },

  network_unreachable: { category: 'network', meaning: 'A server could not be reached.' },
  network_timeout: { category: 'network', meaning: 'A server did not answer in time.' },
  http_error: { category: 'network', meaning: 'DHCore answered with an unexpected HTTP status.' },
  http_invalid_response: { category: 'network', meaning: 'DHCore answered with something other than JSON.' },
  http_redirect_refused: {
    category: 'network',
    meaning: 'A redirect was not followed: to a non-http(s) URL, or a well-known document to another origin.',
  },
  http_too_many_redirects: { category: 'network', meaning: 'A request was redirected too many times.' },
  token_endpoint_error: {
    category: 'network',
    meaning: 'The token endpoint failed (HTTP 5xx or non-OAuth answer).',
  },
  token_response_invalid: {
    category: 'network',
    meaning: 'The token endpoint answered without a usable access token.',
  },
} as const satisfies Record<string, { category: ErrorCategory; meaning: string }>;

/** A stable error code: a key of {@link ERROR_CODES}. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** The category of an error: from the table for a `DHCoreError`, `unexpected` for anything else. */
export function errorCategory(err: unknown): ErrorCategory {
  return err instanceof DHCoreError ? ERROR_CODES[err.code].category : 'unexpected';
}

/** The base of every error the package raises. */
export class DHCoreError extends Error {
  /** Stable, machine-readable code, e.g. `config_missing_endpoint`, `auth_invalid_grant`, `http_error`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    // Messages quote what servers said; whatever they echo of our secrets goes.
    super(withoutSecrets(message), options);
    this.name = 'DHCoreError';
    this.code = code;
  }
}

/** A call was made wrongly: conflicting or invalid options. */
export class UsageError extends DHCoreError {
  constructor(code: ErrorCode, message: string) {
    super(code, message);
    this.name = 'UsageError';
  }
}

/** Configuration cannot be resolved: missing/invalid endpoint, INI syntax, unknown profile, unreadable file. */
export class ConfigError extends DHCoreError {
  /** Config file the problem is in, when there is one. */
  readonly file: string | undefined;
  /** 1-based line number in `file`, when known. */
  readonly line: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; file?: string; line?: number }) {
    super(code, message, options);
    this.name = 'ConfigError';
    this.file = options?.file;
    this.line = options?.line;
  }
}

/** Credentials were refused or could not be obtained. `oauthError` carries the OAuth `error` code, if any. */
export class AuthError extends DHCoreError {
  readonly oauthError: string | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; oauthError?: string }) {
    super(code, message, options);
    this.name = 'AuthError';
    this.oauthError = options?.oauthError === undefined ? undefined : withoutSecrets(options.oauthError);
  }
}

/** A DHCore or token endpoint answered with an unexpected HTTP status. `bodyExcerpt` is short and redacted. */
export class HttpError extends DHCoreError {
  readonly status: number;
  readonly url: string;
  readonly bodyExcerpt: string;

  constructor(
    code: ErrorCode,
    message: string,
    options: { status: number; url: string; bodyExcerpt?: string; cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'HttpError';
    this.status = options.status;
    this.url = withoutSecrets(options.url);
    this.bodyExcerpt = withoutSecrets(options.bodyExcerpt ?? '');
  }
}
