import { withoutSecrets } from './secrets.js';

const emitted = new Set<string>();

/**
 * Emit a process warning once per `key` (e.g. "config file is world-readable"), so a long-running program
 * is told about a problem without its logs being flooded. Never pass a secret in `message`.
 */
export function warnOnce(key: string, message: string): void {
  if (emitted.has(key)) return;
  emitted.add(key);
  process.emitWarning(withoutSecrets(message), { type: 'DHCoreWarning', code: key });
}
