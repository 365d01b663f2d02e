/** `DEFAULT` is configparser's defaults section, inherited by every profile: never a profile, anywhere. */
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createClient, getCurrentProfile, resolveConfig } from '../src/index.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';
import { useDevServer } from './helpers/dev-server.js';

const server = useDevServer();
const home = useTempHome();

describe('DEFAULT is not a profile', () => {
  it('the library refuses it as an option, from $DH_NAME and from current_environment', async () => {
    const file = home().configFile;
    writeFileSync(file, `[DEFAULT]\ndhcore_endpoint = ${server().endpoint}\n[p]\n`, { mode: 0o600 });
    const env = { HOME: home().home };
    expect(() => resolveConfig({ configFile: file, env, profile: 'DEFAULT' })).toThrow(
      expect.objectContaining({ code: 'config_invalid_profile' }),
    );
    expect(() => resolveConfig({ configFile: file, env: { ...env, DH_NAME: 'DEFAULT' } })).toThrow(
      /\$DH_NAME/,
    );
    await expect(createClient({ configFile: file, env, profile: 'DEFAULT' })).rejects.toMatchObject({
      code: 'config_invalid_profile',
    });
    writeFileSync(file, `[DEFAULT]\ncurrent_environment = DEFAULT\ndhcore_endpoint = ${server().endpoint}\n`);
    expect(() => getCurrentProfile({ configFile: file, env })).toThrow(/current_environment/);
  });

  for (const args of [['login', '--pat', '-'], ['refresh'], ['token']]) {
    it(`dhcore -e DEFAULT ${args.join(' ')}: exit 3, one line, the file untouched`, async () => {
      const file = home().configFile;
      const text = `[DEFAULT]\ndhcore_endpoint = ${server().endpoint}\ndhcore_client_id = ${server().clientId}\n\n[dev]\n`;
      writeFileSync(file, text, { mode: 0o600 });
      const viaFlag = await runCli(['-e', 'DEFAULT', ...args], {
        env: cleanEnv(home().home),
        input: server().pat,
      });
      const viaEnv = await runCli(args, {
        env: cleanEnv(home().home, { DH_NAME: 'DEFAULT' }),
        input: server().pat,
      });
      for (const r of [viaFlag, viaEnv]) {
        expect(r.code, r.stderr).toBe(3);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^dhcore: DEFAULT .*cannot be a profile/);
      }
      expect(readFileSync(file, 'utf8')).toBe(text);
      expect(server().stats().tokenRequests).toBe(0);
    });
  }
});
