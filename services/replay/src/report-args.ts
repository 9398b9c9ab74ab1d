/** Command-line arguments of `replay report`, checked up front; a bad one is a REPLAY_INVALID error that says what to do. */
import { join, resolve } from 'node:path';
import { newCommand, parseCommand, type Command } from '@loomwatch/config';
import { LoomwatchError, TOPICS } from '@loomwatch/contracts';
import { REPLAY_NAME } from './args.js';
import { DEFAULT_OBJECT_URL } from './report-document.js';
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
  /** The reviews (`feedback.v1`) whose labels make the reviewed-frames section. @defaultValue none: no such section */
  feedbackTopic: string | undefined;
  /** Print one JSON line (the figures and files) on stdout instead of the headline. @defaultValue false */
  json: boolean;
  /** Where a changed reviewed frame links its overlay: `<objectUrl><bucket>/<key>`. @defaultValue '/api/objects/' (the dashboard's object proxy) */
  objectUrl: string;
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
    examples: [
      'loomwatch replay report --replay-topic verdicts.replay.r1.1.2.0',
      'loomwatch replay report --replay-topic verdicts.shadow.v1 --format html --out /tmp/shadow-report',
      'loomwatch replay report --replay-topic verdicts.replay.draem-aitex.1.3.0 --feedback-topic feedback.v1 --format html --out /tmp/retrain --json',
    ],
    notes: [
      'With --feedback-topic the report gains a reviewed-frames section: each reviewed frame\'s current label against both verdicts.',
      '--json prints one line: {"files":{"json","summary","chart"},"candidate","baseline","joined","agreed","agreementRate","flips",' +
        '"reviewed":{"frames","normals":{"reviewed","parentFlagged","candidateFlagged"},"defects":{…}}} (reviewed only with --feedback-topic).',
      'Exit codes: 0 written, 1 failure, 2 bad arguments or configuration.',
    ],
  })
    // Named as it was run (`loomwatch replay`, `pnpm --silent replay`), with the subcommand.
    .name(`${name} report`)
    .option('--replay-topic <topic>', 'the candidate: verdicts.replay.<name>.<version> or verdicts.shadow.v1 (required)')
    .option('--baseline <topic>', 'the verdicts to compare with', TOPICS.verdicts)
    .option('--frames-topic <topic>', 'the frames both decided', TOPICS.frames)
    .option('--out <dir>', 'where the files go (default: reports/replay/<replay-topic>, git-ignored)')
    .option('--format <md|html>', 'the summary\'s format', 'md')
    .option('--feedback-topic <topic>', 'the reviews (feedback.v1): add the reviewed frames, by their current label, to the report (default: none)')
    .option('--json', 'print one JSON line with the figures and the files written, instead of the headline')
    .option('--object-url <prefix>', 'where the reviewed frames link their overlay images: <prefix><bucket>/<key> (default: the dashboard\'s object proxy)', DEFAULT_OBJECT_URL);
}

/** Parses `replay report` arguments; a mistake is a `REPLAY_INVALID` error that says what to do. */
export function parseReportArgs(argv: readonly string[], cwd: string, name = REPLAY_NAME): ReportArgs | 'help' {
  const command = reportCommand(name);
  if (parseCommand(command, argv, 'REPLAY_INVALID') === 'help') return 'help';
  const values = command.opts<{ replayTopic?: string; baseline: string; framesTopic: string; out?: string; format: string; feedbackTopic?: string; json?: boolean; objectUrl: string }>();
  const replayTopic = values.replayTopic;
  if (replayTopic === undefined || replayTopic === '') {
    throw invalid('--replay-topic is required: the topic of the replay (verdicts.replay.<name>.<version>) or verdicts.shadow.v1.');
  }
  const topics: Record<string, string> = {
    '--replay-topic': replayTopic,
    '--baseline': values.baseline,
    '--frames-topic': values.framesTopic,
    ...(values.feedbackTopic === undefined ? {} : { '--feedback-topic': values.feedbackTopic }),
  };
  for (const [option, topic] of Object.entries(topics)) {
    if (!TOPIC_NAME.test(topic)) throw invalid(`${option} "${topic}" is not a Kafka topic name (letters, digits, ".", "_", "-").`);
  }
  if (new Set(Object.values(topics)).size < Object.keys(topics).length) {
    throw invalid(`${Object.keys(topics).join(', ')} must be different topics.`);
  }
  const format = values.format;
  if (format !== 'md' && format !== 'html') throw invalid(`--format must be md or html, not "${format}".`);
  if (values.out === '') throw invalid('--out must name a directory.');
  if (!/^[^\s"'<>]+$/.test(values.objectUrl)) {
    throw invalid(`--object-url "${values.objectUrl}" must be a URL or path prefix without spaces or quotes, e.g. /api/objects/ or https://dashboard.example/api/objects/.`);
  }
  return {
    replayTopic,
    baseline: values.baseline,
    framesTopic: values.framesTopic,
    outDir: values.out === undefined ? join(cwd, 'reports', 'replay', replayTopic) : resolve(cwd, values.out),
    format,
    feedbackTopic: values.feedbackTopic,
    json: values.json ?? false,
    objectUrl: values.objectUrl,
  };
}
