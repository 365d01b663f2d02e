/**
 * The few HTML pages a person (or a headless browser, or a test with fetch + cookies) sees during an
 * interactive login. Plain forms, simple field names (`username`, `password`, `user_code`), submit buttons,
 * no scripts and no external resources.
 */

export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

const STYLE = `body{font-family:system-ui,sans-serif;background:#f4f5f7;margin:0;padding:40px 16px;color:#1d2433}
main{max-width:360px;margin:0 auto;background:#fff;border-radius:8px;box-shadow:0 1px 4px rgba(0,0,0,.15);padding:24px 28px}
h1{font-size:1.4em;margin:0 0 12px}label{display:block;margin:12px 0 4px;font-size:.9em}
input[type=text],input[type=password]{width:100%;box-sizing:border-box;padding:8px;font-size:1em;border:1px solid #b8bfcc;border-radius:4px}
button{margin-top:16px;width:100%;padding:10px;font-size:1em;border:0;border-radius:4px;background:#2f6fdb;color:#fff;cursor:pointer}
button.secondary{background:none;color:#555;margin-top:8px}.error{color:#b00020}.hint{color:#555;font-size:.85em}
code{font-size:1.4em;letter-spacing:.1em}`;

function layout(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>`;
}

export function loginPage(opts: {
  action: string;
  abortAction: string;
  clientName: string;
  username?: string;
  error?: string;
  hint?: string;
}): string {
  const error = opts.error ? `<p class="error" role="alert">${escapeHtml(opts.error)}</p>` : '';
  const hint = opts.hint ? `<p class="hint">${escapeHtml(opts.hint)}</p>` : '';
  return layout(
    'Sign in to DHCore',
    `<h1>Sign in to DHCore</h1>
<p>${escapeHtml(opts.clientName)} wants to access your DHCore account.</p>
${error}
<form id="login" method="post" action="${escapeHtml(opts.action)}" autocomplete="off">
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${escapeHtml(opts.username ?? '')}" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" required>
<button type="submit" id="submit">Sign in</button>
</form>
<form method="post" action="${escapeHtml(opts.abortAction)}">
<button type="submit" id="cancel" class="secondary">Cancel</button>
</form>
${hint}`,
  );
}

/**
 * oidc-provider renders the device-flow forms itself (`form` holds its hidden `xsrf` field and the action);
 * these wrap them. The forms are referenced by id from the buttons.
 */
export function deviceInputPage(form: string, error?: string): string {
  const message = error
    ? `<p class="error" role="alert">${escapeHtml(error)}</p>`
    : '<p>Enter the code shown on your device.</p>';
  return layout(
    'Device sign-in',
    `<h1>Device sign-in</h1>
${message}
${form}
<button type="submit" id="submit" form="op.deviceInputForm">Continue</button>`,
  );
}

export function deviceConfirmPage(form: string, clientName: string, userCode: string): string {
  return layout(
    'Confirm device',
    `<h1>Confirm device</h1>
<p><strong>${escapeHtml(clientName)}</strong> is asking to sign in. Check that your device shows this code:</p>
<p><code>${escapeHtml(userCode)}</code></p>
${form}
<button type="submit" id="submit" form="op.deviceConfirmForm">Continue</button>
<button type="submit" id="abort" class="secondary" form="op.deviceConfirmForm" name="abort" value="yes">Abort</button>`,
  );
}

export function messagePage(title: string, message: string): string {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p>${escapeHtml(message)}</p>`);
}
