/**
 * One request, normalised from the `fetch(input, init)` arguments: what every hop, redirect and the 401 retry
 * are built from, and the header edits they need.
 */
import { isAbsoluteUrl, joinEndpoint } from '../net/origin.js';
import type { CallDeadline } from './wire-deadlines.js';

// Without the DOM lib these names are not global; derive them from Node's RequestInit.
export type HeadersInit = NonNullable<RequestInit['headers']>;
export type BodyInit = NonNullable<RequestInit['body']>;
type RequestRedirect = NonNullable<RequestInit['redirect']>;

export interface Prepared {
  url: string;
  /** Is `url` known to be on the endpoint's origin without parsing it (a relative path)? */
  relative: boolean;
  method: string;
  headers: HeadersInit | undefined;
  body: BodyInit | null | undefined;
  /** Can the body be sent again (redirect 307/308, 401 retry)? Streams cannot. */
  replayable: boolean;
  redirect: RequestRedirect;
  signal: AbortSignal | undefined;
  /** Remaining `RequestInit` fields (`dispatcher`, `keepalive`, …), passed through. */
  rest: RequestInit | undefined;
  /** Did the caller set `Authorization` themselves? Then it is theirs: not replaced, no refresh on 401. */
  callerAuth: boolean;
  /** The call's time limit at the transport, given to fetch as its `dispatcher` (set by the client). */
  deadline: CallDeadline<Prepared> | undefined;
  /** The call's deadline signal, when a signal keeps the limit (set by the client). */
  timeout: AbortSignal | undefined;
}

/** Headers describing a body: dropped when a redirect turns the request into a GET. */
export const BODY_HEADERS = [
  'content-type',
  'content-length',
  'content-encoding',
  'content-language',
  'content-location',
] as const;

export function prepare(
  input: string | URL | Request,
  init: RequestInit | undefined,
  endpoint: string,
): Prepared {
  if (typeof input === 'string' || input instanceof URL) {
    const relative = typeof input === 'string' && !isAbsoluteUrl(input);
    const url = relative ? joinEndpoint(endpoint, input as string) : String(input);
    const headers = init?.headers;
    const body = init?.body;
    return {
      url,
      relative,
      method: init?.method?.toUpperCase() ?? 'GET',
      headers,
      body,
      replayable: !isStream(body),
      redirect: init?.redirect ?? 'follow',
      signal: init?.signal ?? undefined,
      rest: init,
      callerAuth: headers !== undefined && new Headers(headers).has('authorization'),
      deadline: undefined,
      timeout: undefined,
    };
  }
  // A Request: its body (if any) is a stream and can be sent once.
  const request = init ? new Request(input, init) : input;
  const headers = new Headers(request.headers);
  return {
    url: request.url,
    relative: false,
    method: request.method,
    headers,
    body: request.body,
    replayable: request.body === null,
    redirect: request.redirect,
    signal: request.signal,
    rest: undefined,
    callerAuth: headers.has('authorization'),
    deadline: undefined,
    timeout: undefined,
  };
}

/**
 * The `RequestInit` of one hop: the caller's fields, with ours in their place. Built as one literal: an object
 * that grows property by property (or from a spread) costs more per request than fetch's own init handling.
 */
export function hopInit(
  p: Prepared,
  method: string,
  headers: HeadersInit | undefined,
  body: BodyInit | null | undefined,
  dispatcher: object | undefined,
): RequestInit {
  const init: RequestInit & Record<string, unknown> = {
    method,
    headers,
    body,
    signal: p.signal,
    // Redirects are followed by hand, so credentials stay on the endpoint's origin.
    redirect: p.redirect === 'error' ? 'error' : 'manual',
    duplex: isStream(body) ? 'half' : undefined,
    // The call's deadline sends through the caller's dispatcher itself.
    dispatcher: (dispatcher ?? p.rest?.dispatcher) as RequestInit['dispatcher'],
  };
  const rest = p.rest;
  if (rest !== undefined) {
    for (const key of Object.keys(rest)) {
      if (!(key in init)) init[key] = (rest as Record<string, unknown>)[key];
    }
  }
  return init;
}

/** Bodies that can only be read once: web streams, Node streams and other async iterables. */
export function isStream(body: BodyInit | null | undefined): boolean {
  if (body === null || body === undefined || typeof body === 'string') return false;
  if (body instanceof ReadableStream) return true;
  return typeof (body as { [Symbol.asyncIterator]?: unknown })[Symbol.asyncIterator] === 'function';
}

export function withAuthorization(
  headers: HeadersInit | undefined,
  auth: string | undefined,
): HeadersInit | undefined {
  if (auth === undefined) return headers;
  if (headers === undefined) return { authorization: auth };
  const merged = new Headers(headers);
  if (!merged.has('authorization')) merged.set('authorization', auth);
  return merged;
}

export function without(headers: HeadersInit | undefined, names: readonly string[]): HeadersInit | undefined {
  if (headers === undefined) return undefined;
  const copy = new Headers(headers);
  for (const name of names) copy.delete(name);
  return copy;
}
