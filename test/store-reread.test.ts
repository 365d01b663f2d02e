/**
 * A save re-reads the config file under the lock. A document this process read from the file before
 * (resolution, the previous save) is used instead of parsing the file again only when the file still holds
 * exactly its bytes: never on timestamps or size alone, so a change another tool made in between is kept.
 */
import { readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IniDocument } from '../src/config/ini.js';
import { resolveConfig } from '../src/config/resolve.js';
import { ProfileStore, resetMemoryStore } from '../src/store/profile-store.js';
import { tempConfig } from './helpers/auth.js';

let tmp: ReturnType<typeof tempConfig>;
beforeEach(() => {
  tmp = tempConfig();
  resetMemoryStore();
});
afterEach(() => tmp.cleanup());

/** `sameBytes` against a Buffer, read at most `step` bytes at a time (short reads, as a file may give). */
function same(doc: IniDocument, bytes: Buffer, step = 7): boolean {
  return doc.sameBytes(bytes.length, (into, position) => {
    const n = Math.max(0, Math.min(into.length, step, bytes.length - position));
    bytes.copy(into, 0, position, position + n);
    return n;
  });
}

describe('IniDocument.sameBytes', () => {
  const text = '\ufeff[p]\r\nname = café ☕ 𝄞 \u{1F600}\n; comment\nother = x\n';

  it('is true for exactly the bytes of the document, false for any other', () => {
    const doc = IniDocument.parse(text);
    const bytes = Buffer.from(text, 'utf8');
    expect(same(doc, bytes)).toBe(true);
    expect(same(doc, bytes, 1)).toBe(true);
    expect(same(doc, bytes.subarray(0, bytes.length - 1))).toBe(false); // shorter
    expect(same(doc, Buffer.concat([bytes, Buffer.from('\n')]))).toBe(false); // longer
    for (const at of [0, 5, bytes.indexOf('é'), bytes.length - 2]) {
      const changed = Buffer.from(bytes);
      changed[at] = changed[at]! ^ 1;
      expect(same(doc, changed), `byte ${at}`).toBe(false);
    }
  });

  it('after an edit, matches the edited bytes and no longer the old ones', () => {
    const doc = IniDocument.parse(text);
    doc.set('p', 'name', 'changed');
    expect(same(doc, doc.toBytes())).toBe(true);
    expect(same(doc, Buffer.from(text, 'utf8'))).toBe(false);
  });

  it('compares a document larger than its chunk, with multi-byte characters on chunk boundaries', () => {
    // 2^18 characters per chunk: put surrogate pairs and 3-byte characters around every boundary.
    const line = (i: number) => `k${i} = ${'a'.repeat(i % 7)}€${'𝄞'.repeat(i % 3)}\n`;
    let body = '[big]\n';
    for (let i = 0; body.length < 3 * (1 << 18) + 100; i++) body += line(i);
    const doc = IniDocument.parse(body);
    const bytes = Buffer.from(body, 'utf8');
    expect(same(doc, bytes, 1 << 16)).toBe(true);
    const changed = Buffer.from(bytes);
    changed[changed.length - 3] = 0x62;
    expect(same(doc, changed, 1 << 16)).toBe(false);
  });
});

describe('a save after a read', () => {
  const initial =
    '[p]\ndhcore_endpoint = https://p.example\ndhcore_access_token = AAAA\nnote = first\n\n[other]\nkey = 1\n';

  it('keeps a change another tool made in between, even with the same size and times', async () => {
    const file = join(tmp.dir, 'same-stat.ini');
    writeFileSync(file, initial, { mode: 0o600 });
    resolveConfig({ env: {}, configFile: file, profile: 'p' }); // this process has read the file
    const before = statSync(file);
    // Another tool rewrites the file in place: same length, same times.
    const edited = initial.replace('note = first', 'note = other').replace('key = 1', 'key = 2');
    expect(edited.length).toBe(initial.length);
    writeFileSync(file, edited);
    utimesSync(file, before.atime, before.mtime);
    expect(statSync(file).size).toBe(before.size);

    const store = new ProfileStore({ file, profile: 'p' });
    const out = await store.update(async () => ({
      result: null,
      change: { set: { dhcore_access_token: 'BBBB' } },
    }));
    expect(out.persisted).toBe(true);
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('note = other');
    expect(text).toContain('key = 2');
    expect(text).toContain('dhcore_access_token = BBBB');
  });

  it('saves twice in a row from one process, each on top of the other', async () => {
    const file = join(tmp.dir, 'twice.ini');
    writeFileSync(file, initial, { mode: 0o600 });
    resolveConfig({ env: {}, configFile: file, profile: 'p' });
    const store = new ProfileStore({ file, profile: 'p' });
    await store.update(async () => ({ result: null, change: { set: { dhcore_access_token: 'BBBB' } } }));
    // Another writer in between: its change must survive the second save.
    writeFileSync(file, readFileSync(file, 'utf8').replace('key = 1', 'key = 3'));
    await store.update(async () => ({ result: null, change: { set: { dhcore_refresh_token: 'RRRR' } } }));
    const text = readFileSync(file, 'utf8');
    expect(text).toContain('dhcore_access_token = BBBB');
    expect(text).toContain('dhcore_refresh_token = RRRR');
    expect(text).toContain('key = 3');
  });
});

