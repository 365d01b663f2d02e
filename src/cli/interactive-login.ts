/**
 * `dhcore login` without a personal access token: the browser (authorization code + PKCE) or, with
 * `--device`, the device code flow. Instructions and progress go to stderr; the one-line result (or the
 * `--json` object) goes to stdout. Ctrl-C cancels cleanly: the callback server closes, nothing is saved.
 */
import type { Command } from 'commander';
import { browserLogin, type LoginOutcome } from '../auth/interactive/browser.js';
import { deviceLogin, verificationHostIsExpected } from '../auth/interactive/device.js';
import { successPage } from '../auth/interactive/pages.js';
import { interactiveSetup, LoginCancelledError } from '../auth/interactive/setup.js';
import { type LoginResult, saveInteractiveLogin } from '../auth/login.js';
import { resolveConfig } from '../config/resolve.js';
import { type InteractiveFlags, loginTimeoutSeconds } from './commands/login.js';
import { globalOptions, printJson, resolveOptionsOf } from './context.js';
import { writeErr, writeOut } from './output.js';

/** Styling for stderr: only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
export function stderrStyle(stream: NodeJS.WriteStream = process.stderr, env = process.env) {
  const on = stream.isTTY === true && !env.NO_COLOR && env.TERM !== 'dumb';
  const wrap = (open: string, close: string) => (text: string) =>
    on ? `\x1b[${open}m${text}\x1b[${close}m` : text;
  return {
    enabled: on,
    bold: wrap('1', '22'),
    dim: wrap('2', '22'),
    cyan: wrap('36', '39'),
    green: wrap('32', '39'),
  };
}

/** A one-line spinner on a TTY; a single line otherwise. `stop()` clears it. */
function progress(text: () => string): { stop: () => void } {
  const err = process.stderr;
  if (!err.isTTY) {
    err.write(`${text()}\n`);
    return { stop: () => {} };
  }
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  let i = 0;
  const draw = () => err.write(`\r\x1b[K${frames[i++ % frames.length]} ${text()}`);
  draw();
  const timer = setInterval(draw, 120);
  return {
    stop: () => {
      clearInterval(timer);
      err.write('\r\x1b[K');
    },
  };
}

async function openBrowser(url: string, say: (line: string) => void): Promise<void> {
  try {
    // `open` is an ES module only. Node's require() of it (Node >= 20.19) gives its namespace, default
    // included; the CLI's import() would not do (the build turns it into a require() whose interop makes the
    // whole namespace the default, because the CLI's chunks run without import(): see cli/code-cache.ts).
    const { createRequire } = process.getBuiltinModule('node:module');
    const { default: open } = createRequire(import.meta.url)('open') as typeof import('open');
    const child = await open(url, { wait: false });
    child.once('error', () => say('Could not start a browser: open the URL above yourself.'));
    child.unref();
  } catch {
    say('Could not start a browser: open the URL above yourself.');
  }
}

