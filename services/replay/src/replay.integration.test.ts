import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DeadLetter, ReplayPlan, Verdict, decodeMessage, replayPlanKey, type FrameEvent } from '@loomwatch/contracts';
import { cameraFrames, publishTestFrames } from '@loomwatch/frame-pipeline/testing';
import { hasVnni, readCpuFlags } from '@loomwatch/model-registry';
import { int8Quantization, randomModelVersions } from '@loomwatch/model-registry/fixtures';
import { useTestKafka } from '@loomwatch/kafka/testing';
import { useTestS3 } from '@loomwatch/storage/testing';
import { REPO_ROOT, aitexFrames, builtEntry, infraEnv, processExited, readCommittedWithKcat } from '@loomwatch/testkit';
import type { ReplaySummary } from './progress.js';

const kafka = useTestKafka();
const s3 = useTestS3();
// 0.0.1 is the production version; the replays pin 0.0.2, and each verdict names its version.
// 0.0.2-int8 is an INT8 variant of 0.0.2 (by its card) that --precision auto runs on a VNNI CPU.
const registry = randomModelVersions(
  [
    { version: '0.0.1' },
    { version: '0.0.2' },
    {
      version: '0.0.2-int8',
      patchCard: (card) => void (card['quantization'] = int8Quantization('0.0.2')),
    },
  ],
  '0.0.1',
);
afterAll(() => registry.cleanup());

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

interface Setup {
  frames: string;
  liveVerdicts: string;
  replayVerdicts: string;
  dlq: string;
  control: string;
  frameBucket: string;
  outputBucket: string;
}

async function setUp(): Promise<Setup> {
  return {
    frames: await kafka.topic({ partitions: 2, prefix: 'frames' }),
    liveVerdicts: await kafka.topic({ prefix: 'verdicts' }),
    replayVerdicts: `replay-verdicts-${kafka.group('t')}`,
    dlq: await kafka.topic({ prefix: 'dlq' }),
    control: await kafka.topic({ prefix: 'control' }),
    frameBucket: await s3.bucket('frames'),
    outputBucket: await s3.bucket('results'),
  };
}

/** `framesPerCamera` frames from each of line-{1,2} × cam-{1,2}. */
async function publishFrames(s: Setup, framesPerCamera: number, firstSeq: number): Promise<FrameEvent[]> {
  const files = aitexFrames()
    .map((frame) => frame.path)
    .sort()
    .slice(0, 12);
  const frames = await cameraFrames({ files, lines: 2, camerasPerLine: 2, framesPerCamera, firstSeq });
  return publishTestFrames({ client: kafka.client, store: s3.store, bucket: s.frameBucket, topic: s.frames }, frames);
}

/** The replay CLI as its own process, the way an operator runs it (so it can be SIGKILLed). */
function startCli(s: Setup, args: readonly string[]): { child: ChildProcess; stdout: () => string; stderr: () => string } {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...infraEnv(kafka.infra),
    LOOMWATCH_INFERENCE__REGISTRY_ROOT: registry.root,
    LOOMWATCH_INFERENCE__INTRA_OP_NUM_THREADS: '1',
    LOOMWATCH_WORKER__INPUT_TOPIC: s.frames,
    LOOMWATCH_WORKER__VERDICT_TOPIC: s.liveVerdicts,
    LOOMWATCH_WORKER__DEAD_LETTER_TOPIC: s.dlq,
    LOOMWATCH_WORKER__CONTROL_TOPIC: s.control,
    LOOMWATCH_WORKER__ALLOWED_BUCKETS: s.frameBucket,
    LOOMWATCH_WORKER__OUTPUT_BUCKET: s.outputBucket,
    // Short, so the member a SIGKILL leaves behind is gone soon and the rerun gets its partitions.
    LOOMWATCH_WORKER__SESSION_TIMEOUT_MS: '10000',
  };
  const child = spawn(process.execPath, [builtEntry('services/replay/dist/cli.js'), ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return { child, stdout: () => out, stderr: () => err };
}

async function runCli(s: Setup, args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cli = startCli(s, args);
  await processExited(cli.child);
  return { code: cli.child.exitCode, stdout: cli.stdout(), stderr: cli.stderr() };
}

function summaryOf(stdout: string): ReplaySummary {
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '{}') as ReplaySummary;
}

/** Every committed verdict of a topic to its end, read by kcat (an independent client). */
function readAllCommitted(topic: string): Verdict[] {
  return readCommittedWithKcat(kafka.infra, topic).map((record) => decodeMessage(Verdict, record.payload));
}

/** Messages ever written to a topic (the sum of its high watermarks). */
async function messagesIn(topic: string): Promise<number> {
  const offsets = kafka.client.offsets();
  try {
    return (await offsets.watermarks(topic)).reduce((sum, p) => sum + p.high, 0);
  } finally {
    await offsets.close();
  }
}

