/** `DEBUG=dhcore*` logging of the store; `debug` is only loaded when DEBUG is set (cold start). */
let storeDebug: ((msg: string) => void) | undefined;

export function debugLog(msg: string): void {
  if (!process.env.DEBUG) return;
  if (storeDebug === undefined) {
    const { createRequire } = process.getBuiltinModule('node:module');
    storeDebug = (createRequire(import.meta.url)('debug') as typeof import('debug'))('dhcore:store');
  }
  storeDebug(msg);
}
