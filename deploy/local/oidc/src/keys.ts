import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { JWK } from 'oidc-provider';

function newSigningKey(): JWK {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), alg: 'RS256', use: 'sig' };
}

/**
 * The RS256 signing key: kept in `<stateDir>/signing-key.json` (mode 600) so ID tokens stay
 * verifiable across restarts; made once when missing, or per start without a state dir.
 */
export function signingKey(stateDir: string | undefined): JWK {
  if (stateDir === undefined) return newSigningKey();
  const file = join(stateDir, 'signing-key.json');
  if (!existsSync(file)) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    writeFileSync(`${file}.tmp`, JSON.stringify(newSigningKey()), { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
  return JSON.parse(readFileSync(file, 'utf8')) as JWK;
}
