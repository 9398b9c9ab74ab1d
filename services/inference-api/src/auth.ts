import { LoomwatchError } from '@loomwatch/contracts';
import { TokenTable, tokenDigest, unauthorized } from '@loomwatch/http';
import type { ApiConfig } from './config.js';

/** Who may call `/v1/*`: holders of a configured token, or anyone (`api.auth: none`). */
export type ApiAuth = { readonly mode: 'none' } | { readonly mode: 'token'; readonly tokens: TokenTable<string> };

/**
 * The API's auth from its config: the plain token (`LOOMWATCH_API_TOKEN`) and the digests of
 * `api.tokenDigests` in one table of digests, each held by the setting it came from. With
 * `api.auth: token` and no token at all, `CONFIG_INVALID`: the API never starts open by omission.
 */
export function apiAuth(api: Pick<ApiConfig['api'], 'auth' | 'token' | 'tokenDigests'>): ApiAuth {
  if (api.auth === 'none') return { mode: 'none' };
  const entries: [string, string][] = api.tokenDigests.map((digest, i) => [digest, `api.tokenDigests[${i}]`]);
  if (api.token !== undefined) entries.push([tokenDigest(api.token), 'LOOMWATCH_API_TOKEN']);
  if (entries.length === 0) {
    throw new LoomwatchError(
      'CONFIG_INVALID',
      'api.auth is "token" but no token is configured: set LOOMWATCH_API_TOKEN (the Secret loomwatch-api, key token) or api.tokenDigests (SHA-256 hex of each client token), or api.auth=none on a developer machine',
    );
  }
  return { mode: 'token', tokens: new TokenTable(entries) };
}

/** Refuses a request whose `Authorization` header carries no configured token: 401 with `WWW-Authenticate: Bearer`. */
export function requireToken(auth: ApiAuth, authorization: string | undefined): void {
  if (auth.mode === 'none') return;
  if (auth.tokens.holderOf(authorization) === undefined) throw unauthorized('send Authorization: Bearer <token> with a token the API is configured with');
}
