import { readFileSync } from 'node:fs';
import { IniDocument } from '../../src/config/ini.js';
import type { DevServer } from '../../src/dev-server/index.js';
import { cleanEnv, runCli, type tempHome } from './cli.js';

/** `dhcore register <dev server> -e dev` in a temp HOME; returns the env to run further commands with. */
export async function registeredHome(
  server: DevServer,
  home: ReturnType<typeof tempHome>,
  extra: Record<string, string> = {},
): Promise<NodeJS.ProcessEnv> {
  const env = cleanEnv(home.home, extra);
  const res = await runCli(['register', server.endpoint, '-e', 'dev'], { env });
  if (res.code !== 0) throw new Error(`register failed: ${res.stderr}`);
  return env;
}

/** The saved profile, as the file holds it. */
export function profileOf(configFile: string, profile = 'dev'): Record<string, string> {
  const doc = IniDocument.parse(readFileSync(configFile, 'utf8'), configFile);
  return doc.hasSection(profile) ? doc.items(profile) : {};
}

/** GET <endpoint>/api/auth with a bearer token: the DHCore check that credentials are good. */
export async function apiAuthStatus(server: DevServer, accessToken: string | undefined): Promise<number> {
  const res = await fetch(`${server.endpoint}/api/auth`, {
    headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {},
  });
  await res.arrayBuffer();
  return res.status;
}

/** The authorization URL `dhcore login` prints (indented on its own line). */
export const AUTH_URL_RE = /^\s+(http:\/\/127\.0\.0\.1:\d+\/auth\/authorize\?\S+)$/m;
/** The device code and the complete verification URL `dhcore login --device` prints. */
export const DEVICE_CODE_RE = /enter the code: (\S+)/;
export const DEVICE_COMPLETE_RE = /\(or open (http:\/\/\S+)\)/;

/** The `dhcore: …` error lines of a run's stderr. */
export function dhcoreErrorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('dhcore: '));
}
