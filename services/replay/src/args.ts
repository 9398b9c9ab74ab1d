import { collect, newCommand, parseCommand, type Command } from '@loomwatch/config';
import { Id, KafkaTopicName, LoomwatchError, Precision, type ReplaySelection } from '@loomwatch/contracts';
import { modelRefParts } from '@loomwatch/model-registry';
import { readFrameIdsFile } from './frame-ids.js';

/** How the replay command is run outside `loomwatch` (its subcommands are `run` and `report`). */
export const REPLAY_NAME = 'pnpm --silent replay';

/** Where a replay starts on each partition. */
export type FromSpec =
  | { kind: 'earliest' }
  | { kind: 'time'; time: Date }
  /** Only the partitions named are replayed. */
  | { kind: 'offsets'; offsets: ReadonlyMap<number, number> };

/** Where a replay ends: the high watermarks at its first run, or the first offset at or after a time. */
export type ToSpec = { kind: 'now' } | { kind: 'time'; time: Date };

export interface ReplayArgs {
  from: FromSpec;
  to: ToSpec;
  selection: ReplaySelection;
  model: { name: string; version: string };
  /**
   * Which precision decides: `fp32` the version named, `int8` its INT8 variant, `auto` the variant
   * only on a VNNI CPU (as a worker with `inference.precision: auto`). @defaultValue 'fp32'
   */
  precision: Precision;
  /** @defaultValue `verdicts.replay.<name>.<version>` */
  toTopic: string | undefined;
  /** @defaultValue the worker config's input topic (`frames.v1`) */
  inputTopic: string | undefined;
  /** Consumers of the replay group in this process, each with its own model session. @defaultValue 1 */
  workers: number;
  /** The replay id; a hash of the canonical arguments when omitted. */
  name: string | undefined;
  allowLiveTopic: boolean;
  /** Print the summary as one JSON line instead of prose. */
  json: boolean;
  configFiles: string[];
  overrides: string[];
}

function invalid(message: string): LoomwatchError {
  return new LoomwatchError('REPLAY_INVALID', message);
}

/** An ISO 8601 date or date-time; anything `Date.parse` would guess at is refused. */
function parseTime(raw: string, option: string): Date {
  const time = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(raw) ? Date.parse(raw) : Number.NaN;
  if (Number.isNaN(time)) throw invalid(`${option} ${raw} is not an ISO 8601 time: write e.g. 2026-03-01T08:00:00Z`);
  return new Date(time);
}

function parseOffsets(raw: string): Map<number, number> {
  const offsets = new Map<number, number>();
  for (const part of raw.split(',')) {
    const match = /^(\d+):(\d+)$/.exec(part.trim());
    if (match?.[1] === undefined || match[2] === undefined) {
      throw invalid(`--from ${raw}: "${part}" is not partition:offset (write e.g. 0:120,1:98)`);
    }
    const partition = Number(match[1]);
    if (offsets.has(partition)) throw invalid(`--from ${raw} names partition ${partition} twice`);
    offsets.set(partition, Number(match[2]));
  }
  return offsets;
}

function parseFrom(raw: string): FromSpec {
  if (raw === 'earliest') return { kind: 'earliest' };
  if (/^\d+:/.test(raw)) return { kind: 'offsets', offsets: parseOffsets(raw) };
  return { kind: 'time', time: parseTime(raw, '--from') };
}

function parseTo(raw: string | undefined): ToSpec {
  if (raw === undefined || raw === 'now') return { kind: 'now' };
  return { kind: 'time', time: parseTime(raw, '--to') };
}

/** The spec in one spelling, so that the same replay asked twice gets the same id. */
export function canonicalFrom(from: FromSpec): string {
  switch (from.kind) {
    case 'earliest':
      return 'earliest';
    case 'time':
      return from.time.toISOString();
    case 'offsets':
      return [...from.offsets]
        .sort(([a], [b]) => a - b)
        .map(([partition, offset]) => `${partition}:${offset}`)
        .join(',');
  }
}

export function canonicalTo(to: ToSpec): string {
  return to.kind === 'now' ? 'now' : to.time.toISOString();
}

/** `--model name@version`, by the registry's name rule; a bare name is refused (a replay pins a version). */
export function parseModelRef(raw: string): { name: string; version: string } {
  const parts = modelRefParts(raw);
  if (parts?.version === undefined) {
    throw invalid(`--model ${raw} must name one version, e.g. draem-aitex@1.2.0 (a replay never follows deployments)`);
  }
  return { name: parts.name, version: parts.version };
}

function checkTopic(raw: string | undefined, option: string): string | undefined {
  if (raw !== undefined && !KafkaTopicName.safeParse(raw).success) throw invalid(`${option} ${raw} is not a valid Kafka topic name`);
  return raw;
}

function checkSelection(lines: string[], cameras: string[], frameIdsFile: string | undefined): ReplaySelection {
  for (const line of lines) if (!Id.safeParse(line).success) throw invalid(`--line ${line} is not a line id`);
  for (const camera of cameras) {
    if (!/^(?:[A-Za-z0-9._-]+:)?[A-Za-z0-9._-]+$/.test(camera)) throw invalid(`--camera ${camera} is not a camera id or line:camera`);
  }
  if (frameIdsFile === '') throw invalid('--frame-ids must name a file of frame ids');
  return {
    lines: [...new Set(lines)].sort(),
    cameras: [...new Set(cameras)].sort(),
    // Absent rather than empty, so that a replay without --frame-ids keeps the plan (and id) it had before the option existed.
    ...(frameIdsFile === undefined ? {} : { frameIds: readFrameIdsFile(frameIdsFile) }),
  };
}

