import type { Command } from 'commander';
import { loginCommand } from '../../auth/messages.js';
import { dotenvSecrets } from '../../config/dotenv.js';
import { CONFIG_KEYS, CREDENTIAL_KEYS } from '../../config/keys.js';
import { resolveConfig } from '../../config/resolve.js';
import type { ResolvedConfig, ResolveOptions } from '../../config/types.js';
import { DHCoreError, type ErrorCategory, EXIT_CODES, errorCategory } from '../../errors.js';
import { printable } from '../../net/server-text.js';
import { redactUrl } from '../../redact.js';
import { warnOnce } from '../../warnings.js';
import { type GlobalOptions, globalOptions, printJson, printTable, resolveOptionsFrom } from '../context.js';

/** The offline part of `dhcore status`: what resolution decided. Never includes a secret value. */
function offlineStatus(config: ResolvedConfig) {
  return {
    profile: config.profile,
    configFile: config.configFile,
    endpoint: config.endpoint, // resolution refuses user info in the endpoint
    issuer: redactUrl(config.issuer),
    clientId: config.clientId ?? null,
    authMethod: config.authMethod,
    expiresAt: config.expiresAt ?? null,
    sources: { ...config.sources },
  };
}

/** What `GET <endpoint>/api/auth` said about the credentials. Never includes a secret value. */
interface OnlineStatus {
  /** Did DHCore answer at all? */
  reachable: boolean;
  /** true: 2xx; false: 401/403 or the token could not be obtained; null: unknown (server unreachable or failing). */
  authenticated: boolean | null;
  /** Who DHCore says we are (`name` of `/api/auth`). */
  user: string | null;
  authorities: string[];
  /** HTTP status of `/api/auth`, if it answered. */
  httpStatus: number | null;
  /** Expiry of the access token used (after any exchange/refresh), if known. */
  expiresAt: string | null;
  /** Why the check failed: a stable code and a message naming the fix. */
  error: { code: string; message: string } | null;
  /** The failure's category, when the check failed with an error (not part of the JSON output). */
  category?: ErrorCategory;
}

/** Time limit of the online check, so `dhcore status` never hangs on a dead endpoint. */
const ONLINE_TIMEOUT_MS = 10_000;

/** Call `/api/auth` with the profile's credentials (exchanging/refreshing them as any client would). */
async function onlineStatus(opts: ResolveOptions, config: ResolvedConfig): Promise<OnlineStatus> {
  const out: OnlineStatus = {
    reachable: false,
    authenticated: null,
    user: null,
    authorities: [],
    httpStatus: null,
    expiresAt: config.expiresAt ?? null,
    error: null,
  };
  try {
    // Loaded only here: `status --offline` needs no client.
    const { clientWith } = await import('../../client/client.js');
    const client = await clientWith(
      { ...opts, profile: config.profile, timeoutMs: ONLINE_TIMEOUT_MS },
      { refuseUnsaveable: true },
    );
    const res = await client.fetch('/api/auth', { headers: { accept: 'application/json' } });
    out.reachable = true;
    out.httpStatus = res.status;
    out.expiresAt = client.expiresAt ?? null;
    const body = await res.json().catch(() => undefined);
    if (res.ok) {
      out.authenticated = true;
      if (isRecord(body)) {
        const name = body.name ?? body.username ?? body.sub;
        out.user = typeof name === 'string' ? printable(name) : null;
        if (Array.isArray(body.authorities))
          out.authorities = body.authorities.filter(isString).map(printable);
      }
    } else if (res.status === 401 || res.status === 403) {
      out.authenticated = false;
      out.error = {
        code: res.status === 401 ? 'auth_rejected' : 'auth_forbidden',
        message:
          config.authMethod === 'none'
            ? `DHCore answered ${res.status}: profile "${config.profile}" has no credentials; run '${loginCommand(config.profile)}'.`
            : `DHCore answered ${res.status} to the ${config.authMethod} credentials of profile "${config.profile}"; run '${loginCommand(config.profile)}'.`,
      };
    } else {
      out.error = {
        code: 'http_error',
        message: `${config.endpoint}/api/auth answered HTTP ${res.status}; is ${config.endpoint} a DHCore endpoint?`,
      };
    }
  } catch (err) {
    const code = err instanceof DHCoreError ? err.code : 'unexpected';
    const message = err instanceof Error ? err.message.split('\n')[0]! : String(err);
    out.error = { code, message };
    out.category = errorCategory(err);
    // A refused token request (invalid_grant …) is an answer about the credentials; a network failure is not.
    if (out.category === 'auth') out.authenticated = false;
    // Any answer but "could not connect" shows the server (or the token endpoint) is there.
    const noAnswer = code === 'network_unreachable' || code === 'network_timeout';
    if (err instanceof DHCoreError && !noAnswer && out.category !== 'config') out.reachable = true;
  }
  return out;
}

/** Warn (names only) about `.env` files beside the config file or in HOME that hold DHCore secrets. */
function warnAboutDotenv(configFile: string): void {
  const { dirname, join } = process.getBuiltinModule('node:path');
  const home = process.env.HOME?.trim();
  const files = [join(dirname(configFile), '.env'), ...(home ? [join(home, '.env')] : [])];
  for (const { file, keys } of dotenvSecrets(files)) {
    warnOnce(
      `DHCORE_DOTENV_SECRETS:${file}`,
      `${file} holds ${keys.join(', ')} (written by another tool, such as the DigitalHub Python SDK); dhcore does not read it, but anyone who can read the file can use them: delete it or 'chmod 600 ${file}'.`,
    );
  }
}

