import type { ReplayPartition } from '@loomwatch/contracts';

/** What this run did with the records it committed. */
interface RunCounts {
  /** Frames with a verdict in the replay topic. */
  decided: number;
  /** Frames in the range and selection that could not be decided (a dead letter each). */
  deadLettered: number;
  /** Records outside the selection or past the end, committed without an outcome. */
  skipped: number;
}

interface ProgressSnapshot {
  /** Offsets of the plan's ranges committed, by every run so far. */
  done: number;
  total: number;
  /** Offsets of the plan committed by this run, and the time it has been running. */
  doneThisRun: number;
  elapsedMs: number;
  counts: RunCounts;
}

/**
 * Where a replay stands: the committed offset of every partition (from this process's commits
 * and the broker's answers, whichever is further) against the plan's ranges.
 */
export class ReplayProgress {
  private readonly committed = new Map<number, number>();
  private readonly atStart: number;
  readonly counts: RunCounts = { decided: 0, deadLettered: 0, skipped: 0 };

  constructor(
    private readonly partitions: readonly ReplayPartition[],
    committed: ReadonlyMap<number, number>,
    private startedAt: number = Date.now(),
    private readonly now: () => number = Date.now,
  ) {
    for (const p of partitions) this.committed.set(p.partition, Math.max(p.start, committed.get(p.partition) ?? p.start));
    this.atStart = this.done;
  }

  /** Starts the rate's clock again, e.g. once the models are loaded and the consumers run. */
  restartClock(at: number = this.now()): void {
    this.startedAt = at;
  }

  /** A committed offset (the next offset to read) of a partition; an older one is ignored. */
  commit(partition: number, nextOffset: number): void {
    const current = this.committed.get(partition);
    if (current !== undefined && nextOffset > current) this.committed.set(partition, nextOffset);
  }

  count(outcome: keyof RunCounts, n = 1): void {
    this.counts[outcome] += n;
  }

  get total(): number {
    return this.partitions.reduce((sum, p) => sum + (p.end - p.start), 0);
  }

  get done(): number {
    return this.partitions.reduce((sum, p) => sum + (Math.min(p.end, this.committed.get(p.partition) ?? p.start) - p.start), 0);
  }

  /** Every partition committed up to its end. */
  get complete(): boolean {
    return this.partitions.every((p) => (this.committed.get(p.partition) ?? p.start) >= p.end);
  }

  /** Where things stand; `at` (a `now()` reading) fixes the clock, e.g. at the moment the last frame committed. */
  snapshot(at: number = this.now()): ProgressSnapshot {
    const done = this.done;
    return {
      done,
      total: this.total,
      doneThisRun: done - this.atStart,
      elapsedMs: at - this.startedAt,
      counts: { ...this.counts },
    };
  }
}

/** `4m31s`, `1h02m`, `12s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

function rate(snapshot: ProgressSnapshot): number {
  return snapshot.elapsedMs > 0 ? snapshot.doneThisRun / (snapshot.elapsedMs / 1000) : 0;
}

/** How the replay's model runs: the version that decides, its precision, and the version asked for when another runs in its place. */
export interface ServedModel {
  precision: 'fp32' | 'int8';
  /** Set when the version that decides is not the one `--model` named (its INT8 variant). */
  requested?: string;
}

/** `draem-aitex@1.1.0 fp32`, `draem-aitex@1.1.0-int8.2 int8 for 1.1.0`. */
export function describeServed(model: { name: string; version: string }, served: ServedModel): string {
  return `${model.name}@${model.version} ${served.precision}${served.requested === undefined ? '' : ` for ${served.requested}`}`;
}

/** `replay <id> (draem-aitex@1.2.0 fp32): 120/400 frames (30.0 %) · 1.02 frames/s · ETA 4m31s` */
export function formatProgressLine(id: string, snapshot: ProgressSnapshot, model?: string): string {
  const percent = snapshot.total === 0 ? 100 : (100 * snapshot.done) / snapshot.total;
  const fps = rate(snapshot);
  const remaining = snapshot.total - snapshot.done;
  const eta = remaining === 0 ? '0s' : fps > 0 ? formatDuration((1000 * remaining) / fps) : '?';
  return `replay ${id}${model === undefined ? '' : ` (${model})`}: ${snapshot.done}/${snapshot.total} frames (${percent.toFixed(1)} %) · ${fps.toFixed(2)} frames/s · ETA ${eta}`;
}

export interface ReplaySummary {
  id: string;
  status: 'complete' | 'already-complete' | 'stopped';
  targetTopic: string;
  /** The version that decided, `name@version`. */
  model: string;
  /** How it ran. */
  precision: 'fp32' | 'int8';
  /** The version `--model` named, when another one (its INT8 variant) decided in its place. */
  requested?: string;
  done: number;
  total: number;
  /** This run. */
  decided: number;
  selected: number;
  skipped: number;
  deadLettered: number;
  wallMs: number;
  framesPerSec: number;
}

export function summarise(
  id: string,
  status: ReplaySummary['status'],
  plan: { targetTopic: string; model: { name: string; version: string } },
  snapshot: ProgressSnapshot,
  wallMs: number,
  served: ServedModel = { precision: 'fp32' },
): ReplaySummary {
  const { decided, deadLettered, skipped } = snapshot.counts;
  return {
    id,
    status,
    targetTopic: plan.targetTopic,
    model: `${plan.model.name}@${plan.model.version}`,
    precision: served.precision,
    ...(served.requested === undefined ? {} : { requested: served.requested }),
    done: snapshot.done,
    total: snapshot.total,
    decided,
    selected: decided + deadLettered,
    skipped,
    deadLettered,
    wallMs: Math.round(wallMs),
    framesPerSec: Number(rate(snapshot).toFixed(3)),
  };
}

export function formatSummary(s: ReplaySummary): string {
  const where = `verdicts of ${s.model} ${s.precision}${s.requested === undefined ? '' : ` for ${s.requested}`} in ${s.targetTopic}`;
  switch (s.status) {
    case 'already-complete':
      return `replay ${s.id} is complete: all ${s.total} frames of its plan were decided earlier (${where}); nothing to do`;
    case 'complete':
    case 'stopped': {
      const head =
        s.status === 'complete'
          ? `replay ${s.id} complete: ${s.total}/${s.total} frames (${where})`
          : `replay ${s.id} stopped at ${s.done}/${s.total} frames: run the same command again to continue (${where})`;
      return [
        head,
        `  this run: ${s.selected} selected (${s.decided} decided, ${s.deadLettered} dead-lettered), ${s.skipped} skipped outside the selection`,
        `  wall time ${formatDuration(s.wallMs)}, ${s.framesPerSec.toFixed(2)} frames/s`,
      ].join('\n');
    }
  }
}
