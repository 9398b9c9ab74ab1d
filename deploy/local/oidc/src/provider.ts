/**
 * A development OpenID provider: oidc-provider (OpenID certified) configured with the dashboard
 * client and the demo users of accounts.ts, plus the two interaction routes it leaves to the
 * deployment (the sign-in form and consent, which is granted at once for the one client).
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import Provider, { errors, type Configuration, type InteractionResults, type JWK } from 'oidc-provider';
import { CALLBACK_PATH, CLIENT_ID, CLIENT_SECRET, SCOPE_CLAIMS, checkPassword, findUser, userClaims } from './accounts.ts';
import { loginPage, logoutPage, noticePage, sendHtml } from './pages.ts';

export interface DevOidcOptions {
  issuer: string;
  /** The private signing key (RS256). */
  signingKey: JWK;
  log: (line: string) => void;
}

export interface DevOidc {
  provider: Provider;
  handler: RequestListener;
}

const MAX_FORM_BYTES = 16 * 1024;

export function configuration(options: DevOidcOptions): Configuration {
  return {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        // `native` is what makes oidc-provider match a loopback redirect URI on any port (RFC 8252
        // §7.3), so tests on ephemeral ports need no registration. Registered: the port-less form.
        application_type: 'native',
        redirect_uris: [`http://127.0.0.1${CALLBACK_PATH}`, `http://localhost${CALLBACK_PATH}`],
        post_logout_redirect_uris: ['http://127.0.0.1/', 'http://localhost/'],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        // client_secret_post is accepted as well: oidc-provider treats the two secret methods alike.
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    responseTypes: ['code'],
    clientAuthMethods: ['client_secret_basic', 'client_secret_post'],
    claims: SCOPE_CLAIMS,
    // The scopes' claims go into the ID token too, so the dashboard needs no userinfo call.
    conformIdTokenClaims: false,
    findAccount: (_ctx, sub) => {
      const user = findUser(sub);
      return user === undefined ? undefined : { accountId: sub, claims: () => userClaims(user) };
    },
    jwks: { keys: [options.signingKey] },
    // Random per start: sessions at the provider end when it restarts.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: false },
      rpInitiatedLogout: {
        enabled: true,
        logoutSource: (ctx, form) => {
          ctx.type = 'html';
          ctx.body = logoutPage(form);
        },
        postLogoutSuccessSource: (ctx) => {
          ctx.type = 'html';
          ctx.body = noticePage('Signed out', 'You are signed out of the Loomwatch development provider.');
        },
      },
    },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = noticePage('Sign-in error', `${out.error}: ${out.error_description ?? ''}`);
    },
  };
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams | undefined> {
  if (!(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) return undefined;
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** Consent for the one registered client: everything it asked for, without a page. */
async function grantConsent(provider: Provider, details: Awaited<ReturnType<Provider['interactionDetails']>>): Promise<InteractionResults> {
  const accountId = details.session?.accountId;
  const clientId = details.params['client_id'];
  if (accountId === undefined || typeof clientId !== 'string') throw new Error('consent without a signed-in account or client');
  const grant = details.grantId === undefined ? new provider.Grant({ accountId, clientId }) : await provider.Grant.find(details.grantId);
  if (grant === undefined) throw new Error(`grant ${details.grantId ?? ''} not found`);
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  return { consent: { grantId: await grant.save() } };
}

async function interaction(provider: Provider, req: IncomingMessage, res: ServerResponse, uid: string, step: string | undefined, log: DevOidcOptions['log']): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  const action = `/interaction/${encodeURIComponent(uid)}/login`;
  if (details.prompt.name === 'consent') {
    await provider.interactionFinished(req, res, await grantConsent(provider, details), { mergeWithLastSubmission: true });
    return;
  }
  if (details.prompt.name !== 'login') {
    sendHtml(res, 400, noticePage('Sign-in error', `This provider cannot complete the "${details.prompt.name}" step.`));
    return;
  }
  if (req.method === 'GET' && step === undefined) {
    const hint = details.params['login_hint'];
    sendHtml(res, 200, loginPage(action, typeof hint === 'string' ? { username: hint } : {}));
    return;
  }
  if (req.method !== 'POST' || step !== 'login') {
    sendHtml(res, 405, noticePage('Sign-in error', 'The sign-in form is sent with POST.'));
    return;
  }
  const form = await readForm(req);
  const username = form?.get('username') ?? '';
  const user = checkPassword(username, form?.get('password') ?? '');
  if (user === undefined) {
    log(`sign-in refused for ${JSON.stringify(username.slice(0, 64))}: wrong username or password`);
    sendHtml(res, 401, loginPage(action, { username, error: 'Wrong username or password.' }));
    return;
  }
  log(`sign-in: ${user.username}`);
  await provider.interactionFinished(req, res, { login: { accountId: user.username } }, { mergeWithLastSubmission: false });
}

export function createDevOidc(options: DevOidcOptions): DevOidc {
  const provider = new Provider(options.issuer, configuration(options));
  const logError = (event: string) => (_ctx: unknown, err: errors.OIDCProviderError) => {
    options.log(`${event}: ${err.message} ${err.error_description ?? ''}`.trim());
  };
  provider.on('authorization.error', logError('authorization.error'));
  provider.on('grant.error', logError('grant.error'));
  provider.on('end_session.error', logError('end_session.error'));
  provider.on('server_error', (_ctx, err: Error) => options.log(`server error: ${err.stack ?? err.message}`));
  const callback = provider.callback();
  const handler: RequestListener = (req, res) => {
    const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/([a-z]+))?\/?(?:\?.*)?$/.exec(req.url ?? '');
    if (match?.[1] === undefined) {
      void callback(req, res);
      return;
    }
    interaction(provider, req, res, match[1], match[2], options.log).catch((err: unknown) => {
      if (res.headersSent) return;
      if (err instanceof errors.SessionNotFound) {
        sendHtml(res, 400, noticePage('Sign-in expired', 'This sign-in has expired or was already used: go back to Loomwatch and sign in again.'));
        return;
      }
      options.log(`interaction failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      sendHtml(res, 500, noticePage('Sign-in error', `The provider failed: ${err instanceof Error ? err.message : String(err)}`));
    });
  };
  return { provider, handler };
}
