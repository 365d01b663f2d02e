/**
 * Every error the SDK and CLI raise is a `DHCoreError` with a stable `code`, so programs can branch on
 * `err.code` without parsing messages. Messages say what happened and what to do next, and never carry
 * a secret value.
 *
 * @example
 * try { await createClient(); } catch (err) {
 *   if (err instanceof DHCoreError && err.code === 'config_missing_endpoint') console.error(err.message);
 * }
 */
export class DHCoreError extends Error {
  /** Stable, machine-readable code, e.g. `config_missing_endpoint`, `auth_invalid_grant`, `http_error`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DHCoreError';
    this.code = code;
  }
}

/** Configuration cannot be resolved: missing/invalid endpoint, INI syntax, unknown profile, unreadable file. */
export class ConfigError extends DHCoreError {
  /** Config file the problem is in, when there is one. */
  readonly file: string | undefined;
  /** 1-based line number in `file`, when known. */
  readonly line: number | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; file?: string; line?: number }) {
    super(code, message, options);
    this.name = 'ConfigError';
    this.file = options?.file;
    this.line = options?.line;
  }
}

/** Credentials were refused or could not be obtained. `oauthError` carries the OAuth `error` code, if any. */
export class AuthError extends DHCoreError {
  readonly oauthError: string | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; oauthError?: string }) {
    super(code, message, options);
    this.name = 'AuthError';
    this.oauthError = options?.oauthError;
  }
}

/** A DHCore or token endpoint answered with an unexpected HTTP status. `bodyExcerpt` is short and redacted. */
export class HttpError extends DHCoreError {
  readonly status: number;
  readonly url: string;
  readonly bodyExcerpt: string;

  constructor(
    code: string,
    message: string,
    options: { status: number; url: string; bodyExcerpt?: string; cause?: unknown },
  ) {
    super(code, message, options);
    this.name = 'HttpError';
    this.status = options.status;
    this.url = options.url;
    this.bodyExcerpt = options.bodyExcerpt ?? '';
  }
}
