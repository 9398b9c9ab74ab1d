/**
 * The development OpenID provider as deploy/local/infra.sh runs it, driven the way the dashboard
 * and a browser drive it: openid-client (the dashboard's RP library) builds the request and
 * redeems the code; plain fetch plays the browser on the provider's own sign-in form.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_ID } from './accounts.ts';

const INFRA = join(import.meta.dirname, '../../infra.sh');

interface Issuer {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

function envFileValues(): Record<string, string> {
  const state = process.env['LOOMWATCH_STATE'] ?? join(process.env['LOOMWATCH_CACHE'] ?? join(homedir(), '.cache/loomwatch'), 'state');
  const values: Record<string, string> = {};
  for (const line of readFileSync(join(state, 'env'), 'utf8').split('\n')) {
    const match = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (match?.[1] !== undefined) values[match[1]] = match[2] ?? '';
  }
  return values;
}

/** The issuer of `LOOMWATCH_OIDC_ISSUER`, else the local one (`infra.sh start-oidc`, idempotent) from the env file. */
function devIssuer(): { found: Issuer; startedHere: boolean } {
  const env = process.env;
  if (env['LOOMWATCH_OIDC_ISSUER'] !== undefined) {
    return {
      found: { issuer: env['LOOMWATCH_OIDC_ISSUER'], clientId: env['LOOMWATCH_OIDC_CLIENT_ID'] ?? CLIENT_ID, clientSecret: env['LOOMWATCH_OIDC_CLIENT_SECRET'] ?? '' },
      startedHere: false,
    };
  }
  const started = spawnSync('bash', [INFRA, 'start-oidc'], { encoding: 'utf8' });
  if (started.status !== 0) throw new Error(`infra.sh start-oidc failed:\n${started.stdout}${started.stderr}`);
  const values = envFileValues();
  return {
    found: { issuer: values['LOOMWATCH_OIDC_ISSUER'] ?? '', clientId: values['LOOMWATCH_OIDC_CLIENT_ID'] ?? '', clientSecret: values['LOOMWATCH_OIDC_CLIENT_SECRET'] ?? '' },
    startedHere: started.stdout.includes('oidc: started'),
  };
}

/** A browser's cookie jar, enough for one host: name → value. */
class Browser {
  private readonly cookies = new Map<string, string>();

  async request(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0) headers.set('cookie', [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; '));
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair = ''] = cookie.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
    return response;
  }

  /** Follows redirects on the provider until one leaves it (the client's redirect URI) or a page answers. */
  async follow(response: Response, base: string): Promise<{ page?: Response; leftTo?: URL }> {
    let current = response;
    for (let hop = 0; hop < 10; hop += 1) {
      const location = current.headers.get('location');
      if (current.status < 300 || current.status >= 400 || location === null) return { page: current };
      const next = new URL(location, current.url === '' ? base : current.url);
      if (next.origin !== new URL(base).origin) return { leftTo: next };
      current = await this.request(next.href);
    }
    throw new Error('more than 10 redirects');
  }
}

function formAction(html: string, pageUrl: string): string {
  const action = /<form method="post" action="([^"]+)">/.exec(html)?.[1];
  if (action === undefined) throw new Error(`no sign-in form on the page:\n${html}`);
  return new URL(action.replaceAll('&#38;', '&'), pageUrl).href;
}

let issuer: Issuer;
let startedHere = false;

beforeAll(() => {
  ({ found: issuer, startedHere } = devIssuer());
});

afterAll(() => {
  if (startedHere) spawnSync('bash', [INFRA, 'stop-oidc'], { encoding: 'utf8' });
});

async function rp(auth: 'basic' | 'post'): Promise<client.Configuration> {
  const method = auth === 'basic' ? client.ClientSecretBasic(issuer.clientSecret) : client.ClientSecretPost(issuer.clientSecret);
  return client.discovery(new URL(issuer.issuer), issuer.clientId, issuer.clientSecret, method, { execute: [client.allowInsecureRequests] });
}

/** Starts a sign-in as the dashboard would and opens the provider's form in a fresh browser. */
async function openSignIn(config: client.Configuration, redirectUri: string, scope = 'openid profile groups') {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const browser = new Browser();
  const { page } = await browser.follow(await browser.request(url.href), issuer.issuer);
  if (page === undefined) throw new Error('the authorization request left the provider before its sign-in page');
  return { browser, page, html: await page.text(), checks: { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce } };
}

async function submit(browser: Browser, action: string, username: string, password: string): Promise<Response> {
  return browser.request(action, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
  });
}

