/**
 * Machine credentials: opaque random tokens that a service stores only as SHA-256 digests. A token
 * carries 256 random bits, so its digest is safe to keep in config and to look up by; the secret
 * itself lives only with the client (a camera, an MES job) and in a Kubernetes Secret.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

const TOKEN_PREFIX = 'lw_';

/** A new token: `lw_` and 32 random bytes, base64url. Shown once; store its digest. */
export function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** The lowercase hex SHA-256 of a token, as config stores it. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1];
}

/** Whether a presented token has the given digest, in time independent of where they differ. */
export function matchesDigest(presented: string, digest: string): boolean {
  const expected = Buffer.from(digest, 'hex');
  const actual = createHash('sha256').update(presented, 'utf8').digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

/**
 * Who holds which token: a table from token digest to the holder (a camera, a client name).
 * Lookup hashes the presented token first, so the table never compares secrets.
 */
export class TokenTable<T> {
  private readonly byDigest: ReadonlyMap<string, T>;

  constructor(entries: Iterable<readonly [digest: string, holder: T]>) {
    this.byDigest = new Map([...entries].map(([digest, holder]) => [digest.toLowerCase(), holder]));
  }

  get size(): number {
    return this.byDigest.size;
  }

  /** The holder of the bearer token in an `Authorization` header, or undefined. */
  holderOf(authorization: string | undefined): T | undefined {
    const token = bearerToken(authorization);
    return token === undefined ? undefined : this.byDigest.get(tokenDigest(token));
  }
}
