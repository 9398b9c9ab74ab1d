/**
 * A person signing in to the dashboard without a browser: plain fetch follows the dashboard's
 * `/auth/login` to the OpenID provider, fills its sign-in form (deploy/local/oidc: `username`,
 * `password`), follows the redirects back to the dashboard's callback and keeps the session cookie;
 * `/api/me` then gives the CSRF token every POST needs. The same steps as the provider's own test
 * (deploy/local/oidc/src/provider.integration.test.ts) but ending at the dashboard's session, which
 * no helper in testkit does (the dashboard's tests sign in through Chromium).
 */
import { LoomwatchError } from '@loomwatch/contracts';

/** What an API call needs: the `lw_session` cookie, the CSRF token and the dashboard's origin. */
export interface DashboardSession {
  cookie: string;
  csrfToken: string;
  origin: string;
  name: string;
  role: string;
}

/** Cookies per origin, as a browser keeps them (both servers are on 127.0.0.1, on different ports). */
class CookieJar {
  private readonly byOrigin = new Map<string, Map<string, string>>();

  async request(url: URL, init: RequestInit = {}): Promise<Response> {
    const cookies = this.byOrigin.get(url.origin) ?? new Map<string, string>();
    const headers = new Headers(init.headers);
    if (cookies.size > 0) headers.set('cookie', [...cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of response.headers.getSetCookie()) {
      const [pair = ''] = line.split(';');
      const eq = pair.indexOf('=');
      if (eq > 0) cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    this.byOrigin.set(url.origin, cookies);
    return response;
  }

  get(origin: string, name: string): string | undefined {
    return this.byOrigin.get(origin)?.get(name);
  }
}

/** Follows redirects (GET) from `response` until a page answers; returns it and its URL. */
async function follow(jar: CookieJar, response: Response, url: URL): Promise<{ page: Response; url: URL }> {
  let current = response;
  let at = url;
  for (let hop = 0; hop < 15; hop++) {
    const location = current.headers.get('location');
    if (current.status < 300 || current.status >= 400 || location === null) return { page: current, url: at };
    await current.body?.cancel();
    at = new URL(location, at);
    current = await jar.request(at);
  }
  throw new LoomwatchError('CONFIG_INVALID', `signing in took more than 15 redirects (last ${at.href}): check the dashboard's auth.oidc settings against the provider`);
}

/** Signs `username` in to the dashboard at `dashboardUrl` through its OpenID provider. */
export async function signIn(dashboardUrl: string, username: string, password: string): Promise<DashboardSession> {
  const jar = new CookieJar();
  const base = new URL(dashboardUrl);
  const start = new URL('/auth/login?returnTo=%2F', base);
  const { page, url } = await follow(jar, await jar.request(start), start);
  const html = await page.text();
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
  if (action === undefined) {
    throw new LoomwatchError('CONFIG_INVALID', `no sign-in form at ${url.href} (status ${page.status}): is the dashboard started with auth.mode oidc and the development provider of deploy/local/oidc?`);
  }
  const formUrl = new URL(action.replaceAll('&#38;', '&'), url);
  const submitted = await jar.request(formUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
  if (submitted.status === 401) throw new LoomwatchError('CONFIG_INVALID', `the provider refused ${username}'s password: the demo users are viola, otto and erin with <name>-demo`);
  const back = await follow(jar, submitted, formUrl);
  await back.page.body?.cancel();
  const session = jar.get(base.origin, 'lw_session');
  if (session === undefined) throw new LoomwatchError('CONFIG_INVALID', `${username} signed in at the provider but the dashboard set no session (ended at ${back.url.href}, status ${back.page.status}): check auth.oidc.redirectUrl`);
  const cookie = `lw_session=${session}`;
  const me = await fetch(new URL('/api/me', base), { headers: { cookie } });
  if (!me.ok) throw new LoomwatchError('CONFIG_INVALID', `/api/me answered ${me.status} right after ${username} signed in`);
  const who = (await me.json()) as { csrfToken: string; name: string; role: string };
  return { cookie, csrfToken: who.csrfToken, origin: base.origin, name: who.name, role: who.role };
}
