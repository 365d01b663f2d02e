/** The pages the loopback callback server shows in the browser at the end of `dhcore login`. */

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

function page(title: string, body: string, ok: boolean): string {
  const accent = ok ? '#1a7f37' : '#cf222e';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(title)}</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f6f8fa;color:#1f2328;margin:0}
main{max-width:32rem;margin:12vh auto;background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:2rem}
h1{font-size:1.4rem;margin:0 0 1rem;color:${accent}}
p{line-height:1.5}
code{background:#f6f8fa;padding:.1rem .3rem;border-radius:4px}
</style></head>
<body><main>${body}</main></body></html>`;
}

export function successPage(endpoint: string, profile: string, who: string | undefined): string {
  return page(
    'Signed in to DHCore',
    `<h1 id="result" data-result="success">You are signed in</h1>
<p>${who ? `Signed in as <strong>${escapeHtml(who)}</strong> to ` : 'Signed in to '}<code>${escapeHtml(endpoint)}</code>;
the credentials were saved to profile <code>${escapeHtml(profile)}</code>.</p>
<p>You can close this tab and return to your terminal.</p>`,
    true,
  );
}

export function failurePage(message: string, fix: string): string {
  return page(
    'DHCore sign-in failed',
    `<h1 id="result" data-result="failure">Sign-in failed</h1>
<p>${escapeHtml(message)}</p>
<p>${escapeHtml(fix)}</p>
<p>Nothing was saved. You can close this tab.</p>`,
    false,
  );
}
