/**
 * `topics apply`: creates every topic Loomwatch uses from its one declaration (`TOPIC_DECLARATIONS`
 * in @loomwatch/contracts) and checks the ones that exist: partitions, replication, retention,
 * cleanup policy and min.insync.replicas, one table row per topic as it is done. It creates what
 * is missing and sets configs that differ; it grows partitions only with --grow-partitions (Kafka
 * cannot shrink a topic, and growing moves keys) and never changes replication (a reassignment).
 * `--check` changes nothing. Exit 0: the cluster stands as declared; 1: something still differs,
 * or the brokers failed; 2: bad usage. Kafka settings (brokers, SASL, TLS) come from the
 * environment as for the services (KAFKA_BROKERS, KAFKA_SASL_USERNAME…).
 *
 * It lives in the worker's package so that the worker image carries it: the Kubernetes Job
 * `loomwatch-topics` runs it there.
 */
import { z } from 'zod';
import { KafkaConfig, STANDARD_ENV_ALIASES, addExamples, collect, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, newCommand, parseOrExit } from '@loomwatch/config';
import { LoomwatchError, TOPICS, TOPIC_PROFILES, toLoomwatchError, topicSpecifications, type ReplicationSettings, type TopicProfile, type TopicSpecification } from '@loomwatch/contracts';
import { applyTopics, createKafkaClient } from '@loomwatch/kafka';
import { allAsDeclared, hintLines, jsonReport, summaryLine, tableHeader, tableRow } from './topics-report.js';

const NAME = 'loomwatch topics';

interface ApplyOptions {
  check?: boolean;
  json?: boolean;
  profile: string;
  replicationFactor?: string;
  minInsyncReplicas?: string;
  partitions?: string[];
  growPartitions?: boolean;
  prefix?: string;
}

interface Request {
  specifications: TopicSpecification[];
  check: boolean;
  json: boolean;
  growPartitions: boolean;
}

const count = (option: string, value: string): number => {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new LoomwatchError('CONFIG_INVALID', `${option} takes a whole number of at least 1, not ${value}`);
  return parsed;
};

/** The profile's replication, with the overrides; min.insync.replicas never above the replication factor. */
function replicationOf(options: ApplyOptions): ReplicationSettings {
  if (!Object.hasOwn(TOPIC_PROFILES, options.profile)) {
    throw new LoomwatchError('CONFIG_INVALID', `--profile is one of ${Object.keys(TOPIC_PROFILES).join(', ')}, not ${options.profile}`);
  }
  const profile = TOPIC_PROFILES[options.profile as TopicProfile];
  const replicationFactor = options.replicationFactor === undefined ? profile.replicationFactor : count('--replication-factor', options.replicationFactor);
  const minInsyncReplicas = options.minInsyncReplicas === undefined ? Math.min(profile.minInsyncReplicas, replicationFactor) : count('--min-insync-replicas', options.minInsyncReplicas);
  if (minInsyncReplicas > replicationFactor) {
    throw new LoomwatchError('CONFIG_INVALID', `--min-insync-replicas ${minInsyncReplicas} is above the replication factor ${replicationFactor}: every write would be refused`);
  }
  return { replicationFactor, minInsyncReplicas };
}

function partitionsOf(entries: readonly string[]): Record<string, number> {
  const known: readonly string[] = Object.values(TOPICS);
  const partitions: Record<string, number> = {};
  for (const entry of entries) {
    const [topic, value] = entry.split('=');
    if (topic === undefined || value === undefined || !known.includes(topic)) {
      throw new LoomwatchError('CONFIG_INVALID', `--partitions takes TOPIC=COUNT for a declared topic (${known.join(', ')}), e.g. --partitions frames.v1=16 (got ${entry})`);
    }
    partitions[topic] = count('--partitions', value);
  }
  return partitions;
}

