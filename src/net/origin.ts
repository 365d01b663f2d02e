/**
 * Where credentials may go: only to the endpoint's origin — never to another origin given as an absolute URL,
 * never across a redirect to another origin. Pure helpers, no I/O.
 */

const ABSOLUTE = /^[a-z][a-z\d+\-.]*:/i;

/** Does `target` carry a scheme (`https://…`, `http://…`, `data:…`)? Anything else is a path on the endpoint. */
export function isAbsoluteUrl(target: string): boolean {
  return ABSOLUTE.test(target);
}

/**
 * `endpoint` + `path`, keeping any path prefix of the endpoint (`https://host/dhcore` + `/api/auth`). A path
 * always gets a leading `/`, so `@evil.example` can never become the authority of the URL.
 */
export function joinEndpoint(endpoint: string, path: string): string {
  return path.charCodeAt(0) === 47 /* '/' */ ? endpoint + path : `${endpoint}/${path}`;
}

/** `scheme://host[:port]` of a URL, or `null` for anything without a network origin (or unparsable). */
export function originOf(url: string | URL): string | null {
  try {
    const origin = (typeof url === 'string' ? new URL(url) : url).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/** `origin + pathname` only: what logs and messages may show of a URL (query strings can hold secrets). */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return u.origin === 'null' ? `${u.protocol}…` : `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Statuses whose `Location` the client follows itself (credentials stay home). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/** Headers never sent to another origin than the one they were meant for. */
export const CROSS_ORIGIN_STRIPPED = ['authorization', 'proxy-authorization', 'cookie'] as const;
