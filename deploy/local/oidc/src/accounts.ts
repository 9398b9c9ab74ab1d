/**
 * The development provider's fixed parties: one client (the dashboard) and three demo people, one
 * per role. Known, published passwords — this provider exists for `make demo` and the tests only.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const DEFAULT_PORT = 19080;
export const HOST = '127.0.0.1';

export const CLIENT_ID = 'loomwatch-dashboard';
export const CLIENT_SECRET = 'loomwatch-dashboard-dev-secret';
/** The path of the dashboard's redirect URI; any loopback host and port is accepted (see provider.ts). */
export const CALLBACK_PATH = '/auth/callback';

export interface DemoUser {
  username: string;
  password: string;
  name: string;
  email: string;
  groups: readonly string[];
}

export const DEMO_USERS: readonly DemoUser[] = [
  { username: 'viola', password: 'viola-demo', name: 'Viola Viewer', email: 'viola@loomwatch.test', groups: ['loomwatch-viewers'] },
  { username: 'otto', password: 'otto-demo', name: 'Otto Operator', email: 'otto@loomwatch.test', groups: ['loomwatch-operators'] },
  { username: 'erin', password: 'erin-demo', name: 'Erin Engineer', email: 'erin@loomwatch.test', groups: ['loomwatch-engineers'] },
];

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** The demo user with this username and password, or undefined (compared in constant time). */
export function checkPassword(username: string, password: string): DemoUser | undefined {
  const user = DEMO_USERS.find((candidate) => candidate.username === username);
  const matches = timingSafeEqual(digest(password), digest(user?.password ?? '\u0000no user'));
  return user !== undefined && matches ? user : undefined;
}

export function findUser(sub: string): DemoUser | undefined {
  return DEMO_USERS.find((user) => user.username === sub);
}

/** Standard claims by scope; `groups` is what the dashboard maps to roles (`auth.rolesClaim`). */
export const SCOPE_CLAIMS = {
  openid: ['sub'],
  profile: ['name', 'preferred_username'],
  email: ['email', 'email_verified'],
  groups: ['groups'],
};

export function userClaims(user: DemoUser): Record<string, unknown> & { sub: string } {
  return {
    sub: user.username,
    name: user.name,
    preferred_username: user.username,
    email: user.email,
    email_verified: true,
    groups: [...user.groups],
  };
}
