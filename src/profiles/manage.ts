/**
 * The profiles of a config file: list them, remove one. (Adding one is `registerProfile`, choosing the current
 * one `setCurrentProfile` / `useProfileIn`.) Only the file is looked at: environment variables do not apply.
 */
import { CURRENT_ENVIRONMENT_KEY } from '../config/keys.js';
import { unknownProfileError, validProfileName } from '../config/location.js';
import { chooseAuthMethod, profileValues, readConfigDocument } from '../config/resolve.js';
import type { AuthMethod } from '../config/types.js';
import { redactUrl } from '../redact.js';
import { editConfigFile } from '../store/config-file.js';

/** One profile of the file; never a secret, only which kind of credentials it holds. */
export interface ProfileSummary {
  name: string;
  endpoint: string | null;
  current: boolean;
  authMethod: AuthMethod;
  expiresAt: string | null;
}

export interface ProfileList {
  configFile: string;
  /** Whether the file exists. */
  exists: boolean;
  /** `[DEFAULT] current_environment`, if set (it may name a profile the file does not have). */
  current: string | undefined;
  profiles: ProfileSummary[];
}

/** The profiles of `file`, in file order. */
export function listProfiles(file: string): ProfileList {
  const doc = readConfigDocument(file);
  const current = doc?.get('DEFAULT', CURRENT_ENVIRONMENT_KEY)?.trim() || undefined;
  const profiles = (doc?.sections() ?? []).map((name): ProfileSummary => {
    const values = profileValues(doc, name) ?? {};
    return {
      name,
      endpoint: values.dhcore_endpoint === undefined ? null : redactUrl(values.dhcore_endpoint),
      current: name === current,
      authMethod: chooseAuthMethod((k) => values[k] || undefined),
      expiresAt: values.dhcore_expires_at ?? null,
    };
  });
  return { configFile: file, exists: doc !== null, current, profiles };
}

/** Names of the profiles in `file`. */
export function profileNames(file: string): string[] {
  return readConfigDocument(file)?.sections() ?? [];
}

/** Throw the unknown-profile error unless `file` has `[name]`; fails before taking any lock. */
export function requireProfile(file: string, name: string, fix?: string): void {
  const known = profileNames(file);
  if (!known.includes(name)) throw unknownProfileError(name, file, known, fix ? { fix } : {});
}

/**
 * Delete `[name]` and everything saved in it; clears `current_environment` if it named it. Returns whether
 * it was the current profile. Other sections, keys and comments stay as they are.
 */
export async function removeProfile(file: string, nameArg: string): Promise<{ wasCurrent: boolean }> {
  const name = validProfileName(nameArg, "see 'dhcore list-env'");
  const fix = "See 'dhcore list-env' for the profiles there are";
  requireProfile(file, name, fix);
  return editConfigFile(file, (doc) => {
    if (!doc.hasSection(name)) throw unknownProfileError(name, file, doc.sections(), { fix });
    doc.removeSection(name);
    const wasCurrent = doc.get('DEFAULT', CURRENT_ENVIRONMENT_KEY)?.trim() === name;
    if (wasCurrent) doc.delete('DEFAULT', CURRENT_ENVIRONMENT_KEY);
    return { wasCurrent };
  });
}
