import { describe, expect, it } from 'vitest';
import { ExpiringStore, allows, csrfRefusal, describeRoleGroups, displayName, localPath, roleOf, rolesIncluded, type RoleGroups } from './auth.js';

const ROLE_GROUPS: RoleGroups = { viewer: ['loomwatch-viewers'], operator: ['loomwatch-operators', 'line-leads'], engineer: ['loomwatch-engineers'] };

describe('roles from the groups claim', () => {
  it('grants the highest role any group grants, from an array or a single string', () => {
    expect(roleOf({ groups: ['loomwatch-viewers'] }, 'groups', ROLE_GROUPS)).toBe('viewer');
    expect(roleOf({ groups: ['other', 'line-leads', 'loomwatch-viewers'] }, 'groups', ROLE_GROUPS)).toBe('operator');
    expect(roleOf({ groups: ['loomwatch-viewers', 'loomwatch-engineers'] }, 'groups', ROLE_GROUPS)).toBe('engineer');
    expect(roleOf({ roles: 'loomwatch-operators' }, 'roles', ROLE_GROUPS)).toBe('operator');
  });

  it('grants nothing to a person with none of the groups, a claim of another shape, or the groups under another claim', () => {
    expect(roleOf({ groups: ['staff'] }, 'groups', ROLE_GROUPS)).toBeUndefined();
    expect(roleOf({ groups: [{ name: 'loomwatch-engineers' }] }, 'groups', ROLE_GROUPS)).toBeUndefined();
    expect(roleOf({ roles: ['loomwatch-engineers'] }, 'groups', ROLE_GROUPS)).toBeUndefined();
    expect(roleOf({}, 'toString', ROLE_GROUPS)).toBeUndefined();
  });

  it('orders the roles: an engineer may do what an operator may, an operator not what an engineer may', () => {
    expect(allows('engineer', 'operator')).toBe(true);
    expect(allows('operator', 'operator')).toBe(true);
    expect(allows('operator', 'engineer')).toBe(false);
    expect(allows('viewer', 'operator')).toBe(false);
    expect(rolesIncluded('operator')).toEqual(['viewer', 'operator']);
    expect(describeRoleGroups('groups', ROLE_GROUPS)).toBe('loomwatch-viewers (viewer), loomwatch-operators or line-leads (operator), loomwatch-engineers (engineer) in the "groups" claim');
    expect(displayName({ sub: 's1', preferred_username: 'otto' })).toBe('otto');
  });
});

describe('the CSRF check', () => {
  const session = { csrfToken: 'a'.repeat(43) };
  const origin = 'https://dashboard.plant.example';

  it('lets a call with the session\'s token from the dashboard\'s origin through', () => {
    expect(csrfRefusal({ token: session.csrfToken, origin, fetchSite: 'same-origin' }, session, origin)).toBeUndefined();
    // A client that is not a browser sends neither Origin nor Sec-Fetch-Site: the token decides.
    expect(csrfRefusal({ token: session.csrfToken, origin: undefined, fetchSite: undefined }, session, origin)).toBeUndefined();
  });

  it('refuses a call without the token, with another token, from another origin or another site', () => {
    expect(csrfRefusal({ token: undefined, origin, fetchSite: 'same-origin' }, session, origin)).toMatch(/x-csrf-token/);
    expect(csrfRefusal({ token: '', origin, fetchSite: 'same-origin' }, session, origin)).toMatch(/x-csrf-token/);
    expect(csrfRefusal({ token: 'b'.repeat(43), origin, fetchSite: 'same-origin' }, session, origin)).toMatch(/not this session's token/);
    expect(csrfRefusal({ token: 'short', origin, fetchSite: 'same-origin' }, session, origin)).toMatch(/not this session's token/);
    expect(csrfRefusal({ token: session.csrfToken, origin: 'https://evil.example', fetchSite: 'cross-site' }, session, origin)).toMatch(/comes from https:\/\/evil\.example/);
    expect(csrfRefusal({ token: session.csrfToken, origin: 'http://dashboard.plant.example', fetchSite: undefined }, session, origin)).toMatch(/not from the dashboard/);
    expect(csrfRefusal({ token: session.csrfToken, origin: undefined, fetchSite: 'same-site' }, session, origin)).toMatch(/same-site/);
  });
});

describe('sessions', () => {
  it('expire after their time to live, and a lookup of an expired one removes it', () => {
    const store = new ExpiringStore<string>(10, 8 * 3600_000);
    const id = store.add('otto', 1_000);
    expect(id).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(store.get(id, 1_000 + 8 * 3600_000 - 1)).toBe('otto');
    expect(store.get(id, 1_000 + 8 * 3600_000)).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.get('never-issued', 1_000)).toBeUndefined();
  });

  it('are bounded: past the capacity the oldest ends, and expired ones go first', () => {
    const store = new ExpiringStore<string>(2, 1_000);
    const first = store.add('a', 0);
    const second = store.add('b', 500);
    const third = store.add('c', 600);
    expect([store.get(first, 600), store.get(second, 600), store.get(third, 600)]).toEqual([undefined, 'b', 'c']);
    // At 1 600 b has expired: adding d removes it, and c stays.
    const fourth = store.add('d', 1_550);
    expect(store.size).toBe(2);
    expect([store.get(third, 1_550), store.get(fourth, 1_550)]).toEqual(['c', 'd']);
    store.delete(third);
    expect(store.get(third, 1_550)).toBeUndefined();
  });
});

describe('where to return after sign-in', () => {
  it('is a path on this site; another host, a protocol-relative or backslash path is the page', () => {
    expect(localPath('/#/history')).toBe('/#/history');
    expect(localPath('/api/snapshot?x=1')).toBe('/api/snapshot?x=1');
    for (const bad of [undefined, '', 'https://evil.example/', '//evil.example/', '/\\evil.example', 'javascript:alert(1)', '/a\nb']) expect(localPath(bad)).toBe('/');
  });
});
