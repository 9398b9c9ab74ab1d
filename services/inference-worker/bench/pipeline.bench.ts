/**
 * `pnpm bench:pipeline [--model REF] [--frames N] [--latency-frames N] [--reps R]`
 *
 * The whole path on the real broker and S3: AITEX frames uploaded and published as a gateway does
 * (4 cameras, one per partition) → frames.v1 → worker process(es) → verdicts.v1 (read_committed). For each layout (1 worker × 2 threads, 2 workers × 1 thread):
 *  1. saturation: a backlog of N frames, steady-state frames/s between the 3rd and last verdict;
 *  2. latency: frames published at 80 % of that rate, frame-to-verdict p50/p95/p99, measured
 *     when the verdict is readable (committed), not when it was decided.
 * Each layout also prints where a frame's time went: the medians of the stages the verdicts
 * carry (fetch, decode, infer, post, render, store) and what is left of the latency (queueing,
 * the transaction, the read_committed fetch).
 * Each repetition first times bare `session.run` on the same model with 2 threads: a layout's ratio
 * is to the bare rate of its own repetition, and the figures are medians over the repetitions.
 * With `--isolate` the model gets cores of its own, as a worker sized for a plant would: each
 * worker's model runs on T cores of 0…W·T−1 (`inference.modelCpus`), and its other threads
 * (decode, map, S3, Kafka, V8's collector) on the cores left over, beside the bench, Kafka and S3;
 * its bare run uses W·T threads pinned to the model's cores. Only layouts that leave a core for the
 * rest run (1 × 1 on 2 cores).
 * Progress goes to stderr; the last stdout line is one JSON object.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, mkdirSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { newCommand, parseOrExit } from '@loomwatch/config';
import { Verdict, decodeMessage } from '@loomwatch/contracts';
import { cameraFrames, openTestFramePublisher } from '@loomwatch/frame-pipeline/testing';
import {
  InferenceEngine,
  fillTileBatch,
  inputLut,
  planTiles,
  readVerifiedOnnx,
  sessionOptions,
} from '@loomwatch/inference';
import { sleep } from '@loomwatch/concurrency';
import { DEFAULT_REGISTRY_ROOT, defaultModel } from '@loomwatch/model-registry';
import { createKafkaClient, partitionOf } from '@loomwatch/kafka';
import { quantile } from '@loomwatch/observability';
import { S3BlobStore } from '@loomwatch/storage';
import { REPO_ROOT, aitexDir, aitexFrames, startInfra, stopProcess } from '@loomwatch/testkit';
import { spawnWorkerProcess } from '../src/testing/worker-process.js';

const command = newCommand({
  name: 'pnpm bench:pipeline',
  summary: 'The whole path on the local broker and S3 (gateway-style publish \u2192 worker \u2192 verdict) against bare onnxruntime on the same frames, and frame-to-verdict latency.',
  examples: ['loomwatch bench pipeline --frames 40 --reps 3'],
})
  .option('--model <ref>', "model version (default: the registry's best-validated production model)")
  .option('--frames <n>', 'frames per throughput repetition', '40')
  .option('--latency-frames <n>', 'frames sent one at a time for the latency figures', '24')
  .option('--reps <r>', 'repetitions (medians are reported)', '3')
  .option('--isolate', "pin the workers to their own cores and Kafka, S3 and the bench to the others (taskset); layouts 1 × 1, 2 × 1, 1 × 2 where a core is left over");
parseOrExit(command);
const values = command.opts<{
  model?: string;
  frames: string;
  latencyFrames: string;
  reps: string;
  isolate?: boolean;
}>();
const model = values.model ?? (await defaultModel(DEFAULT_REGISTRY_ROOT)).name;
const frames = Number(values.frames);
const latencyFrames = Number(values.latencyFrames);
const reps = Number(values.reps);
const progress = (line: string): boolean => process.stderr.write(`${line}\n`);
const cores = availableParallelism();

/** Pins every thread of a process to a CPU list such as `0-1` (threads it starts later inherit it). */
function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['--all-tasks', '--pid', '--cpu-list', cpus, String(pid)], { stdio: 'ignore' });
}

