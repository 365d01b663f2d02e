/**
 * The one loopback rule: which hosts only reach this machine. Plain http is acceptable for them (nothing
 * crosses a network), and the dev server refuses to listen anywhere else. `*.localhost` names are NOT
 * loopback here: Node resolves them through the system resolver, which may send them elsewhere.
 */

import { isHttpsUrl } from './url-text.js';

/** True for `localhost`, 127.0.0.0/8, `::1` and `::ffff:127.x.x.x` (brackets allowed). */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (/^127(\.\d{1,3}){3}$/.test(h)) return true;
  return h.startsWith('::ffff:') && /^127(\.\d{1,3}){3}$/.test(h.slice(7));
}

/** Would a secret sent to `url` travel unencrypted over a network (plain http to a host that is not loopback)? */
export function isInsecureTransport(url: string): boolean {
  // https is never insecure: no URL to parse (this runs on every start of `dhcore token`).
  if (isHttpsUrl(url)) return false;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' && !isLoopbackHost(u.hostname);
  } catch {
    return false;
  }
}

/**
 * May a secret be sent to `url` over plain http? Yes for loopback hosts, and when the DHCore endpoint itself is
 * plain http (the user chose an http deployment; every request to it is plain anyway).
 */
export function plainHttpAllowed(endpoint: string, url: string): boolean {
  return endpoint.startsWith('http://') || !isInsecureTransport(url);
}
