import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSecureListenerMaterial } from './secure-listener-material.js';

const dir = mkdtempSync(join(tmpdir(), 'testkit-tls-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("the secured listener's material for a broker in a container", () => {
  it('is a broker certificate for 127.0.0.1 that the CA verifies, in a store the password opens, and a password per principal', () => {
    const acls = join(dir, 'acls.txt');
    writeFileSync(acls, '# principal ops resource pattern name\nworker READ TOPIC LITERAL frames.v1\nworker WRITE TOPIC LITERAL verdicts.v1\ngateway WRITE TOPIC LITERAL frames.v1\n');
    const material = makeSecureListenerMaterial(join(dir), acls);

    const cert = spawnSync('openssl', ['pkcs12', '-in', material.keyStoreFile, '-clcerts', '-nokeys', '-passin', `pass:${material.keyStorePassword}`], { encoding: 'utf8' });
    expect(cert.status, cert.stderr).toBe(0);
    writeFileSync(join(dir, 'extracted.pem'), cert.stdout);
    const verify = spawnSync('openssl', ['verify', '-CAfile', material.caFile, join(dir, 'extracted.pem')], { encoding: 'utf8' });
    expect(verify.stdout.trim()).toBe(`${join(dir, 'extracted.pem')}: OK`);
    const text = spawnSync('openssl', ['x509', '-in', join(dir, 'extracted.pem'), '-noout', '-ext', 'subjectAltName'], { encoding: 'utf8' });
    expect(text.stdout).toContain('IP Address:127.0.0.1');
    expect(spawnSync('openssl', ['pkcs12', '-in', material.keyStoreFile, '-nokeys', '-passin', 'pass:wrong'], { encoding: 'utf8' }).status).not.toBe(0);

    const lines = readFileSync(material.principalsFile, 'utf8').trim().split('\n');
    expect(lines.map((line) => line.split('=')[0])).toEqual(['LOOMWATCH_KAFKA_PASSWORD_GATEWAY', 'LOOMWATCH_KAFKA_PASSWORD_WORKER']);
    expect(new Set(lines.map((line) => line.split('=')[1])).size).toBe(2);
    expect(statSync(material.principalsFile).mode & 0o077).toBe(0);
  });

  it('refuses an ACL list that names nobody', () => {
    const empty = join(dir, 'empty.txt');
    writeFileSync(empty, '# nothing\n');
    const sub = mkdtempSync(join(dir, 'empty-'));
    expect(() => makeSecureListenerMaterial(sub, empty)).toThrow(/names no principal/);
  });
});
