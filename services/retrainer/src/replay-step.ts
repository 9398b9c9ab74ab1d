/**
 * The replay step: the candidate decides the snapshot's reviewed frames again (`loomwatch replay
 * run --frame-ids`), `loomwatch replay report --feedback-topic` compares its verdicts with the ones
 * people reviewed, and the HTML report goes to S3 where the dashboard's object proxy serves it.
 * Both are subprocesses, as the data set commands are: the replay runs the worker's frame pipeline
 * with the worker's configuration from the environment.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { extname, join, relative } from 'node:path';
import { z } from 'zod';
import { DatasetManifest, LoomwatchError, type ReplayCheck, type RetrainRequest } from '@loomwatch/contracts';
import type { BlobStore } from '@loomwatch/storage';
import { runCommand, type CommandResult } from './command.js';

export interface ReplayStepOptions {
  /** `loomwatch replay`, before `run` / `report`. */
  replayCommand: readonly string[];
  /** The reviews the report reads the labels from. */
  feedbackTopic: string;
  /** The frames the replay decides again (its `worker.inputTopic`) and the report reads. */
  framesTopic: string;
  /** The live verdicts the report compares the replay's with (`--baseline`). */
  verdictsTopic: string;
  /** The control topic the replay keeps its plan on (`worker.controlTopic`). */
  controlTopic: string;
  /** The registry the candidate was written to (the replay's `inference.registryRoot`). */
  registryRoot: string;
  workDir: string;
  reportBucket: string;
  store: BlobStore;
  /** Pulls the snapshot into `<workDir>/<snapshot>` (when the pulled folder is gone). */
  pull: (snapshot: string, dir: string) => Promise<void>;
  /** Told how long each part took (the replay run, the report, the upload). */
  timing?: (part: 'replay run' | 'report' | 'upload', ms: number, frames: number) => void;
  signal?: AbortSignal;
}

/** What `replay report --feedback-topic … --json` says about the reviewed frames. */
const ReviewedCount = z.object({ reviewed: z.int().nonnegative(), parentFlagged: z.int().nonnegative(), candidateFlagged: z.int().nonnegative() });
const ReviewedFigures = z.object({ reviewed: z.object({ frames: z.int().nonnegative(), normals: ReviewedCount, defects: ReviewedCount }) });

/** The replay summary `replay run --json` prints, as far as the step reads it. */
const RunSummary = z.object({ status: z.string(), targetTopic: z.string().min(1) });

/** The replay's name: `retrain-` and the first 12 hex of the request id's sha256 (the same request replays into the same plan). */
export function replayName(requestId: string): string {
  return `retrain-${createHash('sha256').update(requestId).digest('hex').slice(0, 12)}`;
}

/** Where a request's report is stored: `retrain/<request id>/report/`, the HTML summary as `index.html`. */
export function reportKey(requestId: string, file: string): string {
  return `retrain/${requestId}/report/${file === 'report.html' ? 'index.html' : file}`;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.md': 'text/markdown; charset=utf-8',
  '.png': 'image/png',
  '.css': 'text/css',
};

function lastLine(text: string): string {
  return text.trim().split('\n').at(-1) ?? '';
}

/** The JSON a `--json` command printed: its whole output, else its last line. */
export function printedJson(stdout: string, what: string): unknown {
  for (const text of [stdout, lastLine(stdout)]) {
    try {
      return JSON.parse(text);
    } catch {
      // try the next reading
    }
  }
  throw new LoomwatchError('RETRAIN_INVALID', `${what} printed no JSON: ${lastLine(stdout) || 'nothing'}`);
}

/** The reviewed frames' ids of a pulled snapshot, in manifest order. */
export async function reviewedFrameIds(manifestPath: string): Promise<string[]> {
  let json: unknown;
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'));
  } catch (err) {
    throw new LoomwatchError('RETRAIN_INVALID', `${manifestPath} is not JSON: remove the folder, the retrainer pulls the snapshot again`, { cause: err });
  }
  const manifest = DatasetManifest.safeParse(json);
  if (!manifest.success) throw new LoomwatchError('RETRAIN_INVALID', `${manifestPath} is not a data set manifest: remove the folder, the retrainer pulls the snapshot again`);
  return [...new Set(manifest.data.entries.map((entry) => entry.frameId))];
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => relative(dir, join(entry.parentPath, entry.name)));
}

