/**
 * The secured Kafka listener's material for a broker the testkit runs in a container, made the way
 * deploy/local/infra.sh's kafka_tls makes it for the local broker: a CA, the broker's certificate
 * for 127.0.0.1/localhost in a PKCS12 store, and a random SCRAM password per principal of
 * deploy/local/kafka/acls.txt (principals.env). The tests read the CA and the passwords from the
 * host; the store and the passwords are copied into the container.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { aclPrincipals, principalPasswordKey } from './container-settings.js';

export interface SecureListenerMaterial {
  /** The CA that signed the broker's certificate (what a client's KAFKA_TLS_CA_FILE names). */
  caFile: string;
  /** The broker's key and certificate chain, PKCS12. */
  keyStoreFile: string;
  keyStorePassword: string;
  /** LOOMWATCH_KAFKA_PASSWORD_<PRINCIPAL>=<password> lines. */
  principalsFile: string;
}

function secret(): string {
  return randomBytes(18).toString('base64url');
}

function openssl(dir: string, args: string[]): void {
  const result = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (result.error !== undefined) throw new Error(`openssl could not run (${result.error.message}): install it (apt-get install openssl) to make the secured listener's certificates`);
  if (result.status !== 0) throw new Error(`openssl ${args[0] ?? ''} failed making the secured listener's certificates:\n${result.stderr}`);
}

/** Writes the material into `dir` (an empty folder of the run's own) for the principals of `aclsFile`. */
export function makeSecureListenerMaterial(dir: string, aclsFile: string): SecureListenerMaterial {
  const principals = aclPrincipals(readFileSync(aclsFile, 'utf8'));
  if (principals.length === 0) throw new Error(`${aclsFile} names no principal: the secured listener would admit nobody`);
  const keyStorePassword = secret();
  const passwordFile = join(dir, 'store.password');
  writeFileSync(passwordFile, keyStorePassword, { mode: 0o600 });
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=Loomwatch test CA']);
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=localhost']);
  writeFileSync(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, ['x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '30', '-extfile', 'san.ext']);
  openssl(dir, ['pkcs12', '-export', '-in', 'broker.pem', '-inkey', 'broker.key', '-certfile', 'ca.pem', '-name', 'broker', '-out', 'broker.p12', '-passout', `file:${passwordFile}`]);
  const principalsFile = join(dir, 'principals.env');
  writeFileSync(principalsFile, principals.map((principal) => `${principalPasswordKey(principal)}=${secret()}\n`).join(''), { mode: 0o600 });
  return { caFile: join(dir, 'ca.pem'), keyStoreFile: join(dir, 'broker.p12'), keyStorePassword, principalsFile };
}
