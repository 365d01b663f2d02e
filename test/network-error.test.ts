/**
 * The one mapping of transport failures (net/network-error.ts): errno-style codes of a failed fetch are
 * `network_unreachable`, a fired time limit is `network_timeout`, and anything else — a package that cannot
 * be loaded, a bad URL — stays what it is: calling those "cannot reach the server" would send the user to
 * check the network for a broken install.
 */
import { describe, expect, it } from 'vitest';
import { networkError, transportCode } from '../src/net/network-error.js';

const failure = {
  what: 'GET http://h/api/auth',
  url: 'http://h/api/auth',
  fix: 'is it up?',
  timeoutMs: 30_000,
  timedOut: false,
};
const fetchFailed = (code: string) =>
  Object.assign(new TypeError('fetch failed'), { cause: Object.assign(new Error(code), { code }) });

describe('networkError', () => {
  it('maps the codes of a failed connection to network_unreachable', () => {
    for (const code of [
      'ECONNREFUSED',
      'ENOTFOUND',
      'EAI_AGAIN',
      'ECONNRESET',
      'UND_ERR_SOCKET',
      'UND_ERR_CONNECT_TIMEOUT',
      'ERR_SSL_WRONG_VERSION_NUMBER',
      'ERR_TLS_CERT_ALTNAME_INVALID',
    ]) {
      expect(transportCode(fetchFailed(code)), code).toBe(code);
      expect(networkError(fetchFailed(code), failure)?.code, code).toBe('network_unreachable');
    }
  });

  it("leaves Node's own ERR_* errors alone: a missing package is not an unreachable server", () => {
    for (const code of [
      'ERR_MODULE_NOT_FOUND',
      'ERR_INVALID_URL',
      'ERR_INVALID_ARG_TYPE',
      'ERR_REQUIRE_ESM',
    ]) {
      const err = Object.assign(new Error(`x ${code}`), { code });
      expect(transportCode(err), code).toBeUndefined();
      expect(networkError(err, failure), code).toBeUndefined();
      expect(networkError(fetchFailed(code), failure), code).toBeUndefined();
    }
  });

  it('a fired time limit is network_timeout', () => {
    expect(networkError(new Error('x'), { ...failure, timedOut: true })?.code).toBe('network_timeout');
    expect(networkError(new DOMException('t', 'TimeoutError'), failure)?.code).toBe('network_timeout');
  });
});
