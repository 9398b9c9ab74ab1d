import { describe, expect, it } from 'vitest';
import { newToken, tokenDigest } from '@loomwatch/http';
import { apiAuth, requireToken } from './auth.js';

const TOKEN = newToken();
const OTHER = newToken();

/** The status and code `requireToken` refuses a header with, or 'allowed'. */
function outcome(auth: ReturnType<typeof apiAuth>, header: string | undefined): string {
  try {
    requireToken(auth, header);
    return 'allowed';
  } catch (thrown) {
    const { code, status, headers } = thrown as { code: string; status: number; headers: Record<string, string> };
    return `${status} ${code} ${headers['www-authenticate'] ?? ''}`;
  }
}

describe('apiAuth', () => {
  it('refuses to start with auth on and no token, naming both settings', () => {
    expect(() => apiAuth({ auth: 'token', tokenDigests: [] })).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/LOOMWATCH_API_TOKEN.*api\.tokenDigests/) as string }));
  });

  it('lets every request through only when auth is none', () => {
    const open = apiAuth({ auth: 'none', tokenDigests: [] });
    expect([outcome(open, undefined), outcome(open, 'Bearer anything')]).toEqual(['allowed', 'allowed']);
  });

  it('accepts the plain token and a token whose digest is configured, whatever the scheme case', () => {
    const auth = apiAuth({ auth: 'token', token: TOKEN, tokenDigests: [tokenDigest(OTHER)] });
    expect([outcome(auth, `Bearer ${TOKEN}`), outcome(auth, `bearer ${OTHER}`)]).toEqual(['allowed', 'allowed']);
    const digestsOnly = apiAuth({ auth: 'token', tokenDigests: [tokenDigest(OTHER)] });
    expect([outcome(digestsOnly, `Bearer ${OTHER}`), outcome(digestsOnly, `Bearer ${TOKEN}`)]).toEqual(['allowed', '401 UNAUTHORIZED Bearer realm="loomwatch"']);
  });

  it('refuses a missing header, another scheme, a wrong token and a prefix of the token with 401 and WWW-Authenticate', () => {
    const auth = apiAuth({ auth: 'token', token: TOKEN, tokenDigests: [] });
    for (const header of [undefined, '', `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ', `Bearer ${tokenDigest(TOKEN)}`]) {
      expect(outcome(auth, header), String(header)).toBe('401 UNAUTHORIZED Bearer realm="loomwatch"');
    }
  });
});
