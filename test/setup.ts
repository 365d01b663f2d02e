/**
 * Every test worker gets a throw-away HOME: code that falls back to the user's home (the token cache in
 * ~/.cache/dhcore, ~/.dhcore.ini) never touches the developer's real files.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const home = mkdtempSync(join(tmpdir(), 'dhcore-worker-home-'));
process.env.HOME = home;
delete process.env.XDG_CACHE_HOME;
afterAll(() => rmSync(home, { recursive: true, force: true }));
