import { format } from 'node:util';
import { type Command, InvalidArgumentError } from 'commander';
import { UsageError } from '../../errors.js';
import { writeErr, writeOut } from '../output.js';

function integer(min: number, max: number, what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`${what} must be a whole number from ${min} to ${max}.`);
    }
    return n;
  };
}

interface DevServerCliOptions {
  port: number;
  host: string;
  accessTokenTtl: number;
  allowNonLoopback?: boolean;
  quiet?: boolean;
  s3?: boolean;
  s3KeyTtl?: number;
  db?: string;
}

export function register(program: Command): void {
  program
    .command('dev-server')
    .description('Run a local DHCore-compatible auth server (demo user, PAT, every login flow) until stopped')
    .option('--port <n>', 'TCP port to listen on (0 = any free port)', integer(0, 65535, 'port'), 0)
    .option('--host <addr>', 'address to bind (loopback only unless --allow-non-loopback)', '127.0.0.1')
    .option(
      '--access-token-ttl <seconds>',
      'access token lifetime in seconds',
      integer(1, 365 * 24 * 3600, 'access token TTL'),
      3600,
    )
    .option('--allow-non-loopback', 'permit binding a non-loopback address (exposes a demo user!)')
    .option('--quiet', 'do not log requests to stderr')
    .option(
      '--s3',
      'also run a local S3 server and hand out a new, expiring access key for it with each token',
    )
    .option(
      '--s3-key-ttl <seconds>',
      'lifetime of each S3 access key (default: the access token TTL)',
      integer(1, 365 * 24 * 3600, 'S3 key TTL'),
    )
    .option('--db <url>', 'hand out this PostgreSQL role: postgresql://user:password@host:port/database')
    .addHelpText(
      'after',
      `
When ready it prints ONE JSON line on stdout and serves until SIGINT/SIGTERM:
  {"endpoint":"http://127.0.0.1:PORT","issuer":"…","clientId":"dhcore-cli","user":"demo","password":"…","pat":"…"}
With --s3 it adds "s3Endpoint" and "s3Bucket". Logs go to stderr.

Tokens issued with the credentials scope carry store credentials: with --s3 a new S3 key pair that works
against the local S3 server until it expires (then it is revoked there), with --db the given PostgreSQL
role (db_host, db_port, db_database, db_username, db_password, db_platform); without them, demo values.

Examples:
  dhcore dev-server --port 8080
  dhcore dev-server --access-token-ttl 5      # watch tokens expire and refresh
  dhcore dev-server --s3 --db postgresql://app:secret@127.0.0.1:5432/app`,
    )
    .action(async (opts: DevServerCliOptions) => {
      // stdout carries exactly one JSON line: anything a library prints with console.log/info
      // (oidc-provider prints its notices that way) goes to stderr instead.
      const toStderr = (...args: unknown[]) => {
        writeErr(`${format(...args)}\n`);
      };
      console.log = toStderr;
      console.info = toStderr;

      // Loaded on use: oidc-provider is large, and every other command should start fast. It is also optional:
      // without it this import throws a ConfigError naming the install command (exit code 3).
      const { startDevServer } = await import('../../dev-server/index.js');
      const server = await startDevServer({
        port: opts.port,
        host: opts.host,
        accessTokenTtl: opts.accessTokenTtl,
        allowNonLoopback: opts.allowNonLoopback === true,
        ...(opts.s3 ? { s3: true } : {}),
        ...(opts.s3KeyTtl !== undefined ? { s3KeyTtl: opts.s3KeyTtl } : {}),
        ...(opts.db !== undefined ? { db: opts.db } : {}),
        ...(opts.quiet ? {} : { logger: (line: string) => writeErr(`dev-server: ${line}\n`) }),
      }).catch((err: unknown) => {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
        throw new UsageError(
          'dev_server_port_in_use',
          `Port ${opts.port} on ${opts.host} is already in use: stop what uses it, or pick another with --port <n> (--port 0 picks a free one).`,
        );
      });

      const stopped = new Promise<string>((resolve) => {
        process.once('SIGINT', () => resolve('SIGINT'));
        process.once('SIGTERM', () => resolve('SIGTERM'));
      });

      const ready = {
        endpoint: server.endpoint,
        issuer: server.issuer,
        clientId: server.clientId,
        user: server.user,
        password: server.password,
        pat: server.pat,
        ...(server.s3 ? { s3Endpoint: server.s3.endpoint, s3Bucket: server.s3.bucket } : {}),
      };
      writeOut(`${JSON.stringify(ready)}\n`);
      writeErr(
        `dev-server: ready. Try: DHCORE_ENDPOINT=${server.endpoint} DHCORE_CLIENT_ID=${server.clientId} ` +
          'DHCORE_PERSONAL_ACCESS_TOKEN=<pat from the JSON line> dhcore token\n',
      );

      const signal = await stopped;
      writeErr(`dev-server: ${signal} received, shutting down\n`);
      await server.close();
      process.exitCode = 0;
    });
}
