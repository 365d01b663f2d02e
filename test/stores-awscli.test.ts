import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, type CliResult, runCommand, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';
import { DEBIAN_AWS, savedValues, sleepPast, writePatProfile } from './helpers/s3.js';

const home = useTempHome();

function aws(args: string[], env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runCommand(DEBIAN_AWS, args, { env, timeoutMs: 60_000 });
}

describe('aws (Debian awscli) with credential_process = dhcore credentials --format aws-process', () => {
  // Keys live 4 s: long enough for one AWS CLI run, short enough to watch them expire.
  const server = useDevServer({ s3: true, accessTokenTtl: 300, s3KeyTtl: 4 });

  it('lists and reads an object through --endpoint-url, also after the keys expired', async () => {
    expect(existsSync(DEBIAN_AWS), `${DEBIAN_AWS} missing: apt-get install awscli (.ci/run does)`).toBe(true);
    const { home: dir, configFile } = home();
    writePatProfile(configFile, server());
    const awsConfig = join(dir, 'aws-config');
    writeFileSync(
      awsConfig,
      `[profile dhcore]
region = us-east-1
credential_process = ${process.execPath} ${CLI} --config ${configFile} -e dev credentials --format aws-process
s3 =
  addressing_style = path
`,
    );
    const object = join(dir, 'object.txt');
    writeFileSync(object, 'stored through the AWS CLI\n');
    // Only what the AWS CLI needs: no AWS_* keys of the developer, no instance metadata lookups.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: dir,
      LANG: 'C.UTF-8',
      AWS_CONFIG_FILE: awsConfig,
      AWS_SHARED_CREDENTIALS_FILE: join(dir, 'no-credentials'),
      AWS_PROFILE: 'dhcore',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
    };
    const s3 = ['--endpoint-url', server().s3!.endpoint, 's3'];
    const bucket = `s3://${server().s3!.bucket}`;

    const put = await aws([...s3, 'cp', object, `${bucket}/object.txt`], env);
    expect(put.stderr).toBe('');
    expect(put.code).toBe(0);
    const ls = await aws([...s3, 'ls', `${bucket}/`], env);
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(/\s27 object\.txt\n/);
    const first = savedValues(configFile);
    expect(server().stats().s3!.accessKeysSeen).toContain(first.aws_access_key_id);

    await sleepPast(first.aws_credentials_expiration!);
    const get = await aws([...s3, 'cp', `${bucket}/object.txt`, '-'], env);
    expect(get.stderr).toBe('');
    expect(get.code).toBe(0);
    expect(get.stdout).toBe('stored through the AWS CLI\n');
    const second = savedValues(configFile);
    expect(second.aws_access_key_id).not.toBe(first.aws_access_key_id);
    expect(server().stats().s3!.accessKeysSeen).toContain(second.aws_access_key_id);
  }, 90_000);
});
