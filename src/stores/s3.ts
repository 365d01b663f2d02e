/**
 * S3 for the AWS SDK v3: `new S3Client(await s3Config())`. The credentials are a provider function (the AWS
 * SDK's identity-provider shape), so a long-lived client asks again whenever they near their expiry and gets
 * renewed ones through the token lifecycle. No dependency on the AWS SDK.
 */

import { parseInstant } from '../auth/expiry.js';
import { loginCommand } from '../auth/messages.js';
import type { ClientOptions } from '../client/client.js';
import { ConfigError } from '../errors.js';
import { warnOnce } from '../warnings.js';
import { FreshStoreValues } from './fresh.js';
import { openStoreSession, type StoreSession } from './session.js';

/** What the AWS SDK's credential providers return (`AwsCredentialIdentity`). */
export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When these stop working; the SDK asks the provider again before then. */
  expiration?: Date;
}

/** Options of {@link s3Config}: the profile to use, as for `createClient`. */
export type S3ConfigOptions = ClientOptions;

/** `S3ClientConfig` fields, ready for `new S3Client(...)`. */
export interface S3Config {
  /** `AWS_ENDPOINT_URL` (MinIO, Ceph, …); absent for AWS itself. */
  endpoint?: string;
  /** `AWS_REGION`, else `us-east-1` (what S3-compatible stores accept by default). */
  region: string;
  /** `S3_PATH_STYLE`; without it, path style for a custom endpoint (bucket names in the path). */
  forcePathStyle: boolean;
  /** Current credentials, renewed through DHCore when `AWS_CREDENTIALS_EXPIRATION` (else the token expiry) nears. */
  credentials: () => Promise<S3Credentials>;
  /** `S3_BUCKET`, when DHCore names one (not an S3Client option: for your commands). */
  bucket?: string;
}

/** Keys without which there are no S3 credentials. */
const REQUIRED = ['aws_access_key_id', 'aws_secret_access_key'] as const;

/**
 * The S3 configuration of the current profile (or `opts.profile`), from the store credentials DHCore hands out
 * with the `credentials` scope. Obtains a valid token first if needed. Throws `ConfigError`
 * `config_missing_store_credentials` naming the keys the profile lacks.
 *
 * @example
 * import { S3Client, GetObjectCommand } from '@aws-sdk/client-s3';
 * import { s3Config } from 'dhcore-credentials';
 * const cfg = await s3Config();
 * const s3 = new S3Client(cfg);
 * await s3.send(new GetObjectCommand({ Bucket: cfg.bucket, Key: 'data.csv' }));
 */
export async function s3Config(opts: S3ConfigOptions = {}): Promise<S3Config> {
  const fresh = new FreshStoreValues(await openStoreSession(opts));
  const values = await fresh.values();
  // A profile without S3 credentials fails here, not at the first request.
  requireS3(values, fresh.session);
  const endpoint = values.aws_endpoint_url?.trim();
  const signature = values.s3_signature_version?.trim().toLowerCase();
  if (signature && signature !== 's3v4' && signature !== 'v4') {
    warnOnce(
      'DHCORE_S3_SIGNATURE_VERSION',
      `S3_SIGNATURE_VERSION of profile "${fresh.session.profile}" is "${signature}", but the AWS SDK v3 signs with Signature Version 4 (s3v4) only.`,
    );
  }
  const config: S3Config = {
    region: values.aws_region?.trim() || 'us-east-1',
    forcePathStyle: parseBoolean(values.s3_path_style) ?? Boolean(endpoint),
    credentials: async () => s3Credentials(await fresh.values(), fresh.session),
  };
  if (endpoint) config.endpoint = endpoint;
  const bucket = values.s3_bucket?.trim();
  if (bucket) config.bucket = bucket;
  return config;
}

/** The AWS SDK identity of store values; `ConfigError` naming the missing keys. */
export function s3Credentials(
  values: Readonly<Record<string, string>>,
  session: StoreSession,
): S3Credentials {
  requireS3(values, session);
  const creds: S3Credentials = {
    accessKeyId: values.aws_access_key_id!,
    secretAccessKey: values.aws_secret_access_key!,
  };
  if (values.aws_session_token) creds.sessionToken = values.aws_session_token;
  const expiresAtMs = parseInstant(values.aws_credentials_expiration);
  if (expiresAtMs !== undefined) creds.expiration = new Date(expiresAtMs);
  return creds;
}

/** Throw `config_missing_store_credentials` unless `values` hold an S3 key pair. */
export function requireS3(values: Readonly<Record<string, string>>, session: StoreSession): void {
  const missing = REQUIRED.filter((k) => !values[k]);
  if (missing.length > 0) throw missingStoreKeys('S3', missing, session);
}

/** A `ConfigError` that names the store keys a profile lacks and how to get them. */
export function missingStoreKeys(
  what: string,
  missing: readonly string[],
  session: Pick<StoreSession, 'profile' | 'configFile'>,
): ConfigError {
  const names = missing.map((k) => k.toUpperCase()).join(', ');
  const login = loginCommand(session.profile);
  return new ConfigError(
    'config_missing_store_credentials',
    `Profile "${session.profile}" has no ${what} credentials: missing ${names}. DHCore hands them out with the token when it has a ${what} store configured ('${login}' gets a new token); or set ${names} in the environment or ${missing.join(', ')} in [${session.profile}] of ${session.configFile}.`,
    { file: session.configFile },
  );
}

/** `true`/`false` as the Python SDK and INI files spell them; undefined when absent or unrecognised. */
export function parseBoolean(value: string | undefined): boolean | undefined {
  const v = value?.trim().toLowerCase();
  if (v === undefined || v === '') return undefined;
  if (['true', '1', 'yes', 'on', 'path'].includes(v)) return true;
  if (['false', '0', 'no', 'off', 'virtual'].includes(v)) return false;
  return undefined;
}
