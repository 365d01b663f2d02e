#!/usr/bin/env node
/**
 * One worker process of the multi-process test/benchmark (uses the built internals, build/). Configuration comes from
 * the environment like any program (DH_CONFIG, DHCORE_*). Modes (argv[2]):
 *
 *   refresh <n>     n forced refreshes, each by a fresh session (as n short-lived processes would)
 *   access <ms>     one long-lived session calling accessToken() in a loop for <ms> (a service)
 *   token           one accessToken() call (a short-lived process that needs a token)
 *   crash           ProfileStore updates of section [w<pid>] forever (killed with SIGKILL by the test)
 *   hold            takes the config file's lock, prints 'ready' and holds it until killed
 *
 * Prints ONE JSON line: { mode, ops, errors: {code: count}, actions: {refreshed, exchanged, adopted},
 *   takeovers (locks lost while held), tokens: [sha256 prefixes of tokens seen] }.
 * Tokens are never printed, only hash prefixes to count distinct ones.
 */
import { createHash } from 'node:crypto';
import { openSession } from '../build/auth/session.js';
import { resolveConfig } from '../build/config/resolve.js';
import { ProfileStore } from '../build/store/profile-store.js';

const [mode = 'refresh', arg = '10'] = process.argv.slice(2);
// LOCK_STALE_MS overrides how long a silent (not dead) holder is waited for; default: the library's.
const lock = {
  ...(process.env.LOCK_STALE_MS ? { staleMs: Number(process.env.LOCK_STALE_MS) } : {}),
  waitMs: 120_000,
};
const errors = {};
const tokens = new Set();
const actions = { refreshed: 0, exchanged: 0, adopted: 0 };
let takeovers = 0; // locks this process lost while holding them
const logger = (msg) => {
  if (msg.startsWith('lock on ') && msg.includes('taken over')) takeovers++;
  const action = msg.split(' ', 1)[0];
  if (action in actions) actions[action]++;
};
let ops = 0;
const fp = (t) => createHash('sha256').update(t).digest('hex').slice(0, 12);
const fail = (err) => {
  const code = err?.code ?? err?.name ?? 'error';
  errors[code] = (errors[code] ?? 0) + 1;
  if (process.env.DEBUG_WORKER) process.stderr.write(`${process.pid}: ${code}: ${err?.message}\n`);
};

if (mode === 'refresh') {
  const n = Number(arg);
  for (let i = 0; i < n; i++) {
    try {
      const tm = await openSession({ config: resolveConfig(), lock, logger });
      tokens.add(fp(await tm.refresh()));
      ops++;
    } catch (err) {
      fail(err);
    }
  }
} else if (mode === 'access') {
  const until = Date.now() + Number(arg);
  const tm = await openSession({ config: resolveConfig(), lock, logger });
  while (Date.now() < until) {
    try {
      tokens.add(fp(await tm.accessToken()));
      ops++;
    } catch (err) {
      fail(err);
    }
    await new Promise((r) => setTimeout(r, 2));
  }
} else if (mode === 'token') {
  try {
    const tm = await openSession({ config: resolveConfig(), lock, logger });
    tokens.add(fp(await tm.accessToken()));
    ops++;
  } catch (err) {
    fail(err);
  }
} else if (mode === 'hold') {
  const store = new ProfileStore({ file: process.env.DH_CONFIG, profile: 'hold', lock });
  setInterval(() => {}, 60_000); // keep the process alive while the transaction never ends
  await store.update(async () => {
    process.stdout.write('ready\n');
    return new Promise(() => {});
  });
} else if (mode === 'crash') {
  const store = new ProfileStore({ file: process.env.DH_CONFIG, profile: `w${process.pid}`, lock });
  const filler = 'x'.repeat(2048); // larger writes → more chances to be killed mid-write
  for (;;) {
    await store.update(async (cur) => {
      const n = Number(cur.counter ?? '0') + 1;
      return { result: n, change: { set: { counter: String(n), filler, dhcore_access_token: `tok-${n}` } } };
    });
    ops++;
    if (ops === 1) process.stdout.write('ready\n');
  }
}

process.stdout.write(`${JSON.stringify({ mode, ops, errors, actions, takeovers, tokens: [...tokens] })}\n`);
