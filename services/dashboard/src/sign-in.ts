/**
 * Sign-in on the dashboard's HTTP app: the `/auth/*` routes (OpenID Connect through `OidcProvider`),
 * server-side sessions behind a signed HttpOnly cookie, and the gate every other route passes —
 * a session (401, or a redirect to sign-in for the page), the role the route needs (403), and for
 * a state-changing call the session's CSRF token and the dashboard's origin (403 `CSRF_REFUSED`).
 */
import fastifyCookie from '@fastify/cookie';
import type { FastifyInstance, FastifyRequest } from '@loomwatch/http';
import { forbidden } from '@loomwatch/http';
import type { Logger } from '@loomwatch/observability';
import { ExpiringStore, allows, csrfRefusal, describeRoleGroups, displayName, localPath, randomToken, roleOf, rolesIncluded, type Role, type Session } from './auth.js';
import type { AuthConfig } from './config.js';
import { OidcProvider, type PendingLogin } from './oidc.js';
import { HttpProblem } from './problem.js';

/** What a route declares in its `config`. */
export interface RouteTag {
  /** Its metrics label. */
  route?: string;
  /** The least role that may call it. @defaultValue 'viewer' */
  role?: Role;
  /** Open without a session (the sign-in routes). */
  public?: boolean;
  /** Refuses every call (a 405): no CSRF check, it changes nothing. */
  refuses?: boolean;
}

export interface SignInOptions {
  auth: AuthConfig;
  logger: Logger;
  /** @defaultValue Date.now */
  now?: () => number;
}

export interface SignIn {
  /** The session of a request that passed the gate. */
  sessionOf(request: FastifyRequest): Session;
  /** Whether the provider's metadata could be read (always true without sign-in). */
  ready(): Promise<boolean>;
  /** Sessions held now. */
  readonly sessions: number;
}

/** How long a sign-in may take between `/auth/login` and `/auth/callback`. */
const LOGIN_TTL_MS = 10 * 60_000;
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function routeTag(request: FastifyRequest): RouteTag {
  return request.routeOptions.config as RouteTag;
}

function pathOf(request: FastifyRequest): string {
  return request.url.split('?')[0] ?? '/';
}

