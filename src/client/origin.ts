/**
 * Where credentials may go (DESIGN §5, issue 5 point 3): only to the endpoint's origin, never to another
 * origin given as an absolute URL, never across a redirect to another origin. Pure helpers, no I/O.
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

/** True for hosts that only reach this machine: `localhost`, `*.localhost`, 127.0.0.0/8, `::1`. */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h === '::1') return true;
  if (/^127(\.\d{1,3}){3}$/.test(h)) return true;
  return h.startsWith('::ffff:') && /^127\./.test(h.slice(7));
}

/** Would a secret sent to `url` travel unencrypted over the network (plain http, not loopback)? */
export function isInsecureTransport(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && !isLoopbackHostname(u.hostname);
  } catch {
    return false;
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
