/**
 * Python's configparser as a test oracle. One `python3` process per batch: requests go in as a JSON list
 * on stdin, answers come back as a JSON list on stdout, so hundreds of cases cost one process start.
 */
import { spawnSync } from 'node:child_process';

/** A value as one side reads it: the interpolated string, or the fact that reading it fails. */
export type ReadValue = { value: string; raw: string } | { error: 'interpolation'; raw: string };

/** What a configparser-compatible reader sees in a file (sections include 'DEFAULT' first). */
export type ReadResult =
  | {
      ok: true;
      sections: string[];
      /** [section, own keys, [key, value] in dict(cp[section]) order] for DEFAULT then every section. */
      data: [string, string[], [string, ReadValue][]][];
      currentEnvironment: ReadValue | null;
    }
  | { ok: false; error: string; line: number | null };

export type PyOp =
  | ['set', string, string, string]
  | ['add_section', string]
  | ['remove_section', string]
  | ['remove_option', string, string];

type Request = { op: 'read'; text: string; encoding: 'utf-8' | 'utf-8-sig' } | { op: 'write'; ops: PyOp[] };

const SCRIPT = `
import configparser, json, os, sys, tempfile

def value(cp, section, key):
    raw = cp.get(section, key, raw=True)
    try:
        return {'value': cp.get(section, key), 'raw': raw}
    except configparser.InterpolationError:
        return {'error': 'interpolation', 'raw': raw}

def read(path, encoding):
    cp = configparser.ConfigParser()
    try:
        cp.read(path, encoding=encoding)
    except configparser.Error as e:
        line = getattr(e, 'lineno', None)
        if line is None and getattr(e, 'errors', None):
            line = e.errors[0][0]
        return {'ok': False, 'error': type(e).__name__, 'line': line}
    data = []
    for name in ['DEFAULT'] + cp.sections():
        own = list(cp._defaults if name == 'DEFAULT' else cp._sections[name])
        data.append([name, own, [[k, value(cp, name, k)] for k in cp[name]]])
    cur = value(cp, 'DEFAULT', 'current_environment') if cp.has_option('DEFAULT', 'current_environment') else None
    return {'ok': True, 'sections': cp.sections(), 'data': data, 'currentEnvironment': cur}

def write(ops):
    cp = configparser.ConfigParser()
    for op in ops:
        if op[0] == 'set':
            if op[1] != 'DEFAULT' and not cp.has_section(op[1]):
                cp.add_section(op[1])
            cp.set(op[1], op[2], op[3])
        elif op[0] == 'add_section':
            if not cp.has_section(op[1]):
                cp.add_section(op[1])
        elif op[0] == 'remove_section':
            cp.remove_section(op[1])
        elif op[0] == 'remove_option':
            if op[1] == 'DEFAULT' or cp.has_section(op[1]):
                cp.remove_option(op[1], op[2])
    path = os.path.join(tmp, 'written.ini')
    with open(path, 'w', encoding='utf-8') as f:
        cp.write(f)
    with open(path, 'r', encoding='utf-8', newline='') as f:
        return f.read()

tmp = tempfile.mkdtemp()
out = []
for i, req in enumerate(json.load(sys.stdin)):
    if req['op'] == 'read':
        path = os.path.join(tmp, '%d.ini' % i)
        with open(path, 'w', encoding='utf-8', newline='') as f:
            f.write(req['text'])
        out.append(read(path, req['encoding']))
        os.remove(path)
    else:
        out.append(write(req['ops']))
json.dump(out, sys.stdout)
`;

function runPython(requests: Request[] | 'version'): unknown[] {
  const script =
    requests === 'version' ? 'import sys, json; json.dump(list(sys.version_info[:2]), sys.stdout)' : SCRIPT;
  const res = spawnSync('python3', ['-c', script], {
    input: requests === 'version' ? '' : JSON.stringify(requests),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (res.error && (res.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error(
      'python3 was not found on PATH: the INI tests compare our parser with Python configparser, install python3',
    );
  }
  if (res.error) throw res.error;
  if (res.status !== 0)
    throw new Error(`python3 configparser oracle failed (exit ${res.status}):\n${res.stderr}`);
  return JSON.parse(res.stdout) as unknown[];
}

/** How configparser (DEFAULT settings, `cp.read(path, encoding)`) reads each text, written byte for byte. */
export function pythonRead(texts: string[], encoding: 'utf-8' | 'utf-8-sig' = 'utf-8'): ReadResult[] {
  return runPython(texts.map((text) => ({ op: 'read', text, encoding }))) as ReadResult[];
}

/** The text `configparser.write` produces after applying each list of operations to an empty parser. */
export function pythonWrite(batches: PyOp[][]): string[] {
  return runPython(batches.map((ops) => ({ op: 'write', ops }))) as string[];
}

/** python3's [major, minor] version (section headers close at the last ']' only since 3.10). */
export function pythonVersion(): [number, number] {
  return runPython('version') as [number, number];
}