/** The CPU list of the first `n` cores, and of the rest. */
function coreSplit(n: number): { workers: string; rest: string } {
  return { workers: `0-${n - 1}`, rest: `${n}-${cores - 1}` };
}

/** Runs `f` with this process pinned to `cpus`, then pins it back to `after` (children spawned inside inherit `cpus`). */
async function pinnedTo<T>(cpus: string, after: string, f: () => Promise<T> | T): Promise<T> {
  pin(process.pid, cpus);
  try {
    return await f();
  } finally {
    pin(process.pid, after);
  }
}

/** Bare onnxruntime: one session, the engine's tile batches of one real frame, timed runs. */
async function bareFramesPerSec(threads: number, runs: number): Promise<{ framesPerSec: number; cpuMsPerFrame: number }> {
  const engine = await InferenceEngine.load({ model, intraOpNumThreads: threads });
  const card = engine.card;
  const session = await ort.InferenceSession.create(await readVerifiedOnnx(engine.loaded.dir, card), sessionOptions(engine.config));
  const frame = await engine.infer(readFileSync(join(aitexDir(), 'defect/0001_002_00.png')));
  const t = card.input.tileSize;
  const plan = planTiles(frame.width, frame.height, t, t);
  const tiles = plan.xs.length;
  const data = new Float32Array(tiles * t * t);
  fillTileBatch(frame.frame.data, plan, 0, tiles, inputLut(card.input.scale, card.input.offset), data, new Int32Array(t));
  // A routed version's bench frames name no fabric: the engine runs its fallback bank, and so does this.
  const route = card.routing === undefined ? {} : { [card.routing.input]: new ort.Tensor('int64', BigInt64Array.of(BigInt(card.routing.fallback)), [1]) };
  const feeds = { [card.input.name]: new ort.Tensor('float32', data, [tiles, 1, t, t]), ...route };
  await session.run(feeds);
  const times: number[] = [];
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await session.run(feeds);
    times.push(performance.now() - start);
  }
  const cpu = process.cpuUsage(cpuStart);
  await session.release();
  await engine.close();
  times.sort((a, b) => a - b);
  return { framesPerSec: 1000 / quantile(times, 0.5), cpuMsPerFrame: Math.round((cpu.user + cpu.system) / 1000 / runs) };
}

const PARTITIONS = 4;

/**
 * One camera per partition of the frames topic. Cameras are keyed `line:camera` and a handful of
 * keys rarely spread evenly (line-1/2 × cam-1/2 land on partitions 3, 0, 2, 0): with two workers
 * one would get three cameras' frames and the other one, and the layout would measure the skew.
 */
function balancedCameras(): { lineId: string; cameraId: string }[] {
  const byPartition = new Map<number, { lineId: string; cameraId: string }>();
  for (let n = 1; byPartition.size < PARTITIONS; n++) {
    const camera = { lineId: `line-${1 + (n % 2)}`, cameraId: `cam-${n}` };
    const partition = partitionOf(`${camera.lineId}:${camera.cameraId}`, PARTITIONS);
    if (!byPartition.has(partition)) byPartition.set(partition, camera);
  }
  return [...byPartition.values()];
}

/** `framesPerCamera` AITEX frames from each balanced camera, interleaved, sequence numbers from `firstSeq`. */
async function benchFrames(files: readonly string[], framesPerCamera: number, firstSeq: number) {
  const cameras = balancedCameras();
  const frames = await cameraFrames({ files, lines: 1, camerasPerLine: cameras.length, framesPerCamera, firstSeq });
  return frames.map((frame, i) => ({ ...frame, ...cameras[i % cameras.length] }));
}

/** CPU seconds a process has used (user + system), from /proc; 0 where there is no /proc. */
function cpuSeconds(pid: number | undefined): number {
  const stat = pid === undefined ? '' : (() => {
    try {
      return readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      return '';
    }
  })();
  // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11] ?? 0) + Number(fields[12] ?? 0)) / 100;
}

