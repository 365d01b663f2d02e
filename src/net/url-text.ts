/**
 * Checks on the text of a URL that run on every start of `dhcore token` (an endpoint validated, a trailing
 * `/` dropped), written as loops: V8 compiles a regular expression the first time it runs (≈0.1 M
 * instructions each, a two-hundredth of what the CLI adds to a bare Node start), and parsing a URL costs more.
 */

/** `url` without its trailing `/`s: how endpoints and issuers are kept and compared. */
export function withoutTrailingSlashes(url: string): string {
  let end = url.length;
  while (end > 0 && url.charCodeAt(end - 1) === 0x2f) end--;
  return end === url.length ? url : url.slice(0, end);
}

/** The length of a leading `http://` or `https://` (any case), or 0 when `url` has neither. */
export function httpSchemeLength(url: string): number {
  if (!startsWithIgnoringCase(url, 'http')) return 0;
  const s = url.charCodeAt(4);
  const at = s === 0x73 || s === 0x53 ? 5 : 4; // s, S
  return url.startsWith('://', at) ? at + 3 : 0;
}

/** Does `url` start with `https://` (any case)? */
export function isHttpsUrl(url: string): boolean {
  return httpSchemeLength(url) === 8;
}

/**
 * Does the authority of `url` (after a scheme of `schemeLength` characters) carry user info, an `@` before
 * the first `/`, `?` or `#`?
 */
export function hasUserInfo(url: string, schemeLength: number): boolean {
  for (let i = schemeLength; i < url.length; i++) {
    const c = url[i];
    if (c === '/' || c === '?' || c === '#') return false;
    if (c === '@') return true;
  }
  return false;
}

/** Does a host start at `at` (a character that is not `/`, `?`, `#` or white space)? */
export function hostStartsAt(url: string, at: number): boolean {
  const c = url[at];
  // trim() removes exactly what \s matches: white space and line terminators.
  return c !== undefined && c !== '/' && c !== '?' && c !== '#' && c.trim() !== '';
}

/** Does `text` start with `lowerAscii` (lower-case ASCII letters), in any case? As a regular expression's `i` flag
 * compares them: no Unicode folding (no Kelvin sign for a k). */
function startsWithIgnoringCase(text: string, lowerAscii: string): boolean {
  if (text.length < lowerAscii.length) return false;
  for (let i = 0; i < lowerAscii.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== lowerAscii.charCodeAt(i) && c + 0x20 !== lowerAscii.charCodeAt(i)) return false;
  }
  return true;
}
