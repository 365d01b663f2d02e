/** Store-credential keys (AWS_*, S3_*, DB_*): credentials (file > env, key by key), secret where they are secrets. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isSecretKey, S3_KEYS, SQL_KEYS } from '../src/config/keys.js';
import { resolveConfig } from '../src/config/resolve.js';
import { redactRecord } from '../src/redact.js';

describe('store keys', () => {
  it('are the Python SDK names, secret exactly where they are secrets', () => {
    const secret = [...S3_KEYS, ...SQL_KEYS].filter((k) => isSecretKey(k.toLowerCase()));
    expect(secret).toEqual([
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'DB_PASSWORD',
    ]);
    expect(redactRecord({ aws_credentials_expiration: '2030-01-01T00:00:00Z', db_password: 'pw' })).toEqual({
      aws_credentials_expiration: '2030-01-01T00:00:00Z',
      db_password: '***',
    });
  });

  it('resolve file > env key by key, env-only ones are kept, and none shows when printed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dhcore-storekeys-'));
    try {
      const file = join(dir, 'c.ini');
      writeFileSync(
        file,
        '[p]\ndhcore_endpoint = https://d.example\naws_access_key_id = FILE-KEY\ndb_password = FILE-PW-123\n',
      );
      const cfg = resolveConfig({
        configFile: file,
        profile: 'p',
        env: {
          AWS_ACCESS_KEY_ID: 'ENV-KEY',
          AWS_SECRET_ACCESS_KEY: 'ENV-SECRET-456',
          DB_HOST: 'db.example',
          S3_BUCKET: 'bucket',
          UNRELATED_PASSWORD: 'not-a-store-key',
        },
      });
      expect(cfg.get('aws_access_key_id')).toBe('FILE-KEY');
      expect(cfg.get('AWS_SECRET_ACCESS_KEY')).toBe('ENV-SECRET-456');
      expect(cfg.get('db_password')).toBe('FILE-PW-123');
      expect(cfg.get('db_host')).toBe('db.example');
      expect(cfg.get('unrelated_password')).toBeUndefined();
      expect(cfg.sources).toMatchObject({
        aws_access_key_id: 'file',
        aws_secret_access_key: 'env',
        db_host: 'env',
        s3_bucket: 'env',
      });
      for (const text of [JSON.stringify(cfg), inspect(cfg, { depth: 5 }), String(cfg)]) {
        for (const s of ['FILE-KEY', 'ENV-SECRET-456', 'FILE-PW-123']) expect(text).not.toContain(s);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
