/**
 * The store credentials the dev server adds to token responses with the `credentials` scope: S3 keys of its
 * own S3 server (`s3: true`), the PostgreSQL role it was given (`db`), else demo values that reach nothing.
 */
import { randomBytes } from 'node:crypto';
import { DHCoreError } from '../errors.js';

/** `db_*` token-response fields for a `postgres://user:password@host:port/database[?schema=s]` URL. */
export function dbFields(url: string): Record<string, string> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw badDb('it is not a URL');
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') throw badDb(`the scheme is ${u.protocol}`);
  const username = decodeURIComponent(u.username);
  const password = decodeURIComponent(u.password);
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  const host = u.searchParams.get('host') ?? u.hostname.replace(/^\[|\]$/g, '');
  if (!username || !password || !host) throw badDb('it needs a user, a password and a host');
  const fields: Record<string, string> = {
    db_host: host,
    db_port: u.port || u.searchParams.get('port') || '5432',
    db_database: database || username,
    db_username: username,
    db_password: password,
    db_platform: 'postgresql',
  };
  const schema = u.searchParams.get('schema');
  if (schema) fields.db_schema = schema;
  return fields;
}

function badDb(why: string): DHCoreError {
  return new DHCoreError(
    'dev_server_bad_option',
    `invalid db URL (${why}): use postgresql://user:password@host:port/database, e.g. postgresql://app:secret@127.0.0.1:5432/app`,
  );
}

/** Fixed demo S3 fields when no S3 server runs: the shape of DHCore's, pointing at nothing. */
export function demoS3Fields(): () => Record<string, string> {
  const secret = randomBytes(20).toString('base64url');
  return () => ({
    aws_access_key_id: 'DHCOREDEVACCESSKEY',
    aws_secret_access_key: secret,
    aws_session_token: randomBytes(24).toString('base64url'),
    aws_endpoint_url: 'http://localhost:9000',
  });
}
