/**
 * Per-call time limits kept at the transport, with no `AbortSignal` for fetch to follow (see
 * {@link WireDeadlines}).
 */

/**
 * Where undici keeps its global dispatcher: a `globalThis` key that Node's own undici and the npm package both
 * use, so that `setGlobalDispatcher()` from either applies to Node's fetch. undici versions the key with its
 * Dispatcher API ("…1") and has kept it since Node 18; Node offers no other way to reach that dispatcher.
 * Requests without a caller `dispatcher` go there, exactly where fetch would have sent them.
 */
const GLOBAL_DISPATCHER = Symbol.for('undici.globalDispatcher.1');

/** What fetch asks of the `dispatcher` of a request (the part of undici's `Dispatcher` that fetch uses). */
export interface Dispatcher {
  dispatch(options: unknown, handler: unknown): boolean;
  readonly isMockActive?: boolean;
}

type Abort = (reason?: Error) => void;

/**
 * The handler fetch passes to `dispatch()` (undici's handler interface, as Node's fetch has used it since
 * Node 18): `onConnect` receives the function that aborts the request and closes its connection, `onComplete`
 * or `onError` ends the request, body included.
 */
interface FetchHandler {
  onConnect(abort: Abort, context?: unknown): unknown;
  onComplete(trailers: unknown): unknown;
  onError(error: Error): unknown;
}

/**
 * Calls that started within one window, and the requests of theirs that are on the wire (or waiting for a
 * connection). The requests are a list threaded through the hops themselves, not a `Set`: adding and removing
 * one is then a few stores, with no hash table to grow, shrink and keep alive for the bucket's 30 s.
 */
class Bucket {
  /** Set by the bucket's timer: its calls are out of time. */
  expired = false;
  #first: Hop | undefined;

  add(hop: Hop): void {
    const first = this.#first;
    hop.next = first;
    if (first !== undefined) first.prev = hop;
    this.#first = hop;
  }

