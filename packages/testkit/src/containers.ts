/**
 * Kafka and S3 for the integration tests from the locally built images (deploy/images:
 * `loomwatch/kafka`, `loomwatch/s3proxy`), run with testcontainers (`LOOMWATCH_INFRA=containers`).
 * Host networking on free loopback ports, as everywhere on these machines: the servers bind
 * 127.0.0.1 themselves, so the broker advertises the address the tests dial and nothing goes
 * through a bridge network. Nothing is pulled: an image that is not on the machine is an error
 * naming the command that builds it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenericContainer, StartedTestContainer } from 'testcontainers';
import { brokerProperties, containerImages, kafkaEnvironment, missingImagesMessage, type ContainerPorts } from './container-settings.js';
import { makeSecureListenerMaterial } from './secure-listener-material.js';

/** testcontainers' reaper, started before the first container (testcontainers 11.14.0's default; infra.test.ts holds them together). */
export const REAPER_IMAGE = 'testcontainers/ryuk:0.14.0';

/** Marks the containers a run started with its pid, so that a later run removes those a killed run left behind. */
const OWNER_LABEL = 'org.loomwatch.testkit.owner-pid';

/** Where the files copied into the broker's container land (its user, uid 1000, reads them). */
const IN_CONTAINER = { keyStore: '/tmp/loomwatch-broker.p12', principals: '/tmp/loomwatch-principals.env', acls: '/tmp/loomwatch-acls.txt', program: '/tmp/SecurePrincipals.java' } as const;

/** The servers the containers offer, in the shape of infra.ts's Infra less its source and OIDC provider. */
export interface ServerContainers {
  kafkaBrokers: string[];
  kafkaSecure: { brokers: string[]; caFile: string; principalsFile: string };
  s3: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  /** The images that ran, and how long the start took (the README's figures). */
  images: { kafka: string; s3: string };
  startMs: number;
  stop(): Promise<void>;
}

const S3_CREDENTIALS = { region: 'us-east-1', accessKeyId: 'loomwatch', secretAccessKey: 'loomwatch-secret' } as const;

