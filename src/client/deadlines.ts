/**
 * Per-request time limits by signal, without a timer per request (see {@link SharedDeadlines}): for a fetch
 * that cannot be limited at the transport (wire-deadlines.ts).
 */

/**
 * Deadline signals for requests without a caller signal. Node's fetch pays for every signal it is given (undici
 * follows it with a listener, a WeakRef and a FinalizationRegistry entry), and a fresh signal per request
 * (`AbortSignal.timeout()`, or a controller and a timer) costs 60–95 µs of CPU in all, about a tenth of the
 * throughput; a shared one about half of that. Requests that start within one short window share a signal
 * that aborts `timeoutMs` after the window closes, so each is aborted between `timeoutMs` and `timeoutMs` +
 * window after it started. At most {@link REQUESTS_PER_SIGNAL} share one: undici drops a request's listener
 * only when the request is garbage-collected, lists all of a signal's listeners for every request it adds,
 * and from 10 of them (events' `defaultMaxListeners`) on also resets the signal's listener limit each time.
 * (Not `setMaxListeners(0, signal)`: in Node 20 undici then creates and swallows an error per request.)
 */
export class SharedDeadlines {
  readonly #timeoutMs: number;
  readonly #windowMs: number;
  readonly #reason: () => Error;
  #signal: AbortSignal | undefined;
  #users = 0;
  /** `performance.now()` at which the current signal stops taking requests (monotonic: immune to clock changes). */
  #closesAt = 0;

  /** `reason()` is what a signal aborts with when its time is up (and what a body read then fails with). */
  constructor(timeoutMs: number, reason: () => Error) {
    this.#timeoutMs = timeoutMs;
    this.#windowMs = Math.min(100, timeoutMs / 100);
    this.#reason = reason;
  }

  /** The signal for a request starting now. */
  signal(): AbortSignal {
    const now = performance.now();
    if (this.#signal !== undefined && now < this.#closesAt && this.#users < REQUESTS_PER_SIGNAL) {
      this.#users++;
      return this.#signal;
    }
    const controller = new AbortController();
    // unref: a deadline alone must not keep the process alive (a pending request's socket does).
    setTimeout(() => controller.abort(this.#reason()), this.#timeoutMs + this.#windowMs).unref();
    this.#signal = controller.signal;
    this.#users = 1;
    this.#closesAt = now + this.#windowMs;
    return this.#signal;
  }
}

/** Requests sharing one deadline signal: below the 10 listeners at which undici starts counting them. */
const REQUESTS_PER_SIGNAL = 8;
