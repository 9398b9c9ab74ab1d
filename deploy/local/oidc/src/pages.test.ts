import { describe, expect, it } from 'vitest';
import { checkPassword } from './accounts.ts';
import { loginPage } from './pages.ts';

describe('the sign-in page', () => {
  it('escapes the username it shows again after a refusal', () => {
    const html = loginPage('/interaction/x/login', { username: '"><script>alert(1)</script>', error: 'Wrong username or password.' });
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('value="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
  });

  it('shows no error before a refusal', () => {
    expect(loginPage('/interaction/x/login')).not.toContain('role="alert"');
  });
});

describe('checkPassword', () => {
  it('accepts a demo user only with their own password', () => {
    expect(checkPassword('otto', 'otto-demo')?.groups).toEqual(['loomwatch-operators']);
    expect(checkPassword('otto', 'erin-demo')).toBeUndefined();
    expect(checkPassword('nobody', '')).toBeUndefined();
    expect(checkPassword('', '\u0000no user')).toBeUndefined();
  });
});
