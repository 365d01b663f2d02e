import { ConfigError } from '../errors.js';
import { CURRENT_ENVIRONMENT_KEY, DEFAULT_PROFILE } from './keys.js';

// A builtin through process.getBuiltinModule(), not an ESM import: shorter cold start (see resolve.ts).
const { join } = process.getBuiltinModule('node:path');

type Env = Readonly<Record<string, string | undefined>>;

function homeOf(env: Env): string {
  return env.HOME?.trim() || env.USERPROFILE?.trim() || process.getBuiltinModule('node:os').homedir();
}

/**
 * A leading `~` or `~/` as the home folder. A shell expands it only at the start of a word, so
 * `--config=~/p.ini` and a quoted `"~/p.ini"` (or `DH_CONFIG="~/p.ini"`) would otherwise name a folder `~`.
 */
export function expandHome(path: string, env: Env = process.env): string {
  if (path === '~') return homeOf(env);
  return path.startsWith('~/') ? join(homeOf(env), path.slice(2)) : path;
}

/** `$DH_CONFIG` if set, else `~/.dhcore.ini` (HOME from the given environment, so tests can redirect it). */
export function configFilePath(env: Env = process.env): string {
  const explicit = env.DH_CONFIG?.trim();
  if (explicit) return expandHome(explicit, env);
  return join(homeOf(env), '.dhcore.ini');
}

/** The config file: the one given (`--config`, the `configFile` option), else {@link configFilePath}. */
export function configFileFrom(given: string | undefined, env: Env = process.env): string {
  const explicit = given?.trim();
  return explicit ? expandHome(explicit, env) : configFilePath(env);
}

/** How the config file was chosen, for messages: given explicitly, `$DH_CONFIG`, or the default. */
export function configFileOrigin(file: string, env: Env = process.env): 'option' | 'env' | 'default' {
  if (env.DH_CONFIG?.trim() && configFilePath(env) === file) return 'env';
  if (join(homeOf(env), '.dhcore.ini') === file && !env.DH_CONFIG?.trim()) return 'default';
  return 'option';
}

export type ProfileOrigin = 'option' | 'env' | 'file' | 'default';

/**
 * Profile: explicit option > `$DH_NAME` > `[DEFAULT] current_environment` > `__default`. `DEFAULT` is never a
 * profile (it is configparser's defaults section, inherited by every profile): naming it is a `ConfigError`.
 */
export function chooseProfile(
  option: string | undefined,
  env: Env,
  currentEnvironment: string | undefined,
): { profile: string; origin: ProfileOrigin } {
  const choice = pick(option, env, currentEnvironment);
  if (choice.profile === 'DEFAULT') {
    const where = {
      option: '-e/--env (or the profile option)',
      env: '$DH_NAME',
      file: '[DEFAULT] current_environment',
      default: '',
    }[choice.origin];
    throw new ConfigError(
      'config_invalid_profile',
      `DEFAULT (from ${where}) cannot be a profile: it is the defaults section every profile inherits. Name a profile with -e <name>, or see 'dhcore list-env'.`,
    );
  }
  return choice;
}

function pick(
  option: string | undefined,
  env: Env,
  currentEnvironment: string | undefined,
): { profile: string; origin: ProfileOrigin } {
  const fromOption = option?.trim();
  if (fromOption) return { profile: fromOption, origin: 'option' };
  const fromEnv = env.DH_NAME?.trim();
  if (fromEnv) return { profile: fromEnv, origin: 'env' };
  const fromFile = currentEnvironment?.trim();
  if (fromFile) return { profile: fromFile, origin: 'file' };
  return { profile: DEFAULT_PROFILE, origin: 'default' };
}

export { CURRENT_ENVIRONMENT_KEY };

/** Where the chosen profile's name came from, for messages. */
const ORIGIN_TEXT: Record<ProfileOrigin, string> = {
  option: '',
  env: ' (from $DH_NAME)',
  file: ' (from [DEFAULT] current_environment)',
  default: '',
};

/**
 * The one "unknown profile" error: names the file, the profiles it has, and the fix (`fix` replaces the
 * default hint, for commands where adding the profile is not the answer).
 */
export function unknownProfileError(
  profile: string,
  file: string,
  known: readonly string[],
  opts: { origin?: ProfileOrigin; fix?: string } = {},
): ConfigError {
  const list = known.length > 0 ? `known profiles: ${known.join(', ')}` : 'the file has no profiles yet';
  const fix = opts.fix ?? `Add it with 'dhcore register <endpoint> -e ${profile}'`;
  return new ConfigError(
    'config_unknown_profile',
    `Unknown profile '${profile}'${ORIGIN_TEXT[opts.origin ?? 'option']} in ${file}; ${list}. ${fix}.`,
    { file },
  );
}

/** Refuse what cannot be a profile name: empty, `DEFAULT` (configparser's defaults section), brackets, line breaks. */
export function validProfileName(name: string, fix: string): string {
  const profile = name.trim();
  if (!profile || /[[\]\r\n]/.test(profile) || profile === 'DEFAULT') {
    throw new ConfigError(
      'config_invalid_profile',
      `"${name}" cannot be a profile name (use a non-empty name without brackets or line breaks, other than DEFAULT); ${fix}.`,
    );
  }
  return profile;
}