describe('a resolution and a later save of the same file', () => {
  it('the resolution still reads what the file held when it was resolved (its document is never edited)', async () => {
    const file = join(tmp.dir, 'kept.ini');
    writeFileSync(
      file,
      '[p]\ndhcore_endpoint = https://p.example\ndhcore_access_token = AAAA\naws_access_key_id = OLDKEY\nnote = first\n',
      { mode: 0o600 },
    );
    const config = resolveConfig({ env: {}, configFile: file, profile: 'p' });
    // The save finds the file unchanged, so it may use the document the resolution read.
    const store = new ProfileStore({ file, profile: 'p' });
    const out = await store.update(async () => ({
      result: null,
      change: {
        set: { note: 'second', aws_access_key_id: 'NEWKEY', extra: 'x' },
        delete: ['dhcore_access_token'],
      },
    }));
    expect(out.persisted).toBe(true);
    expect(readFileSync(file, 'utf8')).toContain('note = second');
    // Read only now, from the resolution: the values it was resolved from.
    expect(config.get('note')).toBe('first');
    expect(config.get('extra')).toBeUndefined();
    expect(config.get('aws_access_key_id')).toBe('OLDKEY');
    expect(config.get('dhcore_access_token')).toBe('AAAA');
    expect(config.keys()).toEqual(['dhcore_endpoint', 'dhcore_access_token', 'aws_access_key_id', 'note']);
    expect(config.source('note')).toBe('file');
    expect(config.source('extra')).toBeUndefined();
    // And a second resolution reads the saved file.
    const again = resolveConfig({ env: {}, configFile: file, profile: 'p' });
    expect(again.get('note')).toBe('second');
    expect(again.get('dhcore_access_token')).toBeUndefined();
  });
});

describe('IniDocument.chunks and clone', () => {
  it('chunks() give exactly toBytes(), for text larger than a chunk with multi-byte characters on the boundaries', () => {
    const line = (i: number) => `k${i} = ${'a'.repeat(i % 7)}€${'𝄞'.repeat(i % 3)}\n`;
    let body = '\ufeff[big]\n';
    for (let i = 0; body.length < 3 * (1 << 18) + 100; i++) body += line(i);
    body += '[small]\nx = 1\n';
    const doc = IniDocument.parse(body);
    doc.set('small', 'y', 'é'.repeat(1 << 18)); // a piece of its own, larger than a chunk
    const chunks = [...doc.chunks()];
    expect(chunks.length).toBeGreaterThan(2);
    expect(Buffer.concat(chunks).equals(Buffer.from(doc.toString(), 'utf8'))).toBe(true);
  });

  it('chunks() keep bytes that are not UTF-8', () => {
    const bytes = Buffer.concat([
      Buffer.from('[p]\nname = caf'),
      Buffer.from([0xe9, 0xff]),
      Buffer.from('\nk = v\n'),
    ]);
    const doc = IniDocument.fromBytes(bytes);
    expect(Buffer.concat([...doc.chunks()]).equals(bytes)).toBe(true);
    doc.set('p', 'k', 'w');
    expect(Buffer.concat([...doc.chunks()]).toString('latin1')).toContain('caf\u00e9\u00ff');
  });

  it('clone() and its original are edited independently', () => {
    const text = '[a]\nk1 = 1\nk2 = 2\n\n[b]\nx = y\n';
    const doc = IniDocument.parse(text);
    const copy = doc.clone();
    copy.set('a', 'k1', 'changed');
    copy.set('a', 'k3', 'new');
    copy.removeSection('b');
    copy.addSection('c');
    expect(doc.toString()).toBe(text);
    expect(doc.get('a', 'k1')).toBe('1');
    expect(doc.get('a', 'k3')).toBeUndefined();
    expect(doc.sections()).toEqual(['a', 'b']);
    doc.set('b', 'x', 'z');
    expect(copy.get('a', 'k1')).toBe('changed');
    expect(copy.sections()).toEqual(['a', 'c']);
    expect(copy.toString()).toBe('[a]\nk1 = changed\nk2 = 2\nk3 = new\n\n[c]\n');
  });
});
