/**
 * The current profile: `[DEFAULT] current_environment` of the config file (shared with the Python SDK and
 * dhcli), and the choice `setCurrentProfile()` made in this process, which — as in the Python SDK — applies at
 * once, even over `$DH_NAME`.
 */
import { CURRENT_ENVIRONMENT_KEY } from '../config/keys.js';
import { chooseProfile, configFileFrom, unknownProfileError, validProfileName } from '../config/location.js';
import { readConfigDocument } from '../config/resolve.js';
import type { ResolveOptions } from '../config/types.js';
import { editConfigFile } from '../store/config-file.js';
import { warnOnce } from '../warnings.js';

let current: string | undefined;

/** Set (or with undefined, forget) this process's choice; tests reset it. */
export function setCurrentProfileOverride(name: string | undefined): void {
  current = name;
}

/** Resolution options with this process's current profile, unless one is given. */
export function withCurrentProfile<T extends ResolveOptions>(opts: T): T {
  return opts.profile || current === undefined ? opts : { ...opts, profile: current };
}

/** Where the profile choice is read from / written to. */
export interface ProfileFileOptions {
  /** Environment to read `DH_CONFIG` / `DH_NAME` / `HOME` from (default `process.env`). */
  env?: ResolveOptions['env'];
  /** Config file (default `$DH_CONFIG`, else `~/.dhcore.ini`). */
  configFile?: string;
}

/** Options of {@link setCurrentProfile}. */
export interface SetCurrentProfileOptions extends ProfileFileOptions {
  /** Add an empty `[name]` section when the profile does not exist yet (default: refuse). */
  create?: boolean;
}

/** The config file these options name. */
export function configFileFor(opts: ProfileFileOptions): string {
  return configFileFrom(opts.configFile, opts.env ?? process.env);
}

/**
 * The profile in use, chosen like every other call: `setCurrentProfile()` in this process > `$DH_NAME` >
 * `[DEFAULT] current_environment` of the config file > `__default`. Reads the file, no network.
 *
 * @example
 * import { getCurrentProfile } from 'dhcore-credentials';
 * console.log(getCurrentProfile()); // 'staging'
 */
export function getCurrentProfile(opts: ProfileFileOptions = {}): string {
  if (current !== undefined) return current;
  const doc = readConfigDocument(configFileFor(opts));
  return chooseProfile(undefined, opts.env ?? process.env, doc?.get('DEFAULT', CURRENT_ENVIRONMENT_KEY))
    .profile;
}

/**
 * Make `name` the current profile: writes `[DEFAULT] current_environment = name` to the config file (atomically,
 * under the file lock, keeping every other line as it was), and makes every later call in this process use it —
 * also when `$DH_NAME` names another profile, as in the Python SDK. Refuses a profile the file does not have
 * (`ConfigError` `config_unknown_profile`) unless `{ create: true }`. Returns the previous current profile.
 *
 * @example
 * import { setCurrentProfile, createClient } from 'dhcore-credentials';
 * await setCurrentProfile('staging');
 * const client = await createClient(); // client.profile === 'staging'
 */
export async function setCurrentProfile(name: string, opts: SetCurrentProfileOptions = {}): Promise<void> {
  const profile = validProfileName(name, 'choose another name');
  const file = configFileFor(opts);
  await useProfileIn(file, profile, {
    create: opts.create === true,
    fix: `Pass { create: true } to add it, or run 'dhcore register <endpoint> -e ${profile}'`,
  });
  current = profile;
  const fromEnv = (opts.env ?? process.env).DH_NAME?.trim();
  if (fromEnv && fromEnv !== profile) {
    warnOnce(
      'DHCORE_DH_NAME_OVERRIDDEN',
      `Current profile set to "${profile}" for this process and in ${file}, but DH_NAME=${fromEnv} is set: other processes started with it will keep using "${fromEnv}".`,
    );
  }
}

/**
 * Write `[DEFAULT] current_environment = profile` (under the lock); refuses an unknown profile unless `create`.
 * Returns the previous current profile.
 */
export function useProfileIn(
  file: string,
  profile: string,
  opts: { create?: boolean; fix?: string } = {},
): Promise<string | undefined> {
  return editConfigFile(file, (doc) => {
    if (!doc.hasSection(profile)) {
      if (!opts.create) {
        throw unknownProfileError(profile, file, doc.sections(), opts.fix ? { fix: opts.fix } : {});
      }
      doc.addSection(profile);
    }
    const before = doc.get('DEFAULT', CURRENT_ENVIRONMENT_KEY)?.trim() || undefined;
    if (before !== profile || !doc.hasSection('DEFAULT'))
      doc.set('DEFAULT', CURRENT_ENVIRONMENT_KEY, profile);
    return before;
  });
}
