/**
 * What the CLI prints. Straight to file descriptors 1 and 2: on a pipe (`$(dhcore token)`), creating
 * `process.stdout` or `process.stderr` loads Node's net and stream modules, which costs more than all the rest
 * of `dhcore token` does. A reader that went away (`dhcore token | head -c1`) is not a failure: stop quietly.
 */

// A builtin through process.getBuiltinModule(), not an import: shorter cold start (see config/resolve.ts).
const { writeSync } = process.getBuiltinModule('node:fs');

/** Writes `text` to stdout. */
export function writeOut(text: string): void {
  writeTo(1, text);
}

/** Writes `text` to stderr. */
export function writeErr(text: string): void {
  writeTo(2, text);
}

/** Descriptors that once were full: from then on everything goes through their stream, in order. */
const queued = new Set<1 | 2>();

function writeTo(fd: 1 | 2, text: string): void {
  const stream = () => (fd === 1 ? process.stdout : process.stderr);
  if (queued.has(fd)) {
    stream().write(text);
    return;
  }
  const bytes = Buffer.from(text, 'utf8');
  let offset = 0;
  try {
    while (offset < bytes.length) offset += writeSync(fd, bytes, offset);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // Nobody reads (a closed pipe, or the descriptor closed: `dhcore --version >&-`): stop quietly.
    if (code === 'EPIPE' || code === 'EBADF') process.exit(process.exitCode ?? 0);
    if (code !== 'EAGAIN') throw err;
    // A non-blocking descriptor that is full (its reader is slow): the stream queues the rest.
    queued.add(fd);
    exitQuietlyOnClosedPipe();
    stream().write(bytes.subarray(offset));
  }
}

let watching = false;

/** For output that goes through `process.stdout`/`process.stderr` (commander's help): EPIPE ends quietly. */
export function exitQuietlyOnClosedPipe(): void {
  if (watching) return;
  watching = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw err;
    });
  }
}
