/** The one loopback rule (net/loopback.ts): which URLs would carry a secret in the clear. */
import { describe, expect, it } from 'vitest';
import { isInsecureTransport, plainHttpAllowed } from '../src/net/loopback.js';

describe('isInsecureTransport', () => {
  it('plain http to another host is insecure; https, loopback hosts and what is not a URL are not', () => {
    const cases: [string, boolean][] = [
      ['https://dhcore.example.com/api', false],
      ['HTTPS://dhcore.example.com', false],
      ['  https://dhcore.example.com', false],
      ['http://dhcore.example.com', true],
      ['HTTP://dhcore.example.com', true],
      ['http://127.0.0.1:8080', false],
      ['http://localhost:8080', false],
      ['http://[::1]:8080', false],
      ['not a url', false],
    ];
    for (const [url, insecure] of cases) expect(isInsecureTransport(url), url).toBe(insecure);
  });

  it('plain http is allowed when the endpoint itself is plain http', () => {
    expect(plainHttpAllowed('http://dhcore.lan', 'http://other.lan/token')).toBe(true);
    expect(plainHttpAllowed('https://dhcore.example.com', 'http://other.example/token')).toBe(false);
  });
});
