/** Command-line arguments of `replay report`, checked up front; a bad one is a REPLAY_INVALID error that says what to do. */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { LoomwatchError, TOPICS } from '@loomwatch/contracts';
import type { ReportFormat } from './report-render.js';

const REPORT_USAGE =
  'usage: replay report --replay-topic T [--baseline verdicts.v1] [--frames-topic frames.v1] [--out DIR] [--format md|html]';

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
  return new LoomwatchError('REPLAY_INVALID', `${message}\n${REPORT_USAGE}`);
}

export function parseReportArgs(argv: readonly string[], cwd: string): ReportArgs {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: false,
      strict: true,
      options: {
        'replay-topic': { type: 'string' },
        baseline: { type: 'string', default: TOPICS.verdicts },
        'frames-topic': { type: 'string', default: TOPICS.frames },
        out: { type: 'string' },
        format: { type: 'string', default: 'md' },
      },
    });
  } catch (err) {
    throw invalid(`${(err as Error).message}.`);
  }
  const { values } = parsed;
  const replayTopic = values['replay-topic'];
  if (replayTopic === undefined || replayTopic === '') {
    throw invalid('--replay-topic is required: the topic of the replay (verdicts.replay.<name>.<version>) or verdicts.shadow.v1.');
  }
  const topics = { '--replay-topic': replayTopic, '--baseline': values.baseline, '--frames-topic': values['frames-topic'] };
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
    framesTopic: values['frames-topic'],
    outDir: values.out === undefined ? join(cwd, 'reports', 'replay', replayTopic) : resolve(cwd, values.out),
    format,
  };
}
