/**
 * An undici dispatcher that answers every request at once (200, a 15-byte JSON body, on the next tick, as a
 * socket would, with no I/O), installed as Node's global dispatcher: what is measured through it is fetch's
 * own work plus the client's. For bench/deadlines.mjs and bench/client-instructions.mjs.
 */
const BODY = Buffer.from('{"name":"demo"}');
const RAW_HEADERS = [
  Buffer.from('content-type'),
  Buffer.from('application/json'),
  Buffer.from('content-length'),
  Buffer.from(String(BODY.length)),
];

export const instant = {
  dispatch(_options, handler) {
    process.nextTick(() => {
      let aborted = false;
      handler.onConnect((err) => {
        if (aborted) return;
        aborted = true;
        handler.onError(err ?? new Error('aborted'));
      });
      if (aborted) return;
      handler.onResponseStarted?.();
      handler.onHeaders(200, RAW_HEADERS, () => {}, 'OK');
      handler.onData(BODY);
      handler.onComplete([]);
    });
    return true;
  },
};

/** Makes {@link instant} the dispatcher fetch sends to when it is given none (see src/client/wire-deadlines.ts). */
export async function installInstantDispatcher() {
  await fetch('data:,'); // fetch sets its global dispatcher on first use
  globalThis[Symbol.for('undici.globalDispatcher.1')] = instant;
}
