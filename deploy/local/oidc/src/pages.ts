/**
 * The provider's own pages: the sign-in form (plain HTML, stable ids and names so a browser test
 * can fill it), the sign-out confirmation and the plain notices. No scripts except the one that
 * submits the sign-out form by itself.
 */
import type { ServerResponse } from 'node:http';
import { DEMO_USERS } from './accounts.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:16px system-ui,sans-serif;margin:3rem auto;max-width:24rem;padding:0 1rem;color:#1b1f24}
h1{font-size:1.4rem}label{display:block;margin-top:1rem}input{width:100%;padding:.4rem;font:inherit;box-sizing:border-box}
button{margin-top:1.2rem;padding:.5rem 1.2rem;font:inherit}.error{color:#b00020;font-weight:600}
.note{color:#57606a;font-size:.85rem;margin-top:2rem}table{border-collapse:collapse}td{padding:.1rem .8rem .1rem 0}`;

function page(title: string, body: string, script = ''): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body>${body}${script === '' ? '' : `<script>${script}</script>`}</body></html>
`;
}

/** Sends a page; the CSP has no form-action, since the sign-in form's redirects end at the client. */
export function sendHtml(res: ServerResponse, status: number, html: string, scripts = false): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': `default-src 'none'; style-src 'unsafe-inline'; script-src ${scripts ? "'unsafe-inline'" : "'none'"}; frame-ancestors 'none'`,
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
  });
  res.end(html);
}

const DEMO_TABLE = `<p class="note">Development provider — never use it in production. Demo users:</p>
<table class="note">${DEMO_USERS.map((u) => `<tr><td>${u.username}</td><td>${u.password}</td><td>${u.groups.join(', ')}</td></tr>`).join('')}</table>`;

export function loginPage(action: string, options: { username?: string; error?: string } = {}): string {
  const error = options.error === undefined ? '' : `<p class="error" id="error" role="alert">${escapeHtml(options.error)}</p>`;
  return page(
    'Sign in — Loomwatch dev provider',
    `<h1>Sign in to Loomwatch</h1>${error}
<form method="post" action="${escapeHtml(action)}">
<label for="username">Username</label>
<input id="username" name="username" autocomplete="username" required autofocus value="${escapeHtml(options.username ?? '')}">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button id="sign-in" type="submit">Sign in</button>
</form>${DEMO_TABLE}`,
  );
}

export function noticePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>`);
}

/** oidc-provider's sign-out form (hidden xsrf field) with its confirmation, submitted at once. */
export function logoutPage(form: string): string {
  return page(
    'Signing out — Loomwatch dev provider',
    `<h1>Signing out…</h1>${form}<button id="sign-out" type="submit" form="op.logoutForm" name="logout" value="yes">Sign out</button>`,
    "document.getElementById('sign-out').click();",
  );
}
