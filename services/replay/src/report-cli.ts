/**
 * `replay report`: compares a replay (or shadow) verdict stream with a baseline, frame by frame,
 * and writes report.json, report.md (or .html) and report.svg; with `--feedback-topic`, also
 * over the reviewed frames by their current label; with `--json`, prints one JSON line
 * (`ReportJsonLine`) for a program that runs it (the retrainer). The figures are computed in
 * report-figures.ts; this module wires arguments, config, Kafka and files.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { z } from 'zod';
import { KafkaConfig, STANDARD_ENV_ALIASES, commandName, loadConfig } from '@loomwatch/config';
import { toLoomwatchError } from '@loomwatch/contracts';
import { createKafkaClient } from '@loomwatch/kafka';
import { REPLAY_NAME } from './args.js';
import { parseReportArgs, type ReportArgs } from './report-args.js';
import { headline, reportDocument } from './report-document.js';
import { buildReport } from './report-figures.js';
import { isJoined, pairByFrame } from './report-join.js';
import type { JoinedFrame, ReplayReport } from './report-model.js';
import { renderHtml, renderMarkdown } from './report-render.js';
import { readReportInputs } from './report-source.js';
import { renderChart } from './report-svg.js';

const ReportConfig = z.object({ kafka: KafkaConfig.prefault({}) });

interface ReportIo {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
  /** Read for KAFKA_BROKERS and LOOMWATCH_KAFKA__*. */
  env: NodeJS.ProcessEnv;
  /** Where the default and relative out dirs go. */
  cwd: string;
  now: () => Date;
}

const defaultIo = (): ReportIo => ({
  stdout: (line) => process.stdout.write(`${line}\n`),
  stderr: (line) => process.stderr.write(`${line}\n`),
  env: process.env,
  // pnpm runs scripts in the workspace root; INIT_CWD is where the user typed the command.
  cwd: process.env['INIT_CWD'] ?? process.cwd(),
  now: () => new Date(),
});

/** @defaultValue 10 invalid messages described on stderr; the rest are only counted. */
const INVALID_WARNINGS = 10;

interface ReportFiles {
  json: string;
  summary: string;
  chart: string;
}

/** What `--json` prints on stdout, one line: the files (absolute) and the figures a caller acts on. */
export interface ReportJsonLine {
  files: ReportFiles;
  candidate: string;
  baseline: string;
  joined: number;
  agreed: number;
  agreementRate: number | null;
  flips: { okToDefect: number; defectToOk: number };
  /** Only with `--feedback-topic`: the fields of the retrainer's `ReplayCheck`. */
  reviewed?: ReplayReport['reviewed'];
}

function jsonLine(report: ReplayReport, files: ReportFiles): ReportJsonLine {
  const { overall, streams } = report;
  return {
    files,
    candidate: streams.candidate.topic,
    baseline: streams.baseline.topic,
    joined: overall.joined,
    agreed: overall.agreed,
    agreementRate: overall.agreementRate,
    flips: overall.flips,
    ...(report.reviewed === undefined ? {} : { reviewed: report.reviewed }),
  };
}

async function writeReportFiles(outDir: string, report: ReplayReport, joined: readonly JoinedFrame[], args: Pick<ReportArgs, 'format' | 'objectUrl'>): Promise<ReportFiles> {
  const { format } = args;
  await mkdir(outDir, { recursive: true });
  const files: ReportFiles = { json: join(outDir, 'report.json'), summary: join(outDir, `report.${format}`), chart: join(outDir, 'report.svg') };
  const chart = renderChart(report.overall.scoreDeltaHistogram, joined);
  const blocks = reportDocument(report, 'report.svg', { objectUrl: args.objectUrl });
  await writeFile(files.json, `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(files.chart, chart);
  await writeFile(files.summary, format === 'md' ? renderMarkdown(blocks) : renderHtml(blocks, chart));
  return files;
}

/** Exit codes: 0 written, 2 bad arguments or config (the message says what to do), 1 anything else. */
export async function runReportCommand(argv: string[], io: Partial<ReportIo> = {}): Promise<number> {
  const { stdout, stderr, env, cwd, now } = { ...defaultIo(), ...io };
  let args: ReportArgs;
  let config: z.infer<typeof ReportConfig>;
  const name = `${commandName(REPLAY_NAME)} report`;
  try {
    const parsed = parseReportArgs(argv, cwd, commandName(REPLAY_NAME));
    if (parsed === 'help') return 0;
    args = parsed;
    config = loadConfig(ReportConfig, { env, envAliases: STANDARD_ENV_ALIASES });
  } catch (err) {
    stderr(`${name}: ${toLoomwatchError(err).message} (${name} --help shows the options and an example)`);
    return 2;
  }
  try {
    const client = createKafkaClient({ ...config.kafka, clientId: `${config.kafka.clientId}-replay-report` });
    let warnings = 0;
    const inputs = await readReportInputs(
      client,
      { candidate: args.replayTopic, baseline: args.baseline, frames: args.framesTopic, ...(args.feedbackTopic === undefined ? {} : { feedback: args.feedbackTopic }) },
      { warn: (line) => (warnings++ < INVALID_WARNINGS ? stderr(line) : undefined) },
    );
    const report = buildReport({ ...inputs, generatedAt: now() });
    const joined = pairByFrame(inputs.candidate.verdicts.byFrame, inputs.baseline.verdicts.byFrame).filter(isJoined);
    const files = await writeReportFiles(args.outDir, report, joined, args);
    const invalid = report.streams.candidate.invalid + report.streams.baseline.invalid + report.streams.frames.invalid + (report.reviewedFrames?.invalid ?? 0);
    if (invalid > INVALID_WARNINGS) stderr(`${invalid} invalid messages skipped in all (the first ${INVALID_WARNINGS} shown)`);
    if (args.json) {
      stdout(JSON.stringify(jsonLine(report, files)));
      return 0;
    }
    stdout(`report: ${relative(cwd, files.summary) || files.summary}`);
    for (const line of headline(report)) stdout(line);
    return 0;
  } catch (err) {
    const error = toLoomwatchError(err);
    stderr(`replay report failed: ${error.message}`);
    return error.code === 'REPLAY_INVALID' ? 2 : 1;
  }
}
