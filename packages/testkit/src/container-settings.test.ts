import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { aclPrincipals, brokerProperties, containerImages, kafkaEnvironment, missingImagesMessage, principalPasswordKey } from './container-settings.js';
import { REPO_ROOT } from './infra.js';

const PORTS = { kafka: 35001, controller: 35002, kafkaSecure: 35003, s3: 35004 };
const properties = brokerProperties(PORTS, { path: '/tmp/broker.p12', password: 'store-secret' });

/** The key=value lines of deploy/local/infra.sh's kafka_config, the local broker the container copies. */
function localBrokerProperties(): Map<string, string> {
  const script = readFileSync(join(REPO_ROOT, 'deploy/local/infra.sh'), 'utf8');
  const body = /\nkafka_config\(\) \{\n[\s\S]*?<<EOF\n([\s\S]*?)\nEOF\n/.exec(script)?.[1];
  expect(body, 'infra.sh has a kafka_config heredoc').toBeDefined();
  const pairs = (body ?? '').split('\n').map((line) => /^([a-z][a-z0-9._-]*)=(.*)$/.exec(line));
  return new Map(pairs.flatMap((match) => (match?.[1] === undefined ? [] : [[match[1], match[2] ?? ''] as const])));
}

describe("the container broker's settings", () => {
  it('secure the broker as infra.sh secures the local one: SCRAM-SHA-512 over TLS, ACLs, nobody but the loopback listener a super user', () => {
    const local = localBrokerProperties();
    const shared = ['sasl.enabled.mechanisms', 'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config', 'ssl.keystore.type', 'authorizer.class.name', 'super.users', 'allow.everyone.if.no.acl.found', 'listener.security.protocol.map', 'controller.listener.names', 'inter.broker.listener.name', 'default.replication.factor', 'min.insync.replicas', 'auto.create.topics.enable', 'num.partitions', 'log.segment.bytes'];
    for (const key of shared) expect(properties[key], key).toBe(local.get(key));
    expect(properties['listeners']).toBe('PLAINTEXT://127.0.0.1:35001,CONTROLLER://127.0.0.1:35002,SASL_SSL://127.0.0.1:35003');
    expect(properties['advertised.listeners']).toBe('PLAINTEXT://127.0.0.1:35001,SASL_SSL://127.0.0.1:35003');
    expect(properties['controller.quorum.voters']).toBe('1@127.0.0.1:35002');
  });

  it('reach the broker as the properties they name, through the mapping of the image entry point', () => {
    const environment = kafkaEnvironment(properties);
    expect(environment['KAFKA_LISTENER_NAME_SASL___SSL_SCRAM__SHA__512_SASL_JAAS_CONFIG']).toBe(properties['listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config']);
    const entryPoint = join(REPO_ROOT, 'deploy/images/kafka-start.sh');
    // kafka-start.sh turns KAFKA_<NAME> back into a property with one sed expression: run it on every name.
    const sed = /sed '([^']+)'\)"\n/.exec(existsSync(entryPoint) ? readFileSync(entryPoint, 'utf8') : '')?.[1];
    expect(sed, `${entryPoint} maps KAFKA_<NAME> with sed`).toBeDefined();
    const names = Object.keys(environment).map((name) => name.slice('KAFKA_'.length).toLowerCase());
    const mapped = spawnSync('sed', [sed ?? ''], { input: `${names.join('\n')}\n`, encoding: 'utf8' });
    expect(mapped.stdout.trim().split('\n')).toEqual(Object.keys(properties));
  });
});

describe('the images and the principals', () => {
  it('names the images after the versions the local servers pin, unless the run names others', () => {
    expect(containerImages(REPO_ROOT, {})).toEqual({ kafka: expect.stringMatching(/^loomwatch\/kafka:\d+\.\d+\.\d+$/) as unknown, s3: expect.stringMatching(/^loomwatch\/s3proxy:\d+\.\d+\.\d+$/) as unknown });
    expect(containerImages(REPO_ROOT, { LOOMWATCH_KAFKA_IMAGE: 'apache/kafka:4.1.2' }).kafka).toBe('apache/kafka:4.1.2');
  });

  it('says which images are missing and the command that builds them', () => {
    const message = missingImagesMessage(['loomwatch/kafka:4.1.2']);
    expect(message).toMatch(/^LOOMWATCH_INFRA=containers needs loomwatch\/kafka:4\.1\.2 on this machine/);
    expect(message).toContain('`make images`');
    expect(message).toContain('deploy/images/build-base.sh');
    expect(message).not.toContain('\n');
  });

  it('gives every principal of acls.txt a password key, as SecurePrincipals.java reads them', () => {
    const principals = aclPrincipals(readFileSync(join(REPO_ROOT, 'deploy/local/kafka/acls.txt'), 'utf8'));
    expect(principals).toEqual(expect.arrayContaining(['gateway', 'topics', 'worker']));
    expect(aclPrincipals('# a comment\nworker READ TOPIC LITERAL frames.v1 # trailing\nworker WRITE TOPIC LITERAL x\n\nbad line\n')).toEqual(['worker']);
    expect(principalPasswordKey('drift-monitor')).toBe('LOOMWATCH_KAFKA_PASSWORD_DRIFT_MONITOR');
  });
});
