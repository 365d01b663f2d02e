/**
 * What to suggest for an endpoint typed without a usable scheme. `register` and resolution give the same
 * hint: keep host, port and path; `http://` for a loopback host (a local server rarely has TLS), else
 * `https://`. User info is dropped: a suggestion never repeats a password.
 */
import { isLoopbackHost } from '../net/loopback.js';
import { withoutTrailingSlashes } from '../net/url-text.js';

/** A scheme followed by `//` (`ftp://`, `htp://`), or a known scheme with a colon only (`https:host`). */
const SCHEME = /^(?:[a-z][a-z0-9+.-]*:\/\/|(?:https?|ftp|wss?):\/*)/i;

/** The endpoint the user probably meant, e.g. `localhost:8080` → `http://localhost:8080`. */
export function suggestEndpoint(typed: string): string {
  const rest = withoutTrailingSlashes(
    typed
      .trim()
      .replace(SCHEME, '')
      .replace(/^\/+/, '')
      .replace(/^[^/?#@]*@/, ''),
  );
  if (!rest) return 'https://dhcore.example.com';
  let host = '';
  try {
    host = new URL(`http://${rest}`).hostname;
  } catch {
    host = '';
  }
  return `${host && isLoopbackHost(host) ? 'http' : 'https'}://${rest}`;
}
