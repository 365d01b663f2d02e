/** Pure decisions of the login command: which flow runs, and when stderr gets colours. */
import { describe, expect, it } from 'vitest';
import { wantsInteractiveLogin } from '../src/cli/commands/login.js';
import { stderrStyle } from '../src/cli/interactive-login.js';

describe('wantsInteractiveLogin', () => {
  it('browser by default; PAT when --pat or $DHCORE_PERSONAL_ACCESS_TOKEN; --device/--no-browser always interactive', () => {
    expect(wantsInteractiveLogin({}, {})).toBe(true);
    expect(wantsInteractiveLogin({ pat: 'x' }, {})).toBe(false);
    expect(wantsInteractiveLogin({}, { DHCORE_PERSONAL_ACCESS_TOKEN: 'x' })).toBe(false);
    expect(wantsInteractiveLogin({}, { DHCORE_PERSONAL_ACCESS_TOKEN: '  ' })).toBe(true);
    expect(wantsInteractiveLogin({ device: true }, { DHCORE_PERSONAL_ACCESS_TOKEN: 'x' })).toBe(true);
    expect(wantsInteractiveLogin({ browser: false }, { DHCORE_PERSONAL_ACCESS_TOKEN: 'x' })).toBe(true);
  });

  it('refuses --pat together with an interactive flag', () => {
    expect(() => wantsInteractiveLogin({ pat: 'x', device: true }, {})).toThrow(/cannot be combined/);
    expect(() => wantsInteractiveLogin({ pat: 'x', browser: false }, {})).toThrow(/cannot be combined/);
  });
});

describe('stderrStyle (NO_COLOR, TTY only)', () => {
  const tty = { isTTY: true } as NodeJS.WriteStream;
  const pipe = { isTTY: false } as NodeJS.WriteStream;

  it('colours a terminal', () => {
    const s = stderrStyle(tty, {});
    expect(s.enabled).toBe(true);
    expect(s.bold('x')).toBe('\x1b[1mx\x1b[22m');
  });

  it('never with NO_COLOR set, on a dumb terminal, or when not a terminal', () => {
    for (const [stream, env] of [
      [tty, { NO_COLOR: '1' }],
      [tty, { TERM: 'dumb' }],
      [pipe, {}],
    ] as const) {
      const s = stderrStyle(stream, env);
      expect(s.enabled).toBe(false);
      expect(s.bold('x')).toBe('x');
      expect(s.cyan('x')).toBe('x');
    }
  });
});
