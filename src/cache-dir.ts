/**
 * dhcore's folder of caches: `$XDG_CACHE_HOME/dhcore`, else `~/.cache/dhcore` (the token cache, and the CLI's
 * code cache in its `code/` folder). Made 0700 by whoever writes there first.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** `$XDG_CACHE_HOME/dhcore`, else `~/.cache/dhcore`. */
export function cacheDir(env: Env): string {
  const { join } = process.getBuiltinModule('node:path');
  const xdg = env.XDG_CACHE_HOME?.trim();
  if (xdg) return join(xdg, 'dhcore');
  const home = env.HOME?.trim() || env.USERPROFILE?.trim() || process.getBuiltinModule('node:os').homedir();
  return join(home, '.cache', 'dhcore');
}
