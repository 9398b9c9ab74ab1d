/**
 * `pnpm bench:inference [--model REF] [--frames N] [--reps R] [--threads T] [--registry DIR] [--record]`
 *
 * Runs N AITEX 4096 × 256 frames through the full `infer` path (decode → tiles → run → stitch
 * → score → regions → map PNG, two frames in flight as the `infer` command does) and, in the
 * same run and interleaved with it, through bare `session.run` on the same tile batches with the
 * same session options (on the main thread, as plain onnxruntime-node use does; the engine runs
 * its session in a worker). Reports medians over R repetitions (default 5, alternating which
 * path goes first) after a warm-up. Then the peer a user would write: the same frames, version,
 * threads, session options, stride, batch and reps through a plain Python onnxruntime loop
 * (`python -m loomwatch_models.ort_loop` in models/.venv; skipped, saying so, when the venv is
 * missing), run after the engine has closed so the two never share the cores; its frame scores
 * are compared with the engine's, since a peer doing other work would time something else.
 * Progress goes to stderr; the last stdout line is one JSON object. `--record` also writes it,
 * with the machine's CPU and load, to the version's `eval/speed.json`, where `models/lw table`
 * reads ms per frame. `--post-nice N` (Linux) runs the engine's own work at nice N after the warm-up, to
 * measure how much of the gap to bare is the engine's work stalling the model's threads (see the README).
 * `--model-cpus LIST` (Linux) loads the engine with `inference.modelCpus`: its model on those CPUs, its own
 * work on the others; the bare runs are pinned to the same CPUs and the Python peer gets every CPU the
 * bench may use (it decodes and runs in one loop, as a user would write it).
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, setPriority } from 'node:os';
import { join, resolve } from 'node:path';
import * as ort from 'onnxruntime-node';
import { newCommand, parseOrExit } from '@loomwatch/config';
import { DEFAULT_REGISTRY_ROOT, defaultModel, modelSource } from '@loomwatch/model-registry';
import { aitexFrames } from '@loomwatch/testkit';
import { fillTileBatch, InferenceEngine, inputLut, planTiles, readVerifiedOnnx, sessionOptions } from '../src/index.js';
import { allowedCpus, formatCpuList, pinThread, planCpus } from '../src/model/cpu-affinity.js';

const IN_FLIGHT = 2;
const MODELS_PYTHON = resolve(import.meta.dirname, '../../../models/.venv/bin/python');
/** Engine vs Python frame scores beyond this mean the peer does other work (the `infer` integration test's tolerance vs eval/scores.json). */
const SCORE_TOLERANCE = 1e-3;

const command = newCommand({
  name: 'pnpm bench:inference',
  summary: 'The full infer path against bare onnxruntime session.run and a plain Python onnxruntime loop, same frames and session options; medians over the repetitions.',
  examples: ['loomwatch bench inference --frames 8 --reps 5', 'loomwatch bench inference --model draem-aitex --threads 2 --record'],
})
  .option('--model <ref>', "model version: directory, name@version or name (default: the registry's best-validated production model)")
  .option('--frames <n>', 'AITEX frames per repetition', '8')
  .option('--reps <r>', 'repetitions (medians are reported)', '5')
  .option('--threads <t>', 'onnxruntime intra-op threads (default: the cores)')
  .option('--registry <dir>', 'registry root', DEFAULT_REGISTRY_ROOT)
  .option('--record', "also write the result to the version's eval/speed.json")
  .option('--model-cpus <list>', "inference.modelCpus (Linux CPU list or auto): the engine's model on these CPUs and its own work on the rest; bare runs pinned to them (default --threads: as many)")
  .option(
    '--post-nice <n>',
    "after the warm-up, run this thread and libuv's pool (where sharp decodes and encodes) at nice n (Linux): the engine's own work then takes only the cores the model leaves idle — an experiment, not how the engine runs (the Python peer, started from this thread, inherits it; on a quiet machine nothing competes with it)",
  );