interface RunOptions {
  from?: string;
  to?: string;
  line?: string[];
  camera?: string[];
  frameIds?: string;
  model?: string;
  precision: string;
  toTopic?: string;
  inputTopic?: string;
  workers: string;
  name?: string;
  allowLiveTopic?: boolean;
  json?: boolean;
  config?: string[];
  set?: string[];
}

/** `replay run`: its options, defaults and examples (its --help). */
export function replayRunCommand(name: string): Command {
  return newCommand({
    name: REPLAY_NAME,
    summary: 'Decides past frames again with one model version, into a topic of its own; run it again to continue where it stopped.',
    examples: [
      'loomwatch replay run --from 2026-03-01T08:00:00Z --to 2026-03-01T09:00:00Z --line line-1 --model draem-aitex@1.2.0',
      'loomwatch replay run --from earliest --model patchcore-aitex@1.1.0 --workers 2',
      'loomwatch replay run --from earliest --model draem-aitex@1.3.0 --frame-ids reviewed.txt --name retrain-42 --json',
    ],
    notes: [
      'Then compare: loomwatch replay report --replay-topic verdicts.replay.<name>.<version>',
      'Exit codes: 0 done (or stopped by a signal: run again to continue), 1 failure, 2 bad arguments or configuration.',
    ],
  })
    // Named as it was run (`loomwatch replay`, `pnpm --silent replay`), with the subcommand.
    .name(`${name} run`)
    .option('--from <time|earliest|p:offset,...>', 'where to start: an ISO 8601 time, earliest, or partition:offset pairs (required)')
    .option('--to <time|now>', 'where to stop: an ISO 8601 time, or the end of the topic at the first run', 'now')
    .option('--line <line>', 'only this line (repeatable)', collect)
    .option('--camera <camera|line:camera>', 'only this camera (repeatable)', collect)
    .option(
      '--frame-ids <file>',
      'only the frames with these FrameEvent frameIds: a file of one id a line (blank lines and # comments ignored) or a JSON array of ids; kept in the plan, so a rerun continues with the same set',
    )
    .option('--model <name@version>', 'the one version that decides every frame (required)')
    .option(
      '--precision <fp32|int8|auto>',
      'fp32: the version named; int8: its INT8 variant; auto: the variant only on a VNNI CPU, as a worker on this machine with inference.precision auto (to replay what a shadow ran)',
      'fp32',
    )
    .option('--to-topic <topic>', 'where the verdicts go (default: verdicts.replay.<name>.<version>)')
    .option('--input-topic <topic>', 'the frames topic (default: the worker config\'s, frames.v1)')
    .option('--workers <n>', 'consumers in this process, each with its own model session', '1')
    .option('--name <id>', 'the replay id (default: a hash of the arguments, so the same replay asked twice continues)')
    .option('--allow-live-topic', 'allow --to-topic verdicts.v1 (normally refused)')
    .option('--json', 'print the summary as one JSON line')
    .option('--config <file>', 'a YAML config file, as for the worker (repeatable)', collect)
    .option('--set <path=value>', 'one setting, as for the worker (repeatable)', collect);
}

/** Parses `replay run` arguments; a mistake is a `REPLAY_INVALID` error that says what to write instead. */
export function parseReplayArgs(argv: readonly string[], name = REPLAY_NAME): ReplayArgs | 'help' {
  const command = replayRunCommand(name);
  if (parseCommand(command, argv, 'REPLAY_INVALID') === 'help') return 'help';
  const values = command.opts<RunOptions>();
  if (values.from === undefined) throw invalid('--from is required: an ISO time, earliest, or partition:offset pairs');
  if (values.model === undefined) throw invalid('--model is required: the version to decide the frames with, e.g. draem-aitex@1.2.0');
  const from = parseFrom(values.from);
  const to = parseTo(values.to);
  if (from.kind === 'time' && to.kind === 'time' && to.time <= from.time) {
    throw invalid(`--to ${values.to} is not after --from ${values.from}`);
  }
  const precision = Precision.safeParse(values.precision);
  if (!precision.success) throw invalid(`--precision ${values.precision} must be one of ${Precision.options.join(', ')}`);
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1 || workers > 64) throw invalid(`--workers ${values.workers} must be a whole number from 1 to 64`);
  if (values.name !== undefined && !Id.safeParse(values.name).success) {
    throw invalid(`--name ${values.name} may only hold letters, digits, ".", "_" and "-"`);
  }
  return {
    from,
    to,
    selection: checkSelection(values.line ?? [], values.camera ?? [], values.frameIds),
    model: parseModelRef(values.model),
    precision: precision.data,
    toTopic: checkTopic(values.toTopic, '--to-topic'),
    inputTopic: checkTopic(values.inputTopic, '--input-topic'),
    workers,
    name: values.name,
    allowLiveTopic: values.allowLiveTopic ?? false,
    json: values.json ?? false,
    configFiles: values.config ?? [],
    overrides: values.set ?? [],
  };
}
