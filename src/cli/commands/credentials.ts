import { type Command, Option } from 'commander';
import { parseInstant } from '../../auth/expiry.js';
import { STORE_KEYS } from '../../config/keys.js';
import { FreshStoreValues } from '../../stores/fresh.js';
import { missingStoreKeys, requireS3 } from '../../stores/s3.js';
import { openStoreSession } from '../../stores/session.js';
import { exportLines, printJson, sessionOptionsOf } from '../context.js';
import { writeOut } from '../output.js';

type Format = 'json' | 'env' | 'aws-process';

/**
 * `dhcore credentials` — the store credentials (S3, SQL) of a profile, renewed first when they near their
 * expiry. Printing them is the command's job: they go to stdout only, nothing secret to stderr.
 */
export function register(program: Command): void {
  program
    .command('credentials')
    .description('Print the store credentials (S3, SQL) DHCore hands out, renewed when they near expiry')
    .addOption(
      new Option(
        '--format <format>',
        'json: the AWS_*/S3_*/DB_* values; env: export lines for eval; aws-process: AWS credential_process JSON',
      )
        .choices(['json', 'env', 'aws-process'])
        .default('json'),
    )
    .addHelpText(
      'after',
      `
Only the credentials go to stdout. Names are the Python SDK's: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
AWS_SESSION_TOKEN, AWS_CREDENTIALS_EXPIRATION, AWS_ENDPOINT_URL, AWS_REGION, S3_SIGNATURE_VERSION,
S3_PATH_STYLE, S3_BUCKET, DB_USERNAME, DB_PASSWORD, DB_HOST, DB_PORT, DB_DATABASE, DB_SCHEMA, DB_PLATFORM.
--format aws-process prints {"Version":1,"AccessKeyId","SecretAccessKey","SessionToken","Expiration"}
for the AWS CLI, boto3 and the AWS SDKs, which run the command again before Expiration.

Examples:
  eval "$(dhcore credentials --format env)"
  # ~/.aws/config
  [profile dhcore]
  credential_process = dhcore credentials --format aws-process -e prod`,
    )
    .action(async (opts: { format: Format }, cmd: Command) => {
      const session = await openStoreSession(sessionOptionsOf(cmd));
      const values = await new FreshStoreValues(session).values();
      const format = opts.format;
      if (format === 'aws-process') {
        requireS3(values, session);
        const expiresAtMs = parseInstant(values.aws_credentials_expiration ?? session.expiresAt());
        printJson({
          Version: 1,
          AccessKeyId: values.aws_access_key_id,
          SecretAccessKey: values.aws_secret_access_key,
          ...(values.aws_session_token ? { SessionToken: values.aws_session_token } : {}),
          // Without an expiry of their own the keys are renewed with the token, so the AWS tools ask again then.
          ...(expiresAtMs !== undefined ? { Expiration: new Date(expiresAtMs).toISOString() } : {}),
        });
        return;
      }
      const named: Array<[string, string]> = [];
      for (const key of STORE_KEYS) {
        const value = values[key.toLowerCase()];
        if (value !== undefined) named.push([key, value]);
      }
      if (named.length === 0) {
        throw missingStoreKeys(
          'store',
          ['aws_access_key_id', 'aws_secret_access_key', 'db_username', 'db_password'],
          session,
        );
      }
      if (format === 'env') {
        writeOut(exportLines(named));
        return;
      }
      printJson(Object.fromEntries(named));
    });
}