parseOrExit(command);
const values = command.opts<{
  model?: string;
  frames: string;
  reps: string;
  threads?: string;
  registry: string;
  record?: boolean;
  postNice?: string;
  modelCpus?: string;
}>();
const registryRoot = values.registry;
const modelRef = values.model ?? (await defaultModel(registryRoot)).name;
const frameCount = Number(values.frames);
const reps = Number(values.reps);
const everyCpu = process.platform === 'linux' ? allowedCpus() : [];
const cpuPlan = values.modelCpus === undefined ? undefined : planCpus(values.modelCpus, everyCpu);
const threads = values.threads === undefined ? (cpuPlan?.model.length ?? availableParallelism()) : Number(values.threads);

/** With --model-cpus: this (the main) thread onto `cpus` — the bare runs happen on it — or back. */
function pinMainThread(cpus: readonly number[] | undefined): void {
  if (cpus !== undefined) pinThread(process.pid, cpus);
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** The CPU's vector extensions (AVX2, AVX-512, VNNI…): timings only compare between machines that share them. */
function vectorFlags(): string[] {
  const info = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const flags = /^flags\s*:(.*)$/m.exec(info)?.[1]?.trim().split(/\s+/) ?? [];
  return flags.filter((f) => /^(avx|amx|fma)/.test(f)).sort();
}

/**
 * Sets the nice value of this thread (Linux: a thread's TID is its own priority handle, and the main
 * thread's is the process id) and of libuv's pool threads, leaving the model's worker thread and
 * onnxruntime's threads as they were. Lowering a nice value back needs privileges, so it stays.
 */
function reniceEngineThreads(nice: number): string {
  const ids = [process.pid];
  for (const tid of readdirSync('/proc/self/task')) {
    if (readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() === 'libuv-worker') ids.push(Number(tid));
  }
  for (const id of ids) setPriority(id, nice);
  return `threads ${ids.join(', ')} at nice ${nice} (the main thread and ${ids.length - 1} libuv pool threads)`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

const loadAtStart = loadavg()[0] ?? NaN;
const engine = await InferenceEngine.load({
  model: modelSource(modelRef),
  registryRoot,
  intraOpNumThreads: threads,
  ...(values.modelCpus === undefined ? {} : { modelCpus: values.modelCpus }),
});
const versionDir = engine.loaded.dir;
const card = engine.card;
const all = aitexFrames();
const picked = Array.from({ length: frameCount }, (_, i) => all[Math.floor((i * all.length) / frameCount)]?.path ?? '');
const encoded = picked.map((path) => readFileSync(path));

// The bare path: its own session from the same verified bytes and options, fed the very tile
// batches the engine builds (prepared before timing).
// With --model-cpus its pool threads start on the model's CPUs, where this thread runs it.
pinMainThread(cpuPlan?.model);
const bare = await ort.InferenceSession.create(await readVerifiedOnnx(engine.loaded.dir, card), sessionOptions(engine.config));
pinMainThread(cpuPlan?.rest);
// A routed version's frames name no fabric here: the engine runs its fallback bank, and so does this.
const route = card.routing === undefined ? {} : { [card.routing.input]: new ort.Tensor('int64', BigInt64Array.of(BigInt(card.routing.fallback)), [1]) };
const t = card.input.tileSize;
const lut = inputLut(card.input.scale, card.input.offset);
const batches: ort.Tensor[][] = [];
let tilesPerFrame = 0;
for (const bytes of encoded) {
  const frame = await engine.decode(bytes);
  if (frame.width !== 4096 || frame.height !== 256) throw new Error(`expected 4096×256 AITEX frames, got ${frame.width}×${frame.height}`);
  const plan = planTiles(frame.width, frame.height, t, engine.stride);
  tilesPerFrame = plan.xs.length;
  const perFrame: ort.Tensor[] = [];
  for (let first = 0; first < tilesPerFrame; first += engine.batchSize) {
    const n = Math.min(engine.batchSize, tilesPerFrame - first);
    const data = new Float32Array(n * t * t);
    fillTileBatch(frame.data, plan, first, n, lut, data, new Int32Array(t));
    perFrame.push(new ort.Tensor('float32', data, [n, 1, t, t]));
  }
  batches.push(perFrame);
}

/** CPU seconds the whole process (all threads) spent per frame, summed over passes of each path. */
const cpu = { full: 0, bare: 0 };

/**
 * Which thread does what, from its name (threads inherit their creator's): this one runs the engine's
 * JavaScript (and the bare session's runs, with a pool thread it made: `MainThread` too); the model's
 * worker thread and onnxruntime's pool it made are `WorkerThread`; sharp decodes and encodes on
 * `libuv-worker` and `libvips worker`; `V8Worker` is V8's garbage collector and compilers.
 */
function threadRole(tid: number, name: string): string {
  if (tid === process.pid) return 'main';
  if (name === 'WorkerThread' || name === 'MainThread') return 'model';
  if (name.startsWith('libuv') || name.startsWith('libvips')) return 'image';
  if (name === 'V8Worker') return 'v8';
  return 'other';
}

/** CPU clock ticks (user + system) of each live thread of this process, with its role; empty where there is no /proc. */
function threadTicks(): Map<number, { role: string; ticks: number }> {
  const ticks = new Map<number, { role: string; ticks: number }>();
  if (!existsSync('/proc/self/task')) return ticks;
  for (const entry of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${entry}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
      ticks.set(Number(entry), { role: threadRole(Number(entry), name), ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ticks;
}

/** CPU seconds per role over the timed passes of each path; `exited` is what threads that ended meanwhile used (the process total less the live threads'). */
const byRole = { full: new Map<string, number>(), bare: new Map<string, number>() };

function addRoles(into: Map<string, number>, before: Map<number, { role: string; ticks: number }>, processSeconds: number): void {
  const tick = 0.01; // USER_HZ is 100 on Linux
  let live = 0;
  for (const [tid, now] of threadTicks()) {
    const seconds = (now.ticks - (before.get(tid)?.ticks ?? 0)) * tick;
    live += seconds;
    into.set(now.role, (into.get(now.role) ?? 0) + seconds);
  }
  into.set('exited', (into.get('exited') ?? 0) + Math.max(0, processSeconds - live));
}
/** The engine's score of each picked frame (every full pass writes the same ones). */
const engineScores = picked.map(() => NaN);

async function fullPass(): Promise<number> {
  const ticksStart = threadTicks();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  const window: Promise<unknown>[] = [];
  let next = 0;
  while (next < encoded.length || window.length > 0) {
    while (window.length < IN_FLIGHT && next < encoded.length) {
      const index = next++;
      const bytes = encoded[index] ?? Buffer.alloc(0);
      window.push(
        engine.infer(bytes).then(async (result) => {
          engineScores[index] = result.score;
          await engine.renderAnomalyMapPng(result);
          // As EngineDecider does: the map back to the engine once its PNG is written.
          engine.release(result);
        }),
      );
    }
    await window.shift();
  }
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpuStart);
  cpu.full += (used.user + used.system) / 1e6;
  addRoles(byRole.full, ticksStart, (used.user + used.system) / 1e6);
  return seconds;
}

async function barePass(): Promise<number> {
  pinMainThread(cpuPlan?.model);
  try {
    return await timedBarePass();
  } finally {
    pinMainThread(cpuPlan?.rest);
  }
}

async function timedBarePass(): Promise<number> {
  const ticksStart = threadTicks();
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (const perFrame of batches) for (const input of perFrame) await bare.run({ [card.input.name]: input, ...route });
  const seconds = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpuStart);
  cpu.bare += (used.user + used.system) / 1e6;
  addRoles(byRole.bare, ticksStart, (used.user + used.system) / 1e6);
  return seconds;
}

progress(
  `bench:inference — ${card.name}@${card.version}, ${frameCount} frames × ${reps} reps, ${tilesPerFrame} tiles/frame (stride ${engine.stride}, batch ${engine.batchSize}), ${threads} intra-op threads` +
    (cpuPlan === undefined ? '' : `, the model on CPUs ${formatCpuList(cpuPlan.model)} and the engine's own work on ${formatCpuList(cpuPlan.rest)}`),
);
progress('warm-up…');
await fullPass();
await barePass();
cpu.full = 0;
cpu.bare = 0;
byRole.full.clear();
byRole.bare.clear();
if (values.postNice !== undefined) progress(`post-nice: ${reniceEngineThreads(Number(values.postNice))}`);
const full: number[] = [];
const bareRates: number[] = [];
for (let rep = 1; rep <= reps; rep++) {
  // Alternate which path goes first, so a drifting machine load favours neither.
  let f: number;
  let b: number;
  if (rep % 2 === 1) {
    f = frameCount / (await fullPass());
    b = frameCount / (await barePass());
  } else {
    b = frameCount / (await barePass());
    f = frameCount / (await fullPass());
  }
  full.push(f);
  bareRates.push(b);
  progress(`rep ${rep}/${reps}: full ${f.toFixed(3)} frames/s, bare ${b.toFixed(3)} frames/s, ratio ${(f / b).toFixed(3)}`);
}
await bare.release();
await engine.close();

/** What `python -m loomwatch_models.ort_loop` prints (see models/loomwatch_models/ort_loop.py). */
interface PythonPeer {
  msPerFrame: number;
  cpuMsPerFrame: number;
  repMsPerFrame: number[];
  scores: number[];
}

/** Runs the Python peer on the picked frames with the engine's settings; its stderr passes through. */
async function pythonPeer(): Promise<PythonPeer> {
  const args = ['-m', 'loomwatch_models.ort_loop', '--model-dir', versionDir, '--threads', String(threads), '--reps', String(reps)];
  args.push('--batch', String(engine.batchSize), '--stride', String(engine.stride), '--graph-optimization', engine.config.graphOptimizationLevel);
  if (engine.config.intraOpSpinning) args.push('--spinning');
  // Every CPU the bench may use (this thread sits on the rest with --model-cpus, and a child inherits that).
  const [file, prefix] = cpuPlan === undefined ? [MODELS_PYTHON, []] : ['taskset', ['--cpu-list', formatCpuList(everyCpu), MODELS_PYTHON]];
  const child = spawn(file, [...prefix, ...args, '--frames', ...picked], { stdio: ['ignore', 'pipe', 'inherit'] });
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const code = await new Promise<number | null>((done, fail) => child.once('error', fail).once('close', done));
  if (code !== 0) throw new Error(`the Python onnxruntime peer exited with ${code}`);
  return JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as PythonPeer;
}

let python: PythonPeer | undefined;
if (existsSync(MODELS_PYTHON)) {
  progress(`Python onnxruntime peer (${MODELS_PYTHON})…`);
  python = await pythonPeer();
} else {
  progress(`no models venv at ${MODELS_PYTHON} (models/setup.sh makes it): the Python onnxruntime peer is skipped`);
}

const framesPerSec = median(full);
const bareFramesPerSec = median(bareRates);
const ratio = framesPerSec / bareFramesPerSec;
const gflops = (card.flopsPerTile * tilesPerFrame * framesPerSec) / 1e9;
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
console.log(`full path (decode → tiles → run → stitch → score → regions → map PNG): ${framesPerSec.toFixed(3)} frames/s (median of ${reps})`);
console.log(`bare session.run on the same batches:                            ${bareFramesPerSec.toFixed(3)} frames/s`);
console.log(`ratio ${ratio.toFixed(3)} (target ≥ 0.97); ${gflops.toFixed(2)} GFLOP/s achieved (bare: ${((card.flopsPerTile * tilesPerFrame * bareFramesPerSec) / 1e9).toFixed(2)}), ${card.name}@${card.version}, ${threads} threads`);
const cpuPerFrame = { full: (cpu.full * 1000) / (frameCount * reps), bare: (cpu.bare * 1000) / (frameCount * reps) };
console.log(
  `CPU per frame (all threads): full ${cpuPerFrame.full.toFixed(0)} ms, bare ${cpuPerFrame.bare.toFixed(0)} ms — the engine adds ${(cpuPerFrame.full - cpuPerFrame.bare).toFixed(0)} ms (CPU ratio ${(cpuPerFrame.bare / cpuPerFrame.full).toFixed(3)}); on a loaded machine this is steadier than the wall-clock ratio`,
);
const roles = (path: 'full' | 'bare'): string =>
  [...byRole[path]].map(([role, seconds]) => `${role} ${((seconds * 1000) / (frameCount * reps)).toFixed(0)}`).join(', ');
if (byRole.full.size > 0) console.log(`CPU ms per frame by thread (10 ms ticks): full — ${roles('full')}; bare — ${roles('bare')}`);
let peer = {};
if (python !== undefined) {
  const py = python;
  const scoreDiff = Math.max(...engineScores.map((score, i) => Math.abs(score - (py.scores[i] ?? NaN))));
  const vsPython = py.msPerFrame / (1000 / framesPerSec);
  console.log(
    `Python onnxruntime loop (PIL decode → tiles → run → stitch → score), same frames/threads/reps: ${py.msPerFrame.toFixed(0)} ms/frame (median of ${reps}: ${py.repMsPerFrame.map((ms) => ms.toFixed(0)).join(', ')}), CPU ${py.cpuMsPerFrame.toFixed(0)} ms/frame`,
  );
  console.log(`engine / Python ${vsPython.toFixed(3)} in frames/s (target > 1): engine ${(1000 / framesPerSec).toFixed(0)} ms/frame vs Python ${py.msPerFrame.toFixed(0)} ms/frame`);
  console.log(`frame scores engine vs Python: max |difference| ${scoreDiff.toExponential(2)} over ${frameCount} frames`);
  if (!(scoreDiff <= SCORE_TOLERANCE)) progress(`WARNING: the engine's and Python's scores differ by more than ${SCORE_TOLERANCE}: the peer is not doing the same work, do not trust the comparison`);
  peer = { pythonMsPerFrame: round(py.msPerFrame, 0), pythonCpuMsPerFrame: round(py.cpuMsPerFrame, 0), ratioVsPython: round(vsPython), pythonScoreMaxAbsDiff: Number(scoreDiff.toPrecision(3)) };
}
const postNice = values.postNice === undefined ? {} : { postNice: Number(values.postNice) };
const modelCpus = cpuPlan === undefined ? {} : { modelCpus: formatCpuList(cpuPlan.model), restCpus: formatCpuList(cpuPlan.rest) };
const summary = { bench: 'inference', framesPerSec: round(framesPerSec), bareFramesPerSec: round(bareFramesPerSec), ratio: round(ratio), gflops: round(gflops, 2), ...peer, ...postNice, ...modelCpus };
if (values.record) {
  const record = {
    ...summary,
    model: `${card.name}@${card.version}`,
    msPerFrame: round(1000 / framesPerSec, 0),
    bareMsPerFrame: round(1000 / bareFramesPerSec, 0),
    threads,
    frames: frameCount,
    reps,
    cpu: cpus()[0]?.model ?? 'unknown',
    cpuFlags: vectorFlags(),
    loadAverageAtStart: round(loadAtStart, 2),
    measuredAt: new Date().toISOString(),
  };
  writeFileSync(join(versionDir, 'eval', 'speed.json'), `${JSON.stringify(record, null, 1)}\n`);
  progress(`recorded in ${join(versionDir, 'eval', 'speed.json')}`);
}
console.log(JSON.stringify(summary));