/** A process's peak resident memory in MiB (VmHWM), from /proc; 0 where there is none. */
function peakRssMiB(pid: number | undefined): number {
  try {
    const kb = /^VmHWM:\s*(\d+) kB$/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))?.[1];
    return Math.round(Number(kb ?? 0) / 1024);
  } catch {
    return 0;
  }
}

/** The local broker's and S3 server's JVMs (deploy/local/infra.sh writes their pids), when they run here. */
function infraPids(): number[] {
  const state = process.env['LOOMWATCH_STATE'] ?? join(process.env['LOOMWATCH_CACHE'] ?? join(homedir(), '.cache/loomwatch'), 'state');
  return [join(state, 'kafka/kafka.pid'), join(state, 's3proxy/s3proxy.pid')].filter(existsSync).map((file) => Number(readFileSync(file, 'utf8').trim()));
}

/** Stage medians over the verdicts of a run, in ms, and what the latency holds beyond them. */
function stageProfile(verdicts: readonly { verdict: Verdict; readAt: number }[]): Record<string, number> {
  const stages = ['fetchMs', 'decodeMs', 'inferMs', 'postMs', 'mapMs', 'renderMs', 'storeMs', 'totalMs'];
  const median = (xs: number[]): number => quantile([...xs].sort((a, b) => a - b), 0.5);
  const profile: Record<string, number> = {};
  for (const stage of stages) profile[stage] = Math.round(median(verdicts.map(({ verdict }) => verdict.timings[stage] ?? 0)));
  profile['decidedToReadMs'] = Math.round(median(verdicts.map(({ verdict, readAt }) => readAt - Date.parse(verdict.decidedAt))));
  profile['capturedToReadMs'] = Math.round(median(verdicts.map(({ verdict, readAt }) => readAt - Date.parse(verdict.capturedAt))));
  return profile;
}

interface LayoutResult {
  layout: string;
  profile: Record<string, number>;
  /** CPU ms per frame at saturation: the worker processes, and the local Kafka + S3 JVMs. */
  cpuMsPerFrame: { workers: number; infra: number };
  /** The largest worker's peak resident memory over the layout, MiB. */
  peakRssMiB: number;
  framesPerSec: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  offeredFps: number;
}

