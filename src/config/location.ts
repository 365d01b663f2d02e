import { CURRENT_ENVIRONMENT_KEY, DEFAULT_PROFILE } from './keys.js';

// A builtin through process.getBuiltinModule(), not an ESM import: shorter cold start (see resolve.ts).
const { join } = process.getBuiltinModule('node:path');

type Env = Readonly<Record<string, string | undefined>>;

/** `$DH_CONFIG` if set, else `~/.dhcore.ini` (HOME from the given environment, so tests can redirect it). */
export function configFilePath(env: Env = process.env): string {
  const explicit = env.DH_CONFIG?.trim();
  if (explicit) return explicit;
  const home = env.HOME?.trim() || env.USERPROFILE?.trim() || process.getBuiltinModule('node:os').homedir();
  return join(home, '.dhcore.ini');
}

export type ProfileOrigin = 'option' | 'env' | 'file' | 'default';

/** Profile: explicit option > `$DH_NAME` > `[DEFAULT] current_environment` > `__default`. */
export function chooseProfile(
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
