/**
 * Who may do what on the dashboard, as pure functions and small stores: roles from the groups in an
 * ID token, server-side sessions that expire, the CSRF check of a state-changing call.
 *
 * role — viewer < operator < engineer; each includes the ones before it · session — a signed-in
 * person's entry on the server, found by the random id in the `lw_session` cookie · CSRF token — a
 * per-session random value the page sends back in `x-csrf-token` on every state-changing call.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const ROLES = ['viewer', 'operator', 'engineer'] as const;
export type Role = (typeof ROLES)[number];

/** Role → the group values that grant it. */
export type RoleGroups = Readonly<Record<Role, readonly string[]>>;

/** The groups a claim lists: an array of strings, or one string. Anything else lists none. */
function groupsOf(claim: unknown): string[] {
  if (typeof claim === 'string') return [claim];
  if (Array.isArray(claim)) return claim.filter((group): group is string => typeof group === 'string');
  return [];
}

/** The highest role the claim's groups grant, or undefined when none does. */
export function roleOf(claims: Readonly<Record<string, unknown>>, rolesClaim: string, roles: RoleGroups): Role | undefined {
  const groups = new Set(groupsOf(Object.hasOwn(claims, rolesClaim) ? claims[rolesClaim] : undefined));
  return [...ROLES].reverse().find((role) => roles[role].some((group) => groups.has(group)));
}

/** Whether someone in `role` may do what `needed` may. */
export function allows(role: Role, needed: Role): boolean {
  return ROLES.indexOf(role) >= ROLES.indexOf(needed);
}

/** The roles `role` includes, lowest first. */
export function rolesIncluded(role: Role): Role[] {
  return ROLES.slice(0, ROLES.indexOf(role) + 1);
}

/** Which groups grant access, for a refusal that tells the person whom to ask. */
export function describeRoleGroups(rolesClaim: string, roles: RoleGroups): string {
  return `${ROLES.map((role) => `${roles[role].join(' or ')} (${role})`).join(', ')} in the "${rolesClaim}" claim`;
}

/** A random id or token: 32 bytes, base64url. */
export function randomToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Equal strings, compared in time independent of where they differ. */
export function sameSecret(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Entries that expire, at most `capacity` of them (past it the oldest goes): the sessions, and the
 * sign-ins under way. `now` is passed in, so expiry is tested without waiting.
 */
export class ExpiringStore<T> {
  /** Insertion order is age order: the first entry is the oldest. */
  private readonly entries = new Map<string, { value: T; expiresAt: number }>();

  constructor(
    private readonly capacity: number,
    private readonly ttlMs: number,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** Stores `value` under a new random id and returns the id. */
  add(value: T, now: number): string {
    const id = randomToken();
    this.entries.set(id, { value, expiresAt: now + this.ttlMs });
    for (const [oldest, entry] of this.entries) {
      if (this.entries.size <= this.capacity && entry.expiresAt > now) break;
      this.entries.delete(oldest);
    }
    return id;
  }

  /** The value under `id`, unless it expired (then it is removed). */
  get(id: string, now: number): T | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.value;
  }

  /** When `id`'s entry expires (epoch ms), if it is held. */
  expiresAt(id: string): number | undefined {
    return this.entries.get(id)?.expiresAt;
  }

  delete(id: string): void {
    this.entries.delete(id);
  }
}

export interface Session {
  /** What the page shows: the ID token's `name`, else its `preferred_username`, else its `sub`. */
  name: string;
  subject: string;
  role: Role;
  csrfToken: string;
  /** Sent back to the provider as `id_token_hint` at sign-out. */
  idToken?: string;
}

/** The name to show for an ID token's claims. */
export function displayName(claims: Readonly<Record<string, unknown>>): string {
  for (const claim of ['name', 'preferred_username', 'email', 'sub']) {
    const value = claims[claim];
    if (typeof value === 'string' && value !== '') return value;
  }
  return 'unknown';
}

/** What a state-changing request carries that the CSRF check reads. */
export interface CsrfEvidence {
  /** The `x-csrf-token` header. */
  token: string | undefined;
  /** The `Origin` header. */
  origin: string | undefined;
  /** The `Sec-Fetch-Site` header. */
  fetchSite: string | undefined;
}

/**
 * Why a state-changing request is refused as a possible cross-site forgery, or undefined when it
 * may go on: it must carry the session's token in `x-csrf-token`, and come from the dashboard's own
 * origin (`Origin`, or where a client sends none, `Sec-Fetch-Site: same-origin`, or neither).
 */
export function csrfRefusal(evidence: CsrfEvidence, session: Pick<Session, 'csrfToken'>, allowedOrigin: string): string | undefined {
  if (evidence.token === undefined || evidence.token === '') return 'send the session\'s CSRF token (GET /api/me, "csrfToken") in the x-csrf-token header';
  if (!sameSecret(evidence.token, session.csrfToken)) return 'the x-csrf-token header is not this session\'s token: reload the page (GET /api/me) and retry';
  if (evidence.origin !== undefined) {
    if (evidence.origin !== allowedOrigin) return `the request comes from ${evidence.origin.slice(0, 200)}, not from the dashboard (${allowedOrigin})`;
  } else if (evidence.fetchSite !== undefined && evidence.fetchSite !== 'same-origin') {
    return `the browser says the request is ${evidence.fetchSite.slice(0, 40)}, not from the dashboard's own page`;
  }
  return undefined;
}

/** A path on this site to return to after sign-in: anything else (another host, `//x`, `/\x`) is `/`. */
export function localPath(returnTo: string | undefined): string {
  const unsafe = [...(returnTo ?? '')].some((ch) => ch < ' ' || ch === '\u007f' || ch === '\\');
  if (returnTo === undefined || !returnTo.startsWith('/') || returnTo.startsWith('//') || unsafe || returnTo.length > 2048) return '/';
  return returnTo;
}