async function runLayout(workers: number, threads: number, infra: Awaited<ReturnType<typeof startInfra>>['infra']): Promise<LayoutResult> {
  const layout = `${workers} worker(s) × ${threads} thread(s)${values.isolate === true ? ', isolated' : ''}`;
  const client = createKafkaClient({ brokers: infra.kafkaBrokers, clientId: 'bench' });
  const store = new S3BlobStore(infra.s3);
  const tag = `bench-${Date.now()}`;
  // The workers check at start that every topic they use exists, control and shadow included.
  const topics = { frames: `${tag}-frames`, verdicts: `${tag}-verdicts`, dlq: `${tag}-dlq`, control: `${tag}-control`, shadow: `${tag}-shadow` };
  await client.topics.ensure([
    { topic: topics.frames, numPartitions: PARTITIONS },
    { topic: topics.verdicts, numPartitions: PARTITIONS },
    { topic: topics.dlq },
    { topic: topics.control },
    { topic: topics.shadow },
  ]);
  const bucket = `${tag}-frames`;
  const outputBucket = `${tag}-results`;
  await store.ensureBucket(bucket);
  await store.ensureBucket(outputBucket);

  const verdicts: Verdict[] = [];
  const readAt: number[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const reading = await client.reader.follow(topics.verdicts, (record) => {
    verdicts.push(decodeMessage(Verdict, record.value));
    readAt.push(Date.now());
    if (verdicts.length % 5 === 0) progress(`  ${layout}: ${verdicts.length} verdicts`);
    for (const waiter of waiters) if (verdicts.length >= waiter.n) waiter.resolve();
  });
  const until = (n: number): Promise<void> => new Promise((resolve) => (verdicts.length >= n ? resolve() : waiters.push({ n, resolve })));

  const publisher = await openTestFramePublisher({ client, store, bucket, topic: topics.frames });
  const files = aitexFrames()
    .map((frame) => frame.path)
    .sort();
  const logDir = join(REPO_ROOT, '.loomwatch/bench-logs');
  mkdirSync(logDir, { recursive: true });

  // 1. Saturation: the backlog is in place before the workers start.
  await publisher.publish(await benchFrames(files, Math.ceil(frames / PARTITIONS), 1));
  const total = Math.ceil(frames / PARTITIONS) * PARTITIONS;
  const workerLog = (i: number): string => join(logDir, `${tag}-worker-${i + 1}.log`);
  const split = coreSplit(workers * threads);
  // Isolated: worker i's model on cores i·T…(i+1)·T−1, the rest of it on the cores left over.
  const modelCpus = (i: number): string => `${i * threads}-${(i + 1) * threads - 1}`;
  const spawnOne = (i: number) =>
    spawnWorkerProcess({
      infra,
      id: `bench-${i + 1}`,
      model,
      threads,
      ...(values.isolate === true ? { modelCpus: modelCpus(i) } : {}),
      groupId: `${tag}-workers`,
      inputTopic: topics.frames,
      verdictTopic: topics.verdicts,
      deadLetterTopic: topics.dlq,
      controlTopic: topics.control,
      shadowVerdictTopic: topics.shadow,
      frameBucket: bucket,
      outputBucket,
      logFile: workerLog(i),
    });
  const children: ChildProcess[] = [];
  for (let i = 0; i < workers; i++) children.push(values.isolate === true ? await pinnedTo(`${modelCpus(i)},${split.rest}`, split.rest, () => spawnOne(i)) : spawnOne(i));
  // A worker that exits before the layout is done (a model that fails to load, a topic missing) fails the bench instead of hanging it.
  let stopping = false;
  const workerExited = new Promise<never>((_, reject) => {
    for (const [i, child] of children.entries()) {
      child.once('exit', (code, signal) => {
        if (stopping) return;
        for (const other of children) other.kill('SIGKILL');
        const log = existsSync(workerLog(i)) ? readFileSync(workerLog(i), 'utf8').slice(-2000) : '';
        reject(new Error(`worker ${i + 1} exited (${signal ?? `code ${String(code)}`}) before the layout finished; the end of ${workerLog(i)}:\n${log}`));
      });
    }
  });
  void workerExited.catch(() => undefined);
  const whileRunning = (n: number): Promise<void> => Promise.race([until(n), workerExited]);
  // CPU between the 3rd and the last verdict, the window the rate is measured over.
  const cpuNow = (): { workers: number; infra: number } => ({
    workers: children.reduce((sum, child) => sum + cpuSeconds(child.pid), 0),
    infra: infraPids().reduce((sum, pid) => sum + cpuSeconds(pid), 0),
  });
  await whileRunning(3);
  const cpuBefore = cpuNow();
  await whileRunning(total);
  const cpuAfter = cpuNow();
  const decided = verdicts.map((v) => Date.parse(v.decidedAt)).sort((a, b) => a - b);
  const first = decided[2] ?? 0;
  const last = decided[decided.length - 1] ?? 0;
  const framesPerSec = (decided.length - 3) / ((last - first) / 1000);
  const perFrame = (seconds: number): number => Math.round((seconds * 1000) / (total - 3));
  const cpuMsPerFrame = { workers: perFrame(cpuAfter.workers - cpuBefore.workers), infra: perFrame(cpuAfter.infra - cpuBefore.infra) };
  progress(`  ${layout}: saturated at ${framesPerSec.toFixed(2)} frames/s; CPU ms per frame: workers ${cpuMsPerFrame.workers}, Kafka + S3 ${cpuMsPerFrame.infra}`);

  // 2. Latency at 80 % of the saturating rate, spread over 4 cameras.
  const offeredFps = 0.8 * framesPerSec;
  const before = verdicts.length;
  const paced = await benchFrames(files, Math.ceil(latencyFrames / PARTITIONS), 1_000_000);
  const pacingStart = Date.now();
  for (const [i, frame] of paced.entries()) {
    // The cameras take turns, so each camera sends at a quarter of the offered rate, their phases spread.
    const due = pacingStart + (i * 1000) / offeredFps;
    if (due > Date.now()) await sleep(due - Date.now());
    await publisher.publish([frame]);
  }
  await whileRunning(before + Math.ceil(latencyFrames / PARTITIONS) * PARTITIONS);
  const latencies = verdicts
    .slice(before)
    .map((v, i) => (readAt[before + i] ?? Number.NaN) - Date.parse(v.capturedAt))
    .sort((a, b) => a - b);
  const profile = stageProfile(verdicts.slice(before).map((verdict, i) => ({ verdict, readAt: readAt[before + i] ?? Number.NaN })));
  progress(`  ${layout}: stage medians at 80 % load (ms) ${JSON.stringify(profile)}`);

  const peakRss = Math.max(...children.map((child) => peakRssMiB(child.pid)));
  progress(`  ${layout}: peak resident memory of a worker ${peakRss} MiB`);
  stopping = true;
  await Promise.all(children.map(stopProcess));
  await publisher.close();
  await reading.stop();
  await client.topics.delete(Object.values(topics));
  await store.removeBucket(bucket);
  await store.removeBucket(outputBucket);
  store.close();
  return {
    layout,
    profile,
    cpuMsPerFrame,
    peakRssMiB: peakRss,
    framesPerSec,
    p50Ms: quantile(latencies, 0.5),
    p95Ms: quantile(latencies, 0.95),
    p99Ms: quantile(latencies, 0.99),
    offeredFps,
  };
}

/** The run of a layout whose saturated rate is the median of its repetitions. */
function medianRun(runs: readonly LayoutResult[]): LayoutResult {
  const sorted = [...runs].sort((a, b) => a.framesPerSec - b.framesPerSec);
  const mid = sorted[(sorted.length - 1) >> 1];
  if (mid === undefined) throw new Error('no runs');
  const p99s = runs.map((r) => r.p99Ms).sort((a, b) => a - b);
  return { ...mid, p99Ms: p99s[(p99s.length - 1) >> 1] ?? mid.p99Ms };
}

/** The median of a list of numbers. */
function median(xs: readonly number[]): number {
  return quantile([...xs].sort((a, b) => a - b), 0.5);
}

const handle = await startInfra();
try {
  progress(`pipeline bench: model ${model}, ${frames} frames per layout, ${latencyFrames} at 80 % load, ${reps} repetitions${values.isolate === true ? ', isolated' : ''}`);
  const layouts: (readonly [number, number])[] =
    values.isolate === true
      ? [
          [1, 1],
          [2, 1],
          [1, 2],
        ].filter(([w = 1, t = 1]) => w * t < cores) as [number, number][]
      : [
          [1, 2],
          [2, 1],
        ];
  if (layouts.length === 0) throw new Error(`--isolate needs at least 2 cores (this machine has ${cores})`);
  const runs = layouts.map((): LayoutResult[] => []);
  const ratios = layouts.map((): number[] => []);
  const bares = layouts.map((): { framesPerSec: number; cpuMsPerFrame: number }[] => []);
  const bareLine = (threads: number, run: { framesPerSec: number; cpuMsPerFrame: number }, where: string): boolean =>
    progress(`bare session.run, ${threads} thread(s)${where}: ${run.framesPerSec.toFixed(2)} frames/s (${(1000 / run.framesPerSec).toFixed(0)} ms per frame, ${run.cpuMsPerFrame} CPU ms per frame)`);
  const started = Date.now();
  for (let rep = 0; rep < reps; rep++) {
    // Bare session.run in every repetition: each layout is compared with the bare rate of its own repetition.
    const shared = values.isolate === true ? undefined : await bareFramesPerSec(2, 10);
    if (shared !== undefined) bareLine(2, shared, '');
    // Alternating which layout goes first, so a drift of the machine does not favour one.
    const order = layouts.map((_, i) => i);
    if (rep % 2 === 1) order.reverse();
    for (const index of order) {
      const [workers, threads] = layouts[index] ?? [1, 2];
      let bareRun = shared;
      if (bareRun === undefined) {
        const split = coreSplit(workers * threads);
        for (const pid of infraPids()) pin(pid, split.rest);
        pin(process.pid, split.rest);
        bareRun = await pinnedTo(split.workers, split.rest, () => bareFramesPerSec(workers * threads, 10));
        bareLine(workers * threads, bareRun, ` on cores ${split.workers}`);
      }
      bares[index]?.push(bareRun);
      const result = await runLayout(workers, threads, handle.infra);
      runs[index]?.push(result);
      ratios[index]?.push(result.framesPerSec / bareRun.framesPerSec);
    }
    const elapsed = (Date.now() - started) / 1000;
    progress(`repetition ${rep + 1}/${reps} done in ${elapsed.toFixed(0)} s; about ${((elapsed / (rep + 1)) * (reps - rep - 1)).toFixed(0)} s left`);
  }
  const results = runs.map(medianRun);
  const summaries = results.map((r, i) => {
    const bare = median((bares[i] ?? []).map((b) => b.framesPerSec));
    const bareCpuMs = median((bares[i] ?? []).map((b) => b.cpuMsPerFrame));
    return { ...r, ratio: Number(median(ratios[i] ?? []).toFixed(3)), bareFramesPerSec: Number(bare.toFixed(3)), bareCpuMsPerFrame: bareCpuMs, p99OverBare: Number((r.p99Ms / (1000 / bare)).toFixed(2)) };
  });
  for (const r of summaries) {
    console.log(
      `${r.layout.padEnd(24)} ${r.framesPerSec.toFixed(2)} frames/s (ratio ${r.ratio.toFixed(3)} vs bare, median of the repetitions' ratios), ` +
        `at ${r.offeredFps.toFixed(2)} frames/s offered: p50 ${r.p50Ms} ms, p95 ${r.p95Ms} ms, p99 ${r.p99Ms} ms ` +
        `(${r.p99OverBare.toFixed(2)} × one frame's bare compute); CPU ms per frame: workers ${r.cpuMsPerFrame.workers} (bare ${r.bareCpuMsPerFrame}), Kafka + S3 ${r.cpuMsPerFrame.infra}; worker peak RSS ${r.peakRssMiB} MiB`,
    );
  }
  const oneByTwo = layouts.findIndex(([w, t]) => w === 1 && t === 2);
  const twoByOne = layouts.findIndex(([w, t]) => w === 2 && t === 1);
  const scaleOuts = (runs[twoByOne] ?? []).map((two, rep) => two.framesPerSec / (runs[oneByTwo]?.[rep]?.framesPerSec ?? Number.NaN));
  const scaleOut = median(scaleOuts);
  if (scaleOuts.length > 0) console.log(`2 workers × 1 thread / 1 worker × 2 threads: ${scaleOut.toFixed(3)} (median of the repetitions)`);
  const best = [...summaries].sort((a, b) => b.framesPerSec - a.framesPerSec)[0];
  if (best === undefined) throw new Error('no layout ran');
  console.log(
    JSON.stringify({
      bench: 'pipeline',
      model,
      reps,
      isolated: values.isolate === true,
      layout: best.layout,
      framesPerSec: Number(best.framesPerSec.toFixed(3)),
      bareFramesPerSec: best.bareFramesPerSec,
      bareCpuMsPerFrame: best.bareCpuMsPerFrame,
      ratio: best.ratio,
      ...(scaleOuts.length > 0 ? { scaleOut: Number(scaleOut.toFixed(3)) } : {}),
      p99Ms: best.p99Ms,
      layouts: summaries,
      bares,
      runs,
    }),
  );
} finally {
  if (values.isolate === true) for (const pid of infraPids()) pin(pid, `0-${cores - 1}`);
  await handle.stop();
}
