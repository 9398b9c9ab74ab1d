/**
 * `dataset snapshot|pull|list`: the labelled data set the operators' reviews make. `snapshot`
 * freezes `feedback.v1` into a content-addressed manifest in S3, `pull` lays a snapshot out on disk
 * for the model pipeline, `list` shows the snapshots. Kafka and S3 settings come from the
 * environment as for the services. Exit codes: 0 done, 1 runtime failure, 2 bad usage.
 */
import { z } from 'zod';
import { KafkaConfig, S3Config, STANDARD_ENV_ALIASES, addExamples, commandName, exitWithRuntimeError, exitWithUsageError, loadConfig, newCommand, parseOrExit } from '@loomwatch/config';
import { BucketName, LoomwatchError, TOPICS, toLoomwatchError, type DatasetManifest } from '@loomwatch/contracts';
import { createKafkaClient } from '@loomwatch/kafka';
import { createLogger } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import { countEntries, latestOf } from './manifest.js';
import { formatPullProgress } from './progress.js';
import { pullSnapshot } from './pull.js';
import { DATASET_BUCKET, manifestRef, readManifests } from './snapshots.js';
import { parentChoice, takeSnapshot, type SnapshotResult } from './snapshot.js';

const NAME = 'pnpm --silent dataset';
/** @defaultValue one progress line a second while pulling (and the last). */
const PROGRESS_EVERY_MS = 1000;

interface SnapshotOptions {
  topic: string;
  bucket: string;
  parent?: string | boolean;
  json?: boolean;
}
interface PullOptions {
  out: string;
  bucket: string;
  json?: boolean;
}
interface ListOptions {
  bucket: string;
  topic?: string;
  json?: boolean;
}
type Request = { command: 'snapshot'; options: SnapshotOptions } | { command: 'pull'; id: string; options: PullOptions } | { command: 'list'; options: ListOptions };

function commandLine(argv: readonly string[]): Request | undefined {
  let request: Request | undefined;
  const program = newCommand({
    name: NAME,
    summary: "The labelled data set of the operators' reviews: snapshots of feedback.v1 as immutable, content-addressed manifests in S3, and their frames laid out on disk.",
    examples: ['loomwatch dataset snapshot', 'loomwatch dataset pull 3f9c0a1b --out data/feedback', 'loomwatch dataset list'],
    notes: ['Kafka and S3 settings (KAFKA_BROKERS, S3_ENDPOINT, …) come from the environment as for the services. Exit codes: 0 done, 1 runtime failure, 2 bad usage.'],
  });
  const bucketOption = ['--bucket <bucket>', 'the bucket of the snapshots', DATASET_BUCKET] as const;
  const snapshot = program
    .command('snapshot')
    .description(
      "Freezes every review on the topic, up to where each partition ends now, into s3://<bucket>/snapshots/<id>/manifest.json: one entry per frame (its latest revision), id = sha256 of the manifest's canonical JSON. The same feedback is the same id: nothing is written again.",
    )
    .option('--topic <topic>', 'the feedback topic', TOPICS.feedback)
    .option(...bucketOption)
    .option('--parent <id>', "the snapshot this one extends (default: the topic's latest in the bucket)")
    .option('--no-parent', 'a snapshot with no parent')
    .option('--json', 'print the outcome as one JSON object')
    .action((options: SnapshotOptions) => {
      request = { command: 'snapshot', options };
    });
  addExamples(snapshot, { examples: ['loomwatch dataset snapshot', 'loomwatch dataset snapshot --no-parent --json'] });
  const pull = program
    .command('pull')
    .description("Writes a snapshot's frames under DIR at each entry's path (normal|defect/<fabric>/<frameId>.png, sha256 verified), a defect's regions beside it, and manifest.json last; what is there already with the right sha256 is kept.")
    .argument('<id>', "the snapshot's id (or its first 6 or more hex digits)")
    .requiredOption('--out <dir>', 'the folder to lay the data set out in')
    .option(...bucketOption)
    .option('--json', 'print the outcome as one JSON object')
    .action((id: string, options: PullOptions) => {
      request = { command: 'pull', id, options };
    });
  addExamples(pull, { examples: ['loomwatch dataset pull 3f9c0a1b --out data/feedback'] });
  const list = program
    .command('list')
    .description('Lists the snapshots in the bucket, oldest first: id, time, topic, frames and parent.')
    .option(...bucketOption)
    .option('--topic <topic>', "only this topic's snapshots")
    .option('--json', 'print them as JSON lines')
    .action((options: ListOptions) => {
      request = { command: 'list', options };
    });
  addExamples(list, { examples: ['loomwatch dataset list --topic feedback.v1'] });
  parseOrExit(program, argv);
  return request;
}

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const err = (line: string): void => void process.stderr.write(`${line}\n`);
const short = (id: string | undefined): string => (id === undefined ? 'none' : id.slice(0, 12));

