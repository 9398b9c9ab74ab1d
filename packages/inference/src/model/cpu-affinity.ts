import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { LoomwatchError } from '@loomwatch/contracts';

/**
 * Which CPUs the model's onnxruntime threads run on and which the rest of the process does
 * (`inference.modelCpus`). On a machine the model shares with decoding, post-processing, S3, Kafka
 * and V8's collector, every millisecond of that work either waits for the model's cores or takes one
 * from it; with the model's threads pinned to cores of their own and everything else kept off them,
 * the model runs as fast as bare `session.run` and the rest overlaps it (the frame pipeline keeps
 * `worker.maxInFlight` frames in flight). Linux only: thread affinity is set with `taskset`
 * (util-linux, in every Debian image).
 */
export interface CpuPlan {
  /** The model's threads run here. */
  model: readonly number[];
  /** Every other thread of the process runs here: the CPUs it may use minus the model's. */
  rest: readonly number[];
}

/** Parses a Linux CPU list (`0-3,6`, as taskset and /proc write them) into sorted CPU numbers; undefined when it is not one. */
export function parseCpuList(text: string): number[] | undefined {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) return undefined;
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    if (last < first || last - first > 4096) return undefined;
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Writes CPU numbers as a compact Linux CPU list (`0-3,6`). */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === (sorted[j] ?? 0) + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}

/**
 * Splits the CPUs this process may use (`allowed`) into the model's (`modelCpus`) and the rest.
 * `auto` gives the model every CPU but the first, which suits a container whose cpuset is not
 * known in advance (Kubernetes' static CPU manager). Throws CONFIG_INVALID when the list does not
 * parse, names a CPU the process may not use, or leaves none for the rest.
 */
export function planCpus(modelCpus: string, allowed: readonly number[]): CpuPlan {
  if (modelCpus === 'auto') {
    if (allowed.length < 2) {
      throw new LoomwatchError('CONFIG_INVALID', `inference.modelCpus "auto" needs at least 2 CPUs (this process may use ${formatCpuList(allowed)}): unset it to let every thread share them`);
    }
    return { model: allowed.slice(1), rest: allowed.slice(0, 1) };
  }
  const model = parseCpuList(modelCpus);
  if (model === undefined || model.length === 0) {
    throw new LoomwatchError('CONFIG_INVALID', `inference.modelCpus "${modelCpus}" is not a CPU list: write it as taskset does, e.g. "1-3" or "0,2", or "auto"`);
  }
  const outside = model.filter((cpu) => !allowed.includes(cpu));
  if (outside.length > 0) {
    throw new LoomwatchError(
      'CONFIG_INVALID',
      `inference.modelCpus "${modelCpus}" names CPU ${formatCpuList(outside)}, which this process may not use (it may use ${formatCpuList(allowed)}): choose the model's CPUs among those`,
    );
  }
  const rest = allowed.filter((cpu) => !model.includes(cpu));
  if (rest.length === 0) {
    throw new LoomwatchError(
      'CONFIG_INVALID',
      `inference.modelCpus "${modelCpus}" takes every CPU this process may use (${formatCpuList(allowed)}): leave at least one for decoding, S3 and Kafka, or unset it to let every thread share them`,
    );
  }
  return { model, rest };
}

/**
 * The CPUs this process may use (its threads' affinities together, which a container's cpuset
 * bounds), from /proc: once a model is pinned, its threads hold the model's CPUs and the rest the others.
 */
export function allowedCpus(): number[] {
  const cpus = new Set<number>();
  const tasks = existsSync('/proc/self/task') ? readdirSync('/proc/self/task') : [];
  for (const entry of tasks) for (const cpu of threadCpus(Number(entry)) ?? []) cpus.add(cpu);
  if (cpus.size === 0) throw new LoomwatchError('CONFIG_INVALID', 'inference.modelCpus needs Linux (/proc/self/task/*/status names the CPUs each thread may use): unset it on this system');
  return [...cpus].sort((a, b) => a - b);
}

/** Sets one thread's CPUs with taskset (a thread that ended meanwhile is left alone). */
export function pinThread(tid: number, cpus: readonly number[]): void {
  try {
    execFileSync('taskset', ['--pid', '--cpu-list', formatCpuList(cpus), String(tid)], { stdio: 'ignore' });
  } catch (err) {
    // A thread that ended meanwhile has nothing left to pin.
    if (threadCpus(tid) === undefined) return;
    throw new LoomwatchError('CONFIG_INVALID', `inference.modelCpus: taskset could not pin thread ${tid} to CPUs ${formatCpuList(cpus)} (${(err as Error).message}): install util-linux, or unset inference.modelCpus`, { cause: err });
  }
}

/** The CPUs one thread of this process may use now; undefined once it has ended. */
function threadCpus(tid: number): number[] | undefined {
  try {
    const line = /^Cpus_allowed_list:\s*(.+)$/m.exec(readFileSync(`/proc/self/task/${tid}/status`, 'utf8'))?.[1];
    return line === undefined ? undefined : parseCpuList(line);
  } catch {
    return undefined;
  }
}

/**
 * Moves every thread of this process that is not one of the model's (those already on exactly
 * the model's CPUs) onto the rest. Threads started later inherit the affinity of the thread that
 * starts them, so calling this before a model's worker thread starts (and again once it runs)
 * keeps the main thread, libuv's pool, sharp's and V8's threads off the model's cores.
 */
export function pinOtherThreads(plan: CpuPlan): void {
  const model = formatCpuList(plan.model);
  const rest = formatCpuList(plan.rest);
  for (const entry of readdirSync('/proc/self/task')) {
    const tid = Number(entry);
    const now = threadCpus(tid);
    if (now === undefined) continue;
    const list = formatCpuList(now);
    if (list !== model && list !== rest) pinThread(tid, plan.rest);
  }
}
