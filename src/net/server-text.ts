/**
 * Text a server chose (a device code, a verification URL, an OAuth error description) is printed to a
 * terminal only after this: a terminal escape sequence could rewrite what the user sees (hide a line, fake
 * a URL, retitle the window), a control character could do the same, and bidirectional overrides can make
 * `evil.example/dhcore.example.com` read differently than it is.
 */

// Built from strings so the control characters stay visible in the source (and out of regex literals).
const ESC = '\\u001b';
const SEQUENCES = new RegExp(
  [
    `${ESC}\\[[0-?]*[ -/]*[@-~]`, // CSI: colours, cursor moves, clear screen
    `\\u009b[0-?]*[ -/]*[@-~]`, // 8-bit CSI
    `${ESC}\\][^\\u0007\\u001b]*(?:\\u0007|${ESC}\\\\)?`, // OSC: window title, hyperlinks
    `${ESC}[PX^_][^\\u001b]*(?:${ESC}\\\\)?`, // DCS, SOS, PM, APC strings
    `${ESC}.?`, // any other escape
  ].join('|'),
  'g',
);
const LINE_BREAKS = /[\t\n\r\v\f]+/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** `text` without escape sequences, control characters or bidi overrides; line breaks become one space. */
export function printable(text: string): string {
  return text.replace(SEQUENCES, '').replace(LINE_BREAKS, ' ').replace(CONTROLS, '');
}