/** `count` loopback ports free at this instant (held open together, so they differ). */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((server) => (server.address() as AddressInfo).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** A health check that runs every second (the images' own run every 5 s: most of a start would be waiting for it). */
function everySecond(test: ['CMD', ...string[]]) {
  return { test, interval: 1000, timeout: 5000, retries: 180, startPeriod: 0 };
}

/**
 * Starts the broker and S3Proxy containers and makes the secured listener's SCRAM users and ACLs
 * (deploy/local/kafka/SecurePrincipals.java, run by the broker image's own Java). `env` may name
 * other images (container-settings.ts); the rest comes from the repository at `repoRoot`.
 */
export async function startServerContainers(repoRoot: string, env: NodeJS.ProcessEnv): Promise<ServerContainers> {
  const started = Date.now();
  const { GenericContainer, ImageName, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient().catch((err: unknown) => {
    const reason = (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
    throw new Error(`LOOMWATCH_INFRA=containers, but no container engine answers (${reason}): start one (as root on Debian: bash deploy/images/engine.sh), or unset LOOMWATCH_INFRA to use the local servers of deploy/local/infra.sh`, { cause: err });
  });
  const images = containerImages(repoRoot, env);
  const missing: string[] = [];
  for (const image of [images.kafka, images.s3]) if (!(await client.image.exists(ImageName.fromString(image)))) missing.push(image);
  if (missing.length > 0) throw new Error(missingImagesMessage(missing));
  // The reaper removes a run's containers when the run dies; it can only be pulled, so without it
  // this run stops its own containers and the next run removes those a killed run left behind.
  if (env['TESTCONTAINERS_RYUK_DISABLED'] === undefined && !(await client.image.exists(ImageName.fromString(env['RYUK_CONTAINER_IMAGE'] ?? REAPER_IMAGE)))) {
    process.env['TESTCONTAINERS_RYUK_DISABLED'] = 'true';
  }
  for (const info of await client.container.list()) {
    const owner = Number(info.Labels[OWNER_LABEL]);
    if (!Number.isInteger(owner) || owner <= 0 || alive(owner)) continue;
    const leftover = client.container.getById(info.Id);
    await client.container.stop(leftover, { timeout: 0 }).catch(() => undefined);
    await client.container.remove(leftover, { removeVolumes: true }).catch(() => undefined);
  }

  const dir = mkdtempSync(join(tmpdir(), 'loomwatch-containers-'));
  const acls = join(repoRoot, 'deploy/local/kafka/acls.txt');
  const material = makeSecureListenerMaterial(dir, acls);
  const [kafkaPort, controllerPort, securePort, s3Port] = await freePorts(4);
  const ports: ContainerPorts = { kafka: kafkaPort ?? 0, controller: controllerPort ?? 0, kafkaSecure: securePort ?? 0, s3: s3Port ?? 0 };
  const labels = { [OWNER_LABEL]: String(process.pid) };

  const broker: GenericContainer = new GenericContainer(images.kafka)
    .withNetworkMode('host')
    .withLabels(labels)
    .withEnvironment(kafkaEnvironment(brokerProperties(ports, { path: IN_CONTAINER.keyStore, password: material.keyStorePassword })))
    .withCopyFilesToContainer([
      { source: material.keyStoreFile, target: IN_CONTAINER.keyStore, mode: 0o644 },
      { source: material.principalsFile, target: IN_CONTAINER.principals, mode: 0o644 },
      { source: acls, target: IN_CONTAINER.acls, mode: 0o644 },
      { source: join(repoRoot, 'deploy/local/kafka/SecurePrincipals.java'), target: IN_CONTAINER.program, mode: 0o644 },
    ])
    .withHealthCheck(everySecond(['CMD', '/opt/kafka/bin/kafka-broker-api-versions.sh', '--bootstrap-server', `127.0.0.1:${ports.kafka}`]))
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(180_000);
  const s3: GenericContainer = new GenericContainer(images.s3)
    .withNetworkMode('host')
    .withLabels(labels)
    .withEnvironment({ S3PROXY_ENDPOINT: `http://127.0.0.1:${ports.s3}`, S3PROXY_IDENTITY: S3_CREDENTIALS.accessKeyId, S3PROXY_CREDENTIAL: S3_CREDENTIALS.secretAccessKey })
    .withHealthCheck(everySecond(['CMD', 'bash', '-c', `exec 3<>/dev/tcp/127.0.0.1/${ports.s3} && printf 'GET /healthz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '`]))
    .withWaitStrategy(Wait.forHealthCheck())
    .withStartupTimeout(180_000);

  const running: StartedTestContainer[] = [];
  const stopAll = async () => {
    await Promise.all(running.map((container) => container.stop({ remove: true, removeVolumes: true }).catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const outcomes = await Promise.allSettled([broker.start(), s3.start()]);
    for (const outcome of outcomes) if (outcome.status === 'fulfilled') running.push(outcome.value);
    const failed = outcomes.find((outcome) => outcome.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
    const [kafka] = running;
    if (kafka === undefined) throw new Error('the broker container did not start');
    const principals = await kafka.exec(['java', '-Xmx128m', '-cp', '/opt/kafka/libs/*', IN_CONTAINER.program, `127.0.0.1:${ports.kafka}`, IN_CONTAINER.principals, IN_CONTAINER.acls]);
    if (principals.exitCode !== 0) throw new Error(`could not create the SCRAM users and ACLs of the secured listener in ${images.kafka} (SecurePrincipals.java exited ${principals.exitCode}):\n${principals.output}`);
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    kafkaBrokers: [`127.0.0.1:${ports.kafka}`],
    kafkaSecure: { brokers: [`127.0.0.1:${ports.kafkaSecure}`], caFile: material.caFile, principalsFile: material.principalsFile },
    s3: { endpoint: `http://127.0.0.1:${ports.s3}`, ...S3_CREDENTIALS },
    images,
    startMs: Date.now() - started,
    stop: stopAll,
  };
}
