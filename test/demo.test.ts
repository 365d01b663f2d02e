/** `npm start` runs the built demo: it must finish with exit 0, show every step and never print a secret. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CliResult, cleanEnv, ROOT, runNode, tempHome } from './helpers/cli.js';

const DEMO = join(ROOT, 'build/demo/main.js');

function runDemo(env: NodeJS.ProcessEnv): Promise<CliResult> {
  return runNode([DEMO], { env, timeoutMs: 60_000 });
}

describe('npm start (build/demo/main.js)', () => {
  it('runs the whole job against the embedded dev server, cleans up, exits 0', async () => {
    expect(existsSync(DEMO), 'build first (npm run build)').toBe(true);
    const home = tempHome();
    try {
      // The user's own settings must not leak in: a bogus endpoint, PAT and profile in the environment.
      const env = cleanEnv(home.home, {
        DHCORE_ENDPOINT: 'http://127.0.0.1:9',
        DHCORE_PERSONAL_ACCESS_TOKEN: 'dhpat_not-the-demo-one',
        DH_NAME: 'elsewhere',
      });
      const res = await runDemo(env);
      expect(res.stderr).toBe('');
      expect(res.code).toBe(0);
      const out = res.stdout;
      const titles = [
        'dev server',
        'register',
        'login --pat',
        'API calls',
        'auto renewal',
        'refreshToken()',
        'login + refresh',
        'projects',
        'S3 store',
      ];
      for (const title of titles) expect(out).toContain(`  ${title}`);
      expect(out).toMatch(
        /3 × GET \/api\/auth → 200 200 200 as 'demo' \(saved token reused: 0 new token requests\)/,
      );
      expect(out).toMatch(/projects → 200: demo-project, sandbox/);
      expect(out).toMatch(
        /S3 store\s+s3Config\(\) → S3Client: wrote s3:\/\/dhcore-dev\/hello\.txt and read back "hello from dhcore-credentials"/,
      );
      expect(out).toMatch(
        /\(auth method oauth2\); refreshToken\(\) rotated the refresh token and saved it → GET \/api\/auth 200/,
      );
      expect(out).toMatch(
        // The S3 step renews the 3-second token first when it is already in its refresh window.
        /Summary: 6 authenticated calls, 6 × 200; [56] token requests at the server \(token-exchange ×[34], authorization_code ×1, refresh_token ×1\); auth methods exchange and oauth2; 1 S3 key\(s\) used; no secret printed\./,
      );
      // No token, PAT or password: nothing that looks like a JWT or a PAT.
      expect(out).not.toMatch(/eyJ[\w-]+\.[\w-]+/);
      expect(out).not.toMatch(/dhpat_/);
      // The temporary config is gone, and the user's HOME was never written.
      const file = out.match(/→ (\/\S+\.dhcore\.ini)/)?.[1];
      expect(file).toBeDefined();
      expect(existsSync(file!)).toBe(false);
      expect(existsSync(home.configFile)).toBe(false);
    } finally {
      home.cleanup();
    }
  });
});