function commandLine(argv: readonly string[]): Request | undefined {
  let request: Request | undefined;
  const program = newCommand({
    name: NAME,
    summary: 'Creates and checks the Kafka topics from their one declaration (packages/contracts, TOPIC_DECLARATIONS).',
    examples: ['loomwatch topics apply --profile dev', 'loomwatch topics apply --check --json'],
    notes: ['Kafka settings (brokers, SASL, TLS) come from the environment as for the services. Exit codes: 0 as declared, 1 something still differs or the brokers failed, 2 bad usage.'],
  });
  const apply = program
    .command('apply')
    .description(
      'Creates missing topics and sets topic configs that differ (retention.ms, cleanup.policy, min.insync.replicas); reports, per topic, what it may not change: fewer partitions (unless --grow-partitions), more partitions (Kafka cannot shrink a topic), another replication factor (a reassignment).',
    )
    .option('--check', 'change nothing: report what differs, exit 1 if anything does')
    .option('--json', 'print the outcome as one JSON document instead of the table')
    .option('--profile <name>', `replication of the cluster: production (${TOPIC_PROFILES.production.replicationFactor} replicas, min.insync.replicas ${TOPIC_PROFILES.production.minInsyncReplicas}) or dev (one broker)`, 'production')
    .option('--replication-factor <n>', "replicas of each partition (default: the profile's)")
    .option('--min-insync-replicas <n>', "replicas a write needs (default: the profile's, at most the replication factor)")
    .option('--partitions <topic=count>', 'partitions of a topic other than declared, e.g. frames.v1=16: at least the most workers of the group (repeatable)', collect)
    .option('--grow-partitions', 'grow topics with fewer partitions than declared (some keys then move to another partition)')
    .option('--prefix <prefix>', 'put before every topic name (a second installation on a shared cluster)')
    .action((options: ApplyOptions) => {
      const replication = replicationOf(options);
      const specifications = topicSpecifications({ replication, partitions: partitionsOf(options.partitions ?? []), ...(options.prefix === undefined ? {} : { prefix: options.prefix }) });
      request = { specifications, check: options.check === true, json: options.json === true, growPartitions: options.growPartitions === true };
    });
  addExamples(apply, {
    examples: [
      'loomwatch topics apply --profile dev',
      'loomwatch topics apply --partitions frames.v1=16',
      'loomwatch topics apply --check',
      'KAFKA_BROKERS=kafka-0:9093 KAFKA_SASL_USERNAME=topics KAFKA_SASL_PASSWORD=… KAFKA_TLS_CA_FILE=ca.pem loomwatch topics apply',
    ],
  });
  parseOrExit(program, argv);
  return request;
}

async function main(request: Request): Promise<number> {
  const { kafka } = loadConfig(z.strictObject({ kafka: KafkaConfig.prefault({}) }), { envAliases: STANDARD_ENV_ALIASES, envSections: ['kafka'] });
  const client = createKafkaClient({ ...kafka, clientId: 'loomwatch-topics' });
  const topicWidth = Math.max(...request.specifications.map((spec) => spec.topic.length));
  let rows = 0;
  const outcomes = await applyTopics(client.topics, request.specifications, {
    check: request.check,
    growPartitions: request.growPartitions,
    onTopic: (outcome) => {
      if (request.json) return;
      if (rows++ === 0) process.stdout.write(`${tableHeader(topicWidth)}\n`);
      process.stdout.write(`${tableRow(outcome, topicWidth)}\n`);
    },
  });
  const closing = request.json ? [JSON.stringify(jsonReport(outcomes, request.check), null, 2)] : [...hintLines(outcomes), summaryLine(outcomes, request.check)];
  process.stdout.write(closing.map((line) => `${line}\n`).join(''));
  return allAsDeclared(outcomes) ? 0 : 1;
}

// A mistake in the options (a --partitions without a count, a profile unknown) is bad usage: exit 2.
const request = commandLine(process.argv.slice(2));
if (request === undefined) process.exit(0);
const name = `${commandName(NAME)} apply`;
try {
  process.exitCode = await main(request);
} catch (err) {
  const error = toLoomwatchError(err);
  if (error.code === 'CONFIG_INVALID') exitWithUsageError(name, error.message);
  exitWithRuntimeError(name, error);
}
