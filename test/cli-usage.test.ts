/** Usage errors — conflicting flags, bad option values, unknown options — exit 2 with one line. */
import { describe, expect, it } from 'vitest';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';

const home = useTempHome();

describe('usage errors exit 2 with one line', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'conflicting login flags',
      ['login', '--pat', 'x', '--device'],
      /--pat cannot be combined with --device/,
    ],
    ['a bad --timeout', ['login', '--device', '--timeout', 'abc'], /--timeout must be a positive number/],
    [
      'a bad --timeout with --pat',
      ['login', '--pat', 'x', '--timeout', '-1'],
      /--timeout must be a positive number/,
    ],
    [
      'a bad choice',
      ['token', '--format', 'bogus'],
      /bogus.*Allowed choices are raw, json, env.*dhcore token --help/,
    ],
    ['an unknown option', ['status', '--bogus'], /Unknown option '--bogus'.*dhcore status --help/],
    ['an unknown command', ['frobnicate'], /Unknown command 'frobnicate'/],
    ['a missing argument', ['use'], /Missing required argument 'name'.*dhcore use --help/],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(args, { env: cleanEnv(home().home) });
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      const lines = r.stderr.split('\n').filter(Boolean);
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^dhcore: /);
      expect(lines[0]).toMatch(message);
    });
  }

  it('with --json, one JSON object naming the code', async () => {
    const r = await runCli(['--json', 'login', '--pat', 'x', '--device'], { env: cleanEnv(home().home) });
    expect(r.code).toBe(2);
    const lines = r.stderr.split('\n').filter(Boolean);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toEqual({
      error: { code: 'usage_conflicting_flags', message: expect.stringMatching(/--pat cannot be combined/) },
    });
    const unknown = await runCli(['--json', 'status', '--bogus'], { env: cleanEnv(home().home) });
    expect(unknown.code).toBe(2);
    expect(JSON.parse(unknown.stderr.trim())).toMatchObject({ error: { code: 'usage_error' } });
  });
});

describe('usage hints', () => {
  it('usage hints name the command, not a flag value', async () => {
    const r = await runCli(['-e', 'prod', 'token', '--bogus'], { env: cleanEnv(home().home) });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/see 'dhcore token --help'/);
    const typo = await runCli(['--config', '/tmp/x.ini', 'tokn'], { env: cleanEnv(home().home) });
    expect(typo.code).toBe(2);
    expect(typo.stderr.trim().split('\n')).toHaveLength(1);
    expect(typo.stderr).toMatch(/Did you mean token\?.*see 'dhcore --help'/);
  });
});