function withoutCategory(online: OnlineStatus): Omit<OnlineStatus, 'category'> {
  const { category: _category, ...rest } = online;
  return rest;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

/** Exit code of an online status: 0 authenticated, else the failure's category (4 refused, 5 unreachable, …). */
function exitCodeOf(online: OnlineStatus): number {
  if (online.authenticated === true) return 0;
  if (online.category !== undefined && online.category !== 'unexpected') return EXIT_CODES[online.category];
  return online.authenticated === false ? EXIT_CODES.auth : EXIT_CODES.network;
}

/** A length of time in the unit a person would use: `42 s`, `5 min`, `1.5 h`, `5 days`, `13 months`, `6.9 years`. */
export function humanDuration(seconds: number): string {
  const oneDecimal = (n: number) => String(Math.round(n * 10) / 10);
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  // Units are chosen after rounding, so 3599.6 s is "1 h", never "60 min".
  if (Math.round(s / 60) < 60) return `${Math.round(s / 60)} min`;
  if (s / 3600 < 47.95) return `${oneDecimal(s / 3600)} h`;
  const days = s / 86_400;
  if (Math.round(days) < 60) return `${Math.round(days)} days`;
  const months = days / 30.44;
  if (Math.round(months) < 24) return `${Math.round(months)} months`;
  return `${oneDecimal(days / 365.25)} years`;
}

/** `<instant> (in 1 h)` / `<instant> (expired 5 days ago)`: the one wording of `status` and `refresh`. */
export function describeExpiry(expiresAt: string | null, now = Date.now()): string {
  if (!expiresAt) return 'unknown';
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) return `${expiresAt} (unreadable)`;
  const seconds = (at - now) / 1000;
  return seconds >= -0.5
    ? `${expiresAt} (in ${humanDuration(Math.max(0, seconds))})`
    : `${expiresAt} (expired ${humanDuration(-seconds)} ago)`;
}

export function register(program: Command): void {
  program
    .command('status')
    .description('Show which endpoint, profile and auth method apply, and where each value comes from')
    .option('--offline', 'do not contact DHCore; only show the resolved configuration')
    .addHelpText(
      'after',
      `
Without --offline, also calls <endpoint>/api/auth with the credentials (exchanging or refreshing
them if needed) and shows who you are and when the token expires. Exit code 0 when DHCore accepts
the credentials, 4 when it refuses them, 5 when it cannot be reached.

Examples:
  dhcore status
  dhcore status --offline
  dhcore status --json -e staging`,
    )
    .action((opts: { offline?: boolean }, cmd: Command) => statusAction(opts, globalOptions(cmd)));
}

/** What `dhcore status` does, once its command line is parsed (by commander or by fast.ts). */
export async function statusAction(opts: { offline?: boolean }, globals: GlobalOptions): Promise<void> {
  const resolveOpts = resolveOptionsFrom(globals);
  const config = resolveConfig(resolveOpts);
  const status = offlineStatus(config);
  warnAboutDotenv(config.configFile);
  const online = opts.offline ? undefined : await onlineStatus(resolveOpts, config);
  if (online) process.exitCode = exitCodeOf(online);
  if (globals.json) {
    printJson(online ? { ...status, ...withoutCategory(online) } : status);
    return;
  }
  printTable([
    ['profile', status.profile],
    ['config file', `${status.configFile}${config.fileExists ? '' : ' (not found)'}`],
    ['endpoint', status.endpoint],
    ['issuer', status.issuer],
    ['auth method', status.authMethod],
    ['expires at', describeExpiry(online ? online.expiresAt : status.expiresAt)],
    ['credentials', describeCredentials(status.sources)],
    ...(online ? onlineRows(online) : []),
  ]);
}

/** Which credential keys are set and where they came from; the rest of the profile only as a count. */
function describeCredentials(sources: Readonly<Record<string, string>>): string {
  const known = new Set<string>([...CREDENTIAL_KEYS, ...CONFIG_KEYS].map((k) => k.toLowerCase()));
  const credentials = CREDENTIAL_KEYS.map((k) => k.toLowerCase())
    .filter((key) => sources[key] !== undefined && key !== 'dhcore_expires_at')
    .map((key) => `${key.replace(/^dhcore_/, '')} (${sources[key]})`);
  const others = Object.keys(sources).filter((key) => !known.has(key)).length;
  const text = credentials.length > 0 ? credentials.join(', ') : 'none';
  return others > 0 ? `${text}; ${others} other key${others === 1 ? '' : 's'} (--json lists them)` : text;
}

function onlineRows(online: OnlineStatus): Array<readonly [string, string]> {
  const rows: Array<readonly [string, string]> = [];
  const state =
    online.authenticated === true
      ? 'yes'
      : online.authenticated === false
        ? 'no'
        : online.reachable
          ? 'unknown'
          : 'unknown (DHCore not reachable)';
  rows.push(['authenticated', state]);
  if (online.user !== null) rows.push(['user', online.user]);
  if (online.authorities.length > 0) rows.push(['authorities', online.authorities.join(', ')]);
  if (online.error) rows.push(['problem', online.error.message]);
  return rows;
}
