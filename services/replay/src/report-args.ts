/** Command-line arguments of `replay report`, checked up front; a bad one is a REPLAY_INVALID error that says what to do. */
import { join, resolve } from 'node:path';
import { newCommand, parseCommand, type Command } from '@loomwatch/config';
import { LoomwatchError, TOPICS } from '@loomwatch/contracts';
import { REPLAY_NAME } from './args.js';
import type { ReportFormat } from './report-render.js';

export interface ReportArgs {
  /** The candidate stream: a replay topic or verdicts.shadow.v1. */
  replayTopic: string;
  /** @defaultValue 'verdicts.v1' */
  baseline: string;
  /** @defaultValue 'frames.v1' */
  framesTopic: string;
  /** Absolute. @defaultValue `reports/replay/<replay-topic>/` under the working directory */
  outDir: string;
  /** @defaultValue 'md' */
  format: ReportFormat;
}

/** Kafka's own rule for topic names. */
const TOPIC_NAME = /^[A-Za-z0-9._-]{1,249}$/;

function invalid(message: string): LoomwatchError {
  return new LoomwatchError('REPLAY_INVALID', message);
}

/** `replay report`: its options, defaults and examples (its --help). */
export function reportCommand(name: string): Command {
  return newCommand({
    name: REPLAY_NAME,
    summary: 'Compares a replay (or shadow) verdict stream with a baseline, frame by frame: agreement, flips, score shift, per line and fabric. Writes report.json, report.md (or .html) and report.svg.',
    examples: ['loomwatch replay report --replay-topic verdicts.replay.r1.1.2.0', 'loomwatch replay report --replay-topic verdicts.shadow.v1 --format html --out /tmp/shadow-report'],
    notes: ['Exit codes: 0 written, 1 failure, 2 bad arguments or configuration.'],
  })
    // Named as it was run (`loomwatch replay`, `pnpm --silent replay`), with the subcommand.
    .name(`${name} report`)
    .option('--replay-topic <topic>', 'the candidate: verdicts.replay.<name>.<version> or verdicts.shadow.v1 (required)')
    .option('--baseline <topic>', 'the verdicts to compare with', TOPICS.verdicts)
    .option('--frames-topic <topic>', 'the frames both decided', TOPICS.frames)
    .option('--out <dir>', 'where the files go (default: reports/replay/<replay-topic>, git-ignored)')
    .option('--format <md|html>', 'the summary\'s format', 'md');
}

/** Parses `replay report` arguments; a mistake is a `REPLAY_INVALID` error that says what to do. */
export function parseReportArgs(argv: readonly string[], cwd: string, name = REPLAY_NAME): ReportArgs | 'help' {
  const command = reportCommand(name);
  if (parseCommand(command, argv, 'REPLAY_INVALID') === 'help') return 'help';
  const values = command.opts<{ replayTopic?: string; baseline: string; framesTopic: string; out?: string; format: string }>();
  const replayTopic = values.replayTopic;
  if (replayTopic === undefined || replayTopic === '') {
    throw invalid('--replay-topic is required: the topic of the replay (verdicts.replay.<name>.<version>) or verdicts.shadow.v1.');
  }
  const topics = { '--replay-topic': replayTopic, '--baseline': values.baseline, '--frames-topic': values.framesTopic };
  for (const [option, topic] of Object.entries(topics)) {
    if (!TOPIC_NAME.test(topic)) throw invalid(`${option} "${topic}" is not a Kafka topic name (letters, digits, ".", "_", "-").`);
  }
  if (new Set(Object.values(topics)).size < 3) {
    throw invalid('--replay-topic, --baseline and --frames-topic must be three different topics.');
  }
  const format = values.format;
  if (format !== 'md' && format !== 'html') throw invalid(`--format must be md or html, not "${format}".`);
  if (values.out === '') throw invalid('--out must name a directory.');
  return {
    replayTopic,
    baseline: values.baseline,
    framesTopic: values.framesTopic,
    outDir: values.out === undefined ? join(cwd, 'reports', 'replay', replayTopic) : resolve(cwd, values.out),
    format,
  };
}
