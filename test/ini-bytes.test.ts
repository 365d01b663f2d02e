/**
 * Bytes that are not UTF-8 (a comment saved as Latin-1, a stray byte in another profile) survive every
 * rewrite exactly: the token store, whole-file edits and the CLI change only the lines they write.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IniDocument } from '../src/config/ini.js';
import { resolveConfig } from '../src/config/resolve.js';
import { setCurrentProfile } from '../src/parity.js';
import { ProfileStore } from '../src/store/profile-store.js';
import { cleanEnv, runCli, useTempHome } from './helpers/cli.js';

const home = useTempHome();

const latin1 = (s: string) => Buffer.from(s, 'latin1');
/** A file with Latin-1 (not UTF-8) bytes in another profile, in a comment of ours, and an invalid sequence. */
function mixedFile(): Buffer {
  return Buffer.concat([
    Buffer.from('# réglages — written by hand\n[DEFAULT]\ncurrent_environment = dev\n\n[other]\n'),
    latin1('# caf\xe9 cr\xe8me\nnote = \xe0 bient\xf4t\n'),
    Buffer.from([0x6b, 0x20, 0x3d, 0x20, 0xed, 0xa0, 0x80, 0xc0, 0xaf, 0xff, 0x0a]), // surrogate, overlong, 0xff
    Buffer.from('\n[dev]\ndhcore_endpoint = https://dev.example\n'),
    latin1('# d\xe9j\xe0 vu\n'),
    Buffer.from('dhcore_access_token = old\n😀 = emoji stays\n'),
  ]);
}

/** The file with the given lines of [dev] changed, for comparison. */
function expected(before: Buffer, from: string, to: string): Buffer {
  const at = before.indexOf(from);
  expect(at).toBeGreaterThan(0);
  return Buffer.concat([
    before.subarray(0, at),
    Buffer.from(to),
    before.subarray(at + Buffer.byteLength(from)),
  ]);
}

describe('bytes that are not UTF-8 are kept as they were', () => {
  it('a token save changes only its lines; every other byte, Latin-1 or invalid, is identical', async () => {
    const before = mixedFile();
    writeFileSync(home().configFile, before, { mode: 0o600 });
    const store = new ProfileStore({ file: home().configFile, profile: 'dev' });
    expect((await store.read()).dhcore_access_token).toBe('old');
    await store.update(async () => ({
      result: null,
      change: { set: { dhcore_access_token: 'new', dhcore_refresh_token: 'rt' } },
    }));
    const after = readFileSync(home().configFile);
    expect(after.indexOf(Buffer.from([0xef, 0xbf, 0xbd]))).toBe(-1); // no U+FFFD anywhere
    expect(
      Buffer.compare(
        after,
        expected(
          before,
          'dhcore_access_token = old\n😀 = emoji stays\n',
          'dhcore_access_token = new\n😀 = emoji stays\ndhcore_refresh_token = rt\n',
        ),
      ),
    ).toBe(0);
  });

  it('a whole-file edit (setCurrentProfile) keeps them too', async () => {
    const before = mixedFile();
    writeFileSync(home().configFile, before, { mode: 0o600 });
    await setCurrentProfile('other', { configFile: home().configFile });
    const after = readFileSync(home().configFile);
    expect(
      Buffer.compare(after, expected(before, 'current_environment = dev', 'current_environment = other')),
    ).toBe(0);
  });

  it('the CLI (dhcore use) keeps them, and resolution reads the UTF-8 values around them', async () => {
    const before = mixedFile();
    writeFileSync(home().configFile, before, { mode: 0o600 });
    expect(resolveConfig({ env: {}, configFile: home().configFile }).endpoint).toBe('https://dev.example');
    const r = await runCli(['use', 'other'], { env: cleanEnv(home().home) });
    expect(r.code, r.stderr).toBe(0);
    const after = readFileSync(home().configFile);
    expect(
      Buffer.compare(after, expected(before, 'current_environment = dev', 'current_environment = other')),
    ).toBe(0);
  });

  it('a file that merely contains U+FFFD as UTF-8 text is kept as it is', async () => {
    const before = Buffer.from('[dev]\ndhcore_endpoint = https://dev.example\nnote = \ufffd\n');
    writeFileSync(home().configFile, before, { mode: 0o600 });
    const store = new ProfileStore({ file: home().configFile, profile: 'dev' });
    expect((await store.read()).note).toBe('\ufffd');
    await store.update(async () => ({ result: null, change: { set: { dhcore_access_token: 'x' } } }));
    expect(readFileSync(home().configFile, 'utf8')).toBe(
      '[dev]\ndhcore_endpoint = https://dev.example\nnote = \ufffd\ndhcore_access_token = x\n',
    );
  });
});

describe('decoding keeps every byte (surrogateescape)', () => {
  const noEol = fc
    .uint8Array({ maxLength: 40 })
    .map((b) => Buffer.from(b.map((x) => (x === 10 || x === 13 ? 32 : x))));
  it('300 files of random bytes in comments and values: read and written back byte for byte, also after an edit', () => {
    fc.assert(
      fc.property(noEol, noEol, noEol, (comment, value, other) => {
        const file = Buffer.concat([
          Buffer.from('[a]\n# '),
          comment,
          Buffer.from('\nk = '),
          value,
          Buffer.from('\n[b]\nx = '),
          other,
          Buffer.from('\n'),
        ]);
        const doc = IniDocument.fromBytes(file, 'f.ini');
        expect(Buffer.compare(doc.toBytes(), file)).toBe(0);
        doc.update('b', { set: { y: 'new' } });
        const out = doc.toBytes();
        expect(Buffer.compare(out.subarray(0, file.length), file)).toBe(0);
        expect(out.subarray(file.length).toString()).toBe('y = new\n');
        expect(IniDocument.fromBytes(out).getRaw('a', 'k')).toBeDefined();
      }),
      { numRuns: 300 },
    );
  });

  it('valid UTF-8 never reads as escapes; an invalid byte reads as U+DC00 + byte', () => {
    const doc = IniDocument.fromBytes(
      Buffer.concat([Buffer.from('[a]\nk = é😀'), Buffer.from([0xe9]), Buffer.from('\n')]),
    );
    expect(doc.get('a', 'k')).toBe('é😀\udce9');
  });
});
