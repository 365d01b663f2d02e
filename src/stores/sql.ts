/**
 * PostgreSQL for node-postgres: `new pg.Pool(await sqlConfig())`. The password is a function (pg calls it for
 * every new connection), so a long-lived pool keeps connecting after DHCore renewed the credentials.
 */
import type { ClientOptions } from '../client/client.js';
import { ConfigError } from '../errors.js';
import { FreshStoreValues } from './fresh.js';
import { missingStoreKeys } from './s3.js';
import { openStoreSession, type StoreSession } from './session.js';

/** Options of {@link sqlConfig}: the profile to use, as for `createClient`. */
export type SqlConfigOptions = ClientOptions;

/** `pg.ClientConfig` / `pg.PoolConfig` fields, plus what DHCore says about the database. */
export interface SqlConfig {
  /** `DB_HOST`. */
  host: string;
  /** `DB_PORT`, else 5432. */
  port: number;
  /** `DB_DATABASE`. */
  database: string;
  /** `DB_USERNAME` (as when `sqlConfig()` was called). */
  user: string;
  /** The current `DB_PASSWORD`, renewed through DHCore when the credentials near their expiry. */
  password: () => Promise<string>;
  /** `DB_SCHEMA`, when DHCore names one (not a pg option: qualify your tables or set `search_path`). */
  schema?: string;
  /** `DB_PLATFORM`, `postgresql` when not given. */
  platform: string;
  /**
   * `postgresql://user:password@host:port/database` with the current values, user and password URL-encoded,
   * for tools that take a URL. Not enumerable: it holds the password, so printing or serializing the config
   * never shows it, and `pg.Pool` (which copies its options) keeps using the password function. A `pg.Client`
   * given this object reads it and connects with the password of that moment.
   */
  readonly connectionString: string;
}

const REQUIRED = ['db_host', 'db_username', 'db_password', 'db_database'] as const;

/**
 * The PostgreSQL configuration of the current profile (or `opts.profile`), from the store credentials DHCore
 * hands out with the `credentials` scope. Throws `ConfigError` `config_missing_store_credentials` naming the
 * keys the profile lacks, and `config_unsupported_store` when `DB_PLATFORM` is not PostgreSQL.
 *
 * @example
 * import pg from 'pg';
 * import { sqlConfig } from 'dhcore-credentials';
 * const pool = new pg.Pool(await sqlConfig());
 * const { rows } = await pool.query('select current_user');
 */
export async function sqlConfig(opts: SqlConfigOptions = {}): Promise<SqlConfig> {
  const fresh = new FreshStoreValues(await openStoreSession(opts));
  const values = await fresh.values();
  requireSql(values, fresh.session);
  const config: Omit<SqlConfig, 'connectionString'> = {
    host: values.db_host!,
    port: portOf(values.db_port, fresh.session),
    database: values.db_database!,
    user: values.db_username!,
    password: async () => {
      const current = await fresh.values();
      requireSql(current, fresh.session);
      return current.db_password!;
    },
    platform: values.db_platform?.trim() || 'postgresql',
  };
  if (values.db_schema) config.schema = values.db_schema;
  Object.defineProperty(config, 'connectionString', {
    enumerable: false,
    get: () => connectionString(fresh.session.values(), fresh.session),
  });
  return config as SqlConfig;
}

function requireSql(values: Readonly<Record<string, string>>, session: StoreSession): void {
  const missing = REQUIRED.filter((k) => !values[k]);
  if (missing.length > 0) throw missingStoreKeys('SQL', missing, session);
  const platform = values.db_platform?.trim().toLowerCase();
  if (platform && !/^postgres(ql)?$/.test(platform)) {
    throw new ConfigError(
      'config_unsupported_store',
      `The SQL store of profile "${session.profile}" is ${platform} (DB_PLATFORM), but sqlConfig() is for PostgreSQL (node-postgres); read the DB_* values with getCredentialsAndConfig() for another driver.`,
    );
  }
}

function portOf(value: string | undefined, session: StoreSession): number {
  if (value === undefined || value.trim() === '') return 5432;
  const port = Number(value.trim());
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new ConfigError(
      'config_invalid_store_value',
      `DB_PORT of profile "${session.profile}" is "${value}": it must be a port number (1–65535).`,
    );
  }
  return port;
}

/** `postgresql://user:password@host:port/database`, each part URL-encoded (a socket folder goes in `?host=`). */
export function connectionString(values: Readonly<Record<string, string>>, session: StoreSession): string {
  requireSql(values, session);
  const enc = encodeURIComponent;
  const host = values.db_host!;
  const port = portOf(values.db_port, session);
  const auth = `${enc(values.db_username!)}:${enc(values.db_password!)}`;
  const database = enc(values.db_database!);
  if (host.startsWith('/')) return `postgresql://${auth}@/${database}?host=${enc(host)}&port=${port}`;
  const hostPart = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `postgresql://${auth}@${hostPart}:${port}/${database}`;
}