function describeSnapshot(result: SnapshotResult, bucket: string): string[] {
  const { manifest } = result;
  const counts = countEntries(manifest.entries);
  const where = `s3://${bucket}/${manifestRef(bucket, manifest.id).key}`;
  const offsets = Object.entries(manifest.source.offsets)
    .map(([partition, offset]) => `${partition}:${offset}`)
    .join(' ');
  return [
    result.status === 'created' ? `snapshot ${manifest.id} stored at ${where}` : `snapshot ${manifest.id} exists already (${where}, made ${manifest.createdAt}): the same feedback, nothing written`,
    `parent: ${manifest.parent ?? 'none'}`,
    `read: ${manifest.source.topic} up to ${offsets || '(no partitions)'}: ${result.records} records${result.invalid > 0 ? ` (${result.invalid} not valid reviews, left out)` : ''} → ${counts.entries} frames`,
    `labels: ${Object.entries(counts.byLabel).map(([label, n]) => `${label} ${n}`).join(' · ')}`,
    `fabrics: ${Object.entries(counts.byFabric).map(([fabric, n]) => `${fabric} ${n}`).join(' · ') || 'none'}`,
  ];
}

function listLine(manifest: DatasetManifest): string {
  return `${manifest.id}  ${manifest.createdAt}  ${manifest.source.topic}  ${manifest.entries.length} frames  parent ${short(manifest.parent)}`;
}

async function main(request: Request): Promise<void> {
  const config = loadConfig(z.strictObject({ kafka: KafkaConfig.prefault({}), s3: S3Config.prefault({}) }), { envAliases: STANDARD_ENV_ALIASES, envSections: ['kafka', 's3'] });
  const bucket = BucketName.safeParse(request.options.bucket);
  if (!bucket.success) throw new LoomwatchError('CONFIG_INVALID', `--bucket ${request.options.bucket} is not an S3 bucket name (3 to 63 of a-z, 0-9, "." and "-")`);
  const store = new S3BlobStore(config.s3);
  try {
    if (request.command === 'snapshot') {
      const { options } = request;
      const parent = parentChoice(options);
      const logger = createLogger({ service: 'dataset', level: process.env['LOG_LEVEL'] ?? 'error' }, process.stderr);
      const kafka = createKafkaClient({ ...config.kafka, clientId: `${config.kafka.clientId}-dataset` }, logger);
      const result = await takeSnapshot(kafka, store, { topic: options.topic, bucket: options.bucket, parent, warn: err });
      const { manifest } = result;
      if (options.json === true) {
        const { id, parent: parentId, createdAt, source } = manifest;
        out(JSON.stringify({ id, status: result.status, parent: parentId ?? null, createdAt, source, records: result.records, invalid: result.invalid, counts: countEntries(manifest.entries), location: `s3://${options.bucket}/${manifestRef(options.bucket, id).key}` }));
      } else {
        for (const line of describeSnapshot(result, options.bucket)) out(line);
      }
    } else if (request.command === 'pull') {
      const { options } = request;
      let lastLine = 0;
      const result = await pullSnapshot(store, {
        bucket: options.bucket,
        id: request.id,
        outDir: options.out,
        onProgress: (progress, id) => {
          const now = Date.now();
          if (progress.done < progress.total && now - lastLine < PROGRESS_EVERY_MS) return;
          lastLine = now;
          err(formatPullProgress(id, progress));
        },
      });
      const summary = { id: result.manifest.id, outDir: result.outDir, frames: result.manifest.entries.length, fetched: result.fetched, skipped: result.skipped, bytes: result.bytes };
      if (options.json === true) out(JSON.stringify(summary));
      else out(`pulled ${summary.id} into ${summary.outDir}: ${summary.frames} frames (${summary.fetched} fetched, ${summary.skipped} already there), ${(summary.bytes / 1e6).toFixed(1)} MB`);
    } else {
      const { options } = request;
      const manifests = (await readManifests(store, options.bucket)).filter((manifest) => options.topic === undefined || manifest.source.topic === options.topic);
      manifests.sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || (a.id < b.id ? -1 : 1));
      for (const manifest of manifests) {
        const { id, parent, createdAt, source } = manifest;
        const latest = latestOf(manifests, source.topic)?.id === id;
        out(options.json === true ? JSON.stringify({ id, parent: parent ?? null, createdAt, topic: source.topic, frames: manifest.entries.length, latest }) : `${listLine(manifest)}${latest ? '  (latest)' : ''}`);
      }
      if (manifests.length === 0 && options.json !== true) err(`no snapshots in s3://${options.bucket}${options.topic === undefined ? '' : ` of ${options.topic}`}: loomwatch dataset snapshot takes one`);
    }
  } finally {
    store.close();
  }
}

const request = commandLine(process.argv.slice(2));
if (request === undefined) process.exit(0);
const name = `${commandName(NAME)} ${request.command}`;
try {
  await main(request);
  process.exit(0);
} catch (error) {
  const failure = toLoomwatchError(error);
  if (failure.code === 'CONFIG_INVALID') exitWithUsageError(name, failure.message);
  exitWithRuntimeError(name, failure);
}
