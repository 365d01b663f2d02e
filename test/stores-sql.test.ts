/**
 * `sqlConfig()` with node-postgres (`pg`) against a real PostgreSQL server started by the test (a temporary
 * cluster with scram-sha-256 authentication), whose role the dev server hands out as the SQL store credentials.
 */
import { writeFileSync } from 'node:fs';
import { inspect } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DevServer } from '../src/dev-server/index.js';
import { ConfigError } from '../src/errors.js';
import { sqlConfig } from '../src/stores/sql.js';
import { useTempHome } from './helpers/cli.js';
import { startTestServer } from './helpers/dev-server.js';
import { startPostgres, type TempPostgres } from './helpers/postgres.js';
import { sleep, writePatProfile } from './helpers/s3.js';

const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
// Characters that must be URL-encoded in a connection string, and a quote for the SQL literal.
const APP_PASSWORD = "p@ss:w/rd?#%&'x";
const home = useTempHome();
const optsFor = (file: string) => ({ configFile: file, profile: 'dev', env: {} });

describe('sqlConfig() + pg against a temporary PostgreSQL cluster', () => {
  let postgres: TempPostgres | undefined;
  let server: DevServer | undefined;

  beforeAll(async () => {
    postgres = await startPostgres();
    const admin = new pg.Client({
      host: postgres.host,
      port: postgres.port,
      user: postgres.superuser,
      password: postgres.superPassword,
      database: 'postgres',
    });
    await admin.connect();
    try {
      await admin.query(`CREATE ROLE app LOGIN PASSWORD '${APP_PASSWORD.replace(/'/g, "''")}'`);
      await admin.query('CREATE DATABASE appdb OWNER app');
    } finally {
      await admin.end();
    }
    const db = `postgresql://app:${encodeURIComponent(APP_PASSWORD)}@${postgres.host}:${postgres.port}/appdb?schema=public`;
    server = await startTestServer({ db, accessTokenTtl: 2 });
  }, 120_000);

  afterAll(async () => {
    await server?.close();
    postgres?.stop();
  });

  it('pg.Client connects with sqlConfig() as the role DHCore handed out', async () => {
    const file = home().configFile;
    writePatProfile(file, server!);
    const cfg = await sqlConfig(optsFor(file));
    expect(cfg).toMatchObject({
      host: '127.0.0.1',
      port: postgres!.port,
      database: 'appdb',
      user: 'app',
      schema: 'public',
      platform: 'postgresql',
    });
    const client = new pg.Client(cfg);
    await client.connect();
    try {
      const { rows } = await client.query('select current_user as u, current_database() as d');
      expect(rows).toEqual([{ u: 'app', d: 'appdb' }]);
    } finally {
      await client.end();
    }
  });

  it('the connection string has the password URL-encoded and works; printing the config shows no password', async () => {
    const file = home().configFile;
    writePatProfile(file, server!);
    const cfg = await sqlConfig(optsFor(file));
    expect(cfg.connectionString).toBe(
      `postgresql://app:${encodeURIComponent(APP_PASSWORD)}@127.0.0.1:${postgres!.port}/appdb`,
    );
    const client = new pg.Client({ connectionString: cfg.connectionString });
    await client.connect();
    try {
      expect((await client.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
    expect(Object.keys(cfg)).not.toContain('connectionString');
    for (const text of [JSON.stringify(cfg), inspect(cfg, { depth: 5, showHidden: false }), String(cfg)]) {
      expect(text).not.toContain(APP_PASSWORD);
      expect(text).not.toContain(encodeURIComponent(APP_PASSWORD));
      expect(text).not.toContain(server!.pat);
    }
  });

  it('a wrong password is refused by the server', async () => {
    const file = home().configFile;
    writePatProfile(file, server!);
    const cfg = await sqlConfig(optsFor(file));
    const client = new pg.Client({ ...cfg, password: 'not-the-password' });
    await expect(client.connect()).rejects.toMatchObject({ code: '28P01' });
    await client.end().catch(() => {});
  });

  it('a pool asks the password function for each new connection, which renews through DHCore when due', async () => {
    const file = home().configFile;
    writePatProfile(file, server!);
    const cfg = await sqlConfig(optsFor(file));
    // idleTimeoutMillis 1: every query after a pause opens a new connection.
    const pool = new pg.Pool({ ...cfg, max: 1, idleTimeoutMillis: 1 });
    try {
      expect((await pool.query('select current_user as u')).rows).toEqual([{ u: 'app' }]);
      const before = server!.stats().byGrant[EXCHANGE] ?? 0;
      // Past half the 2 s token lifetime: the next connection gets renewed credentials first.
      await sleep(1300);
      expect((await pool.query('select current_user as u')).rows).toEqual([{ u: 'app' }]);
      expect((server!.stats().byGrant[EXCHANGE] ?? 0) - before).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('a profile without SQL credentials is a ConfigError naming the missing keys', async () => {
    const file = home().configFile;
    writeFileSync(
      file,
      '[dev]\ndhcore_endpoint = https://dhcore.invalid\ndhcore_access_token = t\ndb_host = h\n',
      { mode: 0o600 },
    );
    const err = (await sqlConfig(optsFor(file)).catch((e: unknown) => e)) as Error;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err).toMatchObject({ code: 'config_missing_store_credentials' });
    expect(err.message).toContain('missing DB_USERNAME, DB_PASSWORD, DB_DATABASE.');
  });
});