  /** Takes `hop` off the list (a hop not on it is left as it is). */
  remove(hop: Hop): void {
    const { prev, next } = hop;
    if (prev !== undefined) prev.next = next;
    else if (this.#first === hop) this.#first = next;
    else return;
    if (next !== undefined) next.prev = prev;
    hop.prev = undefined;
    hop.next = undefined;
  }

  /** Time is up: aborts every request still on the wire. */
  expire(): void {
    this.expired = true;
    // Taken off the list first: aborting one request may end others (a hop under another's), which then leave.
    const hops: Hop[] = [];
    for (let hop = this.#first; hop !== undefined; hop = hop.next) hops.push(hop);
    this.#first = undefined;
    for (const hop of hops) hop.expire();
  }
}

/**
 * Node's fetch pays for every `signal` it is given: undici follows it with a listener, a `WeakRef` and a
 * `FinalizationRegistry` entry per request, kept until the request is garbage-collected. Against a fast server
 * that is several percent of the throughput. These limits cost one small object per call and one per request
 * sent instead: each call gets a {@link CallDeadline}, which fetch is given as its `dispatcher`; it hands every
 * request of the call (redirect hops, the 401 retry) to the dispatcher that would have sent it, and keeps the
 * request's abort function while the request is on the wire. Calls that start within one short window share a
 * bucket with one unref'd timer, which aborts what is still on the wire when the bucket's time is up: each call
 * is stopped between `timeoutMs` and `timeoutMs` + window after it started, reading the body included.
 *
 * Only a fetch that sends through the dispatcher it is given can be limited this way (Node's, or a wrapper that
 * passes `init` on). Until one request shows it does, calls carry a deadline signal as well; when a response
 * comes back without its request going through the dispatcher (a fetch that ignores `dispatcher`), the owner
 * is told to use signals from then on ({@link refused}).
 */
export class WireDeadlines<S> {
  readonly #timeoutMs: number;
  readonly #windowMs: number;
  readonly #reason: (subject: S) => Error;
  #bucket: Bucket | undefined;
  /** `performance.now()` at which the current bucket stops taking calls (monotonic: immune to clock changes). */
  #closesAt = 0;
  /** Has fetch sent a request through a call's dispatcher, with the handler this is written for? */
  proven = false;
  /** Has fetch shown it cannot be limited this way? Then the owner uses signals. */
  refused = false;

  /** `reason(subject)` is the error a call about `subject` fails with when its time is up. */
  constructor(timeoutMs: number, reason: (subject: S) => Error) {
    this.#timeoutMs = timeoutMs;
    this.#windowMs = Math.min(100, timeoutMs / 100);
    this.#reason = reason;
  }

  /**
   * The deadline of a call starting now, to give fetch as `init.dispatcher`. `next` is the caller's own
   * `dispatcher`, if any; without one, each request goes to the global dispatcher.
   */
  call(subject: S, next: Dispatcher | undefined): CallDeadline<S> {
    const now = performance.now();
    let bucket = this.#bucket;
    if (bucket === undefined || now >= this.#closesAt) {
      bucket = new Bucket();
      this.#bucket = bucket;
      this.#closesAt = now + this.#windowMs;
      // unref: a deadline alone must not keep the process alive (a pending request's socket does).
      setTimeout(expire, this.#timeoutMs + this.#windowMs, bucket).unref();
    }
    return new CallDeadline(this, bucket, subject, next);
  }

  /** The error for `subject`'s call (made once per call, when its time is up). */
  reason(subject: S): Error {
    return this.#reason(subject);
  }
}

function expire(bucket: Bucket): void {
  bucket.expire();
}

function globalDispatcher(): Dispatcher {
  const dispatcher = (globalThis as { [GLOBAL_DISPATCHER]?: Dispatcher })[GLOBAL_DISPATCHER];
  // fetch loads undici, which sets it, before it dispatches anything: only a foreign fetch gets here.
  if (dispatcher === undefined) throw new TypeError('no global undici dispatcher to send the request with');
  return dispatcher;
}

/** One call's time limit, and the `dispatcher` its requests go through. */
export class CallDeadline<S> implements Dispatcher {
  readonly #owner: WireDeadlines<S>;
  readonly #bucket: Bucket;
  readonly #subject: S;
  readonly #next: Dispatcher | undefined;
  #reason: Error | undefined;
  /** Requests fetch sent through this call (a fetch that ignores `dispatcher` sends none). */
  #dispatched = 0;
  /** {@link #dispatched} when the call's latest hop was handed to fetch. */
  #dispatchedBefore = 0;

  constructor(owner: WireDeadlines<S>, bucket: Bucket, subject: S, next: Dispatcher | undefined) {
    this.#owner = owner;
    this.#bucket = bucket;
    this.#subject = subject;
    this.#next = next;
  }

  /** A hop of the call is handed to fetch now. */
  hopSent(): void {
    this.#dispatchedBefore = this.#dispatched;
  }

  /** Did the answer to the latest hop come without its request going through this dispatcher? */
  get bypassed(): boolean {
    return this.#dispatched === this.#dispatchedBefore;
  }

  /** Did the limit stop a request of this call? */
  get timedOut(): boolean {
    return this.#reason !== undefined;
  }

  /** The error the call's requests were stopped with (made on first use). */
  reason(): Error {
    this.#reason ??= this.#owner.reason(this.#subject);
    return this.#reason;
  }

  get isMockActive(): boolean | undefined {
    return (this.#next ?? globalDispatcher()).isMockActive;
  }

  dispatch(options: unknown, handler: unknown): boolean {
    this.#dispatched++;
    const target = this.#next ?? globalDispatcher();
    const h = handler as FetchHandler;
    if (
      typeof h.onConnect !== 'function' ||
      typeof h.onComplete !== 'function' ||
      typeof h.onError !== 'function'
    ) {
      // Not the handler this is written for: this call keeps its signal (unproven), later ones use signals.
      this.#owner.refused = true;
      return target.dispatch(options, handler);
    }
    this.#owner.proven = true;
    const hop = new Hop(this, h, this.#bucket);
    if (this.#bucket.expired) {
      // Out of time before this request was sent (a slow token refresh, a late redirect hop): fail it unsent.
      hop.expire();
      return true;
    }
    this.#bucket.add(hop);
    return target.dispatch(options, handler);
  }
}

/** Where a handler keeps the {@link Hop} it belongs to while its request is on the wire. */
const HOP = Symbol('dhcore.hop');

interface HopHandler extends FetchHandler {
  [HOP]: Hop;
}

// The steps a handler gets while its request is on the wire: the same three functions for every request (the
// hop is found through the handler), not closures made per request. undici then calls the same functions on
// handlers of one shape, as it does for requests without a limit, and its calls stay fast; fresh closures in
// every request cost the limited requests several microseconds each in undici's own code.
function onConnect(this: HopHandler, abort: Abort, context?: unknown): unknown {
  return this[HOP].connect(abort, context);
}
function onComplete(this: HopHandler, trailers: unknown): unknown {
  return this[HOP].complete(trailers);
}
function onError(this: HopHandler, error: Error): unknown {
  return this[HOP].error(error);
}

/**
 * One request of a call: fetch's handler, with its connect, complete and error steps observed. The steps are
 * replaced on the handler itself (it already has them); wrapping the handler in another object would have to
 * forward every step undici may call, today's and tomorrow's. A handler that already has a hop (the request is
 * under two calls' deadlines: a client's fetch sent through another client, `globalThis.fetch = client.fetch`)
 * keeps it: the new hop sees each step first and hands it on to that one.
 */
class Hop {
  readonly #call: { reason(): Error };
  readonly #handler: FetchHandler;
  readonly #bucket: Bucket;
  /** The hop already on the handler, which gets each step after this one; else fetch's own steps. */
  readonly #inner: Hop | undefined;
  readonly #onConnect: FetchHandler['onConnect'];
  readonly #onComplete: FetchHandler['onComplete'];
  readonly #onError: FetchHandler['onError'];
  /** Neighbours in the bucket's list of requests on the wire. */
  prev: Hop | undefined;
  next: Hop | undefined;
  #abort: Abort | undefined;
  #done = false;
  /** Did this hop tell fetch of the failure itself (before undici had the request)? */
  #failed = false;

  constructor(call: { reason(): Error }, handler: FetchHandler, bucket: Bucket) {
    this.#call = call;
    this.#handler = handler;
    this.#bucket = bucket;
    const h = handler as HopHandler;
    this.#inner = h[HOP];
    this.#onConnect = handler.onConnect;
    this.#onComplete = handler.onComplete;
    this.#onError = handler.onError;
    h[HOP] = this;
    h.onConnect = onConnect;
    h.onComplete = onComplete;
    h.onError = onError;
  }

  connect(abort: Abort, context: unknown): unknown {
    if (this.#failed) {
      // Failed while it waited for its connection: close that connection now.
      abort(this.#call.reason());
      return undefined;
    }
    this.#abort = abort;
    if (this.#inner !== undefined) return this.#inner.connect(abort, context);
    return this.#onConnect.call(this.#handler, abort, context);
  }

  complete(trailers: unknown): unknown {
    this.#finish();
    if (this.#inner !== undefined) return this.#inner.complete(trailers);
    return this.#onComplete.call(this.#handler, trailers);
  }

  error(error: Error): unknown {
    if (this.#failed) return undefined; // fetch was told already
    this.#finish();
    return this.#fail(error);
  }

  /** Time is up: abort the request (undici then reports it through onError), or fail it now if not sent. */
  expire(): void {
    if (this.#done) return;
    const reason = this.#call.reason();
    if (this.#abort !== undefined) {
      this.#abort(reason);
      return;
    }
    this.#finish();
    this.#failed = true;
    this.#fail(reason);
  }

  /** Tells fetch of the failure, through the hop under this one (which tells it only once). */
  #fail(error: Error): unknown {
    if (this.#inner !== undefined) return this.#inner.error(error);
    return this.#onError.call(this.#handler, error);
  }

  #finish(): void {
    this.#done = true;
    if (!this.#bucket.expired) this.#bucket.remove(this);
  }
}