/** Resolves once `n` verdicts are committed on `topic`, which the replay creates. */
async function untilCommitted(topic: string, n: number, child: ChildProcess): Promise<void> {
  while (!(await kafka.client.topics.list()).includes(topic)) {
    if (child.exitCode !== null) throw new Error(`the replay exited (${child.exitCode}) before creating ${topic}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  let seen = 0;
  let reached = (): void => undefined;
  const subscription = await kafka.client.reader.follow(topic, () => {
    if (++seen >= n) reached();
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const exited = (): void => reject(new Error(`the replay exited (${child.exitCode}) before ${n} verdicts were committed`));
      reached = resolve;
      if (seen >= n) resolve();
      else if (child.exitCode !== null) exited();
      else child.once('exit', exited);
    });
  } finally {
    await subscription.stop();
  }
}

const MODEL = 'draem-random@0.0.2';

describe('replay CLI on the real broker and S3', () => {
  it('replays N frames with the chosen version exactly once across a SIGKILL and a rerun of the same plan, and none to the live topic', async () => {
    const s = await setUp();
    const events = await publishFrames(s, 8, 1); // 32 frames
    const args = ['run', '--from', 'earliest', '--model', MODEL, '--to-topic', s.replayVerdicts, '--json'];

    const first = startCli(s, args);
    // Wait for the topic the replay creates, then for some verdicts, then kill it mid-replay.
    await untilCommitted(s.replayVerdicts, 6, first.child);
    first.child.kill('SIGKILL');
    await processExited(first.child);
    await publishFrames(s, 1, 1000); // live frames after the plan was made: not part of this replay

    const rerun = await runCli(s, args);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.stderr).toContain('replay: draem-random@0.0.2 runs as 0.0.2 (fp32): precision forced to fp32\n');
    expect(rerun.stderr).toMatch(/replay [0-9a-f]{12} \(draem-random@0\.0\.2 fp32\): 32\/32 frames \(100\.0 %\) · \d+\.\d\d frames\/s · ETA 0s\n/);
    const summary = summaryOf(rerun.stdout);
    expect(summary).toMatchObject({ status: 'complete', done: 32, total: 32, skipped: 0, deadLettered: 0, targetTopic: s.replayVerdicts, model: MODEL, precision: 'fp32' });
    expect(summary.decided).toBeGreaterThan(0);
    expect(summary.decided).toBeLessThanOrEqual(32 - 6);

    const verdicts = readAllCommitted(s.replayVerdicts);
    expect(verdicts.map((v) => v.frameId).sort()).toEqual(events.map((e) => e.frameId).sort());
    expect(new Set(verdicts.map((v) => `${v.model.name}@${v.model.version} ${v.model.precision} ${v.model.requested}`))).toEqual(new Set([`${MODEL} fp32 undefined`]));
    expect(await messagesIn(s.liveVerdicts)).toBe(0);
    expect(await messagesIn(s.dlq)).toBe(0);
    expect(await messagesIn(`${s.replayVerdicts}.dlq`)).toBe(0);

    const again = await runCli(s, args);
    expect(again.code).toBe(0);
    expect(summaryOf(again.stdout).status).toBe('already-complete');
    expect(readAllCommitted(s.replayVerdicts)).toHaveLength(32);
  }, 240_000);

  it('decides only the selected line and camera from the --from time on with two workers, dead-letters a bad frame beside its verdicts, and commits past the rest', async () => {
    const s = await setUp();
    const before = await publishFrames(s, 2, 1);
    // `--from` just past the last record time of the frames before it: the broker's record times, no clock to wait for.
    const beforeTimes = (await kafka.readCommitted(s.frames, before.length)).map((record) => Number(record.timestamp));
    const from = new Date(Math.max(...beforeTimes) + 1);
    const after = await publishFrames(s, 3, 100);
    const selected = after.filter((e) => e.lineId === 'line-1' && e.cameraId === 'cam-2');
    expect(selected).toHaveLength(3);
    await kafka.publish(s.frames, [{ key: 'line-1:cam-2', value: 'not a frame event' }]); // selected, and can only be dead-lettered

    const run = await runCli(s, ['run', '--from', from.toISOString(), '--line', 'line-1', '--camera', 'cam-2', '--model', MODEL, '--to-topic', s.replayVerdicts, '--workers', '2', '--json']);
    expect(run.code, run.stderr).toBe(0);
    expect(summaryOf(run.stdout)).toMatchObject({ status: 'complete', total: 13, done: 13, decided: 3, deadLettered: 1, selected: 4, skipped: 9 });
    const verdicts = readAllCommitted(s.replayVerdicts);
    expect(verdicts.map((v) => v.frameId).sort()).toEqual(selected.map((e) => e.frameId).sort());
    // Beside the replay's verdicts, not in the live dead-letter topic alerting watches.
    const letters = await kafka.readCommitted(`${s.replayVerdicts}.dlq`, 1);
    expect(letters).toHaveLength(1);
    expect(await messagesIn(s.dlq)).toBe(0);
    expect(decodeMessage(DeadLetter, letters[0]?.value ?? null)).toMatchObject({ originalTopic: s.frames, reason: { code: 'MESSAGE_NOT_JSON' } });
  }, 180_000);

  it('with --frame-ids decides only the listed frames, keeps them in the plan, and a rerun after a SIGKILL continues with them exactly once', async () => {
    const s = await setUp();
    const events = await publishFrames(s, 6, 1); // 24 frames over both partitions
    // Every other frame, and one id no frame has.
    const listed = events.filter((_, index) => index % 2 === 0);
    const dir = mkdtempSync(join(tmpdir(), 'replay-frame-ids-'));
    const idsFile = join(dir, 'reviewed.txt');
    writeFileSync(idsFile, `# the reviewed frames\n${[...listed.map((e) => e.frameId), 'no-such-frame'].join('\n')}\n`);
    const name = `reviewed-${kafka.group('r')}`.slice(0, 100);
    const args = ['run', '--from', 'earliest', '--model', MODEL, '--to-topic', s.replayVerdicts, '--frame-ids', idsFile, '--name', name, '--json'];

    const first = startCli(s, args);
    await untilCommitted(s.replayVerdicts, 2, first.child);
    first.child.kill('SIGKILL');
    await processExited(first.child);

    // The plan on the control topic holds the selection the rerun continues with.
    const plans = (await kafka.readCommitted(s.control, 1)).filter((record) => record.key === replayPlanKey(name));
    expect(plans).toHaveLength(1);
    expect(decodeMessage(ReplayPlan, plans[0]?.value ?? null).selection.frameIds).toEqual([...listed.map((e) => e.frameId), 'no-such-frame'].sort());

    // The same name with another set is refused: it would mix two selections in one topic.
    const otherFile = join(dir, 'other.json');
    writeFileSync(otherFile, JSON.stringify(events.slice(0, 3).map((e) => e.frameId)));
    const refused = await runCli(s, args.map((arg) => (arg === idsFile ? otherFile : arg)));
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(new RegExp(`replay ${name} was started on .* with selection lines \\[\\] cameras \\[\\] 13 --frame-ids`));

    const rerun = await runCli(s, args);
    expect(rerun.code, rerun.stderr).toBe(0);
    const summary = summaryOf(rerun.stdout);
    expect(summary).toMatchObject({ status: 'complete', done: 24, total: 24, deadLettered: 0 });
    expect(summary.decided).toBeLessThanOrEqual(listed.length - 2);
    const verdicts = readAllCommitted(s.replayVerdicts);
    expect(verdicts.map((v) => v.frameId).sort()).toEqual(listed.map((e) => e.frameId).sort());
    expect(await messagesIn(`${s.replayVerdicts}.dlq`)).toBe(0);
  }, 240_000);

  it('refuses a --frame-ids file with a bad id with exit 2, naming its line, before touching the broker', async () => {
    const s = await setUp();
    const idsFile = join(mkdtempSync(join(tmpdir(), 'replay-frame-ids-')), 'bad.txt');
    writeFileSync(idsFile, 'frame-1\nframe 2\n');
    const run = await runCli(s, ['run', '--from', 'earliest', '--model', MODEL, '--frame-ids', idsFile]);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`--frame-ids ${idsFile}: line 2 ("frame 2") is not a frame id`);
    expect(await messagesIn(s.control)).toBe(0);
  }, 60_000);

  it('with --precision auto runs the INT8 variant on a VNNI CPU and says so: the progress line, the summary and every verdict', async () => {
    const s = await setUp();
    const events = await publishFrames(s, 1, 1); // 4 frames
    const run = await runCli(s, ['run', '--from', 'earliest', '--model', MODEL, '--precision', 'auto', '--to-topic', s.replayVerdicts, '--json']);
    expect(run.code, run.stderr).toBe(0);
    const vnni = hasVnni(await readCpuFlags());
    const runs = vnni ? { version: '0.0.2-int8', precision: 'int8', requested: '0.0.2' } : { version: '0.0.2', precision: 'fp32' };
    expect(run.stderr).toContain(`replay: ${MODEL} runs as ${runs.version} (${runs.precision})`);
    expect(run.stderr).toContain(vnni ? '(draem-random@0.0.2-int8 int8 for 0.0.2): 4/4 frames' : '(draem-random@0.0.2 fp32): 4/4 frames');
    expect(summaryOf(run.stdout)).toMatchObject({ status: 'complete', model: `draem-random@${runs.version}`, precision: runs.precision, requested: runs.requested });
    const verdicts = readAllCommitted(s.replayVerdicts);
    expect(verdicts.map((v) => v.frameId).sort()).toEqual(events.map((e) => e.frameId).sort());
    expect(verdicts.map((v) => v.model)).toEqual(verdicts.map(() => expect.objectContaining(runs) as unknown));
  }, 120_000);

  it('refuses the live verdicts topic unless asked explicitly, before touching anything', async () => {
    const s = await setUp();
    const run = await runCli(s, ['run', '--from', 'earliest', '--model', MODEL, '--to-topic', 'verdicts.v1']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('REPLAY_INVALID');
    expect(run.stderr).toContain('--allow-live-topic');
    expect(await messagesIn(s.control)).toBe(0);
  }, 60_000);

  it('hands `replay report` to the report command', async () => {
    const s = await setUp();
    const run = await runCli(s, ['report']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--replay-topic');
  }, 60_000);
});
