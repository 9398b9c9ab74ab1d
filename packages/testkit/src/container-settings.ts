/**
 * What the testkit's container path (`LOOMWATCH_INFRA=containers`, containers.ts) asks of the
 * locally built images, as pure values: which infrastructure a run uses, the image names, the
 * broker's properties and the `KAFKA_*` variables that carry them into `loomwatch/kafka`'s entry
 * point (deploy/images/kafka-start.sh), and the error a run without the images gets.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the integration tests' Kafka, S3 and OIDC provider come from when the run names none. */
export type InfraMode = 'local' | 'containers';

/**
 * `LOOMWATCH_INFRA`: unset (or `local`) keeps the local processes of deploy/local/infra.sh, even
 * while a container engine answers; `containers` runs Kafka and S3 from the locally built images.
 */
export function infraMode(env: NodeJS.ProcessEnv): InfraMode {
  const value = env['LOOMWATCH_INFRA'];
  if (value === undefined || value === '' || value === 'local') return 'local';
  if (value === 'containers') return 'containers';
  throw new Error(`LOOMWATCH_INFRA=${value} is neither local nor containers: unset it for the local servers of deploy/local/infra.sh (the default), or set LOOMWATCH_INFRA=containers for the images of deploy/images`);
}

function pomVersion(repoRoot: string, name: 'kafka' | 's3proxy'): string {
  const pom = join(repoRoot, 'deploy/local', name, 'pom.xml');
  const version = new RegExp(`<loomwatch\\.${name}\\.version>([^<]+)</`).exec(readFileSync(pom, 'utf8'))?.[1];
  if (version === undefined) throw new Error(`${pom} names no loomwatch.${name}.version`);
  return version;
}

/** The images the container path runs. */
export interface ContainerImages {
  kafka: string;
  s3: string;
}

/**
 * `loomwatch/kafka:<version>` and `loomwatch/s3proxy:<version>`, the versions pinned in
 * deploy/local/{kafka,s3proxy}/pom.xml (the jars the images are built from);
 * `LOOMWATCH_KAFKA_IMAGE` / `LOOMWATCH_S3_IMAGE` name others with the same entry point settings.
 */
export function containerImages(repoRoot: string, env: NodeJS.ProcessEnv = process.env): ContainerImages {
  return {
    kafka: env['LOOMWATCH_KAFKA_IMAGE'] ?? `loomwatch/kafka:${pomVersion(repoRoot, 'kafka')}`,
    s3: env['LOOMWATCH_S3_IMAGE'] ?? `loomwatch/s3proxy:${pomVersion(repoRoot, 's3proxy')}`,
  };
}

/** What a run with `LOOMWATCH_INFRA=containers` says when an image is not on the machine (nothing is pulled). */
export function missingImagesMessage(missing: readonly string[]): string {
  return (
    `LOOMWATCH_INFRA=containers needs ${missing.join(' and ')} on this machine, and the container engine does not have ${missing.length === 1 ? 'it' : 'them'} ` +
    '(the testkit pulls nothing: no registry serves these images): build them with `make images` or `bash deploy/images/build-base.sh`, ' +
    'or unset LOOMWATCH_INFRA to use the local servers of deploy/local/infra.sh'
  );
}

/** The host ports of the containers' listeners (host networking: the servers bind 127.0.0.1 directly). */
export interface ContainerPorts {
  kafka: number;
  controller: number;
  kafkaSecure: number;
  s3: number;
}

/** Where the broker finds its TLS key store inside the container, and the store's password. */
export interface BrokerKeyStore {
  path: string;
  password: string;
}

/**
 * The broker's properties for the container: the same single node as deploy/local/infra.sh's
 * kafka_config (a loopback PLAINTEXT listener whose ANONYMOUS principal is a super user, a
 * SASL_SSL listener with SCRAM-SHA-512 users and the ACLs of acls.txt, one replica of everything),
 * on the ports of `ports`. The image's own defaults (kafka-start.sh) are overridden where they differ.
 */
export function brokerProperties(ports: ContainerPorts, keyStore: BrokerKeyStore): Record<string, string> {
  const host = '127.0.0.1';
  return {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@${host}:${ports.controller}`,
    listeners: `PLAINTEXT://${host}:${ports.kafka},CONTROLLER://${host}:${ports.controller},SASL_SSL://${host}:${ports.kafkaSecure}`,
    'advertised.listeners': `PLAINTEXT://${host}:${ports.kafka},SASL_SSL://${host}:${ports.kafkaSecure}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512',
    'listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config': 'org.apache.kafka.common.security.scram.ScramLoginModule required;',
    'ssl.keystore.type': 'PKCS12',
    'ssl.keystore.location': keyStore.path,
    'ssl.keystore.password': keyStore.password,
    'ssl.key.password': keyStore.password,
    'authorizer.class.name': 'org.apache.kafka.metadata.authorizer.StandardAuthorizer',
    'super.users': 'User:ANONYMOUS',
    'allow.everyone.if.no.acl.found': 'false',
    'default.replication.factor': '1',
    'min.insync.replicas': '1',
    'auto.create.topics.enable': 'true',
    'num.partitions': '1',
    'log.segment.bytes': '16777216',
  };
}

/**
 * The `KAFKA_<NAME>` variable of each property, as the apache/kafka image (and loomwatch/kafka's
 * kafka-start.sh) reads them back: upper case, '_' → '___', '-' → '__', '.' → '_'.
 */
export function kafkaEnvironment(properties: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(properties).map(([name, value]) => [`KAFKA_${name.replaceAll('_', '___').replaceAll('-', '__').replaceAll('.', '_').toUpperCase()}`, value]),
  );
}

/** The principals of deploy/local/kafka/acls.txt (first field of each five-field line), each once. */
export function aclPrincipals(aclsText: string): string[] {
  const principals = aclsText
    .split('\n')
    .map((line) => line.replace(/#.*/, '').trim().split(/\s+/))
    .filter((fields) => fields.length === 5)
    .map((fields) => fields[0] ?? '');
  return [...new Set(principals)].sort();
}

/** The key of a principal's password in principals.env, as infra.sh writes it and SecurePrincipals.java reads it. */
export function principalPasswordKey(principal: string): string {
  return `LOOMWATCH_KAFKA_PASSWORD_${principal.toUpperCase().replaceAll('-', '_')}`;
}