/** Replays, reports and stores the report; the check the `replayed` / `promoted` record carries. */
export async function replayCandidate(input: { request: RetrainRequest; snapshot: string; version: string }, options: ReplayStepOptions): Promise<ReplayCheck> {
  const { request, snapshot, version } = input;
  const pulled = join(options.workDir, snapshot);
  if (!existsSync(join(pulled, 'manifest.json'))) await options.pull(snapshot, pulled);
  const frameIds = await reviewedFrameIds(join(pulled, 'manifest.json'));
  if (frameIds.length === 0) throw new LoomwatchError('RETRAIN_INVALID', `snapshot ${snapshot} holds no reviewed frames: there is nothing to replay the candidate on`);

  const name = replayName(request.id);
  const dir = join(options.workDir, 'replays', name);
  const outDir = join(dir, 'report');
  await mkdir(outDir, { recursive: true });
  const idsFile = join(dir, 'frame-ids.txt');
  await writeFile(idsFile, `${frameIds.join('\n')}\n`);

  const replay = async (args: string[], what: string): Promise<CommandResult> => {
    const result = await runCommand([...options.replayCommand, ...args], options.signal);
    if (result.code !== 0) throw new LoomwatchError('RETRAIN_INVALID', `${what} failed (exit ${result.code}): ${lastLine(result.stderr) || lastLine(result.stdout) || 'no message'}`);
    return result;
  };
  const timed = async <T>(part: 'replay run' | 'report' | 'upload', work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    options.timing?.(part, Math.round(performance.now() - started), frameIds.length);
    return result;
  };
  // The replay decides with the candidate from the registry the refit wrote it to.
  const settings = ['--set', `worker.inputTopic=${options.framesTopic}`, '--set', `worker.controlTopic=${options.controlTopic}`, '--set', `inference.registryRoot=${options.registryRoot}`];
  const run = await timed('replay run', () => replay(['run', '--model', version, '--from', 'earliest', '--frame-ids', idsFile, '--name', name, '--json', ...settings], `loomwatch replay run of ${version}`));
  const summary = RunSummary.safeParse(printedJson(run.stdout, 'loomwatch replay run'));
  if (!summary.success) throw new LoomwatchError('RETRAIN_INVALID', 'loomwatch replay run --json printed no targetTopic');
  if (summary.data.status === 'stopped') throw new LoomwatchError('RETRAIN_INVALID', `replay ${name} stopped before it decided every frame: the next run continues it`, { retryable: true });
  const replayTopic = summary.data.targetTopic;

  // One report run: with --json it writes the HTML report and prints its figures as one JSON line.
  const reportArgs = ['report', '--replay-topic', replayTopic, '--baseline', options.verdictsTopic, '--frames-topic', options.framesTopic, '--feedback-topic', options.feedbackTopic, '--format', 'html', '--out', outDir, '--json'];
  const printed = await timed('report', () => replay(reportArgs, 'loomwatch replay report'));
  const figures = ReviewedFigures.safeParse(printedJson(printed.stdout, 'loomwatch replay report --json'));
  if (!figures.success) throw new LoomwatchError('RETRAIN_INVALID', 'loomwatch replay report --json printed no reviewed figures (reviewed.frames, normals, defects): is the replay service new enough (--feedback-topic)?');

  const files = await filesUnder(outDir);
  if (!files.includes('report.html')) throw new LoomwatchError('RETRAIN_INVALID', `loomwatch replay report wrote no report.html into ${outDir}`);
  await timed('upload', async () => {
    for (const file of files) {
      await options.store.put({ bucket: options.reportBucket, key: reportKey(request.id, file) }, await readFile(join(outDir, file)), CONTENT_TYPES[extname(file)] ?? 'application/octet-stream');
    }
  });
  const { frames, normals, defects } = figures.data.reviewed;
  return { replayTopic, report: { bucket: options.reportBucket, key: reportKey(request.id, 'report.html') }, frames, normals, defects };
}
