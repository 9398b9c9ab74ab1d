/**
 * The plant's OpenID Connect provider, through `openid-client` (a certified relying party): the
 * authorization-code flow with state, nonce and PKCE (S256), the ID token validated by the library
 * (issuer, audience, signature, expiry, nonce), and RP-initiated sign-out where the provider offers
 * it. The provider's metadata is read on first use and again after a failure, so a provider that is
 * down at start delays sign-in, not the dashboard.
 */
import * as client from 'openid-client';
import { HttpProblem } from './problem.js';
import { isLoopbackUrl } from './config.js';

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUrl: string;
  scopes: string;
}

/** What a sign-in under way keeps until its callback: never sent to the browser. */
export interface PendingLogin {
  state: string;
  nonce: string;
  codeVerifier: string;
  returnTo: string;
}

export interface SignedIn {
  claims: Record<string, unknown>;
  idToken: string | undefined;
}

export class OidcProvider {
  private discovered: Promise<client.Configuration> | undefined;

  constructor(private readonly settings: OidcSettings) {}

  private configuration(): Promise<client.Configuration> {
    const { issuer, clientId, clientSecret } = this.settings;
    this.discovered ??= client
      .discovery(new URL(issuer), clientId, undefined, client.ClientSecretBasic(clientSecret), {
        // Plain http only to a provider on this machine (the local dev provider); config refuses it elsewhere.
        ...(issuer.startsWith('http:') && isLoopbackUrl(issuer) ? { execute: [client.allowInsecureRequests] } : {}),
        timeout: 10,
      })
      .catch((err: unknown) => {
        this.discovered = undefined;
        throw new HttpProblem('IDENTITY_PROVIDER_UNAVAILABLE', 503, `the sign-in provider ${issuer} does not answer (${err instanceof Error ? err.message : String(err)}): check auth.oidc.issuer, then retry`, {
          'retry-after': '5',
        });
      });
    return this.discovered;
  }

  /** Whether the provider's metadata could be read (for `/readyz`). */
  async ready(): Promise<boolean> {
    try {
      await this.configuration();
      return true;
    } catch {
      return false;
    }
  }

  /** A new sign-in: its secrets, and the provider's URL to send the browser to. */
  async startLogin(returnTo: string): Promise<{ pending: PendingLogin; url: URL }> {
    const config = await this.configuration();
    const pending: PendingLogin = { state: client.randomState(), nonce: client.randomNonce(), codeVerifier: client.randomPKCECodeVerifier(), returnTo };
    const url = client.buildAuthorizationUrl(config, {
      redirect_uri: this.settings.redirectUrl,
      scope: this.settings.scopes,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.codeVerifier),
      code_challenge_method: 'S256',
    });
    return { pending, url };
  }

  /**
   * The provider's answer at `/auth/callback`: exchanges the code and validates the ID token.
   * `LOGIN_FAILED` (401) says what went wrong without the code or any token.
   */
  async finishLogin(callbackQuery: string, pending: PendingLogin): Promise<SignedIn> {
    const config = await this.configuration();
    // The URL the provider redirected to: the registered redirect URL with the provider's parameters.
    const current = new URL(this.settings.redirectUrl);
    current.search = callbackQuery;
    try {
      const tokens = await client.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: pending.codeVerifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      return { claims: { ...(tokens.claims() ?? {}) }, idToken: tokens.id_token };
    } catch (err) {
      throw new HttpProblem('LOGIN_FAILED', 401, `sign-in failed: ${describeOidcError(err)} — start again at /auth/login`);
    }
  }

  /** Where to send the browser to sign out at the provider too, when it offers `end_session_endpoint`. */
  async endSessionUrl(idToken: string | undefined, postLogoutUrl: string): Promise<string | undefined> {
    const config = await this.configuration().catch(() => undefined);
    if (config?.serverMetadata().end_session_endpoint === undefined) return undefined;
    return client
      .buildEndSessionUrl(config, {
        post_logout_redirect_uri: postLogoutUrl,
        client_id: this.settings.clientId,
        ...(idToken === undefined ? {} : { id_token_hint: idToken }),
      })
      .toString();
  }
}

/** An openid-client failure as one sentence: the provider's error code or the check that failed, never a token. */
function describeOidcError(err: unknown): string {
  if (err instanceof client.AuthorizationResponseError) return `the provider answered ${err.error}${err.error_description === undefined ? '' : ` (${err.error_description.slice(0, 200)})`}`;
  if (err instanceof client.ResponseBodyError) return `the token endpoint answered ${err.error}${err.error_description === undefined ? '' : ` (${err.error_description.slice(0, 200)})`}`;
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${err.message.slice(0, 200)}`;
  }
  return 'an unexpected answer';
}