/** Run the interactive login selected by `flags` for the profile the global options select. */
export async function runInteractiveLogin(cmd: Command, flags: InteractiveFlags): Promise<void> {
  const timeoutS = loginTimeoutSeconds(flags);
  const config = resolveConfig(resolveOptionsOf(cmd));
  const json = globalOptions(cmd).json === true;
  const style = stderrStyle();
  const say = (line = '') => writeErr(`${line}\n`);
  const controller = new AbortController();
  const cancel = () => controller.abort();
  process.once('SIGINT', cancel);
  process.once('SIGTERM', cancel);
  let spinner: { stop: () => void } | undefined;
  const flow = flags.device ? 'device' : 'browser';
  let saved: LoginResult | undefined;
  try {
    const setup = await interactiveSetup(config, 'Login');
    const save = async (outcome: Pick<LoginOutcome, 'issued'>) => {
      saved = await saveInteractiveLogin(config, outcome.issued, setup.clientId);
      return saved;
    };
    let outcome: LoginOutcome;
    if (flags.device) {
      const started = Date.now();
      // Without --timeout, wait as long as the code is valid.
      const limitS = flags.timeout !== undefined ? timeoutS : undefined;
      outcome = await deviceLogin({
        setup,
        signal: controller.signal,
        timeoutMs: limitS !== undefined ? limitS * 1000 : undefined,
        onCode: (code) => {
          const hosts = [config.issuer, config.endpoint];
          for (const uri of [code.verificationUri, code.verificationUriComplete]) {
            if (uri !== undefined && !verificationHostIsExpected(uri, hosts)) {
              say(
                `dhcore: warning: the server sends you to ${uri}, which is not on the host of ${config.issuer} or ${config.endpoint}; enter the code there only if you trust that site.`,
              );
              break;
            }
          }
          say(`To sign in to ${config.endpoint} (profile '${config.profile}'), open on any device:`);
          say(`  ${style.cyan(code.verificationUri)}`);
          say(`and enter the code: ${style.bold(code.userCode)}`);
          if (code.verificationUriComplete) say(`(or open ${style.cyan(code.verificationUriComplete)})`);
          const elapsed = () => Math.round((Date.now() - started) / 1000);
          const left = () => Math.max(0, code.expiresIn - elapsed());
          const waiting = () =>
            limitS !== undefined && limitS < code.expiresIn
              ? `giving up in ${Math.max(0, Math.round(limitS - elapsed()))} s`
              : `code expires in ${left()} s`;
          spinner = progress(
            () =>
              `Waiting for approval… ${waiting()}, checking every ${code.interval} s ${style.dim('(Ctrl-C to cancel)')}`,
          );
        },
      });
      spinner?.stop();
      spinner = undefined;
      await save(outcome);
    } else {
      const started = Date.now();
      outcome = await browserLogin({
        setup,
        timeoutMs: timeoutS * 1000,
        signal: controller.signal,
        onIgnoredCallback: () =>
          say(
            `${spinner && process.stderr.isTTY ? '\r\x1b[K' : ''}dhcore: warning: ignored a sign-in callback that does not belong to this login (state mismatch); still waiting for yours.`,
          ),
        onUrl: async (url, redirectUri) => {
          if (flags.browser === false) {
            say(
              `Open this URL in a browser on this machine to sign in to ${config.endpoint} (profile '${config.profile}'):`,
            );
          } else {
            say(`Opening your browser to sign in to ${config.endpoint} (profile '${config.profile}').`);
            say('If it does not open, visit this URL:');
          }
          say(`  ${style.cyan(url)}`);
          say(
            style.dim(
              `(it returns to ${redirectUri}; with no browser on this machine, use 'dhcore login --device')`,
            ),
          );
          if (flags.browser !== false) await openBrowser(url, say);
          const left = () => Math.max(0, Math.round(timeoutS - (Date.now() - started) / 1000));
          spinner = progress(
            () => `Waiting for the browser… ${left()} s left ${style.dim('(Ctrl-C to cancel)')}`,
          );
        },
        onTokens: async (issued, who) => {
          spinner?.stop();
          spinner = undefined;
          await save({ issued });
          return successPage(config.endpoint, config.profile, who);
        },
      });
    }
    if (!saved) throw new Error('login finished without saving');
    report(saved, outcome.who, flow, json);
  } catch (err) {
    spinner?.stop();
    if (err instanceof LoginCancelledError) {
      say(`dhcore: ${err.message}`);
      // Exit now: a poll sleeping inside openid-client would otherwise hold the process for seconds.
      process.exit(130);
    }
    if (flow === 'device') {
      // Same reason, once the failure has been reported (main.ts sets the exit code first): the process
      // must not linger up to one poll interval after the time limit.
      setTimeout(() => process.exit(), 100).unref();
    }
    throw err;
  } finally {
    process.off('SIGINT', cancel);
    process.off('SIGTERM', cancel);
  }
}

function report(
  saved: LoginResult,
  who: string | undefined,
  flow: 'browser' | 'device',
  json: boolean,
): void {
  if (json) {
    printJson({
      profile: saved.profile,
      configFile: saved.configFile,
      endpoint: saved.endpoint,
      authMethod: 'oauth2',
      flow,
      user: who ?? null,
      expiresAt: saved.expiresAt ?? null,
      savedKeys: saved.savedKeys,
      removedPersonalAccessToken: saved.removedPat,
    });
    return;
  }
  const as = who ? ` as ${who}` : '';
  writeOut(
    `Logged in to ${saved.endpoint}${as}; saved to profile '${saved.profile}' in ${saved.configFile}` +
      `${saved.expiresAt ? ` (access token valid until ${saved.expiresAt}, refreshed automatically)` : ''}.\n`,
  );
  if (saved.removedPat) {
    writeErr(
      'dhcore: the personal access token saved in this profile was removed (it would have taken precedence).\n',
    );
  }
  if (process.env.DHCORE_PERSONAL_ACCESS_TOKEN?.trim()) {
    writeErr(
      'dhcore: warning: $DHCORE_PERSONAL_ACCESS_TOKEN is set and is used before these tokens; unset it to use them.\n',
    );
  }
}