/** Adds the cookies, the gate and the sign-in routes to `app`. Call before the app's other routes. */
export async function addSignIn(app: FastifyInstance, options: SignInOptions): Promise<SignIn> {
  const { auth, logger } = options;
  const now = options.now ?? Date.now;
  const sessionOfRequest = new WeakMap<FastifyRequest, Session>();

  if (auth.mode === 'none') {
    logger.warn('auth.mode is none: anyone who reaches the dashboard port reads everything and acts as an engineer — for development only; set auth.mode oidc with the plant\'s provider');
    const anonymous: Session = { name: 'anyone (auth.mode none)', subject: 'anonymous', role: 'engineer', csrfToken: randomToken() };
    app.addHook('onRequest', (request, _reply, done) => {
      sessionOfRequest.set(request, anonymous);
      const refusal = SAFE_METHODS.has(request.method) || routeTag(request).refuses === true ? undefined : csrfRefusal(evidenceOf(request), anonymous, `http://${request.headers.host ?? ''}`);
      done(refusal === undefined ? undefined : new HttpProblem('CSRF_REFUSED', 403, refusal));
    });
    app.get('/auth/login', { config: { route: 'auth', public: true } satisfies RouteTag }, (_request, reply) => reply.redirect('/'));
    return { sessionOf: () => anonymous, ready: () => Promise.resolve(true), sessions: 0 };
  }

  const { issuer, clientId, clientSecret, redirectUrl } = auth.oidc;
  if (issuer === undefined || clientId === undefined || clientSecret === undefined || redirectUrl === undefined || auth.sessionSecret === undefined) {
    // The config schema refuses this already; here for the types.
    throw new HttpProblem('UNAUTHORIZED', 500, 'auth.mode oidc needs auth.oidc.issuer, clientId, clientSecret, redirectUrl and auth.sessionSecret');
  }
  const provider = new OidcProvider({ issuer, clientId, clientSecret, redirectUrl, scopes: auth.oidc.scopes });
  const origin = new URL(redirectUrl).origin;
  const sessions = new ExpiringStore<Session>(auth.maxSessions, auth.sessionTtlMs);
  const logins = new ExpiringStore<PendingLogin>(Math.min(auth.maxSessions, 10_000), LOGIN_TTL_MS);
  // `__Host-`: the browser keeps it only from this host, over https, for the whole site.
  const sessionCookie = auth.secureCookies ? '__Host-lw_session' : 'lw_session';
  const loginCookie = auth.secureCookies ? '__Host-lw_login' : 'lw_login';
  // Lax: the cookie comes along on the provider's redirect back (a top-level GET), not on cross-site POSTs.
  const cookieBase = { path: '/', httpOnly: true, sameSite: 'lax', secure: auth.secureCookies, signed: true } as const;

  await app.register(fastifyCookie, { secret: auth.sessionSecret, hook: 'onRequest' });

  /** The session a signed cookie names, if it is still held. */
  const sessionIdOf = (request: FastifyRequest): string | undefined => {
    const raw = request.cookies[sessionCookie];
    if (raw === undefined) return undefined;
    const unsigned = request.unsignCookie(raw);
    return unsigned.valid && unsigned.value !== null ? unsigned.value : undefined;
  };
  const sessionFrom = (request: FastifyRequest): Session | undefined => {
    const id = sessionIdOf(request);
    return id === undefined ? undefined : sessions.get(id, now());
  };
  const checkCsrf = (request: FastifyRequest, session: Session): void => {
    const refusal = csrfRefusal(evidenceOf(request), session, origin);
    if (refusal !== undefined) throw new HttpProblem('CSRF_REFUSED', 403, refusal);
  };

  app.addHook('onRequest', async (request, reply) => {
    const tag = routeTag(request);
    if (tag.public === true) return;
    const session = sessionFrom(request);
    if (session === undefined) {
      const path = pathOf(request);
      if ((request.method === 'GET' || request.method === 'HEAD') && !path.startsWith('/api/')) {
        return reply.redirect(`/auth/login?returnTo=${encodeURIComponent(localPath(request.url))}`);
      }
      throw new HttpProblem('UNAUTHORIZED', 401, 'sign in first: open the dashboard in a browser (it sends you to /auth/login), then call the API with its session cookie');
    }
    sessionOfRequest.set(request, session);
    if (!SAFE_METHODS.has(request.method) && tag.refuses !== true) checkCsrf(request, session);
    const needed = tag.role ?? 'viewer';
    if (!allows(session.role, needed)) throw forbidden(`${request.method} ${pathOf(request)} needs the ${needed} role; ${session.name} is ${session.role}: ask for ${auth.roles[needed].join(' or ')} in the "${auth.rolesClaim}" claim`);
  });

  app.get('/auth/login', { config: { route: 'auth', public: true } satisfies RouteTag }, async (request, reply) => {
    const { returnTo } = request.query as { returnTo?: string };
    const { pending, url } = await provider.startLogin(localPath(returnTo));
    const loginId = logins.add(pending, now());
    return reply
      .setCookie(loginCookie, loginId, { ...cookieBase, maxAge: LOGIN_TTL_MS / 1000 })
      .header('cache-control', 'no-store')
      .redirect(url.toString());
  });

  app.get('/auth/callback', { config: { route: 'auth', public: true } satisfies RouteTag }, async (request, reply) => {
    const raw = request.cookies[loginCookie];
    const unsigned = raw === undefined ? undefined : request.unsignCookie(raw);
    const loginId = unsigned?.valid === true ? (unsigned.value ?? undefined) : undefined;
    const pending = loginId === undefined ? undefined : logins.get(loginId, now());
    void reply.clearCookie(loginCookie, { path: '/' });
    if (loginId === undefined || pending === undefined) {
      throw new HttpProblem('LOGIN_EXPIRED', 400, 'this sign-in is not one this browser started, or it took longer than 10 minutes: start again at /auth/login');
    }
    // One use: a replayed callback finds nothing.
    logins.delete(loginId);
    const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?')) : '';
    const { claims, idToken } = await provider.finishLogin(query, pending);
    const name = displayName(claims);
    const role = roleOf(claims, auth.rolesClaim, auth.roles);
    if (role === undefined) {
      logger.info({ subject: claims['sub'] }, 'sign-in refused: no group grants a role');
      throw new HttpProblem('NO_ROLE', 403, `${name} signed in, but none of their groups grants access to the dashboard: ask for ${describeRoleGroups(auth.rolesClaim, auth.roles)}`);
    }
    const session: Session = { name, subject: typeof claims['sub'] === 'string' ? claims['sub'] : name, role, csrfToken: randomToken(), ...(idToken === undefined ? {} : { idToken }) };
    // A new id at every sign-in: an id planted before it (session fixation) names nothing.
    const previous = sessionIdOf(request);
    if (previous !== undefined) sessions.delete(previous);
    const id = sessions.add(session, now());
    logger.info({ subject: session.subject, role }, `${name} signed in as ${role}`);
    return reply
      .setCookie(sessionCookie, id, { ...cookieBase, maxAge: Math.floor(auth.sessionTtlMs / 1000) })
      .header('cache-control', 'no-store')
      .redirect(pending.returnTo, 303);
  });

  app.post('/auth/logout', { config: { route: 'auth', public: true } satisfies RouteTag }, async (request, reply) => {
    const id = sessionIdOf(request);
    const session = id === undefined ? undefined : sessions.get(id, now());
    if (id === undefined || session === undefined) throw new HttpProblem('UNAUTHORIZED', 401, 'no session to end: you are signed out');
    checkCsrf(request, session);
    sessions.delete(id);
    logger.info({ subject: session.subject }, `${session.name} signed out`);
    const redirectTo = (await provider.endSessionUrl(session.idToken, `${origin}/`)) ?? '/';
    return reply.clearCookie(sessionCookie, { path: '/' }).header('cache-control', 'no-store').send({ signedOut: true, redirectTo });
  });

  return {
    sessionOf(request) {
      const session = sessionOfRequest.get(request);
      if (session === undefined) throw new HttpProblem('UNAUTHORIZED', 401, 'sign in first');
      return session;
    },
    ready: () => provider.ready(),
    get sessions() {
      return sessions.size;
    },
  };
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function evidenceOf(request: FastifyRequest): { token: string | undefined; origin: string | undefined; fetchSite: string | undefined } {
  return { token: header(request, 'x-csrf-token'), origin: header(request, 'origin'), fetchSite: header(request, 'sec-fetch-site') };
}

/** `GET /api/me`: who is signed in, in which role, and the token for state-changing calls. */
export function describeSession(session: Session, mode: AuthConfig['mode']): { name: string; role: Role; roles: Role[]; csrfToken: string; authMode: AuthConfig['mode'] } {
  return { name: session.name, role: session.role, roles: rolesIncluded(session.role), csrfToken: session.csrfToken, authMode: mode };
}

