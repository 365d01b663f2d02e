/**
 * A throw-away PostgreSQL cluster from the Debian server binaries (`/usr/lib/postgresql/<v>/bin`):
 * `initdb` with scram-sha-256 authentication in a temp folder, `pg_ctl` on 127.0.0.1 and a free port, its unix
 * socket inside the temp folder. PostgreSQL refuses to run as root, so when the tests run as root the cluster
 * belongs to `nobody` (uid/gid 65534) and its commands run through `setpriv`. Always stop it.
 */
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NOBODY = 65534;

export interface TempPostgres {
  host: string;
  port: number;
  /** Superuser and its password (scram-sha-256). */
  superuser: string;
  superPassword: string;
  stop(): void;
}

/** The newest installed server binaries, or a clear failure (`.ci/run` installs `postgresql`). */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql: apt-get install postgresql',
    );
  }
  return join(root, versions[0]!, 'bin');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TempPostgres> {
  const bin = postgresBin();
  const root = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'dhcore-pg-'));
  const data = join(dir, 'data');
  const socket = join(dir, 'sock');
  const pwfile = join(dir, 'pw');
  const superPassword = `super-${Math.random().toString(36).slice(2)}`;
  writeFileSync(pwfile, `${superPassword}\n`, { mode: 0o600 });
  mkdirSync(socket, { mode: 0o700 });
  if (root) for (const p of [dir, socket, pwfile]) chownSync(p, NOBODY, NOBODY);
  chmodSync(dir, 0o700);

  const run = (cmd: string, args: string[]) => {
    const argv = root
      ? ['setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', join(bin, cmd), ...args]]
      : [join(bin, cmd), args];
    const r = spawnSync(argv[0] as string, argv[1] as string[], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH, LANG: 'C', LC_ALL: 'C', HOME: dir },
      cwd: dir,
      timeout: 60_000,
    });
    if (r.status !== 0) {
      throw new Error(`${cmd} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    }
  };

  const stop = () => {
    try {
      if (existsSync(join(data, 'postmaster.pid')))
        run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  try {
    run('initdb', [
      '-D',
      data,
      '-U',
      'postgres',
      '--pwfile',
      pwfile,
      '--auth',
      'scram-sha-256',
      '--encoding',
      'UTF8',
      '--no-sync',
      '--no-instructions',
    ]);
    const port = await freePort();
    run('pg_ctl', [
      '-D',
      data,
      '-l',
      join(dir, 'server.log'),
      '-w',
      '-t',
      '60',
      '-o',
      `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${socket} -c fsync=off -c max_connections=20`,
      'start',
    ]);
    return { host: '127.0.0.1', port, superuser: 'postgres', superPassword, stop };
  } catch (err) {
    stop();
    throw err;
  }
}