describe('the development OpenID provider', () => {
  it('publishes a discovery document with the groups scope and claim, PKCE S256 and both secret methods', async () => {
    const response = await fetch(`${issuer.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const doc = (await response.json()) as Record<string, unknown>;
    expect(doc).toMatchObject({
      issuer: issuer.issuer,
      authorization_endpoint: `${issuer.issuer}/auth`,
      token_endpoint: `${issuer.issuer}/token`,
      end_session_endpoint: `${issuer.issuer}/session/end`,
      code_challenge_methods_supported: ['S256'],
      response_types_supported: ['code'],
    });
    expect(doc['scopes_supported']).toEqual(expect.arrayContaining(['openid', 'profile', 'email', 'groups']));
    expect(doc['claims_supported']).toContain('groups');
    expect(doc['token_endpoint_auth_methods_supported']).toEqual(expect.arrayContaining(['client_secret_basic', 'client_secret_post']));
  });

  it('signs otto in with code + PKCE on an ephemeral loopback port and puts his groups in the ID token', async () => {
    const config = await rp('basic');
    const redirectUri = 'http://127.0.0.1:43117/auth/callback';
    const { browser, page, html, checks } = await openSignIn(config, redirectUri);
    expect(page.status).toBe(200);
    expect(html).toMatch(/<input id="username" name="username"/);
    expect(html).toMatch(/<input id="password" name="password" type="password"/);
    expect(html).toMatch(/<button id="sign-in" type="submit">Sign in<\/button>/);

    const { leftTo } = await browser.follow(await submit(browser, formAction(html, page.url), 'otto', 'otto-demo'), issuer.issuer);
    expect(leftTo?.href.startsWith(`${redirectUri}?`)).toBe(true);
    expect(leftTo?.searchParams.get('code')).toEqual(expect.any(String));

    const tokens = await client.authorizationCodeGrant(config, leftTo ?? new URL(redirectUri), checks);
    expect(tokens.claims()).toMatchObject({
      iss: issuer.issuer,
      aud: issuer.clientId,
      sub: 'otto',
      name: 'Otto Operator',
      groups: ['loomwatch-operators'],
    });
    const userinfo = await client.fetchUserInfo(config, tokens.access_token, 'otto');
    expect(userinfo).toMatchObject({ sub: 'otto', groups: ['loomwatch-operators'] });
  });

  it('signs erin in on localhost with client_secret_post, with her email on the email scope', async () => {
    const config = await rp('post');
    const redirectUri = 'http://localhost:51234/auth/callback';
    const { browser, page, html, checks } = await openSignIn(config, redirectUri, 'openid profile email groups');
    const { leftTo } = await browser.follow(await submit(browser, formAction(html, page.url), 'erin', 'erin-demo'), issuer.issuer);
    expect(leftTo?.origin).toBe('http://localhost:51234');
    const tokens = await client.authorizationCodeGrant(config, leftTo ?? new URL(redirectUri), checks);
    expect(tokens.claims()).toMatchObject({ sub: 'erin', email: 'erin@loomwatch.test', groups: ['loomwatch-engineers'] });
  });

  it('refuses a wrong password on its page, issues no code, and still signs in on the next try', async () => {
    const config = await rp('basic');
    const { browser, page, html } = await openSignIn(config, 'http://127.0.0.1:43118/auth/callback');
    const action = formAction(html, page.url);

    const refused = await submit(browser, action, 'otto', 'viola-demo');
    expect(refused.status).toBe(401);
    expect(refused.headers.get('location')).toBeNull();
    const refusedHtml = await refused.text();
    expect(refusedHtml).toContain('<p class="error" id="error" role="alert">Wrong username or password.</p>');
    expect(refusedHtml).not.toContain('value="viola-demo"');

    const { leftTo } = await browser.follow(await submit(browser, formAction(refusedHtml, page.url), 'otto', 'otto-demo'), issuer.issuer);
    expect(leftTo?.searchParams.get('code')).toEqual(expect.any(String));
  });

  it('refuses a token request with a wrong client secret', async () => {
    const config = await rp('basic');
    const redirectUri = 'http://127.0.0.1:43119/auth/callback';
    const { browser, page, html, checks } = await openSignIn(config, redirectUri);
    const { leftTo } = await browser.follow(await submit(browser, formAction(html, page.url), 'viola', 'viola-demo'), issuer.issuer);
    const wrong = await client.discovery(new URL(issuer.issuer), issuer.clientId, 'not-the-secret', client.ClientSecretBasic('not-the-secret'), {
      execute: [client.allowInsecureRequests],
    });
    await expect(client.authorizationCodeGrant(wrong, leftTo ?? new URL(redirectUri), checks)).rejects.toMatchObject({
      status: 401,
      cause: [{ parameters: { error: 'invalid_client' } }],
    });
  });

  it('signs out through RP-initiated logout, back to a loopback post-logout URI, and asks for the password again', async () => {
    const config = await rp('basic');
    const redirectUri = 'http://127.0.0.1:43120/auth/callback';
    const first = await openSignIn(config, redirectUri);
    const { browser } = first;
    const { leftTo } = await browser.follow(await submit(browser, formAction(first.html, first.page.url), 'viola', 'viola-demo'), issuer.issuer);
    const tokens = await client.authorizationCodeGrant(config, leftTo ?? new URL(redirectUri), first.checks);

    const postLogout = 'http://127.0.0.1:43120/';
    const endSession = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token ?? '', post_logout_redirect_uri: postLogout });
    const { page } = await browser.follow(await browser.request(endSession.href), issuer.issuer);
    const html = (await page?.text()) ?? '';
    expect(html).toMatch(/<button id="sign-out" type="submit" form="op.logoutForm" name="logout" value="yes">Sign out<\/button>/);
    const action = /<form id="op.logoutForm" method="post" action="([^"]+)">/.exec(html)?.[1] ?? '';
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    const confirmed = await browser.request(new URL(action, issuer.issuer).href, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
    });
    const { leftTo: back } = await browser.follow(confirmed, issuer.issuer);
    expect(back?.href).toBe(postLogout);

    const { page: again } = await browser.follow(await browser.request(client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    }).href), issuer.issuer);
    expect(await again?.text()).toContain('<button id="sign-in" type="submit">Sign in</button>');
  });

  it.each([
    ['a host off loopback', 'http://evil.example:43117/auth/callback'],
    ['another path on loopback', 'http://127.0.0.1:43117/elsewhere'],
    ['https on loopback', 'https://127.0.0.1:43117/auth/callback'],
  ])('refuses a redirect URI on %s without redirecting to it', async (_what, redirectUri) => {
    const config = await rp('basic');
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const response = await fetch(url, { redirect: 'manual' });
    expect(response.status).toBe(400);
    expect(response.headers.get('location')).toBeNull();
    expect(await response.text()).toContain('redirect_uri did not match any of the client');
  });
});
